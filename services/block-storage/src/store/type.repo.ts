// Volume type rows: lookups by id or name, names for views, and the project's default type.
import { sql, type Expression, type Selectable, type SqlBool } from 'kysely';
import type { DefaultVolumeTypeTable, VolumeTypeTable } from './schema.js';
import type { Db } from './volume.repo.js';
import { afterMarker, sortExpr, withTiebreak, type NullAs, type SortSpec } from './keyset.js';

export type VolumeTypeRow = Selectable<VolumeTypeTable>;

export async function selectTypeById(db: Db, id: string): Promise<VolumeTypeRow | undefined> {
  return db.selectFrom('volume_type').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
}

export async function selectTypeByName(db: Db, name: string): Promise<VolumeTypeRow | undefined> {
  return db.selectFrom('volume_type').selectAll().where('name', '=', name).where('deleted', '=', 0).executeTakeFirst();
}

/** Type names by id, deleted types included (a volume keeps showing its type's name). */
export async function typeNamesOf(db: Db, ids: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  if (!unique.length) return new Map();
  const rows = await db.selectFrom('volume_type').select(['id', 'name']).where('id', 'in', unique).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** The project's own default type (3.62), if one was set. */
export async function selectProjectDefaultType(db: Db, projectId: string): Promise<string | undefined> {
  const r = await db.selectFrom('default_volume_type').select('volume_type_id').where('project_id', '=', projectId).executeTakeFirst();
  return r?.volume_type_id;
}

/** Whether a project may use a private type (volume_type_project). */
export async function typeAccessible(db: Db, typeId: string, projectId: string): Promise<boolean> {
  const r = await db.selectFrom('volume_type_project').select('project_id').where('volume_type_id', '=', typeId).where('project_id', '=', projectId).executeTakeFirst();
  return !!r;
}

export async function extraSpecsOf(db: Db, typeId: string): Promise<Record<string, string>> {
  const rows = await db.selectFrom('volume_type_extra_spec').select(['key', 'value']).where('volume_type_id', '=', typeId).orderBy('key').execute();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

// ---- types API (types.service.ts) ------------------------------------------------------------

export interface TypeListQuery {
  /** is_public = value; true also takes the private types `accessProject` may use; null: both. */
  isPublic: boolean | null;
  accessProject?: string | undefined;
  /** column = value (admins' filters on type columns). */
  eq: Partial<Record<'id' | 'name' | 'description' | 'qos_specs_id', string>>;
  /** Every key must have this value (RESKEY:availability_zones: contains it). */
  extraSpecs: Record<string, string>;
  /** A filter no type can match (an unknown key from an admin): empty answer, as Cinder's. */
  none?: boolean;
  sort: SortSpec[];
  marker?: VolumeTypeRow | undefined;
  limit: number;
}

/** Volume type columns a list may sort by (Cinder accepts any model attribute). */
export const TYPE_SORT_KEYS = new Set(['id', 'name', 'description', 'is_public', 'qos_specs_id', 'created_at', 'updated_at']);
const TYPE_NULL_AS: NullAs = { description: 'text', qos_specs_id: 'text', updated_at: 'number' };

export async function listTypeRows(db: Db, q: TypeListQuery): Promise<VolumeTypeRow[]> {
  const sort = withTiebreak(q.sort);
  let query = db.selectFrom('volume_type').selectAll().where((eb) => {
    const conds: Expression<SqlBool>[] = [eb('deleted', '=', 0)];
    if (q.none) conds.push(sql<SqlBool>`1 = 0`);
    if (q.isPublic !== null) {
      const pub = eb('is_public', '=', q.isPublic ? 1 : 0);
      conds.push(
        q.isPublic && q.accessProject !== undefined
          ? eb.or([pub, eb.exists(eb.selectFrom('volume_type_project as p').select('p.project_id').whereRef('p.volume_type_id', '=', 'volume_type.id').where('p.project_id', '=', q.accessProject))])
          : pub,
      );
    }
    for (const [k, v] of Object.entries(q.eq)) conds.push(eb(k as 'id', '=', v));
    for (const [k, v] of Object.entries(q.extraSpecs)) {
      const sub = eb.selectFrom('volume_type_extra_spec as s').select('s.key').whereRef('s.volume_type_id', '=', 'volume_type.id').where('s.key', '=', k);
      // COMPAT(cinder): the AZ list is stored as "az1, az2", so Cinder matches it with LIKE %v%
      conds.push(eb.exists(k === 'RESKEY:availability_zones' ? sub.where('s.value', 'like', `%${v}%`) : sub.where('s.value', '=', v)));
    }
    return eb.and(conds);
  });
  if (q.marker) {
    const marker = q.marker as unknown as Record<string, unknown>;
    query = query.where((eb) => afterMarker(eb, sort, marker, TYPE_NULL_AS));
  }
  for (const s of sort) query = query.orderBy((eb) => sortExpr(eb, s.key, TYPE_NULL_AS), s.dir);
  return query.limit(q.limit).execute();
}

/** Extra specs of several types (one query for a page). */
export async function extraSpecsOfTypes(db: Db, ids: string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>(ids.map((id) => [id, {}]));
  if (!ids.length) return out;
  const rows = await db.selectFrom('volume_type_extra_spec').select(['volume_type_id', 'key', 'value']).where('volume_type_id', 'in', [...new Set(ids)]).orderBy('key').execute();
  for (const r of rows) out.get(r.volume_type_id)![r.key] = r.value;
  return out;
}

export async function insertType(db: Db, row: VolumeTypeTable, specs: Record<string, string>): Promise<void> {
  await db.insertInto('volume_type').values(row).execute();
  await upsertExtraSpecs(db, row.id, specs);
}

export async function updateTypeRow(db: Db, id: string, set: Partial<Pick<VolumeTypeTable, 'name' | 'description' | 'is_public' | 'qos_specs_id' | 'updated_at'>>): Promise<boolean> {
  const r = await db.updateTable('volume_type').set(set).where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Soft-deletes the type; its extra specs and access rows go with it (Cinder soft-deletes them too). */
export async function deleteTypeRow(db: Db, id: string, nowMs: number): Promise<void> {
  await db.updateTable('volume_type').set({ deleted: 1, deleted_at: nowMs }).where('id', '=', id).execute();
  await db.deleteFrom('volume_type_extra_spec').where('volume_type_id', '=', id).execute();
  await db.deleteFrom('volume_type_project').where('volume_type_id', '=', id).execute();
}

/** Whether any live volume has this type (Cinder's VolumeTypeInUse / "currently in use"). */
export async function typeInUse(db: Db, id: string): Promise<boolean> {
  const r = await db.selectFrom('volume').select('id').where('volume_type_id', '=', id).where('deleted', '=', 0).limit(1).executeTakeFirst();
  return !!r;
}

export async function upsertExtraSpecs(db: Db, typeId: string, specs: Record<string, string>): Promise<void> {
  for (const [key, value] of Object.entries(specs)) {
    const r = await db.updateTable('volume_type_extra_spec').set({ value }).where('volume_type_id', '=', typeId).where('key', '=', key).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) await db.insertInto('volume_type_extra_spec').values({ volume_type_id: typeId, key, value }).execute();
  }
}

export async function deleteExtraSpec(db: Db, typeId: string, key: string): Promise<boolean> {
  const r = await db.deleteFrom('volume_type_extra_spec').where('volume_type_id', '=', typeId).where('key', '=', key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function typeAccessProjects(db: Db, typeId: string): Promise<string[]> {
  const rows = await db.selectFrom('volume_type_project').select('project_id').where('volume_type_id', '=', typeId).orderBy('project_id').execute();
  return rows.map((r) => r.project_id);
}

/** Adds access; false when the project already had it. */
export async function insertTypeAccess(db: Db, typeId: string, projectId: string): Promise<boolean> {
  const r = await db.insertInto('volume_type_project').values({ volume_type_id: typeId, project_id: projectId }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function deleteTypeAccess(db: Db, typeId: string, projectId: string): Promise<boolean> {
  const r = await db.deleteFrom('volume_type_project').where('volume_type_id', '=', typeId).where('project_id', '=', projectId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export type DefaultTypeRow = Selectable<DefaultVolumeTypeTable>;

export async function listDefaultTypes(db: Db): Promise<DefaultTypeRow[]> {
  return db.selectFrom('default_volume_type').selectAll().orderBy('project_id').execute();
}

export async function selectDefaultTypeRow(db: Db, projectId: string): Promise<DefaultTypeRow | undefined> {
  return db.selectFrom('default_volume_type').selectAll().where('project_id', '=', projectId).executeTakeFirst();
}

export async function upsertDefaultType(db: Db, projectId: string, typeId: string, nowMs: number): Promise<void> {
  const r = await db.updateTable('default_volume_type').set({ volume_type_id: typeId, updated_at: nowMs }).where('project_id', '=', projectId).executeTakeFirst();
  if (Number(r.numUpdatedRows) > 0) return;
  await db
    .insertInto('default_volume_type')
    .values({ project_id: projectId, volume_type_id: typeId, created_at: nowMs, updated_at: null })
    .onConflict((oc) => oc.column('project_id').doUpdateSet({ volume_type_id: typeId, updated_at: nowMs }))
    .execute();
}

export async function deleteDefaultType(db: Db, projectId: string): Promise<void> {
  await db.deleteFrom('default_volume_type').where('project_id', '=', projectId).execute();
}

/** Projects whose default type this is (such a type cannot be deleted). */
export async function projectsWithDefaultType(db: Db, typeId: string): Promise<string[]> {
  const rows = await db.selectFrom('default_volume_type').select('project_id').where('volume_type_id', '=', typeId).execute();
  return rows.map((r) => r.project_id);
}

/** Renames the per-type quota resources (volumes_<name>, ...) as Cinder's update_quota_resource does. */
export async function renameTypeQuotaResources(db: Db, oldName: string, newName: string): Promise<void> {
  for (const base of ['volumes', 'snapshots', 'gigabytes']) {
    const [from, to] = [`${base}_${oldName}`, `${base}_${newName}`];
    await db.updateTable('quota').set({ resource: to }).where('resource', '=', from).execute();
    await db.updateTable('quota_class').set({ resource: to }).where('resource', '=', from).execute();
    await db.updateTable('quota_usage').set({ resource: to }).where('resource', '=', from).execute();
  }
}
