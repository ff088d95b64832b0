// Volume transfer rows (Cinder's transfers table): offers of a volume to whoever holds the key.
import type { Selectable } from 'kysely';
import { afterMarker, sortExpr, withTiebreak, type NullAs, type SortSpec } from './keyset.js';
import type { TransferTable } from './schema.js';
import type { Db } from './volume.repo.js';

export type TransferRow = Selectable<TransferTable>;

/** The transfer model's columns Cinder lets a list filter and sort by (models.Transfer). */
export const TRANSFER_COLUMNS = new Set([
  'id',
  'volume_id',
  'display_name',
  'source_project_id',
  'destination_project_id',
  'no_snapshots',
  'accepted',
  'salt',
  'crypt_hash',
  'created_at',
  'updated_at',
  'deleted',
  'deleted_at',
]);
/** Columns stored as 0/1 that Cinder's model holds as booleans. */
export const TRANSFER_BOOLEANS = new Set(['no_snapshots', 'accepted', 'deleted']);
/** Time columns (milliseconds here, datetimes in Cinder). */
export const TRANSFER_TIMES = new Set(['created_at', 'updated_at', 'deleted_at']);
const TRANSFER_NULL_AS: NullAs = { display_name: 'text', destination_project_id: 'text', updated_at: 'number', deleted_at: 'number' };

export interface TransferListQuery {
  /** Only transfers of volumes this project owns (Cinder joins the volume); undefined: all (admins). */
  projectId?: string | undefined;
  /** column -> exact value. */
  eq: Record<string, string | number>;
  /** A filter nothing can match (Cinder's invalid model filters answer an empty list). */
  none?: boolean;
  sort: SortSpec[];
  marker?: TransferRow | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

export async function insertTransfer(db: Db, row: TransferTable): Promise<void> {
  await db.insertInto('transfer').values(row).execute();
}

/** A live transfer; with projectId, only when that project owns its volume (Cinder's _transfer_get). */
export async function selectTransfer(db: Db, id: string, projectId?: string): Promise<TransferRow | undefined> {
  let q = liveTransfers(db).where('transfer.id', '=', id);
  if (projectId !== undefined) q = q.where('volume.project_id', '=', projectId);
  return q.executeTakeFirst();
}

/**
 * Live transfers of live volumes: Cinder's volume_destroy ends a volume's transfers with it
 * (VOLUME_DEPENDENT_MODELS); a force-deleted volume's offer must not outlive it here either.
 */
function liveTransfers(db: Db) {
  return db
    .selectFrom('transfer')
    .innerJoin('volume', 'volume.id', 'transfer.volume_id')
    .selectAll('transfer')
    .where('transfer.deleted', '=', 0)
    .where('volume.deleted', '=', 0);
}

export async function listTransferRows(db: Db, q: TransferListQuery): Promise<TransferRow[]> {
  if (q.none) return [];
  const sort = withTiebreak(q.sort);
  let query = liveTransfers(db);
  if (q.projectId !== undefined) query = query.where('volume.project_id', '=', q.projectId);
  for (const [key, value] of Object.entries(q.eq)) query = query.where(`transfer.${key as keyof TransferTable}`, '=', value as never);
  if (q.marker) {
    const marker = q.marker as unknown as Record<string, unknown>;
    query = query.where((eb) => afterMarker(eb, sort.map((s) => ({ ...s, key: `transfer.${s.key}` })), prefixed(marker), prefixedNulls()));
  }
  for (const s of sort) query = query.orderBy((eb) => sortExpr(eb, `transfer.${s.key}`, prefixedNulls()), s.dir);
  if (q.limit !== undefined) query = query.limit(q.limit);
  // MySQL and SQLite take OFFSET only with a LIMIT
  if (q.offset) query = (q.limit === undefined ? query.limit(2147483647) : query).offset(q.offset);
  return query.execute();
}

// The list joins the volume (whose columns share names), so the keyset works on qualified names
const prefixed = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [`transfer.${k}`, v]));
const prefixedNulls = (): NullAs => Object.fromEntries(Object.entries(TRANSFER_NULL_AS).map(([k, v]) => [`transfer.${k}`, v]));

/** Marks a live transfer deleted (withdrawn, or accepted by `destinationProjectId`); false when it was already gone. */
export async function endTransfer(db: Db, id: string, nowMs: number, destinationProjectId?: string): Promise<boolean> {
  const set: Partial<TransferTable> = { deleted: 1, deleted_at: nowMs };
  if (destinationProjectId !== undefined) Object.assign(set, { accepted: 1, destination_project_id: destinationProjectId });
  const r = await db.updateTable('transfer').set(set).where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
