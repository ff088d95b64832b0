// backup-worker: Cinder's cinder-backup, one per volume host, beside the volume worker whose
// backends it reads and writes (the same pod and PVC in Kubernetes; one process under `alto up`).
// A level-based reconciler like the volume worker: a message (or a sweep) names a backup; the
// worker takes the backup's task lease, re-reads the rows, converges (create, restore, delete)
// with id-named, idempotent driver and backend calls, and releases the lease with the new state,
// so a worker killed mid-way leaves work the next sweep redoes.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Bus, Subscription } from '@alto/bus';
import type { Clock } from '@alto/kernel';
import type { Logger, Runnable } from '@alto/runtime';
import { BackupDriverError, type BackupDriver } from '../spi/backup-driver.js';
import { VolumeBackendError, type VolumeBackend } from '../spi/volume-backend.js';
import {
  BACKUP_TRANSITIONAL,
  selectBackup,
  selectUnheldBackupWork,
  type BackupColumns,
  type BackupRow,
} from '../store/backup.repo.js';
import { reportService } from '../store/service.repo.js';
import { metadataOf, selectVolume, updateVolumeIf, writeMetadata, type Db, type VolumeRow } from '../store/volume.repo.js';
import { claimTask, finishTask, renewTask } from '../store/task-lease.js';
import { QuotaEngine } from '../domain/quotas.js';
import { BACKUP_TOPIC } from './topics.js';
import { holdingLease, ReconcileLoop } from './reconcile-loop.js';

export { BACKUP_TOPIC };

/** The binary name os-services shows for backup workers, as Cinder's. */
export const BACKUP_WORKER_BINARY = 'cinder-backup';

export interface BackupWorkerDeps {
  db: Db;
  bus: Bus;
  clock: Clock;
  log: Logger;
  driver: BackupDriver;
  /** The co-located volume workers' backends, by the volume host they serve (`host@backend`, `#pool` optional). */
  backends: Map<string, VolumeBackend>;
  /** This backup service's host (Cinder's [DEFAULT] host: the part of volume hosts before '@'). */
  host: string;
  /** This process, as the holder of task leases. */
  owner: string;
  /** Where volume images are staged between the backend and the driver (on the backends' filesystem: they are volume-sized). */
  scratchDir: string;
  availabilityZone?: string;
  leaseMs?: number;
  sweepMs?: number;
  reportMs?: number;
}

const FAIL_REASON_MAX = 255;

/**
 * What a backup keeps of its volume besides the bytes, as Cinder's backup metadata does (base
 * fields, volume metadata, glance metadata), so a restore gives the target volume the same.
 */
export interface BackupVolumeMeta {
  name: string | null;
  description: string | null;
  metadata: Record<string, string>;
  imageMetadata: Record<string, string>;
}

const strings = (v: unknown): Record<string, string> =>
  v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)])) : {};
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Errors that a retry will not change: the backup shows them instead of being retried forever. */
function isRefusal(err: unknown): boolean {
  if (err instanceof BackupDriverError) return err.code !== 'backend';
  if (err instanceof VolumeBackendError) return err.code !== 'backend';
  return false;
}

export class BackupWorker implements Runnable {
  readonly name = 'backup-worker';
  private readonly d: BackupWorkerDeps;
  private readonly leaseMs: number;
  private readonly quotas: QuotaEngine;
  private readonly scratch: string;
  private readonly loop: ReconcileLoop;
  private subscription: Subscription | undefined;

  constructor(d: BackupWorkerDeps) {
    this.d = d;
    this.leaseMs = d.leaseMs ?? 60_000;
    this.scratch = resolve(d.scratchDir);
    // only release() is used: giving usage back needs no limits
    this.quotas = new QuotaEngine({ db: d.db, defaults: {}, nowMs: () => d.clock.nowMs() });
    this.loop = new ReconcileLoop({
      reportMs: d.reportMs ?? 10_000,
      sweepMs: d.sweepMs ?? 10_000,
      report: () => this.report(),
      sweep: () => this.sweep(),
      reportFailed: (err) => d.log.warn({ err: messageOf(err) }, 'backup service report failed'),
      sweepFailed: (err) => d.log.warn({ err: messageOf(err) }, 'backup sweep failed'),
      runFailed: (backupId, err) => d.log.error({ backup_id: backupId, err: messageOf(err) }, 'backup reconcile failed; the next sweep retries'),
    });
  }

  async start(): Promise<void> {
    await this.d.driver.open();
    await mkdir(this.scratch, { recursive: true });
    // images a killed run staged (its work is redone from the start, so they are never reused);
    // the scratch directory is this host's backup worker's own
    for (const name of await readdir(this.scratch)) {
      if (/^(backup|restore)-[A-Za-z0-9-]+\.raw(\.part)?$/.test(name)) await rm(join(this.scratch, name), { force: true });
    }
    const kick = async (args: { backup_id?: unknown }) => {
      if (typeof args.backup_id === 'string') this.kick(args.backup_id);
      return null;
    };
    this.subscription = await this.d.bus.serve({ topic: BACKUP_TOPIC, server: this.d.host }, { create_backup: kick, delete_backup: kick, restore_backup: kick });
    await this.report();
    this.loop.start();
  }

  /** Heartbeat, which the API reads to know a backup service is up on a volume's host. */
  async report(): Promise<void> {
    await reportService(this.d.db, { host: this.d.host, binary: BACKUP_WORKER_BINARY, topic: BACKUP_TOPIC, availabilityZone: this.d.availabilityZone ?? 'nova', nowMs: this.d.clock.nowMs() });
  }

  async stop(): Promise<void> {
    this.loop.halt();
    await this.subscription?.stop();
    await this.idle();
  }

  /** Resolves when no backup is being converged (tests). */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  /** Converges one backup soon; a kick while it is in progress runs it once more afterwards. */
  kick(backupId: string): void {
    this.loop.run(backupId, () => this.reconcile(backupId));
  }

  /** Kicks every backup on this host whose transitional work nobody holds. */
  async sweep(): Promise<void> {
    for (const row of await selectUnheldBackupWork(this.d.db, this.d.host, this.d.clock.nowMs())) this.kick(row.id);
  }

  /** One pass for one backup: claim, converge, release. */
  async reconcile(backupId: string): Promise<void> {
    const now = this.d.clock.nowMs();
    if (!(await claimTask(this.d.db, 'backup', backupId, BACKUP_TRANSITIONAL, this.d.owner, now, now + this.leaseMs))) return;
    const row = await selectBackup(this.d.db, backupId);
    if (!row || row.host !== this.d.host) return;
    const renew = () => renewTask(this.d.db, 'backup', backupId, this.d.owner, this.d.clock.nowMs() + this.leaseMs);
    await holdingLease(this.leaseMs, 1000, renew, async () => {
      switch (row.status) {
        case 'creating':
          return await this.create(row);
        case 'restoring':
          return await this.restore(row);
        case 'deleting':
          return await this.delete(row);
        default:
          await finishTask(this.d.db, 'backup', row.id, this.d.owner, {});
      }
    });
  }

  private backendFor(volumeHost: string | null): VolumeBackend {
    const b = volumeHost ? (this.d.backends.get(volumeHost) ?? this.d.backends.get(volumeHost.split('#')[0]!)) : undefined;
    if (!b) throw new BackupDriverError('invalid', `volume host ${String(volumeHost)} has no backend beside backup host ${this.d.host}`);
    return b;
  }

  /**
   * Ends the task (only while this worker holds it) and moves the volume (and snapshot) in the same
   * transaction, so a worker that lost its lease changes nothing.
   */
  private async finish(row: BackupRow, set: BackupColumns, also?: (trx: Db) => Promise<void>): Promise<boolean> {
    return this.d.db.transaction().execute(async (trx) => {
      if (!(await finishTask(trx, 'backup', row.id, this.d.owner, { ...set, updated_at: this.d.clock.nowMs() }))) return false;
      await also?.(trx);
      return true;
    });
  }

  /** The volume (and snapshot) a backup borrowed go back to what they were. */
  private async giveBack(trx: Db, row: BackupRow): Promise<void> {
    const volume = await selectVolume(trx, row.volume_id);
    // another backup of the same volume still running keeps it backing-up
    const others = await trx.selectFrom('backup').select('id').where('volume_id', '=', row.volume_id).where('status', '=', 'creating').where('id', '<>', row.id).where('deleted', '=', 0).execute();
    if (volume && volume.status === 'backing-up' && !others.length) {
      await updateVolumeIf(trx, volume.id, ['backing-up'], { status: volume.previous_status ?? 'available', updated_at: this.d.clock.nowMs() });
    }
    if (row.snapshot_id) {
      await trx.updateTable('snapshot').set({ status: 'available', updated_at: this.d.clock.nowMs() }).where('id', '=', row.snapshot_id).where('status', '=', 'backing-up').execute();
    }
  }

  private async create(row: BackupRow): Promise<void> {
    const image = join(this.scratch, `backup-${row.id}.raw`);
    // a snapshot's bytes are read through a temporary volume named from the backup
    const temp = `backup-src-${row.id}`;
    let backend: VolumeBackend | undefined;
    try {
      const volume = await selectVolume(this.d.db, row.volume_id);
      if (!volume) throw new BackupDriverError('invalid', `volume ${row.volume_id} no longer exists`);
      backend = this.backendFor(volume.host);
      if (!(await this.d.driver.exists(row.id))) {
        let source = volume.id;
        if (row.snapshot_id) {
          const snap = await this.d.db.selectFrom('snapshot').select(['volume_size']).where('id', '=', row.snapshot_id).executeTakeFirst();
          if (!snap) throw new BackupDriverError('invalid', `snapshot ${row.snapshot_id} no longer exists`);
          await backend.createVolumeFromSnapshot(row.snapshot_id, volume.id, { volumeId: temp, sizeGb: Number(snap.volume_size) });
          source = temp;
        }
        await backend.copyVolumeToFile(source, image, 'raw');
      }
      const { objectCount } = await this.d.driver.backup(row.id, image, Number(row.size), { ...(await this.volumeMetaOf(volume)) });
      await this.finish(row, { status: 'available', object_count: objectCount, fail_reason: null }, (trx) => this.giveBack(trx, row));
    } catch (err) {
      if (!isRefusal(err)) throw err;
      this.d.log.warn({ backup_id: row.id, err: messageOf(err) }, 'backup failed');
      await this.finish(row, { status: 'error', fail_reason: messageOf(err).slice(0, FAIL_REASON_MAX) }, (trx) => this.giveBack(trx, row));
    } finally {
      await rm(image, { force: true });
      if (row.snapshot_id && backend) await backend.deleteVolume(temp).catch(() => undefined);
    }
  }

  private async restore(row: BackupRow): Promise<void> {
    const image = join(this.scratch, `restore-${row.id}.raw`);
    const volumeId = row.restore_volume_id;
    try {
      const volume = volumeId ? await selectVolume(this.d.db, volumeId) : undefined;
      if (!volume || volume.status !== 'restoring-backup') {
        // COMPAT(cinder zed): "Restore backup aborted, expected volume status restoring-backup"; the backup stays available
        await this.finish(row, { status: 'available' });
        return;
      }
      const backend = this.backendFor(volume.host);
      const { volumeMeta } = await this.d.driver.restore(row.id, image);
      await backend.copyImageToVolume(volume.id, image, 'raw', Number(volume.size));
      await this.finish(row, { status: 'available' }, async (trx) => {
        if (!(await updateVolumeIf(trx, volume.id, ['restoring-backup'], { status: 'available', updated_at: this.d.clock.nowMs() }))) return;
        await this.applyVolumeMeta(trx, volume, volumeMeta);
      });
    } catch (err) {
      if (!isRefusal(err)) throw err;
      this.d.log.warn({ backup_id: row.id, volume_id: volumeId, err: messageOf(err) }, 'restore failed');
      // COMPAT(cinder zed): the volume shows error_restoring and the backup stays available; a
      // backup whose own data is missing or damaged shows error with the reason instead
      const broken = err instanceof BackupDriverError && (err.code === 'corrupt' || err.code === 'not_found');
      await this.finish(row, broken ? { status: 'error', fail_reason: messageOf(err).slice(0, FAIL_REASON_MAX) } : { status: 'available' }, async (trx) => {
        if (volumeId) await updateVolumeIf(trx, volumeId, ['restoring-backup'], { status: 'error_restoring', updated_at: this.d.clock.nowMs() });
      });
    } finally {
      await rm(image, { force: true });
    }
  }

  private async volumeMetaOf(volume: VolumeRow): Promise<BackupVolumeMeta> {
    const [meta, image] = await Promise.all([metadataOf(this.d.db, 'volume_metadata', [volume.id]), metadataOf(this.d.db, 'volume_image_metadata', [volume.id])]);
    return { name: volume.name, description: volume.description, metadata: meta.get(volume.id) ?? {}, imageMetadata: image.get(volume.id) ?? {} };
  }

  /**
   * COMPAT(cinder zed, backup/driver.py BackupMetadataAPI): the restored volume takes the source's
   * metadata (replacing its own), its image metadata and bootable flag when it had any, and its
   * name and description when the target has none or the `restore_backup_<id>` one made for it.
   */
  private async applyVolumeMeta(trx: Db, target: VolumeRow, raw: Record<string, unknown>): Promise<void> {
    if (!Object.keys(raw).length) return;
    const name = typeof raw.name === 'string' ? raw.name : null;
    const set: Parameters<typeof updateVolumeIf>[3] = {};
    if (name && (!target.name || target.name.startsWith('restore_backup_'))) {
      set.name = name;
      set.description = typeof raw.description === 'string' ? raw.description : null;
    }
    await writeMetadata(trx, 'volume_metadata', target.id, strings(raw.metadata), true);
    const image = strings(raw.imageMetadata);
    if (Object.keys(image).length) {
      await writeMetadata(trx, 'volume_image_metadata', target.id, image, true);
      set.bootable = 1;
    }
    if (Object.keys(set).length) await updateVolumeIf(trx, target.id, undefined, set);
  }

  private async delete(row: BackupRow): Promise<void> {
    try {
      await this.d.driver.delete(row.id);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      this.d.log.warn({ backup_id: row.id, err: messageOf(err) }, 'backup delete failed');
      await this.finish(row, { status: 'error_deleting', fail_reason: messageOf(err).slice(0, FAIL_REASON_MAX) });
      return;
    }
    const now = this.d.clock.nowMs();
    await this.finish(row, { status: 'deleted', deleted: 1, deleted_at: now }, async (trx) => {
      await this.quotas.release(trx, row.project_id, { backups: 1, backup_gigabytes: Number(row.size) });
      // a forced delete of a backup still being made or restored frees what it borrowed
      await this.giveBack(trx, row);
      if (row.restore_volume_id) {
        const restoring = await trx.selectFrom('backup').select('id').where('restore_volume_id', '=', row.restore_volume_id).where('status', '=', 'restoring').where('id', '<>', row.id).where('deleted', '=', 0).execute();
        if (!restoring.length) await updateVolumeIf(trx, row.restore_volume_id, ['restoring-backup'], { status: 'error_restoring', updated_at: now });
      }
    });
  }
}
