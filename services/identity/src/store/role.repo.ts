// Roles and role implications.
import type { Selectable } from 'kysely';
import type { Role } from '../domain/models.js';
import { NULL_ROLE_DOMAIN, type RoleTable } from './schema.js';
import { parseJson, type Db } from './rows.js';

type Row = Selectable<RoleTable>;

export function rowToRole(r: Row): Role {
  return {
    id: r.id,
    name: r.name,
    domainId: r.domain_id === NULL_ROLE_DOMAIN ? null : r.domain_id,
    description: r.description,
    extra: parseJson(r.extra, {}),
    options: parseJson(r.options, {}),
  };
}

export async function insertRole(db: Db, r: Role): Promise<void> {
  await db
    .insertInto('role')
    .values({
      id: r.id,
      name: r.name,
      domain_id: r.domainId ?? NULL_ROLE_DOMAIN,
      description: r.description,
      extra: JSON.stringify(r.extra),
      options: JSON.stringify(r.options),
    })
    .execute();
}

export async function selectRoleRow(db: Db, id: string): Promise<Row | undefined> {
  return db.selectFrom('role').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function selectRoleRows(db: Db, f: { name?: string; domainId?: string | null; ids?: string[] }): Promise<Row[]> {
  let q = db.selectFrom('role').selectAll();
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId ?? NULL_ROLE_DOMAIN);
  if (f.ids !== undefined) {
    if (f.ids.length === 0) return [];
    q = q.where('id', 'in', f.ids);
  }
  return q.orderBy('name').orderBy('id').execute();
}

export async function updateRoleRow(db: Db, r: Role): Promise<void> {
  await db
    .updateTable('role')
    .set({ name: r.name, description: r.description, extra: JSON.stringify(r.extra), options: JSON.stringify(r.options) })
    .where('id', '=', r.id)
    .execute();
}

export async function deleteRoleRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('role').where('id', '=', id).execute();
}

export async function insertImpliedRole(db: Db, priorId: string, impliedId: string): Promise<void> {
  await db.insertInto('implied_role').values({ prior_role_id: priorId, implied_role_id: impliedId }).execute();
}

export async function deleteImpliedRole(db: Db, priorId: string, impliedId: string): Promise<number> {
  const r = await db.deleteFrom('implied_role').where('prior_role_id', '=', priorId).where('implied_role_id', '=', impliedId).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function selectImplications(db: Db, priorId?: string): Promise<{ prior_role_id: string; implied_role_id: string }[]> {
  let q = db.selectFrom('implied_role').selectAll();
  if (priorId !== undefined) q = q.where('prior_role_id', '=', priorId);
  return q.orderBy('prior_role_id').orderBy('implied_role_id').execute();
}
