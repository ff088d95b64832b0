// Volume rows and the task lease that makes transitional work (creating, deleting, extending)
// belong to one worker at a time, and to another one after the holder stops renewing.
import type { Kysely, Selectable } from 'kysely';
import type { BlockStorageDB, VolumeTable } from './schema.js';

export type Db = Kysely<BlockStorageDB>;
export type VolumeRow = Selectable<VolumeTable>;
export type VolumeColumns = Partial<Omit<VolumeTable, 'id' | 'created_at'>>;

/** Statuses a worker converges (Cinder's transitional ones this service owns). */
export const TRANSITIONAL = ['creating', 'deleting', 'extending'] as const;

export async function insertVolume(db: Db, row: VolumeTable): Promise<void> {
  await db.insertInto('volume').values(row).execute();
}

export async function selectVolume(db: Db, id: string): Promise<VolumeRow | undefined> {
  return db.selectFrom('volume').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
}

/**
 * Takes the volume's transitional work for `owner` until `leaseUntil` when the volume is in one of
 * `statuses` and nobody holds a live lease (or `owner` already does). Exactly one of two workers
 * racing for the same volume gets true.
 */
export async function claimVolumeTask(db: Db, id: string, statuses: readonly string[], owner: string, nowMs: number, leaseUntil: number): Promise<boolean> {
  const r = await db
    .updateTable('volume')
    .set({ task_owner: owner, task_lease_until: leaseUntil })
    .where('id', '=', id)
    .where('deleted', '=', 0)
    .where('status', 'in', [...statuses])
    .where((eb) => eb.or([eb('task_owner', 'is', null), eb('task_owner', '=', owner), eb('task_lease_until', '<', nowMs)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Extends a held lease; false when the lease was lost (another worker took over). */
export async function renewVolumeTask(db: Db, id: string, owner: string, leaseUntil: number): Promise<boolean> {
  const r = await db.updateTable('volume').set({ task_lease_until: leaseUntil }).where('id', '=', id).where('task_owner', '=', owner).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Ends the task with the volume's new columns, only while `owner` still holds it. */
export async function finishVolumeTask(db: Db, id: string, owner: string, set: VolumeColumns): Promise<boolean> {
  const r = await db
    .updateTable('volume')
    .set({ ...set, task_owner: null, task_lease_until: null })
    .where('id', '=', id)
    .where('task_owner', '=', owner)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Volumes on `host` whose transitional work nobody holds (never claimed, or the lease lapsed). */
export async function selectUnheldWork(db: Db, host: string, nowMs: number): Promise<VolumeRow[]> {
  return db
    .selectFrom('volume')
    .selectAll()
    .where('host', '=', host)
    .where('deleted', '=', 0)
    .where('status', 'in', [...TRANSITIONAL])
    .where((eb) => eb.or([eb('task_owner', 'is', null), eb('task_lease_until', '<', nowMs)]))
    .orderBy('created_at')
    .execute();
}
