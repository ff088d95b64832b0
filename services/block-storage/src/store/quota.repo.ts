// Quota limits (per project, per class) and usage rows. Usage changes are conditional updates
// in the caller's transaction, so two racing creates can never both pass the last unit of quota.
import { sql } from 'kysely';
import { isUniqueViolation } from '@alto/db';
import type { Db } from './volume.repo.js';

export async function selectProjectLimits(db: Db, projectId: string): Promise<Map<string, number>> {
  const rows = await db.selectFrom('quota').select(['resource', 'hard_limit']).where('project_id', '=', projectId).execute();
  return new Map(rows.map((r) => [r.resource, Number(r.hard_limit)]));
}

export async function selectClassLimits(db: Db, className: string): Promise<Map<string, number>> {
  const rows = await db.selectFrom('quota_class').select(['resource', 'hard_limit']).where('class_name', '=', className).execute();
  return new Map(rows.map((r) => [r.resource, Number(r.hard_limit)]));
}

export async function upsertProjectLimit(db: Db, projectId: string, resource: string, hardLimit: number, nowMs: number): Promise<void> {
  const r = await db.updateTable('quota').set({ hard_limit: hardLimit, updated_at: nowMs }).where('project_id', '=', projectId).where('resource', '=', resource).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) await db.insertInto('quota').values({ project_id: projectId, resource, hard_limit: hardLimit, updated_at: nowMs }).execute();
}

export async function deleteProjectLimits(db: Db, projectId: string): Promise<void> {
  await db.deleteFrom('quota').where('project_id', '=', projectId).execute();
}

export async function upsertClassLimit(db: Db, className: string, resource: string, hardLimit: number, nowMs: number): Promise<void> {
  const r = await db.updateTable('quota_class').set({ hard_limit: hardLimit, updated_at: nowMs }).where('class_name', '=', className).where('resource', '=', resource).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) await db.insertInto('quota_class').values({ class_name: className, resource, hard_limit: hardLimit, updated_at: nowMs }).execute();
}

export async function selectUsage(db: Db, projectId: string): Promise<Map<string, { inUse: number; reserved: number }>> {
  const rows = await db.selectFrom('quota_usage').select(['resource', 'in_use', 'reserved']).where('project_id', '=', projectId).execute();
  return new Map(rows.map((r) => [r.resource, { inUse: Number(r.in_use), reserved: Number(r.reserved) }]));
}

/**
 * Makes sure usage rows exist, so addUsage's conditional update has a row to test. Call it
 * outside the transaction that adds usage: a losing racer's key conflict would abort it.
 */
export async function ensureUsageRows(db: Db, projectId: string, resources: string[], nowMs: number): Promise<void> {
  for (const resource of resources) {
    const row = await db.selectFrom('quota_usage').select('resource').where('project_id', '=', projectId).where('resource', '=', resource).executeTakeFirst();
    if (row) continue;
    try {
      await db.insertInto('quota_usage').values({ project_id: projectId, resource, in_use: 0, reserved: 0, updated_at: nowMs }).execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }
}

/**
 * Adds delta to a resource's in_use when the result stays within limit (limit < 0: unlimited;
 * a negative delta always applies, never below 0). False when it would exceed the limit or the
 * row is missing (ensureUsageRows first).
 */
export async function addUsage(db: Db, projectId: string, resource: string, delta: number, limit: number, nowMs: number): Promise<boolean> {
  if (delta === 0) return true;
  let q = db
    .updateTable('quota_usage')
    .set({ in_use: delta > 0 ? sql`in_use + ${delta}` : sql`CASE WHEN in_use + ${delta} < 0 THEN 0 ELSE in_use + ${delta} END`, updated_at: nowMs })
    .where('project_id', '=', projectId)
    .where('resource', '=', resource);
  if (delta > 0 && limit >= 0) q = q.where(sql<boolean>`in_use + ${delta} <= ${limit}`);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Names of the live volume types, oldest first: each adds volumes_/gigabytes_/snapshots_<name> quotas. */
export async function selectLiveTypeNames(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('volume_type').select('name').where('deleted', '=', 0).orderBy('created_at').orderBy('name').execute();
  return rows.map((r) => r.name);
}
