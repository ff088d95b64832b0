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
 * Takes the snapshot's transitional work for `owner` until `leaseUntil` when it is in one of
 * `statuses` and nobody holds a live lease (or `owner` already does); exactly one racer wins.
 */
export async function claimSnapshotTask(db: Db, id: string, statuses: readonly string[], owner: string, nowMs: number, leaseUntil: number): Promise<boolean> {
  const r = await db
    .updateTable('snapshot')
    .set({ task_owner: owner, task_lease_until: leaseUntil })
    .where('id', '=', id)
    .where('deleted', '=', 0)
    .where('status', 'in', [...statuses])
    .where((eb) => eb.or([eb('task_owner', 'is', null), eb('task_owner', '=', owner), eb('task_lease_until', '<', nowMs)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Extends a held lease; false when the lease was lost. */
export async function renewSnapshotTask(db: Db, id: string, owner: string, leaseUntil: number): Promise<boolean> {
  const r = await db.updateTable('snapshot').set({ task_lease_until: leaseUntil }).where('id', '=', id).where('task_owner', '=', owner).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Ends the task with the snapshot's new columns, only while `owner` still holds it. */
export async function finishSnapshotTask(db: Db, id: string, owner: string, set: SnapshotColumns): Promise<boolean> {
  const r = await db
    .updateTable('snapshot')
    .set({ ...set, task_owner: null, task_lease_until: null })
    .where('id', '=', id)
    .where('task_owner', '=', owner)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
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
