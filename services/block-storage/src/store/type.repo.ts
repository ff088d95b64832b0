// Volume type rows: lookups by id or name, names for views, and the project's default type.
import type { Selectable } from 'kysely';
import type { VolumeTypeTable } from './schema.js';
import type { Db } from './volume.repo.js';

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
