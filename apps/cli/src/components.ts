// Builds runnable components from config: the one place that picks implementations (database
// engine, bus transport) and wires dependencies.
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { computeRenderer, createHttpServer, invalidatableCache } from '@alto/http';
import type { InProcessBroker} from '@alto/bus';
import { createBus, type Bus, type Subscription } from '@alto/bus';
import { openDatabase, type Database } from '@alto/db';
import { systemClock } from '@alto/kernel';
import { createLogger, createMetricsRegistry, httpServerRunnable, Manager, registerHealthRoutes, type ListenOn, type Logger } from '@alto/runtime';
import { createIdentity, IDENTITY_SYNC_TOPIC, type Identity, type IdentityDB } from '@alto/identity';
import { createImage, FilesystemStore, keystoneLimits, legacyLimits, type ImageApi, type ImageDB, type StoreSet } from '@alto/image';
import { remoteTokenValidator } from '@alto/clients';
import {
  createBlockStorage,
  FileBackend,
  VolumeScheduler,
  VolumeWorker,
  type BlockStorageApi,
  type BlockStorageDB,
  type VolumeBackend,
  imageServiceOf,
  type ImageServiceWiring,
  connectionHandlers,
  BackupWorker,
  PosixBackupDriver,
} from '@alto/block-storage';
import { ValidationError } from '@alto/kernel';
import { createCache, type Runnable } from '@alto/runtime';
import { identityUrl, type AltoConfig } from './config.js';

/** The components `alto serve` can run; `alto up` runs them all in one process. */
export const COMPONENTS = ['identity-api', 'image-api', 'volume-api', 'volume-scheduler', 'volume-worker', 'volume-backup'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

export function makeLogger(config: AltoConfig, name: string): Logger {
  return createLogger({ level: config.log.level, format: config.log.format, name });
}

/**
 * The token cache of a service that validates against identity: config.cache (in-process or
 * memcached), forgetting every cached validation when identity says its data changed (a revoked
 * token, a disabled user, a removed role), so a revocation reaches every service at once rather
 * than after token_cache_time as with keystonemiddleware. The listener is a Runnable on the
 * manager; a missed message leaves the usual token_cache_time bound.
 */
function tokenCache(manager: Manager, config: AltoConfig, bus: Bus, log: Logger, component: string) {
  const cache = invalidatableCache(createCache(config.cache, log), systemClock);
  let sub: Subscription | undefined;
  const runnable: Runnable = {
    name: `${component}-token-cache`,
    async start() {
      sub = await bus.serve({ topic: IDENTITY_SYNC_TOPIC, server: `${processName()}-${component}` }, { invalidate: async () => cache.invalidate() });
    },
    async stop() {
      await sub?.stop();
      await cache.close();
    },
  };
  manager.add(runnable);
  return cache;
}

export async function openBus(config: AltoConfig, log: Logger, broker?: InProcessBroker): Promise<Bus> {
  return createBus(
    {
      transportUrl: config.bus.transport_url,
      controlExchange: config.bus.control_exchange,
      rpcResponseTimeout: config.bus.rpc_response_timeout,
      connectionName: `${hostname()}:${process.pid}`,
      rabbit: { amqpDurableQueues: config.bus.amqp_durable_queues, heartbeatTimeoutThreshold: config.bus.heartbeat_timeout_threshold },
      notifications: { topics: config.bus.notification_topics },
    },
    { logger: log.child({ component: 'bus' }), clock: systemClock, broker },
  );
}

export function openIdentityDatabase(config: AltoConfig): Database<IdentityDB> {
  return openDatabase<IdentityDB>(config.identity.database);
}

export interface RunningIdentity {
  identity: Identity;
  database: Database<IdentityDB>;
  app: FastifyInstance;
}

/**
 * Adds identity-api to a manager: its database, its domain services and sync, and its HTTP
 * listener with /healthz, /readyz and /metrics.
 */
export async function addIdentityApi(manager: Manager, config: AltoConfig, bus: Bus, log: Logger): Promise<RunningIdentity> {
  const database = openIdentityDatabase(config);
  manager.add({ name: 'identity-database', start: async () => {}, stop: () => database.close() });
  const metrics = createMetricsRegistry('identity-api');
  const identity = await createIdentity({
    config: config.identity,
    database,
    bus,
    clock: systemClock,
    log,
    metrics,
    validateResponses: process.env.ALTO_VALIDATE_RESPONSES === '1',
  });
  for (const c of identity.checks) manager.addCheck(c);
  registerHealthRoutes(identity.app, { manager, metrics });
  manager.add(identity.runnable);
  manager.add(httpServerRunnable('identity-api', identity.app, { host: config.identity.api.host, port: config.identity.api.port, setting: 'identity.api.port' }));
  return { identity, database, app: identity.app };
}

export { Manager };

export function openImageDatabase(config: AltoConfig): Database<ImageDB> {
  return openDatabase<ImageDB>(config.image.database);
}

/** The known store drivers; an unknown one stops startup with this list. */
const STORE_DRIVERS = ['file'];

/** The image stores from [glance_store]/enabled_backends and the staging area. */
export function buildStores(config: AltoConfig): StoreSet {
  const img = config.image;
  const byId = new Map<string, FilesystemStore>();
  const descriptions = new Map<string, string | undefined>();
  const backends = Object.entries(img.default.enabled_backends);
  for (const [id, b] of backends) {
    if (!STORE_DRIVERS.includes(b.type)) throw new ValidationError(`image store "${id}" has unknown type "${String(b.type)}"; known: ${STORE_DRIVERS.join(', ')}`, 'cli.unknown_store_driver');
    byId.set(id, new FilesystemStore({ id, datadir: b.filesystem_store_datadir, chunkSize: b.filesystem_store_chunk_size ?? 1048576 }));
    descriptions.set(id, b.description);
  }
  if (!backends.length) byId.set('file', new FilesystemStore({ id: 'file', datadir: img.glance_store.filesystem_store_datadir, chunkSize: img.glance_store.filesystem_store_chunk_size }));
  const defaultId = img.glance_store.default_backend ?? [...byId.keys()][0]!;
  if (!byId.has(defaultId)) throw new ValidationError(`glance_store.default_backend "${defaultId}" is not one of enabled_backends: ${[...byId.keys()].join(', ')}`, 'cli.unknown_default_store');
  const staging = new FilesystemStore({ id: 'os_glance_staging_store', datadir: img.os_glance_staging_store.filesystem_store_datadir, chunkSize: 65536 });
  return { defaultId, byId, staging, multiStore: backends.length > 0, descriptions };
}

export interface RunningImage {
  image: ImageApi;
  database: Database<ImageDB>;
  app: FastifyInstance;
}

/**
 * Adds image-api to a manager: its database, stores, token validation against the identity
 * service (keystone_authtoken), unified limits, the maintenance reconciler and the listener.
 */
export async function addImageApi(manager: Manager, config: AltoConfig, bus: Bus, log: Logger): Promise<RunningImage> {
  const database = openImageDatabase(config);
  manager.add({ name: 'image-database', start: async () => {}, stop: () => database.close() });
  const a = config.image.keystone_authtoken;
  const authUrl = a.auth_url ?? `${identityUrl(config)}/v3`;
  if (!a.username || !a.password) throw new ValidationError('image.keystone_authtoken.username and .password are required (the image service checks tokens with them)', 'cli.no_service_credentials');
  const serviceAuth = { authUrl, username: a.username, password: a.password, userDomainName: a.user_domain_name, projectName: a.project_name, projectDomainName: a.project_domain_name };
  const cache = tokenCache(manager, config, bus, log, 'image-api');
  const MiB = 1024 * 1024;
  const fallback = config.image.default.user_storage_quota > 0 ? { imageSizeTotal: config.image.default.user_storage_quota / MiB } : {};
  const metrics = createMetricsRegistry('image-api');
  const image = await createImage({
    config: config.image,
    database,
    stores: buildStores(config),
    validator: remoteTokenValidator(serviceAuth, systemClock),
    cache,
    limits: config.image.default.use_keystone_limits ? keystoneLimits({ auth: serviceAuth, clock: systemClock, fallback }) : legacyLimits(fallback),
    clock: systemClock,
    log,
    metrics,
    validateResponses: process.env.ALTO_VALIDATE_RESPONSES === '1',
  });
  for (const c of image.checks) manager.addCheck(c);
  registerHealthRoutes(image.app, { manager, metrics });
  for (const r of image.runnables) manager.add(r);
  manager.add(httpServerRunnable('image-api', image.app, { host: config.image.api.host, port: config.image.api.port, setting: 'image.api.port' }));
  return { image, database, app: image.app };
}

export function openBlockStorageDatabase(config: AltoConfig): Database<BlockStorageDB> {
  return openDatabase<BlockStorageDB>(config.block_storage.database);
}

/** This process's name as the holder of task leases and on the bus. */
const processName = () => `${hostname()}-${process.pid}`;

export interface RunningBlockStorage {
  api: BlockStorageApi;
  database: Database<BlockStorageDB>;
  app: FastifyInstance;
}

/** The service credentials a component checks tokens with (keystone_authtoken). */
function serviceAuthOf(config: AltoConfig, section: 'image' | 'block_storage') {
  const a = config[section].keystone_authtoken;
  if (!a.username || !a.password) {
    throw new ValidationError(`${section}.keystone_authtoken.username and .password are required (the service checks tokens with them)`, 'cli.no_service_credentials');
  }
  return { authUrl: a.auth_url ?? `${identityUrl(config)}/v3`, username: a.username, password: a.password, userDomainName: a.user_domain_name, projectName: a.project_name, projectDomainName: a.project_domain_name };
}

/** Adds volume-api to a manager: its database, token validation against identity, the Cinder v3 routes and the listener. */
/** The image service as block storage reaches it (one Glance client and service token per process). */
export function blockStorageImages(config: AltoConfig): ImageServiceWiring {
  return imageServiceOf(config.block_storage, serviceAuthOf(config, 'block_storage'), systemClock, config.bootstrap.region_id);
}

export async function addVolumeApi(manager: Manager, config: AltoConfig, bus: Bus, log: Logger, database = openBlockStorageDatabase(config), images = blockStorageImages(config)): Promise<RunningBlockStorage> {
  manager.add({ name: 'block-storage-database', start: async () => {}, stop: () => database.close() });
  const cache = tokenCache(manager, config, bus, log, 'volume-api');
  const metrics = createMetricsRegistry('volume-api');
  const api = await createBlockStorage({
    config: config.block_storage,
    database,
    bus,
    validator: remoteTokenValidator(serviceAuthOf(config, 'block_storage'), systemClock),
    cache,
    clock: systemClock,
    log,
    metrics,
    validateResponses: process.env.ALTO_VALIDATE_RESPONSES === '1',
    glance: images.glance,
  });
  for (const c of api.checks) manager.addCheck(c);
  registerHealthRoutes(api.app, { manager, metrics });
  manager.add(httpServerRunnable('volume-api', api.app, { host: config.block_storage.api.host, port: config.block_storage.api.port, setting: 'block_storage.api.port' }));
  return { api, database, app: api.app };
}

/** Adds volume-scheduler: places new volumes on the backends workers report. */
export function addVolumeScheduler(manager: Manager, config: AltoConfig, bus: Bus, log: Logger, database: Database<BlockStorageDB>): VolumeScheduler {
  const d = config.block_storage.default;
  const scheduler = new VolumeScheduler({
    db: database.db,
    bus,
    clock: systemClock,
    log,
    host: d.host ?? hostname(),
    sweepMs: d.task_sweep_seconds * 1000,
    serviceDownMs: d.service_down_time * 1000,
    messageTtlMs: d.message_ttl * 1000,
    availabilityZone: d.storage_availability_zone,
  });
  manager.add(scheduler);
  return scheduler;
}

/** The known volume drivers; an unknown one stops startup with this list. */
const VOLUME_DRIVERS = ['file'];

/** The volume backends of [DEFAULT] enabled_backends (one `file` backend in ${data_dir}/volumes when none). */
export function buildVolumeBackends(config: AltoConfig): Map<string, { backend: VolumeBackend; section: string }> {
  const d = config.block_storage.default;
  const host = d.host ?? hostname();
  const sections = Object.entries(d.enabled_backends);
  if (!sections.length) sections.push(['file', { volume_driver: 'file', file_volume_format: 'qcow2', file_capacity_gb: 0, max_over_subscription_ratio: 20, reserved_percentage: 0 }]);
  const out = new Map<string, { backend: VolumeBackend; section: string }>();
  for (const [name, b] of sections) {
    if (!VOLUME_DRIVERS.includes(b.volume_driver)) {
      throw new ValidationError(`volume backend "${name}" has unknown volume_driver "${b.volume_driver}"; known: ${VOLUME_DRIVERS.join(', ')}`, 'cli.unknown_volume_driver');
    }
    const directory = b.file_volume_dir ?? `${config.data_dir}/volumes${sections.length > 1 ? `/${name}` : ''}`;
    out.set(`${host}@${name}`, { backend: new FileBackend({ name: b.volume_backend_name ?? name, directory, defaultFormat: b.file_volume_format }), section: name });
  }
  return out;
}

/** Adds one volume-worker per backend: converges the volumes placed on it and reports its capacity. */
export function addVolumeWorkers(manager: Manager, config: AltoConfig, bus: Bus, log: Logger, database: Database<BlockStorageDB>, images = blockStorageImages(config)): Map<string, VolumeBackend> {
  const d = config.block_storage.default;
  const backends = buildVolumeBackends(config);
  const owner = processName();
  for (const [host, { backend }] of backends) {
    manager.add(
      new VolumeWorker({
        db: database.db,
        bus,
        clock: systemClock,
        log: log.child({ backend: host }),
        backend,
        host,
        owner,
        availabilityZone: d.storage_availability_zone,
        leaseMs: d.task_lease_seconds * 1000,
        sweepMs: d.task_sweep_seconds * 1000,
        reportMs: d.report_interval * 1000,
        images: images.transfer,
        // os-initialize_connection / attachments: the backend answers how to reach the volume
        handlers: connectionHandlers(backend),
      }),
    );
  }
  return new Map([...backends].map(([h, b]) => [h, b.backend]));
}

/** /healthz, /readyz and /metrics for a component without an API (scheduler, workers), with its database as the readiness check. */
export function addHealthListener(manager: Manager, component: string, database: { dialect: string; ping(): Promise<number> }, listen: ListenOn, log: Logger): void {
  const metrics = createMetricsRegistry(component);
  manager.addCheck({ name: `${component} database`, check: async () => `${database.dialect} ${(await database.ping()).toFixed(1)} ms` });
  const app = createHttpServer({ logger: log, renderer: computeRenderer(), bodyLimit: 1024 });
  registerHealthRoutes(app, { manager, metrics });
  manager.add(httpServerRunnable(`${component}-health`, app, listen));
}

/** The known backup drivers; an unknown one stops startup with this list. */
const BACKUP_DRIVERS = ['posix'];

/**
 * Adds the backup worker (cinder-backup): it reads and writes volumes through the backends of
 * the volume workers beside it (same process under `alto up`, same pod in Kubernetes).
 */
export function addBackupWorker(manager: Manager, config: AltoConfig, bus: Bus, log: Logger, database: Database<BlockStorageDB>, backends?: Map<string, VolumeBackend>): void {
  const d = config.block_storage.default;
  if (!BACKUP_DRIVERS.includes(d.backup_driver)) throw new ValidationError(`backup_driver "${d.backup_driver}" is unknown; known: ${BACKUP_DRIVERS.join(', ')}`, 'cli.unknown_backup_driver');
  const volumeBackends = backends ?? new Map([...buildVolumeBackends(config)].map(([h, b]) => [h, b.backend]));
  manager.add(
    new BackupWorker({
      db: database.db,
      bus,
      clock: systemClock,
      log: log.child({ component: 'volume-backup' }),
      driver: new PosixBackupDriver({ path: d.backup_posix_path }),
      backends: volumeBackends,
      host: d.host ?? hostname(),
      owner: processName(),
      scratchDir: `${config.data_dir}/backup-scratch`,
      availabilityZone: d.storage_availability_zone,
      leaseMs: d.task_lease_seconds * 1000,
      sweepMs: d.task_sweep_seconds * 1000,
      reportMs: d.report_interval * 1000,
    }),
  );
}
