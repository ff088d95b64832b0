// Snapshot rows and the task lease that makes a snapshot's transitional work (creating, deleting) belong to one worker at a time.
import type { Selectable } from 'kysely';
import type { SnapshotTable } from './schema.js';
import type { Db } from './volume.repo.js';

export type SnapshotRow = Selectable<SnapshotTable>;
export type SnapshotColumns = Partial<Omit<SnapshotTable, 'id' | 'created_at'>>;

/** Snapshot statuses a worker converges. */
export const SNAPSHOT_TRANSITIONAL = ['creating', 'deleting'] as const;

export async function insertSnapshot(db: Db, row: SnapshotTable): Promise<void> {
  await db.insertInto('snapshot').values(row).execute();
}

export async function selectSnapshot(db: Db, id: string): Promise<SnapshotRow | undefined> {
  return db.selectFrom('snapshot').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
}

/** A volume's live snapshots, oldest first. */
export async function selectSnapshotsOfVolume(db: Db, volumeId: string): Promise<SnapshotRow[]> {
  return db.selectFrom('snapshot').selectAll().where('volume_id', '=', volumeId).where('deleted', '=', 0).orderBy('created_at').orderBy('id').execute();
}

/**
 * Snapshots of volumes on `host` whose transitional work nobody holds. Snapshots of a volume
 * being deleted are left out: the volume's own reconciler deletes them first (cascade).
 */
export async function selectUnheldSnapshotWork(db: Db, host: string, nowMs: number): Promise<SnapshotRow[]> {
  return db
    .selectFrom('snapshot')
    .innerJoin('volume', 'volume.id', 'snapshot.volume_id')
    .selectAll('snapshot')
    .where((eb) => eb.or([eb('volume.host', '=', host), eb('volume.host', 'like', `${host}#%`)]))
    .where('volume.status', '<>', 'deleting')
    .where('snapshot.deleted', '=', 0)
    .where('snapshot.status', 'in', [...SNAPSHOT_TRANSITIONAL])
    .where((eb) => eb.or([eb('snapshot.task_owner', 'is', null), eb('snapshot.task_lease_until', '<', nowMs)]))
    .orderBy('snapshot.created_at')
    .execute();
}
