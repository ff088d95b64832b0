// volume-worker: one per backend host. A level-based reconciler: a message (or a sweep) only
// names a volume or a snapshot; the worker takes the object's task lease, re-reads the row,
// converges (create from nothing, a snapshot, a volume or an image; delete with its snapshots;
// extend; upload to an image; snapshot create and delete), and releases the lease with the new
// state, in the same transaction as the quota it gives back and the user message it leaves. A
// worker killed mid-way leaves a lease that lapses; the next sweep (here or on a restart) redoes
// the work, which the backend's idempotent, id-named operations make safe.
import type { Bus, RpcHandler, RpcHandlers, Subscription } from '@alto/bus';
import type { Clock } from '@alto/kernel';
import type { Logger, Runnable } from '@alto/runtime';
import { Action, Detail, Resource, type MessageField, type MessageResource } from '../domain/message-fields.js';
import { QuotaEngine, snapshotDeltas, volumeDeltas, typeResource } from '../domain/quotas.js';
import type { ImageTransfer } from '../spi/image-transfer.js';
import { VolumeBackendError, type CreateVolumeSpec, type VolumeBackend } from '../spi/volume-backend.js';
import { insertMessage } from '../store/message.repo.js';
import { reportService } from '../store/service.repo.js';
import {
  selectSnapshot,
  selectSnapshotsOfVolume,
  selectUnheldSnapshotWork,
  SNAPSHOT_TRANSITIONAL,
  type SnapshotColumns,
  type SnapshotRow,
} from '../store/snapshot.repo.js';
import { typeNamesOf } from '../store/type.repo.js';
import {
  selectUnheldWork,
  selectVolume,
  TRANSITIONAL,
  writeMetadata,
  type Db,
  type VolumeColumns,
  type VolumeRow,
} from '../store/volume.repo.js';
import { claimTask, finishTask, renewTask } from '../store/task-lease.js';
import { poolHostOf, sameBackend, VOLUME_TOPIC } from './topics.js';
import { holdingLease, ReconcileLoop } from './reconcile-loop.js';

export interface VolumeWorkerDeps {
  db: Db;
  bus: Bus;
  clock: Clock;
  log: Logger;
  backend: VolumeBackend;
  /** Cinder's `host@backend#pool` this worker serves (the scheduler writes it on the volume). */
  host: string;
  /** This process, as the holder of task leases. */
  owner: string;
  /** How long a task lease lasts without renewal. */
  leaseMs?: number;
  /** How often unheld work on this host is looked for. */
  sweepMs?: number;
  /** This backend's availability zone (Cinder's storage_availability_zone). */
  availabilityZone?: string;
  /** How often the worker reports its heartbeat and capacity (Cinder's report_interval). */
  reportMs?: number;
  /**
   * Gives usage back when a volume or snapshot is deleted or an extension fails. Default: an
   * engine over `db` (giving back needs no limits, so no quota defaults).
   */
  quotas?: QuotaEngine;
  /** Moves image data (create from an image, os-volume_upload_image); without it both fail with a user message. */
  images?: ImageTransfer;
  /** How long the user messages this worker leaves live (Cinder's message_ttl; default 30 days). */
  messageTtlMs?: number;
  /** More methods served on this worker's topic and host, beside the reconcilers' kicks (connectionHandlers(backend) ...). */
  handlers?: RpcHandlers;
}

/** The binary name os-services shows for workers, as Cinder's. */
export const WORKER_BINARY = 'cinder-volume';

/** The bus topic a worker serves, as Cinder's `cinder-volume` with the host as server. */
export { VOLUME_TOPIC };

/** Cinder's message_ttl default: 30 days. */
const MESSAGE_TTL_MS = 2_592_000_000;

/** A user message: what was being done and why it failed (cinder/message/message_field.py). */
interface UserMessage {
  action: MessageField;
  detail: MessageField;
}

/** Methods whose arguments only name the object to converge (Cinder's volume rpcapi names). */
const VOLUME_KICKS = ['create_volume', 'delete_volume', 'extend_volume', 'copy_volume_to_image'] as const;
const SNAPSHOT_KICKS = ['create_snapshot', 'delete_snapshot'] as const;

/** Work that was answered "no": retrying will not change the answer, so the object shows an error. */
class Refused extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Refused';
  }
}

/**
 * A refusal from the backend or the image transfer (VolumeBackendError invalid, no_space,
 * not_found: a bad image, a full disk, a source that is gone) is final; anything else (a
 * backend or image service that is down, an image busy elsewhere, a lost database connection)
 * is retried once the lease lapses.
 */
function isRefusal(err: unknown): boolean {
  return err instanceof VolumeBackendError ? err.code !== 'backend' : err instanceof Refused;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class VolumeWorker implements Runnable {
  readonly name = 'volume-worker';
  private readonly d: VolumeWorkerDeps;
  private readonly leaseMs: number;
  private readonly quotas: QuotaEngine;
  /** Runs per object, keyed `volume:<id>` and `snapshot:<id>`. */
  private readonly loop: ReconcileLoop;
  private subscription: Subscription | undefined;

  constructor(d: VolumeWorkerDeps) {
    for (const m of Object.keys(d.handlers ?? {})) {
      if ((VOLUME_KICKS as readonly string[]).includes(m) || (SNAPSHOT_KICKS as readonly string[]).includes(m)) throw new Error(`volume worker: handler ${m} would hide the reconciler's own method`);
    }
    this.d = d;
    this.leaseMs = d.leaseMs ?? 60_000;
    this.quotas = d.quotas ?? new QuotaEngine({ db: d.db, defaults: {}, nowMs: () => d.clock.nowMs() });
    this.loop = new ReconcileLoop({
      reportMs: d.reportMs ?? 10_000,
      sweepMs: d.sweepMs ?? 10_000,
      report: () => this.report(),
      sweep: () => this.sweep(),
      reportFailed: (err) => d.log.warn({ err: messageOf(err) }, 'volume service report failed'),
      sweepFailed: (err) => d.log.warn({ err: messageOf(err) }, 'volume sweep failed'),
      runFailed: (key, err) => d.log.error({ object: key, err: messageOf(err) }, 'reconcile failed; the next sweep retries once the lease lapses'),
    });
  }

  async start(): Promise<void> {
    await this.d.backend.open();
    // every method only names the object: its row says what to do
    const kickVolume: RpcHandler = (args) => {
      if (typeof args.volume_id === 'string') this.kick(args.volume_id);
      return null;
    };
    const kickSnapshot: RpcHandler = (args) => {
      if (typeof args.snapshot_id === 'string') this.kickSnapshot(args.snapshot_id);
      return null;
    };
    const methods: Record<string, RpcHandler> = { ...this.d.handlers };
    for (const m of VOLUME_KICKS) methods[m] = kickVolume;
    for (const m of SNAPSHOT_KICKS) methods[m] = kickSnapshot;
    // senders address a volume's worker by the volume's host, host@backend#pool (the backend's one pool)
    this.subscription = await this.d.bus.serve({ topic: VOLUME_TOPIC, server: poolHostOf(this.d.host, this.d.backend.name) }, methods);
    await this.report();
    this.loop.start();
  }

  /** Heartbeat and capacity, where the scheduler and os-services read them. */
  async report(): Promise<void> {
    const s = await this.d.backend.stats();
    await reportService(this.d.db, {
      host: this.d.host,
      binary: WORKER_BINARY,
      topic: VOLUME_TOPIC,
      availabilityZone: this.d.availabilityZone ?? 'nova',
      capabilities: {
        volume_backend_name: s.backendName,
        vendor_name: s.vendorName,
        driver_version: s.driverVersion,
        storage_protocol: s.storageProtocol,
        total_capacity_gb: s.totalCapacityGb,
        free_capacity_gb: s.freeCapacityGb,
        ...s.capabilities,
      },
      nowMs: this.d.clock.nowMs(),
    });
  }

  async stop(): Promise<void> {
    this.loop.halt();
    await this.subscription?.stop();
    await this.idle();
  }

  /** Resolves when nothing is being converged (tests). */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  /** Converges one volume soon; a kick while it is in progress runs it once more afterwards. */
  kick(volumeId: string): void {
    this.loop.run(`volume:${volumeId}`, () => this.reconcile(volumeId));
  }

  /** Converges one snapshot soon. */
  kickSnapshot(snapshotId: string): void {
    this.loop.run(`snapshot:${snapshotId}`, () => this.reconcileSnapshot(snapshotId));
  }

  /** Kicks every volume and snapshot on this host whose transitional work nobody holds. */
  async sweep(): Promise<void> {
    const now = this.d.clock.nowMs();
    for (const row of await selectUnheldWork(this.d.db, this.d.host, now)) this.kick(row.id);
    for (const row of await selectUnheldSnapshotWork(this.d.db, this.d.host, now)) this.kickSnapshot(row.id);
  }

  /** Runs `work` while renewing a lease, so that long copies keep it. */
  private holding<T>(renew: (leaseUntil: number) => Promise<boolean>, work: () => Promise<T>): Promise<T> {
    return holdingLease(this.leaseMs, 100, () => renew(this.d.clock.nowMs() + this.leaseMs), work);
  }

  private message(db: Db, resourceType: MessageResource, projectId: string, resourceUuid: string, m: UserMessage): Promise<string> {
    return insertMessage(db, { projectId, resourceType, resourceUuid, actionId: m.action.id, detailId: m.detail.id, nowMs: this.d.clock.nowMs(), ttlMs: this.d.messageTtlMs ?? MESSAGE_TTL_MS });
  }

  private async typeName(typeId: string | null): Promise<string | undefined> {
    return typeId ? (await typeNamesOf(this.d.db, [typeId])).get(typeId) : undefined;
  }

  // ---- volumes -------------------------------------------------------------------------------

  /** One pass for one volume: claim, converge, release. */
  async reconcile(volumeId: string): Promise<void> {
    const seen = await selectVolume(this.d.db, volumeId);
    // another host's volume is not ours to claim (its lease would block its own worker)
    if (!seen?.host || !sameBackend(seen.host, this.d.host) || !(TRANSITIONAL as readonly string[]).includes(seen.status)) return;
    const now = this.d.clock.nowMs();
    if (!(await claimTask(this.d.db, 'volume', volumeId, TRANSITIONAL, this.d.owner, now, now + this.leaseMs))) return;
    const row = await selectVolume(this.d.db, volumeId);
    if (!row) return;
    await this.holding((until) => renewTask(this.d.db, 'volume', volumeId, this.d.owner, until), () => this.converge(row));
  }

  private finishVolume(row: VolumeRow, set: VolumeColumns, db: Db = this.d.db): Promise<boolean> {
    return finishTask(db, 'volume', row.id, this.d.owner, { ...set, updated_at: this.d.clock.nowMs() });
  }

  /** Ends the volume's task with an error status and a user message, in one transaction. */
  private async failVolume(row: VolumeRow, set: VolumeColumns, err: unknown, message?: UserMessage, quota?: Record<string, number>): Promise<void> {
    this.d.log.warn({ volume_id: row.id, was: row.status, err: messageOf(err) }, `volume ${row.status} failed`);
    await this.d.db.transaction().execute(async (trx) => {
      if (!(await this.finishVolume(row, set, trx))) return;
      if (message) await this.message(trx, Resource.VOLUME, row.project_id, row.id, message);
      if (quota && row.use_quota) await this.quotas.release(trx, row.project_id, quota);
    });
  }

  private async converge(row: VolumeRow): Promise<void> {
    switch (row.status) {
      case 'creating':
        return this.create(row);
      case 'deleting':
        return this.deleteVolume(row);
      case 'extending':
        return this.extend(row);
      case 'uploading':
        return this.upload(row);
      default:
        await this.finishVolume(row, {});
    }
  }

  private async create(row: VolumeRow): Promise<void> {
    const { backend, images } = this.d;
    const spec: CreateVolumeSpec = { volumeId: row.id, sizeGb: Number(row.size) };
    const fromImage = !row.snapshot_id && !row.source_volid && !!row.image_id;
    try {
      if (row.snapshot_id) {
        const snap = await selectSnapshot(this.d.db, row.snapshot_id);
        if (!snap) throw new Refused(`snapshot ${row.snapshot_id} no longer exists`);
        await backend.createVolumeFromSnapshot(snap.id, snap.volume_id, spec);
      } else if (row.source_volid) {
        await backend.cloneVolume(row.source_volid, spec);
      } else if (row.image_id) {
        if (!images) throw new Refused('this worker has no image service to copy images from');
        await backend.createVolume(spec);
        const imageId = row.image_id;
        const properties = await images.copyImageToVolume(backend, { volumeId: row.id, imageId, sizeGb: spec.sizeGb });
        await this.d.db.transaction().execute(async (trx) => {
          if (!(await this.finishVolume(row, { status: 'available', bootable: 1, launched_at: this.d.clock.nowMs() }, trx))) return;
          await writeMetadata(trx, 'volume_image_metadata', row.id, properties, true);
        });
        return;
      } else {
        await backend.createVolume(spec);
      }
      await this.finishVolume(row, { status: 'available', launched_at: this.d.clock.nowMs(), provider_location: null });
    } catch (err) {
      if (!isRefusal(err)) throw err;
      // COMPAT(cinder zed): create_volume.py leaves COPY_IMAGE_TO_VOLUME (NOT_ENOUGH_SPACE_FOR_IMAGE
      // for a full disk) for images and CREATE_VOLUME_FROM_BACKEND/DRIVER_FAILED_CREATE for the driver
      const message = fromImage
        ? { action: Action.COPY_IMAGE_TO_VOLUME, detail: err instanceof VolumeBackendError && err.code === 'no_space' ? Detail.NOT_ENOUGH_SPACE_FOR_IMAGE : Detail.UNKNOWN_ERROR }
        : { action: Action.CREATE_VOLUME_FROM_BACKEND, detail: Detail.DRIVER_FAILED_CREATE };
      // an error volume keeps its quota until it is deleted, as Cinder's
      await this.failVolume(row, { status: 'error' }, err, message);
    }
  }

  /** Deletes the volume's snapshots the API marked deleting (cascade), then the volume; quota given back with each row. */
  private async deleteVolume(row: VolumeRow): Promise<void> {
    try {
      for (const snap of await selectSnapshotsOfVolume(this.d.db, row.id)) {
        // others are left for the backend to refuse the volume for (it still has snapshots)
        if (snap.status !== 'deleting') continue;
        const now = this.d.clock.nowMs();
        if (!(await claimTask(this.d.db, 'snapshot', snap.id, ['deleting'], this.d.owner, now, now + this.leaseMs))) {
          // another worker is deleting this snapshot now: give the volume back for the next sweep
          // (or that worker's kick when it is done) instead of waiting here
          this.d.log.info({ volume_id: row.id, snapshot_id: snap.id }, 'volume delete waits for a snapshot another worker is deleting');
          await this.finishVolume(row, {});
          return;
        }
        const claimed = (await selectSnapshot(this.d.db, snap.id)) ?? snap;
        if (!(await this.holding((until) => renewTask(this.d.db, 'snapshot', snap.id, this.d.owner, until), () => this.deleteSnapshot(claimed, row)))) {
          throw new Refused(`snapshot ${snap.id} of the volume could not be deleted`);
        }
      }
      await this.d.backend.deleteVolume(row.id);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      // COMPAT(cinder zed): a failed delete leaves error_deleting without a user message
      await this.failVolume(row, { status: 'error_deleting' }, err);
      return;
    }
    const typeName = await this.typeName(row.volume_type_id);
    await this.d.db.transaction().execute(async (trx) => {
      const now = this.d.clock.nowMs();
      if (!(await this.finishVolume(row, { status: 'deleted', deleted: 1, deleted_at: now, terminated_at: now }, trx))) return;
      if (row.use_quota) await this.quotas.release(trx, row.project_id, typeName === undefined ? { volumes: 1, gigabytes: Number(row.size) } : volumeDeltas(Number(row.size), typeName));
    });
  }

  private async extend(row: VolumeRow): Promise<void> {
    const target = Number(row.target_size ?? row.size);
    // os-extend records the status it came from; a row without one goes by its attachment
    const back = row.previous_status === 'available' || row.previous_status === 'in-use' ? row.previous_status : row.attach_status === 'attached' ? 'in-use' : 'available';
    try {
      await this.d.backend.extendVolume(row.id, target);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      // os-extend took the added gigabytes in the API's transaction: they go back (Cinder's
      // manager rolls the reservation back on a failed extend)
      const added = target - Number(row.size);
      const typeName = await this.typeName(row.volume_type_id);
      const quota = added > 0 ? { gigabytes: added, ...(typeName === undefined ? {} : { [typeResource('gigabytes', typeName)]: added }) } : undefined;
      await this.failVolume(row, { status: 'error_extending', target_size: null }, err, { action: Action.EXTEND_VOLUME, detail: Detail.DRIVER_FAILED_EXTEND }, quota);
      return;
    }
    await this.finishVolume(row, { status: back, size: target, target_size: null });
  }

  /** os-volume_upload_image: the volume's data into the image the API created; the volume returns to its status before. */
  private async upload(row: VolumeRow): Promise<void> {
    const back = row.previous_status ?? (row.attach_status === 'attached' ? 'in-use' : 'available');
    const { backend, images } = this.d;
    try {
      const args = parseUploadArgs(row.task_args);
      if (!images) throw new Refused('this worker has no image service to upload to');
      await images.copyVolumeToImage(backend, { volumeId: row.id, imageId: args.imageId, diskFormat: args.diskFormat });
    } catch (err) {
      if (!isRefusal(err)) throw err;
      await this.failVolume(row, { status: back, task_args: null }, err, { action: Action.COPY_VOLUME_TO_IMAGE, detail: Detail.FAILED_TO_UPLOAD_VOLUME });
      return;
    }
    await this.finishVolume(row, { status: back, task_args: null });
  }

  // ---- snapshots -----------------------------------------------------------------------------

  /** One pass for one snapshot: claim, converge, release. */
  async reconcileSnapshot(snapshotId: string): Promise<void> {
    const seen = await selectSnapshot(this.d.db, snapshotId);
    if (!seen || !(SNAPSHOT_TRANSITIONAL as readonly string[]).includes(seen.status)) return;
    const volume = await this.d.db.selectFrom('volume').selectAll().where('id', '=', seen.volume_id).executeTakeFirst();
    if (!volume?.host || !sameBackend(volume.host, this.d.host)) return;
    // the snapshots of a volume being deleted are the volume's work (cascade, in order)
    if (volume.status === 'deleting' && seen.status === 'deleting') {
      this.kick(volume.id);
      return;
    }
    const now = this.d.clock.nowMs();
    if (!(await claimTask(this.d.db, 'snapshot', snapshotId, SNAPSHOT_TRANSITIONAL, this.d.owner, now, now + this.leaseMs))) return;
    const snap = await selectSnapshot(this.d.db, snapshotId);
    if (!snap) return;
    await this.holding(
      (until) => renewTask(this.d.db, 'snapshot', snapshotId, this.d.owner, until),
      async () => {
        if (snap.status === 'creating') await this.createSnapshot(snap);
        else if (snap.status === 'deleting') await this.deleteSnapshot(snap, volume);
        else await this.finishSnapshot(snap, {});
      },
    );
    // a volume delete that waited for this snapshot goes on now rather than at the next sweep
    if ((await selectVolume(this.d.db, volume.id))?.status === 'deleting') this.kick(volume.id);
  }

  private finishSnapshot(snap: SnapshotRow, set: SnapshotColumns, db: Db = this.d.db): Promise<boolean> {
    return finishTask(db, 'snapshot', snap.id, this.d.owner, { ...set, updated_at: this.d.clock.nowMs() });
  }

  private async failSnapshot(snap: SnapshotRow, status: string, err: unknown, message: UserMessage): Promise<void> {
    this.d.log.warn({ snapshot_id: snap.id, was: snap.status, err: messageOf(err) }, `snapshot ${snap.status} failed`);
    await this.d.db.transaction().execute(async (trx) => {
      if (!(await this.finishSnapshot(snap, { status }, trx))) return;
      await this.message(trx, Resource.VOLUME_SNAPSHOT, snap.project_id, snap.id, message);
    });
  }

  private async createSnapshot(snap: SnapshotRow): Promise<void> {
    try {
      await this.d.backend.createSnapshot(snap.volume_id, snap.id);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      await this.failSnapshot(snap, 'error', err, { action: Action.SNAPSHOT_CREATE, detail: Detail.SNAPSHOT_CREATE_ERROR });
      return;
    }
    await this.finishSnapshot(snap, { status: 'available', progress: '100%' });
  }

  /**
   * Deletes a snapshot whose lease this worker holds: the backend's copy, then the row (soft)
   * with its quota in one transaction. False when the backend refused (the snapshot shows
   * error_deleting and a user message).
   */
  private async deleteSnapshot(snap: SnapshotRow, volume: VolumeRow): Promise<boolean> {
    try {
      await this.d.backend.deleteSnapshot(snap.volume_id, snap.id);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      await this.failSnapshot(snap, 'error_deleting', err, { action: Action.SNAPSHOT_DELETE, detail: Detail.SNAPSHOT_DELETE_ERROR });
      return false;
    }
    const typeName = await this.typeName(snap.volume_type_id ?? volume.volume_type_id);
    const size = Number(snap.volume_size);
    await this.d.db.transaction().execute(async (trx) => {
      const now = this.d.clock.nowMs();
      if (!(await this.finishSnapshot(snap, { status: 'deleted', deleted: 1, deleted_at: now }, trx))) return;
      if (snap.use_quota) await this.quotas.release(trx, snap.project_id, typeName === undefined ? { snapshots: 1, gigabytes: size } : snapshotDeltas(size, typeName));
    });
    return true;
  }
}

/** task_args of an upload, as the API writes them: {"image_id", "disk_format"}. */
function parseUploadArgs(taskArgs: string | null): { imageId: string; diskFormat: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(taskArgs ?? 'null');
  } catch {
    parsed = null;
  }
  const o = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  if (typeof o.image_id !== 'string' || typeof o.disk_format !== 'string') throw new Refused(`upload task_args ${JSON.stringify(taskArgs)} do not name image_id and disk_format`);
  return { imageId: o.image_id, diskFormat: o.disk_format };
}
