// The block storage API with the volume action and attachment routes, over SQLite, the
// in-process bus and a real file backend whose connection RPCs a worker-side server answers:
// what the action and attachment tests share.
import { join } from 'node:path';
import Value from 'typebox/value';
import type { Database } from '@alto/db';
import type { Bus, RpcHandlers, Subscription } from '@alto/bus';
import { systemClock } from '@alto/kernel';
import { createAuthenticator, createValidators, mountRoutes } from '@alto/http';
import { createMetricsRegistry } from '@alto/runtime';
import { BlockStorageSection, type BlockStorageConfig } from '../config.js';
import { createBlockStorage, type BlockStorageApi } from '../plugin.js';
import { AttachmentsService, type AttachmentsOptions } from '../domain/attachments.service.js';
import { VolumeActionsService } from '../domain/volume-actions.service.js';
import { FileBackend } from '../drivers/file-backend.js';
import { projectRoutes, type VolumeActionSpec } from '../api/common.js';
import { attachmentRoutes } from '../api/attachments.js';
import { volumeActionRoutes } from '../api/volume-actions.js';
import { insertVolume } from '../store/volume.repo.js';
import type { BlockStorageDB, VolumeTable } from '../store/schema.js';
import { VOLUME_TOPIC } from '../workers/topics.js';
import { connectionHandlers } from '../workers/volume-connections.js';
import { volumeRow } from './volume-row.js';
import { OWNER_PROJECT, caller, defaultTypeId as defaultTypeOf, openTestStore, personaValidator as validator, testPolicy, type Call } from './route-harness.js';

export { ADMIN_PROJECT, OWNER_PROJECT, OTHER_PROJECT, contextOf } from './route-harness.js';

export const HOST = 'cinder-ref@file#file';

export interface AttachHarness {
  api: BlockStorageApi;
  database: Database<BlockStorageDB>;
  bus: Bus;
  backend: FileBackend;
  attachments: AttachmentsService;
  actions: VolumeActionsService;
  /** Casts the worker would have received (method, volume id). */
  casts: { method: string; volumeId: string }[];
  call: Call;
  /** An available volume on HOST in the owner's project, with its backend file unless withFile is false. */
  volume(over?: Partial<VolumeTable>, withFile?: boolean): Promise<string>;
  defaultTypeId: string;
  /** Whether these routes were mounted here (plugin.ts did not yet), so the extra actions given are served. */
  mountedHere: boolean;
  close(): Promise<void>;
}

export async function startAttachHarness(opts: AttachmentsOptions = {}, extraActions: Record<string, VolumeActionSpec> = {}): Promise<AttachHarness> {
  const config = Value.Default(BlockStorageSection, {}) as BlockStorageConfig;
  const store = await openTestStore('alto-attach-', systemClock);
  const { dir, database, bus, log } = store;
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
    // config's oslo_policy defaults (scope and new defaults enforced) are testPolicy's
    mountRoutes(api.app, projectRoutes([...attachmentRoutes(frame), ...volumeActionRoutes(frame, extraActions)]), {
      enforcer: testPolicy().routes,
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
  const defaultTypeId = await defaultTypeOf(database);

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
    call: caller(api.app),
    volume: async (over = {}, withFile = true) => {
      const row = volumeRow({ project_id: OWNER_PROJECT, user_id: 'u-member', status: 'available', host: HOST, volume_type_id: defaultTypeId, launched_at: now, ...over });
      await insertVolume(database.db, row);
      if (withFile) await backend.createVolume({ volumeId: row.id, sizeGb: Number(row.size) });
      return row.id;
    },
    close: async () => {
      await served.stop();
      await api.app.close();
      await store.close();
    },
  };
}
