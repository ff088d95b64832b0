// The block storage service's composition: domain services over one database, the Cinder v3
// routes with token auth, microversions and policy, and readiness checks. The scheduler and
// workers are Runnables the composition root (apps/cli) adds where it runs them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { AltoError, Cache, Clock } from '@alto/kernel';
import { migrationStatus, type Database } from '@alto/db';
import type { Bus } from '@alto/bus';
import {
  computeRenderer,
  createAuthenticator,
  createHttpServer,
  createValidators,
  keystoneRenderer,
  mountRoutes,
  registerMicroversions,
  type AnyRoute,
  type ErrorRenderer,
  type TokenValidator,
} from '@alto/http';
import { Enforcer, loadPolicyFile } from '@alto/policy';
import { instrumentHttp, type Logger, type ReadinessCheck } from '@alto/runtime';
import type { BlockStorageConfig } from './config.js';
import type { BlockStorageDB } from './store/schema.js';
import { blockStorageMigrations } from './store/migrations/index.js';
import { blockStoragePolicies } from './policies.js';
import { cinderPolicy } from './cinder-policy.js';
import type { BlockStorageCoreDeps } from './domain/deps.js';
import { QuotaEngine } from './domain/quotas.js';
import { VolumesService } from './domain/volumes.service.js';
import type { GlanceClient } from './images/glance-client.js';
import { VolumeUploadService } from './images/volume-upload.service.js';
import { imageActions } from './api/volume-image-actions.js';
import { SnapshotsService } from './domain/snapshots.service.js';
import type { BlockStorageServices } from './services.js';
import { projectRoutes, type BlockStorageFrame } from './api/common.js';
import { MAX_VERSION, MIN_VERSION, versionRoutes } from './api/versions.js';
import { volumeRoutes } from './api/volumes.js';
import { hostRoutes } from './api/hosts.js';
import { extensionRoutes } from './api/extensions.js';
import { attachmentRoutes } from './api/attachments.js';
import { volumeActionRoutes } from './api/volume-actions.js';
import { AttachmentsService } from './domain/attachments.service.js';
import { VolumeActionsService } from './domain/volume-actions.service.js';
import { snapshotRoutes } from './api/snapshots.js';
import { BackupsService } from './domain/backups.service.js';
import { backupRoutes } from './api/backups.js';
import { TypesService } from './domain/types.service.js';
import { QosService } from './domain/qos.service.js';
import { typeRoutes } from './api/types.js';
import { qosRoutes } from './api/qos-specs.js';
import { defaultTypeRoutes } from './api/default-types.js';
import { MessagesService } from './domain/messages.service.js';
import { OsServicesService } from './domain/os-services.service.js';
import { quotaRoutes } from './api/quotas.js';
import { limitRoutes } from './api/limits.js';
import { serviceRoutes } from './api/services.js';
import { availabilityZoneRoutes } from './api/availability-zones.js';
import { messageRoutes } from './api/messages.js';
import { schedulerStatsRoutes } from './api/scheduler-stats.js';
import { TransfersService } from './domain/transfers.service.js';
import { transferRoutes } from './api/transfers.js';

export interface BlockStorageDeps {
  config: BlockStorageConfig;
  database: Database<BlockStorageDB>;
  bus: Bus;
  /** Validates callers' tokens (keystonemiddleware's job): the identity service over HTTP. */
  validator: TokenValidator;
  cache?: Cache | undefined;
  clock: Clock;
  log: Logger;
  metrics: Registry;
  validateResponses?: boolean;
  /** The image service (create from image, os-volume_upload_image); without it those are refused. */
  glance?: GlanceClient | undefined;
}

export interface BlockStorageApi {
  app: FastifyInstance;
  services: BlockStorageServices;
  core: BlockStorageCoreDeps;
  checks: ReadinessCheck[];
}

/** The quota defaults of cinder.conf, by resource. */
export function quotaDefaults(config: BlockStorageConfig): Record<string, number> {
  const d = config.default;
  return {
    volumes: d.quota_volumes,
    snapshots: d.quota_snapshots,
    gigabytes: d.quota_gigabytes,
    backups: d.quota_backups,
    backup_gigabytes: d.quota_backup_gigabytes,
    groups: d.quota_groups,
    per_volume_gigabytes: d.per_volume_size_limit,
  };
}

/** Cinder's faults (computeRenderer with retryAfter), keystonemiddleware's 401, webob's wording for the frame's errors. */
function cinderRenderer(wwwAuthenticateUri: string): ErrorRenderer {
  const faults = computeRenderer({
    retryAfter: '0',
    messages: {
      'http.malformed_json': 'Malformed request body',
      'http.route_not_found': 'The resource could not be found.',
      'http.method_not_allowed': 'The resource could not be found.',
      'http.microversion_out_of_range': 'The resource could not be found.',
      'http.microversion_invalid': (err: AltoError) => `API Version String ${err.message.replace(/^Invalid API version request: /, '')} is of invalid format. Must be of format MajorNum.MinorNum.`,
      'http.not_object': 'The server could not comply with the request since it is either malformed or otherwise incorrect.',
      'http.missing_body': 'The server could not comply with the request since it is either malformed or otherwise incorrect.',
    },
  });
  const unauthorized = keystoneRenderer({
    wwwAuthenticateUri: () => wwwAuthenticateUri,
    messages: { 'auth.no_token': 'The request you have made requires authentication.', 'auth.invalid_token': 'The request you have made requires authentication.' },
  });
  return {
    statusOf: (err) => faults.statusOf?.(err) ?? (err.code === 'http.method_not_allowed' ? 404 : undefined),
    render: (err, status, req: FastifyRequest) => (status === 401 ? unauthorized.render(err, status, req) : faults.render(err, status, req)),
  };
}

/**
 * The HTTP frame every Cinder route runs in: Cinder's faults and keystonemiddleware's 401,
 * strict slashes (`volumes/` is 404), volume microversions (a header naming only another
 * service is refused) and Nova's request id header beside oslo's. Tests mount routes in it too.
 */
export function cinderHttpServer(opts: { log: Logger; bodyLimit: number; wwwAuthenticateUri: string }): FastifyInstance {
  const app = createHttpServer({ logger: opts.log, bodyLimit: opts.bodyLimit, renderer: cinderRenderer(opts.wwwAuthenticateUri), strictSlashes: true });
  registerMicroversions(app, { serviceType: 'volume', min: MIN_VERSION, max: MAX_VERSION, refuseOtherServices: true });
  app.addHook('onSend', async (_req, reply) => {
    const id = reply.getHeader('x-openstack-request-id');
    if (id !== undefined) void reply.header('x-compute-request-id', id);
  });
  return app;
}

export async function createBlockStorage(deps: BlockStorageDeps): Promise<BlockStorageApi> {
  const { config, database, clock, log } = deps;
  const overrides = config.oslo_policy.policy_file ? await loadPolicyFile(config.oslo_policy.policy_file) : undefined;
  const enforcer = new Enforcer(blockStoragePolicies, {
    enforceScope: config.oslo_policy.enforce_scope,
    enforceNewDefaults: config.oslo_policy.enforce_new_defaults,
    ...(overrides ? { overrides } : {}),
    onWarning: (m) => log.warn({ policy_file: config.oslo_policy.policy_file }, m),
  });
  const policy = cinderPolicy(enforcer);
  const { authz } = policy;

  const d = config.default;
  const core: BlockStorageCoreDeps = {
    db: database.db,
    bus: deps.bus,
    clock,
    log,
    authz,
    config: {
      osapiMaxLimit: d.osapi_max_limit,
      defaultVolumeType: d.default_volume_type,
      storageAvailabilityZone: d.storage_availability_zone,
      defaultAvailabilityZone: d.default_availability_zone,
      quotaDefaults: quotaDefaults(config),
      messageTtlSeconds: d.message_ttl,
      serviceDownSeconds: d.service_down_time,
    },
  };
  const quotas = new QuotaEngine({ db: database.db, defaults: core.config.quotaDefaults, nowMs: () => clock.nowMs() });
  const volumes = new VolumesService(core, quotas, deps.glance);
  const attachments = new AttachmentsService(core, volumes);
  const services: BlockStorageServices = { volumes, attachments, volumeActions: new VolumeActionsService(core, quotas, volumes, attachments), snapshots: new SnapshotsService(core, quotas), backups: new BackupsService(core, quotas, volumes), quotas, authz, types: new TypesService(core), qos: new QosService(core), messages: new MessagesService(core), osServices: new OsServicesService(core), transfers: new TransfersService(core, quotas) };
  const frame: BlockStorageFrame = { services, maxLimit: d.osapi_max_limit, publicEndpoint: config.api.public_endpoint };

  // strict slashes: Cinder answers 404 for `volumes/` (a show without an id), not the list
  const app = cinderHttpServer({ log, bodyLimit: config.api.max_request_body_size, wwwAuthenticateUri: config.keystone_authtoken.www_authenticate_uri ?? config.keystone_authtoken.auth_url ?? '' });
  const authenticator = createAuthenticator({
    validator: deps.validator,
    clock,
    cache: deps.cache,
    cacheTtlSeconds: config.keystone_authtoken.token_cache_time,
    serviceTokenRoles: config.keystone_authtoken.service_token_roles,
    serviceTokenRolesRequired: config.keystone_authtoken.service_token_roles_required,
    serviceType: config.keystone_authtoken.service_type ?? 'block-storage',
  });
  const routes: AnyRoute[] = [...volumeRoutes(frame), ...volumeActionRoutes(frame, deps.glance ? imageActions({ services: { volumeUploads: new VolumeUploadService(core, services.volumes, deps.glance, { enableForceUpload: d.enable_force_upload }) } }) : {}), ...attachmentRoutes(frame), ...snapshotRoutes(frame), ...backupRoutes(frame), ...typeRoutes(frame), ...qosRoutes(frame), ...defaultTypeRoutes(frame), ...quotaRoutes(frame), ...limitRoutes(frame), ...serviceRoutes(frame), ...availabilityZoneRoutes(frame), ...messageRoutes(frame), ...schedulerStatsRoutes(frame), ...transferRoutes(frame), ...hostRoutes({ core }), ...extensionRoutes()];
  mountRoutes(app, [...versionRoutes(frame), ...projectRoutes(routes)], {
    enforcer: policy.routes,
    authenticator,
    validators: createValidators(),
    validationStyle: 'nova',
    validateResponses: deps.validateResponses ?? false,
  });
  instrumentHttp(app, deps.metrics);

  const checks: ReadinessCheck[] = [
    {
      name: 'block-storage database',
      check: async () => {
        const ms = await database.ping();
        const { pending } = await migrationStatus(database, blockStorageMigrations);
        if (pending.length) throw new Error(`schema is behind: run "alto db sync block-storage" (pending: ${pending.join(', ')})`);
        return `${database.dialect} ${ms.toFixed(1)} ms`;
      },
    },
  ];
  return { app, services, core, checks };
}
