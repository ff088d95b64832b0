// The task lease that volumes, snapshots and backups carry (task_owner, task_lease_until): a
// worker claims an object's transitional work, renews the lease while it works and ends it with
// the object's new columns. A worker that lost the lease changes nothing.
import type { Updateable } from 'kysely';
import type { BlockStorageDB } from './schema.js';
import type { Db } from './volume.repo.js';

/** The tables whose rows carry a task lease. */
export type LeasedTable = 'volume' | 'snapshot' | 'backup';

/**
 * Takes the row's transitional work for `owner` until `leaseUntil` when it is in one of
 * `statuses` and nobody holds a live lease (or `owner` already does). Exactly one of two
 * workers racing for the same row gets true.
 */
export async function claimTask(db: Db, table: LeasedTable, id: string, statuses: readonly string[], owner: string, nowMs: number, leaseUntil: number): Promise<boolean> {
  const r = await db
    .updateTable(table)
    .set({ task_owner: owner, task_lease_until: leaseUntil })
    .where('id', '=', id)
    .where('deleted', '=', 0)
    .where('status', 'in', [...statuses])
    .where((eb) => eb.or([eb('task_owner', 'is', null), eb('task_owner', '=', owner), eb('task_lease_until', '<', nowMs)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Extends a held lease; false when the lease was lost (another worker took over). */
export async function renewTask(db: Db, table: LeasedTable, id: string, owner: string, leaseUntil: number): Promise<boolean> {
  const r = await db.updateTable(table).set({ task_lease_until: leaseUntil }).where('id', '=', id).where('task_owner', '=', owner).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Ends the task with the row's new columns, only while `owner` still holds it. */
export async function finishTask<T extends LeasedTable>(db: Db, table: T, id: string, owner: string, set: Updateable<BlockStorageDB[T]>): Promise<boolean> {
  // the row type of one of the three tables, to Kysely's union of the three
  const leased: LeasedTable = table;
  const r = await db
    .updateTable(leased)
    .set({ ...(set as Updateable<BlockStorageDB[LeasedTable]>), task_owner: null, task_lease_until: null })
    .where('id', '=', id)
    .where('task_owner', '=', owner)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
