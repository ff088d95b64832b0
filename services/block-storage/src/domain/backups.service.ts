// Backups: create, list, show, update, delete, restore and the admin actions; the invariants of
// Cinder's backup/api.py, quota in the same transaction as the row and the volume's status, and
// a bus message that only names the backup (the co-located backup worker converges it).
import { randomUUID } from 'node:crypto';
import { NotFoundError, ServiceUnavailableError, type RequestContext } from '@alto/kernel';
import type { BackupTable } from '../store/schema.js';
import {
  backupMetadataOf,
  countBackups,
  countDependentBackups,
  insertBackup,
  listBackupRows,
  selectBackup,
  updateBackupIf,
  writeBackupMetadata,
  type BackupListQuery,
  type BackupRow,
} from '../store/backup.repo.js';
import { updateVolumeIf, type Db, type VolumeRow } from '../store/volume.repo.js';
import { BACKUP_TOPIC } from '../workers/topics.js';
import { isAdmin, type BlockStorageCoreDeps } from './deps.js';
import { BackupNotFound, InvalidBackup, InvalidSnapshot, InvalidVolume, SnapshotNotFound } from './errors.js';
import type { QuotaEngine } from './quotas.js';
import type { VolumesService } from './volumes.service.js';

/** The bus name and os-services binary of backup workers, as Cinder's. */
export const BACKUP_BINARY = 'cinder-backup';

/** What a backup's views show besides the row. */
export interface BackupDetail {
  row: BackupRow;
  metadata: Record<string, string>;
  hasDependentBackups: boolean;
}

export interface CreateBackupInput {
  volumeId: string;
  name?: string | null | undefined;
  description?: string | null | undefined;
  container?: string | null | undefined;
  incremental?: boolean | undefined;
  force?: boolean | undefined;
  snapshotId?: string | null | undefined;
  metadata?: Record<string, string> | null | undefined;
  availabilityZone?: string | null | undefined;
}

export interface UpdateBackupInput {
  name?: string | null | undefined;
  description?: string | null | undefined;
  metadata?: Record<string, string> | undefined;
}

export interface RestoreResult {
  backupId: string;
  volumeId: string;
  volumeName: string | null;
}

/** What a backup counts against (Cinder's reserve_opts). */
export const backupDeltas = (sizeGb: number) => ({ backups: 1, backup_gigabytes: sizeGb });

/** cinder-backup is not running where it must (ServiceNotFound; the create route answers 503, others 404). */
const serviceMessage = 'Service cinder-backup could not be found.';
export const BackupServiceNotFound = () => new NotFoundError(serviceMessage, 'volume.backup_service_not_found');
export const BackupServiceUnavailable = () => new ServiceUnavailableError(serviceMessage, 'volume.backup_service_not_found');

/** The backup service host for a volume: the volume worker's host, where its backend's files are. */
export const backupHostOf = (volumeHost: string) => volumeHost.split('#')[0]!.split('@')[0]!;

export interface BackupsServiceOptions {
  /** How long a restore to a new volume waits for the volume to be created (Cinder waits without bound). */
  restoreCreateWaitMs?: number;
  /** Poll interval of that wait. */
  pollMs?: number;
}

export class BackupsService {
  private readonly d: BlockStorageCoreDeps;
  private readonly quotas: QuotaEngine;
  private readonly volumes: VolumesService;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(d: BlockStorageCoreDeps, quotas: QuotaEngine, volumes: VolumesService, options: BackupsServiceOptions = {}) {
    this.d = d;
    this.quotas = quotas;
    this.volumes = volumes;
    this.waitMs = options.restoreCreateWaitMs ?? 120_000;
    this.pollMs = options.pollMs ?? 250;
  }

  /** A live backup the caller may see (its project's; any for admins), or BackupNotFound. */
  async getRowOrThrow(ctx: RequestContext, id: string, db: Db = this.d.db): Promise<BackupRow> {
    const row = await selectBackup(db, id);
    if (!row || (!isAdmin(ctx) && row.project_id !== ctx.projectId)) throw BackupNotFound(id);
    return row;
  }

  /** The policy target Cinder passes for a backup (its fields, the owner's project and user). */
  target(row: BackupRow): Record<string, unknown> {
    return { ...row, project_id: row.project_id, user_id: row.user_id };
  }

  async getOrThrow(ctx: RequestContext, id: string): Promise<BackupDetail> {
    const [detail] = await this.hydrate([await this.getRowOrThrow(ctx, id)]);
    return detail!;
  }

  async hydrate(rows: BackupRow[]): Promise<BackupDetail[]> {
    const ids = rows.map((r) => r.id);
    const [meta, dependents] = await Promise.all([backupMetadataOf(this.d.db, ids), countDependentBackups(this.d.db, ids)]);
    return rows.map((row) => ({ row, metadata: meta.get(row.id) ?? {}, hasDependentBackups: (dependents.get(row.id) ?? 0) > 0 }));
  }

  async list(q: BackupListQuery): Promise<BackupDetail[]> {
    return this.hydrate(await listBackupRows(this.d.db, q));
  }

  async count(q: BackupListQuery): Promise<number> {
    return countBackups(this.d.db, q);
  }

  /** Whether the caller's views show project_id and user_id (backup:backup_project_attribute). */
  projectAttribute(ctx: RequestContext): boolean {
    return this.d.authz.check('backup:backup_project_attribute', ctx, { project_id: ctx.projectId ?? null, user_id: ctx.userId ?? null });
  }

  /** A backup worker's host that is up, enabled and in `az` (when given), or undefined. */
  private async backupService(host: string, az: string | null | undefined): Promise<{ host: string; availabilityZone: string } | undefined> {
    const rows = await this.d.db.selectFrom('service').selectAll().where('binary', '=', BACKUP_BINARY).where('host', '=', host).where('disabled', '=', 0).execute();
    const upSince = this.d.clock.nowMs() - this.d.config.serviceDownSeconds * 1000;
    const s = rows.find((r) => Number(r.updated_at) >= upSince && (!az || r.availability_zone === az));
    return s ? { host: s.host, availabilityZone: s.availability_zone } : undefined;
  }

  async create(ctx: RequestContext, input: CreateBackupInput): Promise<BackupDetail> {
    const projectId = ctx.projectId;
    if (!projectId) throw InvalidVolume('a project-scoped token is required to create a backup');
    const volume = await this.volumes.getRowOrThrow(ctx, input.volumeId);
    let snapshotCreatedAt: number | undefined;
    if (input.snapshotId) {
      const snap = await this.d.db.selectFrom('snapshot').selectAll().where('id', '=', input.snapshotId).where('deleted', '=', 0).executeTakeFirst();
      if (!snap || (!isAdmin(ctx) && snap.project_id !== projectId)) throw SnapshotNotFound(input.snapshotId);
      if (snap.volume_id !== volume.id) throw InvalidVolume(`Volume ${volume.id} does not match with snapshot.volume_id ${snap.volume_id}.`);
      if (snap.status !== 'available') throw InvalidSnapshot(`Snapshot to be backed up must be available, but the current status is "${snap.status}".`);
      snapshotCreatedAt = Number(snap.created_at);
    } else if (!['available', 'in-use'].includes(volume.status)) {
      throw InvalidVolume(`Volume to be backed up must be available or in-use, but the current status is "${volume.status}".`);
    } else if (volume.status === 'in-use' && !input.force) {
      throw InvalidVolume('Backing up an in-use volume must use the force flag.');
    }
    // the backup worker beside the volume's worker reads the volume's bytes from its backend
    const service = volume.host ? await this.backupService(backupHostOf(volume.host), input.availabilityZone) : undefined;
    if (!service) throw BackupServiceUnavailable();

    const size = Number(volume.size);
    const deltas = backupDeltas(size);
    let parentId: string | null = null;
    if (input.incremental) {
      // COMPAT(cinder zed): the parent is the volume's backup with the latest data_timestamp (before
      // the snapshot's time when backing up a snapshot); it must be available. Our posix backups are
      // always whole, so an incremental one only records its parent (and protects it from deletion).
      const candidates = await this.d.db.selectFrom('backup').selectAll().where('volume_id', '=', volume.id).where('project_id', '=', projectId).where('deleted', '=', 0).execute();
      if (!candidates.length) throw InvalidBackup('No backups available to do an incremental backup.');
      const stamp = (b: BackupRow) => (snapshotCreatedAt === undefined || Number(b.data_timestamp ?? 0) < snapshotCreatedAt ? Number(b.data_timestamp ?? 0) : -1);
      const latest = candidates.reduce((a, b) => (stamp(b) > stamp(a) ? b : a));
      if (latest.status !== 'available') throw InvalidBackup('The parent backup must be available for incremental backup.');
      parentId = latest.id;
    }

    const now = this.d.clock.nowMs();
    const id = randomUUID();
    const row: BackupTable = {
      id,
      project_id: projectId,
      user_id: ctx.userId ?? '',
      volume_id: volume.id,
      snapshot_id: input.snapshotId ?? null,
      name: input.name ?? null,
      description: input.description ?? null,
      status: 'creating',
      fail_reason: null,
      size,
      object_count: 0,
      // COMPAT(cinder zed): PosixBackupDriver's default container is <id[0:2]>/<id[2:4]>/<id>
      container: input.container ?? `${id.slice(0, 2)}/${id.slice(2, 4)}/${id}`,
      availability_zone: service.availabilityZone,
      host: service.host,
      service: 'cinder.backup.drivers.posix.PosixBackupDriver',
      is_incremental: parentId ? 1 : 0,
      parent_id: parentId,
      data_timestamp: snapshotCreatedAt ?? now,
      restore_volume_id: null,
      encryption_key_id: null,
      task_owner: null,
      task_lease_until: null,
      created_at: now,
      updated_at: null,
      deleted: 0,
      deleted_at: null,
    };
    await this.quotas.prepare(projectId, deltas);
    await this.d.db.transaction().execute(async (trx) => {
      await this.quotas.consume(trx, projectId, deltas);
      if (input.snapshotId) {
        const r = await trx.updateTable('snapshot').set({ status: 'backing-up', updated_at: now }).where('id', '=', input.snapshotId).where('status', '=', 'available').where('deleted', '=', 0).executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) throw InvalidSnapshot('Snapshot to be backed up must be available, but the current status is "backing-up".');
      } else if (!(await updateVolumeIf(trx, volume.id, [volume.status], { status: 'backing-up', previous_status: volume.status, updated_at: now }))) {
        const current = (await trx.selectFrom('volume').select('status').where('id', '=', volume.id).executeTakeFirst())?.status ?? 'deleted';
        throw InvalidVolume(`Volume to be backed up must be available or in-use, but the current status is "${current}".`);
      }
      await insertBackup(trx, row);
      if (input.metadata && Object.keys(input.metadata).length) await writeBackupMetadata(trx, id, input.metadata, true);
    });
    await this.kick(id, service.host, 'create_backup');
    return this.getOrThrow(ctx, id);
  }

  /** Tells the backup worker on `host` to look at the backup; a lost message is found by its sweep. */
  async kick(backupId: string, host: string | null, method: string): Promise<void> {
    if (!host) return;
    await this.d.bus.cast({ topic: BACKUP_TOPIC, server: host }, method, { backup_id: backupId }).catch((err: unknown) => {
      this.d.log.warn({ backup_id: backupId, err: err instanceof Error ? err.message : String(err) }, 'could not send the backup to its worker; its sweep will find it');
    });
  }

  async update(ctx: RequestContext, id: string, input: UpdateBackupInput): Promise<BackupDetail> {
    const row = await this.getRowOrThrow(ctx, id);
    const set: Partial<BackupTable> = { updated_at: this.d.clock.nowMs() };
    if (input.name !== undefined) set.name = input.name;
    if (input.description !== undefined) set.description = input.description;
    await this.d.db.transaction().execute(async (trx) => {
      await updateBackupIf(trx, row.id, undefined, set);
      if (input.metadata !== undefined) await writeBackupMetadata(trx, row.id, input.metadata, true);
    });
    return this.getOrThrow(ctx, id);
  }

  /**
   * Marks a backup deleting and tells its worker, which removes the data and then the row and
   * releases the quota. force (os-force_delete) skips the status check, and takes the work from a
   * worker that holds it (its lease is cleared, so it can no longer finish).
   */
  async delete(ctx: RequestContext, id: string, opts: { force?: boolean } = {}): Promise<void> {
    const row = await this.getRowOrThrow(ctx, id);
    if (!opts.force && !['available', 'error'].includes(row.status)) throw InvalidBackup('Backup status must be available or error');
    if (((await countDependentBackups(this.d.db, [id])).get(id) ?? 0) > 0) throw InvalidBackup('Incremental backups exist for this backup.');
    const ok = await updateBackupIf(this.d.db, id, opts.force ? undefined : ['available', 'error'], {
      status: 'deleting',
      updated_at: this.d.clock.nowMs(),
      task_owner: null,
      task_lease_until: null,
    });
    if (!ok) throw InvalidBackup('Backup status must be available or error');
    await this.kick(id, row.host, 'delete_backup');
  }

  /**
   * Restores a backup into a volume (given, or made now of the backup's size). COMPAT(cinder zed):
   * a new volume is created first and waited for, as Cinder's API does, then checked like a given one.
   */
  async restore(ctx: RequestContext, id: string, input: { volumeId?: string | null | undefined; name?: string | null | undefined }): Promise<RestoreResult> {
    const backup = await this.getRowOrThrow(ctx, id);
    if (backup.status !== 'available') throw InvalidBackup('Backup status must be available');
    const size = Number(backup.size);
    let volume: VolumeRow;
    if (!input.volumeId) {
      const created = await this.volumes.create(ctx, { size, name: input.name ?? `restore_backup_${id}`, description: 'auto-created_from_restore_from_backup' });
      volume = await this.waitCreated(ctx, created.row.id, id);
    } else {
      volume = await this.volumes.getRowOrThrow(ctx, input.volumeId);
    }
    if (volume.status !== 'available') throw InvalidVolume('Volume to be restored to must be available');
    if (size > Number(volume.size)) throw InvalidVolume(`volume size ${Number(volume.size)} is too small to restore backup of size ${size}.`);
    // the restore runs beside the target volume's worker (its backend holds the volume's bytes)
    const service = volume.host ? await this.backupService(backupHostOf(volume.host), null) : undefined;
    if (!service) throw BackupServiceNotFound();
    const now = this.d.clock.nowMs();
    await this.d.db.transaction().execute(async (trx) => {
      const ok = await updateBackupIf(trx, id, ['available'], { status: 'restoring', restore_volume_id: volume.id, host: service.host, updated_at: now, task_owner: null, task_lease_until: null });
      if (!ok) throw InvalidBackup('Backup status must be available');
      if (!(await updateVolumeIf(trx, volume.id, ['available'], { status: 'restoring-backup', updated_at: now }))) throw InvalidVolume('Volume to be restored to must be available');
    });
    await this.kick(id, service.host, 'restore_backup');
    return { backupId: id, volumeId: volume.id, volumeName: volume.name };
  }

  private async waitCreated(ctx: RequestContext, volumeId: string, backupId: string): Promise<VolumeRow> {
    const deadline = this.d.clock.nowMs() + this.waitMs;
    for (;;) {
      const v = await this.volumes.getRowOrThrow(ctx, volumeId);
      if (v.status !== 'creating') {
        if (v.status === 'error') throw InvalidVolume(`Error while creating volume ${volumeId} for restoring backup ${backupId}.`);
        return v;
      }
      if (this.d.clock.nowMs() > deadline) throw InvalidVolume(`Error while creating volume ${volumeId} for restoring backup ${backupId}.`);
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  /** os-reset_status: an admin sets available or error; a worker holding the backup loses it. */
  async resetStatus(ctx: RequestContext, id: string, status: 'available' | 'error'): Promise<void> {
    const row = await this.getRowOrThrow(ctx, id);
    await updateBackupIf(this.d.db, row.id, undefined, { status, updated_at: this.d.clock.nowMs(), task_owner: null, task_lease_until: null });
  }
}
