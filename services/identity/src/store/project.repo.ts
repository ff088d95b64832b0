// Domains and projects (one table, as Keystone keeps them).
import type { Selectable } from 'kysely';
import type { Domain, Project } from '../domain/models.js';
import { ROOT_DOMAIN_ID, type ProjectTable } from './schema.js';
import { bool, int, parseJson, type Db } from './rows.js';

type Row = Selectable<ProjectTable>;

export function rowToProject(r: Row): Project {
  return {
    id: r.id,
    name: r.name,
    domainId: r.domain_id,
    parentId: r.parent_id,
    isDomain: bool(r.is_domain),
    description: r.description,
    enabled: bool(r.enabled),
    extra: parseJson(r.extra, {}),
  };
}

export function rowToDomain(r: Row): Domain {
  return { id: r.id, name: r.name, description: r.description, enabled: bool(r.enabled), extra: parseJson(r.extra, {}) };
}

export async function insertProject(db: Db, p: Project, createdAt: number): Promise<void> {
  await db
    .insertInto('project')
    .values({
      id: p.id,
      name: p.name,
      domain_id: p.isDomain ? ROOT_DOMAIN_ID : p.domainId,
      parent_id: p.isDomain ? null : p.parentId,
      is_domain: int(p.isDomain),
      enabled: int(p.enabled),
      description: p.description,
      extra: JSON.stringify(p.extra),
      created_at: createdAt,
    })
    .execute();
}

export async function selectProjectRow(db: Db, id: string): Promise<Row | undefined> {
  if (id === ROOT_DOMAIN_ID) return undefined;
  return db.selectFrom('project').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function selectProjectRowByName(db: Db, domainId: string, name: string): Promise<Row | undefined> {
  return db.selectFrom('project').selectAll().where('domain_id', '=', domainId).where('name', '=', name).executeTakeFirst();
}

export interface ProjectFilter {
  isDomain?: boolean;
  domainId?: string;
  name?: string;
  enabled?: boolean;
  parentId?: string;
  ids?: string[];
}

export async function selectProjectRows(db: Db, f: ProjectFilter): Promise<Row[]> {
  let q = db.selectFrom('project').selectAll().where('id', '!=', ROOT_DOMAIN_ID);
  if (f.isDomain !== undefined) q = q.where('is_domain', '=', int(f.isDomain));
  if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  if (f.enabled !== undefined) q = q.where('enabled', '=', int(f.enabled));
  if (f.parentId !== undefined) q = q.where('parent_id', '=', f.parentId);
  if (f.ids !== undefined) {
    if (f.ids.length === 0) return [];
    q = q.where('id', 'in', f.ids);
  }
  return q.orderBy('name').orderBy('id').execute();
}

export async function updateProjectRow(db: Db, id: string, p: Pick<Project, 'name' | 'description' | 'enabled' | 'extra'>): Promise<void> {
  await db
    .updateTable('project')
    .set({ name: p.name, description: p.description, enabled: int(p.enabled), extra: JSON.stringify(p.extra) })
    .where('id', '=', id)
    .execute();
}

export async function deleteProjectRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('project').where('id', '=', id).execute();
}

export async function hasChildren(db: Db, id: string): Promise<boolean> {
  const r = await db.selectFrom('project').select('id').where('parent_id', '=', id).where('is_domain', '=', 0).limit(1).executeTakeFirst();
  return r !== undefined;
}
