// Volume rows and the task lease that makes transitional work (creating, deleting, extending)
// belong to one worker at a time, and to another one after the holder stops renewing.
import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { BlockStorageDB, VolumeTable } from './schema.js';
import { afterMarker, sortExpr, withTiebreak, type NullAs, type SortSpec } from './keyset.js';

export type Db = Kysely<BlockStorageDB>;
export type VolumeRow = Selectable<VolumeTable>;
export type VolumeColumns = Partial<Omit<VolumeTable, 'id' | 'created_at'>>;

/**
 * volume.read_only is Cinder's admin metadata `readonly`, which may be absent: 0 never set
 * (read-write, not shown), READ_ONLY, or READ_WRITE (set to False: shown as "False").
 */
export const READ_ONLY = 1;
export const READ_WRITE = 2;
export const isReadOnly = (row: { read_only: number }) => Number(row.read_only) === READ_ONLY;

/** Statuses a worker converges (Cinder's transitional ones this service owns). */
export const TRANSITIONAL = ['creating', 'deleting', 'extending', 'uploading'] as const;

export async function insertVolume(db: Db, row: VolumeTable): Promise<void> {
  await db.insertInto('volume').values(row).execute();
}

export async function selectVolume(db: Db, id: string): Promise<VolumeRow | undefined> {
  return db.selectFrom('volume').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
}

/** Volumes on backend `host` (any of its pools) whose transitional work nobody holds (never claimed, or the lease lapsed). */
export async function selectUnheldWork(db: Db, host: string, nowMs: number): Promise<VolumeRow[]> {
  return db
    .selectFrom('volume')
    .selectAll()
    .where((eb) => eb.or([eb('host', '=', host), eb('host', 'like', `${host}#%`)]))
    .where('deleted', '=', 0)
    .where('status', 'in', [...TRANSITIONAL])
    .where((eb) => eb.or([eb('task_owner', 'is', null), eb('task_lease_until', '<', nowMs)]))
    .orderBy('created_at')
    .execute();
}

// ---- lists -----------------------------------------------------------------------------------

export interface VolumeListQuery {
  /** Only this project's volumes; undefined: every project's (all_tenants). */
  projectId?: string | undefined;
  /** column = value (already parsed to the column's type). */
  eq: Partial<Record<keyof VolumeTable, string | number | null>>;
  /** column LIKE %value% (3.34 `name~`). */
  like: Partial<Record<keyof VolumeTable, string>>;
  /** Every key=value must be in the volume's metadata. */
  metadata: Record<string, string>;
  /** Every key=value must be in the volume's image metadata (glance_metadata). */
  imageMetadata: Record<string, string>;
  /** 3.60 time comparisons on created_at / updated_at. */
  times: { key: 'created_at' | 'updated_at'; op: '>' | '>=' | '<' | '<=' | '=' | '!='; ms: number }[];
  /** A filter no volume can match (an unknown key from an admin): empty answer, as Cinder's. */
  none?: boolean;
  sort: SortSpec[];
  marker?: VolumeRow | undefined;
  limit: number;
}

/** Volume columns a list may sort by (Cinder accepts any model attribute; these are ours). */
export const VOLUME_SORT_KEYS = new Set([
  'id', 'name', 'status', 'size', 'availability_zone', 'created_at', 'updated_at', 'bootable', 'attach_status', 'project_id', 'user_id', 'host',
  'volume_type_id', 'description', 'migration_status', 'snapshot_id', 'source_volid', 'launched_at', 'terminated_at', 'multiattach', 'group_id',
]);
const VOLUME_NULL_AS: NullAs = {
  name: 'text', description: 'text', host: 'text', migration_status: 'text', snapshot_id: 'text', source_volid: 'text', group_id: 'text',
  updated_at: 'number', launched_at: 'number', terminated_at: 'number',
};

function listWhere(q: VolumeListQuery) {
  return (eb: ExpressionBuilder<BlockStorageDB, 'volume'>) => {
    const conds: Expression<SqlBool>[] = [eb('deleted', '=', 0)];
    if (q.none) conds.push(sql<SqlBool>`1 = 0`);
    if (q.projectId !== undefined) conds.push(eb('project_id', '=', q.projectId));
    for (const [k, v] of Object.entries(q.eq)) conds.push(v === null ? eb(k as keyof VolumeTable, 'is', null) : eb(k as keyof VolumeTable, '=', v as never));
    // '!' escapes: SQLite has no default escape character, so a backslash would match literally there
    for (const [k, v] of Object.entries(q.like)) conds.push(sql<SqlBool>`${sql.ref(k)} LIKE ${`%${v.replace(/[!%_]/g, (c) => `!${c}`)}%`} ESCAPE '!'`);
    for (const t of q.times) conds.push(eb(t.key, t.op === '!=' ? '<>' : t.op, t.ms));
    for (const [k, v] of Object.entries(q.metadata)) {
      conds.push(eb.exists(eb.selectFrom('volume_metadata as m').select('m.volume_id').whereRef('m.volume_id', '=', 'volume.id').where('m.key', '=', k).where('m.value', '=', v)));
    }
    for (const [k, v] of Object.entries(q.imageMetadata)) {
      conds.push(eb.exists(eb.selectFrom('volume_image_metadata as g').select('g.volume_id').whereRef('g.volume_id', '=', 'volume.id').where('g.key', '=', k).where('g.value', '=', v)));
    }
    return eb.and(conds);
  };
}

export async function listVolumeRows(db: Db, q: VolumeListQuery): Promise<VolumeRow[]> {
  const sort = withTiebreak(q.sort);
  let query = db.selectFrom('volume').selectAll().where(listWhere(q));
  if (q.marker) {
    const marker = q.marker as unknown as Record<string, unknown>;
    query = query.where((eb) => afterMarker(eb, sort, marker, VOLUME_NULL_AS));
  }
  for (const s of sort) query = query.orderBy((eb) => sortExpr(eb, s.key, VOLUME_NULL_AS), s.dir);
  return query.limit(q.limit).execute();
}

/** How many volumes and GiB match (with_count, /volumes/summary). */
export async function countVolumes(db: Db, q: VolumeListQuery): Promise<{ count: number; size: number }> {
  const r = await db
    .selectFrom('volume')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size').as('gb')])
    .where(listWhere(q))
    .executeTakeFirst();
  return { count: Number(r?.n ?? 0), size: Number(r?.gb ?? 0) };
}

/** key -> value maps of several volumes' metadata (one query for a page). */
export async function metadataOf(db: Db, table: 'volume_metadata' | 'volume_image_metadata', ids: string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>(ids.map((id) => [id, {}]));
  if (!ids.length) return out;
  const rows = await db.selectFrom(table).select(['volume_id', 'key', 'value']).where('volume_id', 'in', ids).orderBy('key').execute();
  for (const r of rows) out.get(r.volume_id)![r.key] = r.value;
  return out;
}

/** Replaces (replace=true) or merges a volume's metadata; returns the result. */
export async function writeMetadata(db: Db, table: 'volume_metadata' | 'volume_image_metadata', volumeId: string, meta: Record<string, string>, replace: boolean): Promise<void> {
  if (replace) await db.deleteFrom(table).where('volume_id', '=', volumeId).execute();
  else if (Object.keys(meta).length) await db.deleteFrom(table).where('volume_id', '=', volumeId).where('key', 'in', Object.keys(meta)).execute();
  const rows = Object.entries(meta).map(([key, value]) => ({ volume_id: volumeId, key, value }));
  if (rows.length) await db.insertInto(table).values(rows).execute();
}

export async function deleteMetadataKey(db: Db, table: 'volume_metadata' | 'volume_image_metadata', volumeId: string, key: string): Promise<boolean> {
  const r = await db.deleteFrom(table).where('volume_id', '=', volumeId).where('key', '=', key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Updates a live volume's columns when its status is one of `fromStatuses` (compare-and-set). */
export async function updateVolumeIf(db: Db, id: string, fromStatuses: readonly string[] | undefined, set: VolumeColumns): Promise<boolean> {
  let q = db.updateTable('volume').set(set).where('id', '=', id).where('deleted', '=', 0);
  if (fromStatuses) q = q.where('status', 'in', [...fromStatuses]);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
