// How the composition root reaches the image service from cinder.conf: [DEFAULT] glance_api_servers (else the catalog), image_conversion_dir and the service user of [keystone_authtoken].
import type { Clock } from '@alto/kernel';
import type { PasswordAuth } from '@alto/clients';
import type { BlockStorageConfig } from '../config.js';
import { GlanceClient, glanceEndpoint, serviceTokens, type ServiceTokens } from './glance-client.js';
import { GlanceImageTransfer } from './glance-transfer.js';

export interface ImageServiceWiring {
  /** For the API (create-from-image checks and image creation with the caller's token) and the workers. */
  glance: GlanceClient;
  /** The volume service's own token: workers download and upload with it. */
  tokens: ServiceTokens;
  /** What a volume worker is given as its ImageTransfer. */
  transfer: GlanceImageTransfer;
}

/**
 * One Glance client, service token and image transfer per process. `service` is the
 * keystone_authtoken user the process already validates tokens with (serviceAuthOf in apps/cli);
 * `region` picks the catalog's endpoint when glance_api_servers is unset.
 */
export function imageServiceOf(config: BlockStorageConfig, service: PasswordAuth, clock: Clock, region?: string): ImageServiceWiring {
  const tokens = serviceTokens(service, clock);
  const glance = new GlanceClient({ endpoint: glanceEndpoint(config.default.glance_api_servers, tokens, region) });
  const transfer = new GlanceImageTransfer({
    glance,
    tokens,
    conversionDir: config.default.image_conversion_dir,
    maxImageGb: config.default.image_conversion_max_gb,
  });
  return { glance, tokens, transfer };
}
