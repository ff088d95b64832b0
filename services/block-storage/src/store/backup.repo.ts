// Backup rows, their metadata, and the task lease that gives a backup's transitional work
// (creating, deleting, restoring) to one backup worker at a time, and to another after it lapses.
import { sql, type Expression, type ExpressionBuilder, type Selectable, type SqlBool } from 'kysely';
import type { BackupTable, BlockStorageDB } from './schema.js';
import { afterMarker, sortExpr, withTiebreak, type NullAs, type SortSpec } from './keyset.js';
import type { Db } from './volume.repo.js';

export type BackupRow = Selectable<BackupTable>;
export type BackupColumns = Partial<Omit<BackupTable, 'id' | 'created_at'>>;

/** Backup statuses a backup worker converges. */
export const BACKUP_TRANSITIONAL = ['creating', 'deleting', 'restoring'] as const;

export async function insertBackup(db: Db, row: BackupTable): Promise<void> {
  await db.insertInto('backup').values(row).execute();
}

export async function selectBackup(db: Db, id: string): Promise<BackupRow | undefined> {
  return db.selectFrom('backup').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
}

/** Updates a live backup when its status is one of `fromStatuses` (compare-and-set; undefined: any). */
export async function updateBackupIf(db: Db, id: string, fromStatuses: readonly string[] | undefined, set: BackupColumns): Promise<boolean> {
  let q = db.updateTable('backup').set(set).where('id', '=', id).where('deleted', '=', 0);
  if (fromStatuses) q = q.where('status', 'in', [...fromStatuses]);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Backups on backup host `host` whose transitional work nobody holds. */
export async function selectUnheldBackupWork(db: Db, host: string, nowMs: number): Promise<BackupRow[]> {
  return db
    .selectFrom('backup')
    .selectAll()
    .where('host', '=', host)
    .where('deleted', '=', 0)
    .where('status', 'in', [...BACKUP_TRANSITIONAL])
    .where((eb) => eb.or([eb('task_owner', 'is', null), eb('task_lease_until', '<', nowMs)]))
    .orderBy('created_at')
    .execute();
}

/** Live backups whose parent is `id` (incrementals depending on it). */
export async function countDependentBackups(db: Db, ids: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>(ids.map((id) => [id, 0]));
  if (!ids.length) return out;
  const rows = await db
    .selectFrom('backup')
    .select((eb) => ['parent_id', eb.fn.countAll<number>().as('n')])
    .where('parent_id', 'in', ids)
    .where('deleted', '=', 0)
    .groupBy('parent_id')
    .execute();
  for (const r of rows) out.set(r.parent_id!, Number(r.n));
  return out;
}

// ---- lists -----------------------------------------------------------------------------------

export interface BackupListQuery {
  /** Only this project's backups; undefined: every project's (all_tenants). */
  projectId?: string | undefined;
  eq: Partial<Record<keyof BackupTable, string | number | null>>;
  like: Partial<Record<keyof BackupTable, string>>;
  /** Every key=value must be in the backup's metadata. */
  metadata: Record<string, string>;
  /** A filter no backup can match (an unknown key): empty answer. */
  none?: boolean;
  sort: SortSpec[];
  marker?: BackupRow | undefined;
  limit: number;
  /** Rows to skip after the marker (Cinder's offset). */
  offset?: number | undefined;
}

/** Backup columns a list may sort by. */
export const BACKUP_SORT_KEYS = new Set([
  'id', 'name', 'description', 'status', 'size', 'object_count', 'availability_zone', 'container', 'created_at', 'updated_at', 'volume_id',
  'snapshot_id', 'project_id', 'user_id', 'host', 'is_incremental', 'parent_id', 'data_timestamp', 'fail_reason',
]);
const BACKUP_NULL_AS: NullAs = {
  name: 'text', description: 'text', availability_zone: 'text', container: 'text', snapshot_id: 'text', host: 'text', parent_id: 'text', fail_reason: 'text',
  updated_at: 'number', data_timestamp: 'number',
};

function listWhere(q: BackupListQuery) {
  return (eb: ExpressionBuilder<BlockStorageDB, 'backup'>) => {
    const conds: Expression<SqlBool>[] = [eb('deleted', '=', 0)];
    if (q.none) conds.push(sql<SqlBool>`1 = 0`);
    if (q.projectId !== undefined) conds.push(eb('project_id', '=', q.projectId));
    for (const [k, v] of Object.entries(q.eq)) conds.push(v === null ? eb(k as keyof BackupTable, 'is', null) : eb(k as keyof BackupTable, '=', v as never));
    for (const [k, v] of Object.entries(q.like)) conds.push(eb(k as keyof BackupTable, 'like', `%${v.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
    for (const [k, v] of Object.entries(q.metadata)) {
      conds.push(eb.exists(eb.selectFrom('backup_metadata as m').select('m.backup_id').whereRef('m.backup_id', '=', 'backup.id').where('m.key', '=', k).where('m.value', '=', v)));
    }
    return eb.and(conds);
  };
}

export async function listBackupRows(db: Db, q: BackupListQuery): Promise<BackupRow[]> {
  const sort = withTiebreak(q.sort);
  let query = db.selectFrom('backup').selectAll().where(listWhere(q));
  if (q.marker) {
    const marker = q.marker as unknown as Record<string, unknown>;
    query = query.where((eb) => afterMarker(eb, sort, marker, BACKUP_NULL_AS));
  }
  for (const s of sort) query = query.orderBy((eb) => sortExpr(eb, s.key, BACKUP_NULL_AS), s.dir);
  query = query.limit(q.limit);
  if (q.offset) query = query.offset(q.offset);
  return query.execute();
}

/** How many backups match (3.45 with_count). */
export async function countBackups(db: Db, q: BackupListQuery): Promise<number> {
  const r = await db.selectFrom('backup').select((eb) => eb.fn.countAll<number>().as('n')).where(listWhere(q)).executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** key -> value maps of several backups' metadata. */
export async function backupMetadataOf(db: Db, ids: string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>(ids.map((id) => [id, {}]));
  if (!ids.length) return out;
  const rows = await db.selectFrom('backup_metadata').select(['backup_id', 'key', 'value']).where('backup_id', 'in', ids).orderBy('key').execute();
  for (const r of rows) out.get(r.backup_id)![r.key] = r.value;
  return out;
}

/** Replaces (replace=true) or merges a backup's metadata. */
export async function writeBackupMetadata(db: Db, backupId: string, meta: Record<string, string>, replace: boolean): Promise<void> {
  if (replace) await db.deleteFrom('backup_metadata').where('backup_id', '=', backupId).execute();
  else if (Object.keys(meta).length) await db.deleteFrom('backup_metadata').where('backup_id', '=', backupId).where('key', 'in', Object.keys(meta)).execute();
  const rows = Object.entries(meta).map(([key, value]) => ({ backup_id: backupId, key, value }));
  if (rows.length) await db.insertInto('backup_metadata').values(rows).execute();
}
