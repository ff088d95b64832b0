// Domains and projects (one table, as Keystone keeps them), their tags, hierarchy walks, and the
// rows of other areas that go when a project or a domain is deleted.
import type { Selectable } from 'kysely';
import type { Domain, Project } from '../domain/models.js';
import { ROOT_DOMAIN_ID, type ProjectTable } from './schema.js';
import { bool, int, parseJson, type Db } from './rows.js';

type Row = Selectable<ProjectTable>;

/** A project row with its tags. */
export type ProjectRow = Row & { tags: string[] };

/**
 * The project table has no column for resource options, so they ride in `extra` under this key
 * (the API layer never lets a client set it as an extra attribute).
 */
export const OPTIONS_KEY = '__options';

/** IN lists stay under every engine's parameter limit. */
const CHUNK = 500;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function splitExtra(text: string): { extra: Record<string, unknown>; options: Record<string, unknown> } {
  const { [OPTIONS_KEY]: options, ...extra } = parseJson<Record<string, unknown>>(text, {});
  return { extra, options: options && typeof options === 'object' && !Array.isArray(options) ? (options as Record<string, unknown>) : {} };
}

function joinExtra(extra: Record<string, unknown>, options: Record<string, unknown>): string {
  const { [OPTIONS_KEY]: _ignored, ...rest } = extra;
  return JSON.stringify(Object.keys(options).length ? { ...rest, [OPTIONS_KEY]: options } : rest);
}

export function rowToProject(r: ProjectRow): Project {
  const { extra, options } = splitExtra(r.extra);
  return {
    id: r.id,
    name: r.name,
    domainId: r.domain_id,
    parentId: r.parent_id,
    isDomain: bool(r.is_domain),
    description: r.description,
    enabled: bool(r.enabled),
    extra,
    tags: r.tags,
    options,
  };
}

export function rowToDomain(r: ProjectRow): Domain {
  const { extra, options } = splitExtra(r.extra);
  return { id: r.id, name: r.name, description: r.description, enabled: bool(r.enabled), extra, tags: r.tags, options };
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
      extra: joinExtra(p.extra, p.options),
      created_at: createdAt,
    })
    .execute();
  if (p.tags.length) await db.insertInto('project_tag').values(p.tags.map((name) => ({ project_id: p.id, name }))).execute();
}

/** Tags of the given projects, sorted (by code unit, the same on every engine's collation). */
async function tagsOf(db: Db, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const part of chunks(ids)) {
    const rows = await db.selectFrom('project_tag').select(['project_id', 'name']).where('project_id', 'in', part).execute();
    for (const r of rows) {
      const list = out.get(r.project_id);
      if (list) list.push(r.name);
      else out.set(r.project_id, [r.name]);
    }
  }
  for (const list of out.values()) list.sort();
  return out;
}

async function withTags(db: Db, rows: Row[]): Promise<ProjectRow[]> {
  if (rows.length === 0) return [];
  const tags = await tagsOf(db, rows.map((r) => r.id));
  return rows.map((r) => ({ ...r, tags: tags.get(r.id) ?? [] }));
}

/** One project and its tags in one round trip (token validation reads projects on every miss). */
function oneWithTags(db: Db) {
  return db.selectFrom('project').leftJoin('project_tag', 'project_tag.project_id', 'project.id').selectAll('project').select('project_tag.name as tag');
}

function foldTags(rows: (Row & { tag: string | null })[]): ProjectRow | undefined {
  const first = rows[0];
  if (!first) return undefined;
  const { tag: _tag, ...row } = first;
  return { ...row, tags: rows.flatMap((r) => (r.tag === null ? [] : [r.tag])).sort() };
}

export async function selectProjectRow(db: Db, id: string): Promise<ProjectRow | undefined> {
  if (id === ROOT_DOMAIN_ID) return undefined;
  return foldTags(await oneWithTags(db).where('project.id', '=', id).execute());
}

export async function selectProjectRowByName(db: Db, domainId: string, name: string): Promise<ProjectRow | undefined> {
  return foldTags(await oneWithTags(db).where('project.domain_id', '=', domainId).where('project.name', '=', name).execute());
}

/** Keystone's tag filters; each is a list of tag names (the query's comma-separated value). */
export interface TagFilter {
  /** Projects having all of these. */
  all?: string[];
  /** Projects having at least one of these. */
  any?: string[];
  /** Projects not having all of these. */
  notAll?: string[];
  /** Projects having none of these. */
  notAny?: string[];
}

export interface ProjectFilter {
  isDomain?: boolean;
  domainId?: string;
  name?: string;
  enabled?: boolean;
  parentId?: string;
  ids?: string[];
  tags?: TagFilter;
}

export async function selectProjectRows(db: Db, f: ProjectFilter): Promise<ProjectRow[]> {
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
  const t = f.tags ?? {};
  const having = (names: string[]) =>
    db
      .selectFrom('project_tag')
      .select('project_id')
      .where('name', 'in', names)
      .groupBy('project_id')
      .having((eb) => eb.fn.countAll(), '=', names.length);
  const anyOf = (names: string[]) => db.selectFrom('project_tag').select('project_id').where('name', 'in', names);
  if (t.all?.length) q = q.where('id', 'in', having(t.all));
  if (t.any?.length) q = q.where('id', 'in', anyOf(t.any));
  if (t.notAll?.length) q = q.where('id', 'not in', having(t.notAll));
  if (t.notAny?.length) q = q.where('id', 'not in', anyOf(t.notAny));
  return withTags(db, await q.orderBy('name').orderBy('id').execute());
}

export async function updateProjectRow(db: Db, id: string, p: Pick<Project, 'name' | 'description' | 'enabled' | 'extra' | 'options'>): Promise<void> {
  await db
    .updateTable('project')
    .set({ name: p.name, description: p.description, enabled: int(p.enabled), extra: joinExtra(p.extra, p.options) })
    .where('id', '=', id)
    .execute();
}

/** Replaces a project's tags with these. */
export async function replaceTags(db: Db, id: string, tags: string[]): Promise<void> {
  await db.deleteFrom('project_tag').where('project_id', '=', id).execute();
  if (tags.length) await db.insertInto('project_tag').values(tags.map((name) => ({ project_id: id, name }))).execute();
}

export async function insertTag(db: Db, id: string, tag: string): Promise<void> {
  await db.insertInto('project_tag').values({ project_id: id, name: tag }).execute();
}

export async function deleteTag(db: Db, id: string, tag: string): Promise<number> {
  const r = await db.deleteFrom('project_tag').where('project_id', '=', id).where('name', '=', tag).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function hasChildren(db: Db, id: string): Promise<boolean> {
  const r = await db.selectFrom('project').select('id').where('parent_id', '=', id).where('is_domain', '=', 0).limit(1).executeTakeFirst();
  return r !== undefined;
}

/**
 * Every project below this one, level by level (children, then grandchildren...), as Keystone's
 * list_projects_in_subtree returns them. A cycle (impossible through the API) ends the walk.
 */
export async function selectSubtreeRows(db: Db, id: string): Promise<ProjectRow[]> {
  const out: Row[] = [];
  const seen = new Set([id]);
  let level = [id];
  while (level.length) {
    const next: Row[] = [];
    for (const part of chunks(level)) {
      next.push(...(await db.selectFrom('project').selectAll().where('parent_id', 'in', part).where('is_domain', '=', 0).orderBy('name').orderBy('id').execute()));
    }
    const fresh = next.filter((r) => !seen.has(r.id));
    for (const r of fresh) seen.add(r.id);
    out.push(...fresh);
    level = fresh.map((r) => r.id);
  }
  return withTags(db, out);
}

/** The chain above a project, nearest first, up to and including its domain. */
export async function selectParentRows(db: Db, project: Pick<Row, 'id' | 'parent_id'>): Promise<ProjectRow[]> {
  const out: Row[] = [];
  const seen = new Set([project.id]);
  let parentId = project.parent_id;
  while (parentId && !seen.has(parentId) && parentId !== ROOT_DOMAIN_ID) {
    const r = await db.selectFrom('project').selectAll().where('id', '=', parentId).executeTakeFirst();
    if (!r) break;
    seen.add(r.id);
    out.push(r);
    parentId = r.parent_id;
  }
  return withTags(db, out);
}

/**
 * Deletes projects (none a parent of another in the list) and what hangs on them, as Keystone's
 * project delete does: role assignments on them, their credentials, limits and endpoint filters;
 * their trusts are soft-deleted; users lose them as default project.
 */
export async function deleteProjectRows(db: Db, ids: string[], nowMs: number): Promise<void> {
  for (const part of chunks(ids)) {
    await db.deleteFrom('assignment').where('target_id', 'in', part).execute();
    await db.deleteFrom('credential').where('project_id', 'in', part).execute();
    await db.updateTable('trust').set({ deleted_at: nowMs }).where('project_id', 'in', part).where('deleted_at', 'is', null).execute();
    await db.deleteFrom('project_limit').where('project_id', 'in', part).execute();
    await db.deleteFrom('project_endpoint').where('project_id', 'in', part).execute();
    await db.deleteFrom('project_endpoint_group').where('project_id', 'in', part).execute();
    await db.updateTable('user').set({ default_project_id: null }).where('default_project_id', 'in', part).execute();
    await db.deleteFrom('project_tag').where('project_id', 'in', part).execute();
    await db.deleteFrom('domain_config').where('domain_id', 'in', part).execute();
    await db.deleteFrom('project').where('id', 'in', part).execute();
  }
}

/** What a domain's delete took with it. */
export interface DomainContents {
  /** Projects, deepest first. */
  projectIds: string[];
  userIds: string[];
  groupIds: string[];
  roleIds: string[];
}

/**
 * Deletes everything a domain owns, then the domain: its projects (leaves first, so parent
 * links hold on every engine), groups, users, domain-specific roles, role assignments on it and
 * of its users and groups, its limits and its configuration. Run it in a transaction.
 */
export async function deleteDomainRows(db: Db, domainId: string, nowMs: number): Promise<DomainContents> {
  const projects = await db.selectFrom('project').select(['id', 'parent_id']).where('domain_id', '=', domainId).where('is_domain', '=', 0).execute();
  const userIds = (await db.selectFrom('user').select('id').where('domain_id', '=', domainId).execute()).map((r) => r.id);
  const groupIds = (await db.selectFrom('group').select('id').where('domain_id', '=', domainId).execute()).map((r) => r.id);
  const roleIds = (await db.selectFrom('role').select('id').where('domain_id', '=', domainId).execute()).map((r) => r.id);

  const levels = depthLevels(projects, domainId);
  for (let depth = levels.length - 1; depth >= 0; depth--) await deleteProjectRows(db, levels[depth]!, nowMs);

  const actors = [...userIds, ...groupIds];
  for (const part of chunks(actors)) await db.deleteFrom('assignment').where('actor_id', 'in', part).execute();
  for (const part of chunks(groupIds)) await db.deleteFrom('user_group_membership').where('group_id', 'in', part).execute();
  for (const part of chunks(userIds)) {
    await db.deleteFrom('user_group_membership').where('user_id', 'in', part).execute();
    await db.deleteFrom('credential').where('user_id', 'in', part).execute();
  }
  await db.deleteFrom('group').where('domain_id', '=', domainId).execute();
  // passwords, application credentials and access rules go with their user (ON DELETE CASCADE)
  await db.deleteFrom('user').where('domain_id', '=', domainId).execute();
  // assignments of these roles and their implications go with them (ON DELETE CASCADE)
  await db.deleteFrom('role').where('domain_id', '=', domainId).execute();
  await db.deleteFrom('project_limit').where('domain_id', '=', domainId).execute();
  await deleteProjectRows(db, [domainId], nowMs);
  return { projectIds: levels.flat().reverse(), userIds, groupIds, roleIds };
}

/** Projects of one domain grouped by depth below it (0: top level). */
function depthLevels(projects: { id: string; parent_id: string | null }[], domainId: string): string[][] {
  const byId = new Map(projects.map((p) => [p.id, p]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, guard = 0): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const parent = byId.get(id)?.parent_id;
    const d = parent && parent !== domainId && byId.has(parent) && guard < projects.length ? depthOf(parent, guard + 1) + 1 : 0;
    depth.set(id, d);
    return d;
  };
  const levels: string[][] = [];
  for (const p of projects) (levels[depthOf(p.id)] ??= []).push(p.id);
  return levels.map((l) => l ?? []);
}
