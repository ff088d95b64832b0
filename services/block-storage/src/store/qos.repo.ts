// QoS specs rows (qos_specs + qos_spec_kv) and their associations with volume types.
import { sql, type Expression, type Selectable, type SqlBool } from 'kysely';
import type { QosSpecsTable } from './schema.js';
import type { Db } from './volume.repo.js';
import { afterMarker, sortExpr, withTiebreak, type NullAs, type SortSpec } from './keyset.js';

export type QosSpecsRow = Selectable<QosSpecsTable>;

export interface QosListQuery {
  eq: Partial<Record<'id' | 'name' | 'consumer', string>>;
  none?: boolean;
  sort: SortSpec[];
  marker?: QosSpecsRow | undefined;
  limit: number;
}

export const QOS_SORT_KEYS = new Set(['id', 'name', 'consumer', 'created_at', 'updated_at']);
const QOS_NULL_AS: NullAs = { updated_at: 'number' };

export async function selectQos(db: Db, id: string): Promise<QosSpecsRow | undefined> {
  return db.selectFrom('qos_specs').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
}

export async function selectQosByName(db: Db, name: string): Promise<QosSpecsRow | undefined> {
  return db.selectFrom('qos_specs').selectAll().where('name', '=', name).where('deleted', '=', 0).executeTakeFirst();
}

export async function listQosRows(db: Db, q: QosListQuery): Promise<QosSpecsRow[]> {
  const sort = withTiebreak(q.sort);
  let query = db.selectFrom('qos_specs').selectAll().where((eb) => {
    const conds: Expression<SqlBool>[] = [eb('deleted', '=', 0)];
    if (q.none) conds.push(sql<SqlBool>`1 = 0`);
    for (const [k, v] of Object.entries(q.eq)) conds.push(eb(k as 'id', '=', v));
    return eb.and(conds);
  });
  if (q.marker) {
    const marker = q.marker as unknown as Record<string, unknown>;
    query = query.where((eb) => afterMarker(eb, sort, marker, QOS_NULL_AS));
  }
  for (const s of sort) query = query.orderBy((eb) => sortExpr(eb, s.key, QOS_NULL_AS), s.dir);
  return query.limit(q.limit).execute();
}

/** The key/value specs of several QoS specs (one query for a page). */
export async function qosSpecsOf(db: Db, ids: string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>(ids.map((id) => [id, {}]));
  if (!ids.length) return out;
  const rows = await db.selectFrom('qos_spec_kv').select(['qos_specs_id', 'key', 'value']).where('qos_specs_id', 'in', [...new Set(ids)]).orderBy('key').execute();
  for (const r of rows) out.get(r.qos_specs_id)![r.key] = r.value;
  return out;
}

export async function insertQos(db: Db, row: QosSpecsTable, specs: Record<string, string>): Promise<void> {
  await db.insertInto('qos_specs').values(row).execute();
  await upsertQosKeys(db, row.id, specs);
}

export async function upsertQosKeys(db: Db, id: string, specs: Record<string, string>): Promise<void> {
  for (const [key, value] of Object.entries(specs)) {
    const r = await db.updateTable('qos_spec_kv').set({ value }).where('qos_specs_id', '=', id).where('key', '=', key).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) await db.insertInto('qos_spec_kv').values({ qos_specs_id: id, key, value }).execute();
  }
}

export async function updateQosRow(db: Db, id: string, set: Partial<Pick<QosSpecsTable, 'consumer' | 'updated_at'>>): Promise<void> {
  await db.updateTable('qos_specs').set(set).where('id', '=', id).execute();
}

export async function deleteQosKey(db: Db, id: string, key: string): Promise<boolean> {
  const r = await db.deleteFrom('qos_spec_kv').where('qos_specs_id', '=', id).where('key', '=', key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Soft-deletes the specs; the key/value rows go (Cinder soft-deletes them with it). */
export async function deleteQosRow(db: Db, id: string, nowMs: number): Promise<void> {
  await db.updateTable('qos_specs').set({ deleted: 1, deleted_at: nowMs }).where('id', '=', id).execute();
  await db.deleteFrom('qos_spec_kv').where('qos_specs_id', '=', id).execute();
}

/** The live volume types associated with the specs. */
export async function qosAssociations(db: Db, id: string): Promise<{ id: string; name: string }[]> {
  return db.selectFrom('volume_type').select(['id', 'name']).where('qos_specs_id', '=', id).where('deleted', '=', 0).orderBy('created_at').orderBy('id').execute();
}

export async function associateQos(db: Db, id: string, typeId: string, nowMs: number): Promise<void> {
  await db.updateTable('volume_type').set({ qos_specs_id: id, updated_at: nowMs }).where('id', '=', typeId).where('deleted', '=', 0).execute();
}

export async function disassociateQos(db: Db, id: string, typeId: string, nowMs: number): Promise<void> {
  await db.updateTable('volume_type').set({ qos_specs_id: null, updated_at: nowMs }).where('id', '=', typeId).where('qos_specs_id', '=', id).execute();
}

export async function disassociateQosAll(db: Db, id: string, nowMs: number): Promise<void> {
  await db.updateTable('volume_type').set({ qos_specs_id: null, updated_at: nowMs }).where('qos_specs_id', '=', id).execute();
}
