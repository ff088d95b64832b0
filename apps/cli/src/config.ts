// The whole cloud's configuration: shared sections plus one section per service.
import { resolve } from 'node:path';
import Type from 'typebox';
import type { Static } from 'typebox';
import { BusSection, CacheSection, LogSection, loadConfig } from '@alto/config';
import { IdentitySection, type BootstrapInput } from '@alto/identity';
import { ImageSection } from '@alto/image';
import { BlockStorageSection } from '@alto/block-storage';

export const BootstrapSection = Type.Object(
  {
    admin_username: Type.String({ default: 'admin' }),
    admin_project_name: Type.String({ default: 'admin' }),
    service_project_name: Type.String({ default: 'service' }),
    region_id: Type.String({ default: 'RegionOne' }),
    /** The identity endpoints registered in the catalog; derived from the API's address when unset. */
    public_url: Type.Optional(Type.String()),
    internal_url: Type.Optional(Type.String()),
    admin_url: Type.Optional(Type.String()),
  },
  { additionalProperties: false, default: {} },
);

export const AltoConfigSchema = Type.Object(
  {
    /** The address every API binds to (--host); 127.0.0.1 by default. */
    host: Type.String({ default: '127.0.0.1' }),
    /** Where the embedded defaults keep their state (--data-dir, ALTO_DATA_DIR). */
    data_dir: Type.String({ default: './.alto' }),
    log: LogSection,
    bus: BusSection,
    cache: CacheSection,
    bootstrap: BootstrapSection,
    identity: IdentitySection,
    image: ImageSection,
    block_storage: BlockStorageSection,
  },
  { additionalProperties: false },
);

export type AltoConfig = Static<typeof AltoConfigSchema>;

export interface ConfigSources {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  overrides?: Record<string, unknown>;
}

/** Loads the config; a relative data_dir is made absolute so that every path derived from it is. */
export function loadAltoConfig(src: ConfigSources): AltoConfig {
  const env = src.env ?? process.env;
  const file = src.file ?? env.ALTO_CONFIG;
  const first = loadConfig({ schema: AltoConfigSchema, file, env, overrides: src.overrides });
  const abs = resolve(first.data_dir);
  if (abs === first.data_dir) return first;
  return loadConfig({ schema: AltoConfigSchema, file, env, overrides: { ...src.overrides, data_dir: abs } });
}

/** The URL clients use for an API, from its public_endpoint or its bind address. */
function apiUrl(api: { public_endpoint?: string | undefined; host: string; port: number }): string {
  if (api.public_endpoint) return api.public_endpoint.replace(/\/+$/, '');
  const host = api.host === '0.0.0.0' || api.host === '::' ? '127.0.0.1' : api.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${api.port}`;
}

/** The URL clients use for the identity API, from config or the bind address. */
export function identityUrl(config: AltoConfig): string {
  return apiUrl(config.identity.api);
}

/** The URL clients use for the image API. */
export function imageUrl(config: AltoConfig): string {
  return apiUrl(config.image.api);
}

/** The URL clients use for the block storage API (without /v3). */
export function blockStorageUrl(config: AltoConfig): string {
  return apiUrl(config.block_storage.api);
}

/** What `alto bootstrap` and the first `alto up` create; unset internal/admin URLs follow the public one. */
export function bootstrapInputOf(config: AltoConfig, adminPassword: string): BootstrapInput {
  const publicUrl = config.bootstrap.public_url ?? `${identityUrl(config)}/v3/`;
  return {
    adminUsername: config.bootstrap.admin_username,
    adminPassword,
    adminProjectName: config.bootstrap.admin_project_name,
    serviceProjectName: config.bootstrap.service_project_name,
    regionId: config.bootstrap.region_id,
    serviceName: 'keystone',
    publicUrl,
    internalUrl: config.bootstrap.internal_url ?? publicUrl,
    adminUrl: config.bootstrap.admin_url ?? publicUrl,
  };
}
