// Role assignments (who holds which role where: project, domain or system, directly or inherited
// to projects below) and the project-hierarchy reads that resolving them needs.
import { sql, type Selectable } from 'kysely';
import type { AssignmentTable, AssignmentType } from './schema.js';
import { int, type Db } from './rows.js';

export type AssignmentRow = Selectable<AssignmentTable>;

export const SYSTEM_TARGET = 'system';

export const USER_TYPES: AssignmentType[] = ['UserProject', 'UserDomain', 'UserSystem'];
export const GROUP_TYPES: AssignmentType[] = ['GroupProject', 'GroupDomain', 'GroupSystem'];
export const PROJECT_TYPES: AssignmentType[] = ['UserProject', 'GroupProject'];
export const DOMAIN_TYPES: AssignmentType[] = ['UserDomain', 'GroupDomain'];
export const SYSTEM_TYPES: AssignmentType[] = ['UserSystem', 'GroupSystem'];

/** Project hierarchies are shallow (Keystone's max_project_tree_depth is 5); this only stops a corrupt cycle. */
const MAX_DEPTH = 100;

export async function insertAssignment(db: Db, a: AssignmentRow): Promise<void> {
  await db.insertInto('assignment').values(a).execute();
}

export async function deleteAssignment(db: Db, a: AssignmentRow): Promise<number> {
  const r = await db
    .deleteFrom('assignment')
    .where('type', '=', a.type)
    .where('actor_id', '=', a.actor_id)
    .where('target_id', '=', a.target_id)
    .where('role_id', '=', a.role_id)
    .where('inherited', '=', a.inherited)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function assignmentExists(db: Db, a: AssignmentRow): Promise<boolean> {
  const r = await db
    .selectFrom('assignment')
    .select('role_id')
    .where('type', '=', a.type)
    .where('actor_id', '=', a.actor_id)
    .where('target_id', '=', a.target_id)
    .where('role_id', '=', a.role_id)
    .where('inherited', '=', a.inherited)
    .executeTakeFirst();
  return r !== undefined;
}

export interface AssignmentFilter {
  types?: AssignmentType[];
  actorIds?: string[];
  targetIds?: string[];
  roleId?: string;
  inherited?: boolean;
}

export async function selectAssignments(db: Db, f: AssignmentFilter): Promise<AssignmentRow[]> {
  let q = db.selectFrom('assignment').selectAll();
  if (f.types) {
    if (f.types.length === 0) return [];
    q = q.where('type', 'in', f.types);
  }
  if (f.actorIds) {
    if (f.actorIds.length === 0) return [];
    q = q.where('actor_id', 'in', f.actorIds);
  }
  if (f.targetIds) {
    if (f.targetIds.length === 0) return [];
    q = q.where('target_id', 'in', f.targetIds);
  }
  if (f.roleId !== undefined) q = q.where('role_id', '=', f.roleId);
  if (f.inherited !== undefined) q = q.where('inherited', '=', int(f.inherited));
  return q.orderBy('type').orderBy('actor_id').orderBy('target_id').orderBy('role_id').execute();
}

export async function deleteAssignmentsOfActor(db: Db, actorId: string): Promise<void> {
  await db.deleteFrom('assignment').where('actor_id', '=', actorId).execute();
}

export async function deleteAssignmentsOnTarget(db: Db, targetId: string): Promise<void> {
  await db.deleteFrom('assignment').where('target_id', '=', targetId).execute();
}

/** True when the group holds any role anywhere (its deletion then revokes its members' tokens). */
export async function actorHasAssignments(db: Db, actorId: string, types: AssignmentType[]): Promise<boolean> {
  const r = await db.selectFrom('assignment').select('role_id').where('actor_id', '=', actorId).where('type', 'in', types).limit(1).executeTakeFirst();
  return r !== undefined;
}

export type TokenScope = { project: string } | { domain: string } | { system: 'all' };

/**
 * The role ids a token of the user on the scope starts from, before implications, in one query
 * given the user's groups (read first, so that every engine's planner can look the actors up by
 * index). On a project: grants to the user or its groups on the project itself, plus grants
 * inherited to projects on any ancestor project and on the project's domain (the ancestor chain
 * is a recursive CTE over project.parent_id). On a domain: the user's and groups' non-inherited
 * grants there. On the system: the user's and groups' system grants.
 */
export async function selectTokenRoleIds(db: Db, userId: string, groupIds: string[], scope: TokenScope): Promise<string[]> {
  const actors = [userId, ...groupIds];
  const groups = new Set(groupIds);
  // ids are opaque: a row counts only when its actor is of the row's kind
  const mine = (r: { type: string; actor_id: string }) => (r.type.startsWith('User') ? r.actor_id === userId : groups.has(r.actor_id));
  if ('project' in scope) {
    const rows = await db
      .withRecursive('chain(id, parent_id, is_domain, depth)', (qc) =>
        qc
          .selectFrom('project')
          .where('id', '=', scope.project)
          .select(['id', 'parent_id', 'is_domain', sql<number>`0`.as('depth')])
          .unionAll((rc) =>
            rc
              .selectFrom('project as p')
              .innerJoin('chain as c', 'c.parent_id', 'p.id')
              .where('c.depth', '<', MAX_DEPTH)
              .select(['p.id', 'p.parent_id', 'p.is_domain', sql<number>`c.depth + 1`.as('depth')]),
          ),
      )
      .selectFrom('assignment as a')
      .innerJoin('chain as c', 'c.id', 'a.target_id')
      .select(['a.type', 'a.actor_id', 'a.role_id'])
      .where('a.actor_id', 'in', actors)
      .where((eb) =>
        eb.or([
          // the project itself: direct grants only (an inherited grant there is for its children)
          eb.and([eb('c.depth', '=', 0), eb('c.is_domain', '=', 0), eb('a.inherited', '=', 0), eb('a.type', 'in', PROJECT_TYPES)]),
          eb.and([eb('c.depth', '>', 0), eb('c.is_domain', '=', 0), eb('a.inherited', '=', 1), eb('a.type', 'in', PROJECT_TYPES)]),
          eb.and([eb('c.depth', '>', 0), eb('c.is_domain', '=', 1), eb('a.inherited', '=', 1), eb('a.type', 'in', DOMAIN_TYPES)]),
        ]),
      )
      .execute();
    return rows.filter(mine).map((r) => r.role_id);
  }
  const [target, types] = 'domain' in scope ? [scope.domain, DOMAIN_TYPES] : [SYSTEM_TARGET, SYSTEM_TYPES];
  const rows = await db
    .selectFrom('assignment')
    .select(['type', 'actor_id', 'role_id'])
    .where('actor_id', 'in', actors)
    .where('target_id', '=', target)
    .where('type', 'in', types)
    .where('inherited', '=', 0)
    .execute();
  return rows.filter(mine).map((r) => r.role_id);
}

/** A project's domain and its ancestor projects (parent first, the domain excluded); undefined for an unknown project. */
export async function selectProjectLineage(db: Db, projectId: string): Promise<{ domainId: string; isDomain: boolean; ancestors: string[] } | undefined> {
  const rows = await db
    .withRecursive('chain(id, parent_id, domain_id, is_domain, depth)', (qc) =>
      qc
        .selectFrom('project')
        .where('id', '=', projectId)
        .select(['id', 'parent_id', 'domain_id', 'is_domain', sql<number>`0`.as('depth')])
        .unionAll((rc) =>
          rc
            .selectFrom('project as p')
            .innerJoin('chain as c', 'c.parent_id', 'p.id')
            .where('c.depth', '<', MAX_DEPTH)
            .select(['p.id', 'p.parent_id', 'p.domain_id', 'p.is_domain', sql<number>`c.depth + 1`.as('depth')]),
        ),
    )
    .selectFrom('chain')
    .select(['id', 'domain_id', 'is_domain', 'depth'])
    .orderBy('depth')
    .execute();
  const self = rows[0];
  if (!self) return undefined;
  return {
    domainId: self.domain_id,
    isDomain: Number(self.is_domain) === 1,
    ancestors: rows.filter((r) => Number(r.depth) > 0 && Number(r.is_domain) === 0).map((r) => r.id),
  };
}

/** Every project below each root (children, grandchildren, ...; the root itself excluded), in one recursive query. */
export async function selectSubtrees(db: Db, rootIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(rootIds.map((r) => [r, []]));
  if (rootIds.length === 0) return out;
  const rows = await db
    .withRecursive('sub(root, id, depth)', (qc) =>
      qc
        .selectFrom('project')
        .where('id', 'in', rootIds)
        .select(['id as root', 'id', sql<number>`0`.as('depth')])
        .unionAll((rc) =>
          rc
            .selectFrom('project as p')
            .innerJoin('sub as s', 's.id', 'p.parent_id')
            .where('s.depth', '<', MAX_DEPTH)
            .where('p.is_domain', '=', 0)
            .select(['s.root', 'p.id', sql<number>`s.depth + 1`.as('depth')]),
        ),
    )
    .selectFrom('sub')
    .select(['root', 'id', 'depth'])
    .where('depth', '>', 0)
    .orderBy('depth')
    .orderBy('id')
    .execute();
  for (const r of rows) out.get(r.root)?.push(r.id);
  return out;
}

/** The projects (not domains) of each domain. */
export async function selectProjectIdsByDomain(db: Db, domainIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(domainIds.map((d) => [d, []]));
  if (domainIds.length === 0) return out;
  const rows = await db.selectFrom('project').select(['id', 'domain_id']).where('domain_id', 'in', domainIds).where('is_domain', '=', 0).orderBy('id').execute();
  for (const r of rows) out.get(r.domain_id)?.push(r.id);
  return out;
}

/** The domain of each known project. */
export async function selectProjectDomains(db: Db, projectIds: string[]): Promise<Map<string, string>> {
  if (projectIds.length === 0) return new Map();
  const rows = await db.selectFrom('project').select(['id', 'domain_id']).where('id', 'in', projectIds).execute();
  return new Map(rows.map((r) => [r.id, r.domain_id]));
}
