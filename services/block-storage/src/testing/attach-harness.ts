// The block storage API with the volume action and attachment routes, over SQLite, the
// in-process bus and a real file backend whose connection RPCs a worker-side server answers:
// what the action and attachment tests share.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Value from 'typebox/value';
import type { LightMyRequestResponse } from 'fastify';
import { migrateToLatest, openDatabase, type Database } from '@alto/db';
import { createBus, type Bus, type RpcHandlers, type Subscription } from '@alto/bus';
import { ForbiddenError, UnauthorizedError, systemClock, type RequestContext } from '@alto/kernel';
import { createAuthenticator, createValidators, mountRoutes, type AuthContext, type TokenValidator } from '@alto/http';
import { Enforcer } from '@alto/policy';
import { createLogger, createMetricsRegistry } from '@alto/runtime';
import { BlockStorageSection, type BlockStorageConfig } from '../config.js';
import { createBlockStorage, type BlockStorageApi } from '../plugin.js';
import { blockStoragePolicies } from '../policies.js';
import { PolicyNotAuthorized } from '../domain/errors.js';
import { AttachmentsService, type AttachmentsOptions } from '../domain/attachments.service.js';
import { VolumeActionsService } from '../domain/volume-actions.service.js';
import { FileBackend } from '../drivers/file-backend.js';
import { projectRoutes, type VolumeActionSpec } from '../api/common.js';
import { attachmentRoutes } from '../api/attachments.js';
import { volumeActionRoutes } from '../api/volume-actions.js';
import { blockStorageMigrations } from '../store/migrations/index.js';
import { insertVolume } from '../store/volume.repo.js';
import type { BlockStorageDB, VolumeTable } from '../store/schema.js';
import { VOLUME_TOPIC } from '../workers/topics.js';
import { connectionHandlers } from '../workers/volume-connections.js';
import { volumeRow } from './volume-row.js';

export const ADMIN_PROJECT = 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0';
export const OWNER_PROJECT = 'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1';
export const OTHER_PROJECT = 'c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2';
export const HOST = 'cinder-ref@file#file';

const PERSONAS: Record<string, { userId: string; projectId: string; roles: string[]; service?: boolean }> = {
  '<admin>': { userId: 'u-admin', projectId: ADMIN_PROJECT, roles: ['admin', 'member', 'reader'] },
  '<member>': { userId: 'u-member', projectId: OWNER_PROJECT, roles: ['member', 'reader'] },
  '<reader>': { userId: 'u-reader', projectId: OWNER_PROJECT, roles: ['reader'] },
  '<other>': { userId: 'u-other', projectId: OTHER_PROJECT, roles: ['member', 'reader'] },
};

const validator: TokenValidator = {
  validate: async (token): Promise<AuthContext> => {
    const p = PERSONAS[token];
    if (!p) throw new UnauthorizedError('The request you have made requires authentication.', 'auth.invalid_token');
    return { userId: p.userId, userDomainId: 'default', projectId: p.projectId, projectDomainId: 'default', roles: p.roles, isAdminProject: p.roles.includes('admin'), serviceRoles: [] };
  },
};

export interface AttachHarness {
  api: BlockStorageApi;
  database: Database<BlockStorageDB>;
  bus: Bus;
  backend: FileBackend;
  attachments: AttachmentsService;
  actions: VolumeActionsService;
  /** Casts the worker would have received (method, volume id). */
  casts: { method: string; volumeId: string }[];
  call(as: string, method: string, url: string, body?: unknown, version?: string): Promise<LightMyRequestResponse>;
  /** An available volume on HOST in the owner's project, with its backend file unless withFile is false. */
  volume(over?: Partial<VolumeTable>, withFile?: boolean): Promise<string>;
  defaultTypeId: string;
  /** Whether these routes were mounted here (plugin.ts did not yet), so the extra actions given are served. */
  mountedHere: boolean;
  close(): Promise<void>;
}

/** A request context for calling the services directly. */
export function contextOf(persona: string, service = false): RequestContext {
  const p = PERSONAS[persona]!;
  return { requestId: 'req-test', userId: p.userId, projectId: p.projectId, roles: p.roles, isAdminProject: p.roles.includes('admin'), serviceRoles: service ? ['service'] : [] };
}

export async function startAttachHarness(opts: AttachmentsOptions = {}, extraActions: Record<string, VolumeActionSpec> = {}): Promise<AttachHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'alto-attach-'));
  const config = Value.Default(BlockStorageSection, {}) as BlockStorageConfig;
  const database = openDatabase<BlockStorageDB>({ connection: `sqlite:///${join(dir, 'bs.db')}`, sqlite_synchronous: 'normal' });
  await migrateToLatest(database, blockStorageMigrations);
  const log = createLogger({ level: process.env.ALTO_TEST_LOG ?? 'silent' });
  const bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock: systemClock });
  const api = await createBlockStorage({ config, database, bus, validator, clock: systemClock, log, metrics: createMetricsRegistry('attach-test'), validateResponses: true });

  const attachments = new AttachmentsService(api.core, api.services.volumes, { rpcTimeoutMs: 5000, ...opts });
  const actions = new VolumeActionsService(api.core, api.services.quotas, api.services.volumes, attachments);
  const frame = {
    services: { ...api.services, attachments, volumeActions: actions },
    maxLimit: config.default.osapi_max_limit,
    publicEndpoint: undefined,
  };
  // until plugin.ts mounts them, the tests mount these routes the way it does
  const mountedHere = !api.app.hasRoute({ method: 'POST', url: '/v3/attachments' });
  if (mountedHere) {
    const enforcer = new Enforcer(blockStoragePolicies, { enforceScope: config.oslo_policy.enforce_scope, enforceNewDefaults: config.oslo_policy.enforce_new_defaults });
    mountRoutes(api.app, projectRoutes([...attachmentRoutes(frame), ...volumeActionRoutes(frame, extraActions)]), {
      enforcer: {
        enforce: (name, target, creds) => {
          try {
            const t = (target.target as Record<string, unknown> | undefined) ?? { project_id: creds.project_id ?? null, user_id: creds.user_id ?? null };
            enforcer.enforce(name, t, { ...creds, is_admin: Array.isArray(creds.roles) && (creds.roles as string[]).includes('admin') });
          } catch (err) {
            if (err instanceof ForbiddenError) throw PolicyNotAuthorized(name);
            throw err;
          }
        },
      },
      authenticator: createAuthenticator({ validator, clock: systemClock }),
      validators: createValidators(),
      validationStyle: 'nova',
      validateResponses: true,
    });
  }
  await api.app.ready();

  const backend = new FileBackend({ name: 'file', directory: join(dir, 'volumes') });
  await backend.open();
  const casts: { method: string; volumeId: string }[] = [];
  const record = (method: string) => (a: Record<string, unknown>) => {
    casts.push({ method, volumeId: String(a.volume_id) });
    return null;
  };
  const handlers: RpcHandlers = { ...connectionHandlers(backend), create_volume: record('create_volume'), extend_volume: record('extend_volume'), delete_volume: record('delete_volume') };
  const served: Subscription = await bus.serve({ topic: VOLUME_TOPIC, server: HOST }, handlers);
  const now = Date.now();
  await database.db
    .insertInto('service')
    .values({
      id: 'svc-1',
      host: HOST,
      binary: 'cinder-volume',
      topic: VOLUME_TOPIC,
      availability_zone: 'nova',
      disabled: 0,
      disabled_reason: null,
      frozen: 0,
      capabilities: JSON.stringify({ volume_backend_name: 'file', total_capacity_gb: 100, free_capacity_gb: 90, storage_protocol: 'file' }),
      created_at: now,
      updated_at: now,
    })
    .execute();
  const defaultTypeId = (await database.db.selectFrom('volume_type').select('id').where('name', '=', '__DEFAULT__').executeTakeFirstOrThrow()).id;

  return {
    api,
    database,
    bus,
    backend,
    attachments,
    actions,
    casts,
    defaultTypeId,
    mountedHere,
    call: (as, method, url, body, version) =>
      api.app.inject({
        method: method as 'GET',
        url,
        headers: {
          'x-auth-token': as,
          accept: '*/*',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(version ? { 'openstack-api-version': `volume ${version}` } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      }),
    volume: async (over = {}, withFile = true) => {
      const row = volumeRow({ project_id: OWNER_PROJECT, user_id: 'u-member', status: 'available', host: HOST, volume_type_id: defaultTypeId, launched_at: now, ...over });
      await insertVolume(database.db, row);
      if (withFile) await backend.createVolume({ volumeId: row.id, sizeGb: Number(row.size) });
      return row.id;
    },
    close: async () => {
      await served.stop();
      await api.app.close();
      await bus.close();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
