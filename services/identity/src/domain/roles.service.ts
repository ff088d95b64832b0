// Roles, role implications, grants (to users and groups, on projects, domains and the system,
// direct or inherited to projects), and the role assignment model: the effective roles of a
// user for tokens and the listings of GET /v3/role_assignments, direct or effective.
import { newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { AssignmentScope, Extra, Role } from './models.js';
import { Conflict, DomainNotFound, ImmutableDelete, ImmutableUpdate, ImpliedRoleNotFound, ProjectNotFound, RoleAssignmentNotFound, RoleNotFound } from './errors.js';
import { DomainRoleInSystemGrant, DomainSpecificRoleMismatch, InvalidImpliedRole } from './assignment.errors.js';
import type { Caller, CoreDeps } from './deps.js';
import {
  deleteImpliedRole,
  deleteRoleRow,
  insertImpliedRole,
  insertRole,
  rowToRole,
  selectImplications,
  selectRoleRow,
  selectRoleRows,
  updateRoleRow,
} from '../store/role.repo.js';
import {
  assignmentExists,
  deleteAssignment,
  DOMAIN_TYPES,
  GROUP_TYPES,
  insertAssignment,
  PROJECT_TYPES,
  selectAssignments,
  selectProjectDomains,
  selectProjectIdsByDomain,
  selectProjectLineage,
  selectSubtrees,
  selectTokenRoleIds,
  SYSTEM_TARGET,
  SYSTEM_TYPES,
  USER_TYPES,
  type AssignmentRow,
} from '../store/assignment.repo.js';
import { selectGroupIdsOfUser, selectMemberIds } from '../store/group.repo.js';
import { selectProjectRow } from '../store/project.repo.js';
import type { AssignmentType } from '../store/schema.js';

export interface RoleInput {
  name: string;
  domainId?: string | null;
  description?: string | null;
  options?: Record<string, unknown>;
  extra?: Extra;
}

export interface RolePatch {
  name?: string;
  description?: string | null;
  options?: Record<string, unknown>;
  extra?: Extra;
}

export type Actor = { user: string } | { group: string };

export interface Grant {
  roleId: string;
  actor: Actor;
  scope: AssignmentScope;
  /** OS-INHERIT: the grant applies to the projects below the target, not to the target itself. */
  inherited?: boolean;
}

/** One entry of GET /v3/role_assignments. */
export interface RoleAssignment {
  actor: Actor;
  scope: AssignmentScope;
  roleId: string;
  /** A grant inherited to projects, listed as it is stored (direct listings). */
  inherited: boolean;
  /** How an effective entry came about (Keystone's "indirect"). */
  via?: {
    group?: string;
    inheritedFrom?: { project: string } | { domain: string };
    /** The role this one is implied by. */
    priorRoleId?: string;
  };
}

export interface AssignmentQuery {
  userId?: string;
  groupId?: string;
  roleId?: string;
  projectId?: string;
  /** With projectId: the projects below it too. */
  includeSubtree?: boolean;
  domainId?: string;
  /** `scope.system=all`. */
  system?: boolean;
  /** `scope.OS-INHERIT:inherited_to`: true for inherited grants only, false for direct ones only. */
  inherited?: boolean;
  /** Groups expanded into their members, inherited grants onto their projects, implied roles added. */
  effective?: boolean;
  /** A domain-scoped caller sees only assignments on its domain and its projects. */
  visibleInDomain?: string;
}

function rowOf(g: Grant): AssignmentRow {
  const isUser = 'user' in g.actor;
  const actorId = 'user' in g.actor ? g.actor.user : g.actor.group;
  let type: AssignmentType;
  let target: string;
  if ('project' in g.scope) {
    type = isUser ? 'UserProject' : 'GroupProject';
    target = g.scope.project;
  } else if ('domain' in g.scope) {
    type = isUser ? 'UserDomain' : 'GroupDomain';
    target = g.scope.domain;
  } else {
    type = isUser ? 'UserSystem' : 'GroupSystem';
    target = SYSTEM_TARGET;
  }
  return { type, actor_id: actorId, target_id: target, role_id: g.roleId, inherited: g.inherited ? 1 : 0 };
}

const isGroupRow = (r: AssignmentRow) => r.type.startsWith('Group');

function assignmentOf(r: AssignmentRow): RoleAssignment {
  const actor: Actor = isGroupRow(r) ? { group: r.actor_id } : { user: r.actor_id };
  const scope: AssignmentScope = r.type.endsWith('Project') ? { project: r.target_id } : r.type.endsWith('Domain') ? { domain: r.target_id } : { system: 'all' };
  return { actor, scope, roleId: r.role_id, inherited: Number(r.inherited) === 1 };
}

const only = (types: AssignmentType[], allowed: AssignmentType[] | undefined) => (allowed ? types.filter((t) => allowed.includes(t)) : types);

/** Keystone compares refs as dicts to stop at cycles; this is that dict, canonically. */
function refKey(a: RoleAssignment): string {
  return JSON.stringify([a.actor, a.scope, a.roleId, a.inherited, a.via?.group ?? null, a.via?.inheritedFrom ?? null, a.via?.priorRoleId ?? null]);
}

/** `[assignment] prohibited_implied_role`: roles that may never be implied. */
const PROHIBITED_IMPLIED = new Set(['admin']);

interface RoleMeta {
  generation: number;
  /** prior -> directly implied */
  implies: Map<string, string[]>;
  /** Domain-specific roles: never in tokens or effective listings themselves, only what they imply. */
  domainRoles: Set<string>;
}

export class RolesService {
  private readonly d: CoreDeps;
  private cachedMeta: RoleMeta | undefined;

  constructor(deps: CoreDeps) {
    this.d = deps;
  }

  // ---- roles ------------------------------------------------------------------------------

  async getRoleOrThrow(id: string): Promise<Role> {
    const r = await selectRoleRow(this.d.db, id);
    if (!r) throw RoleNotFound(id);
    return rowToRole(r);
  }

  async listRoles(f: { name?: string; domainId?: string | null }): Promise<Role[]> {
    return (await selectRoleRows(this.d.db, { name: f.name, domainId: f.domainId ?? null })).map(rowToRole);
  }

  async rolesByIds(ids: string[]): Promise<Map<string, Role>> {
    const rows = await selectRoleRows(this.d.db, { ids: [...new Set(ids)] });
    return new Map(rows.map((r) => [r.id, rowToRole(r)]));
  }

  async createRole(input: RoleInput, caller: Caller | undefined): Promise<Role> {
    const role: Role = {
      id: newHexId(),
      name: input.name,
      domainId: input.domainId ?? null,
      description: input.description ?? null,
      extra: input.extra ?? {},
      options: input.options ?? {},
    };
    try {
      await insertRole(this.d.db, role);
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('role', `Duplicate entry found with name ${role.name}`);
      throw err;
    }
    if (caller) this.d.notifier.resource('created', 'role', role.id, caller.initiator);
    return role;
  }

  async updateRole(id: string, patch: RolePatch, caller: Caller): Promise<Role> {
    const current = await this.getRoleOrThrow(id);
    const unsettingImmutable = patch.options && patch.options.immutable === false;
    if (current.options.immutable === true && !unsettingImmutable) throw ImmutableUpdate('role', id);
    const next: Role = {
      ...current,
      name: patch.name ?? current.name,
      description: patch.description === undefined ? current.description : patch.description,
      options: patch.options ? { ...current.options, ...patch.options } : current.options,
      extra: patch.extra ? { ...current.extra, ...patch.extra } : current.extra,
    };
    try {
      await updateRoleRow(this.d.db, next);
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('role', `Duplicate entry found with name ${next.name}`);
      throw err;
    }
    if (next.name !== current.name) this.d.invalidator.invalidate(`role ${id} renamed`);
    this.d.notifier.resource('updated', 'role', id, caller.initiator);
    return next;
  }

  async deleteRole(id: string, caller: Caller): Promise<void> {
    const current = await this.getRoleOrThrow(id);
    if (current.options.immutable === true) throw ImmutableDelete('role', id);
    // assignments and implications go with it (ON DELETE CASCADE)
    await deleteRoleRow(this.d.db, id);
    this.d.invalidator.invalidate(`role ${id} deleted`);
    this.d.notifier.resource('deleted', 'role', id, caller.initiator);
  }

  // ---- implied roles ----------------------------------------------------------------------

  /**
   * Keystone refuses prohibited roles (admin) as implied roles, and a global role implying a
   * domain-specific one; a domain role may imply a global role or a domain role of any domain.
   */
  async createImpliedRole(priorId: string, impliedId: string, caller: Caller | undefined): Promise<{ prior: Role; implied: Role }> {
    const implied = await this.getRoleOrThrow(impliedId);
    const prior = await this.getRoleOrThrow(priorId);
    if (PROHIBITED_IMPLIED.has(implied.name) || (prior.domainId === null && implied.domainId !== null)) throw InvalidImpliedRole(impliedId);
    // Upstream accepts cycles and self-implication; expansion is cycle-safe.
    try {
      await insertImpliedRole(this.d.db, priorId, impliedId);
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('implied_role', 'Duplicate entry');
      throw err;
    }
    this.d.invalidator.invalidate(`implied role ${priorId}->${impliedId}`);
    if (caller) this.d.notifier.resource('created', 'implied_role', `${priorId},${impliedId}`, caller.initiator);
    return { prior, implied };
  }

  async getImpliedRoleOrThrow(priorId: string, impliedId: string): Promise<{ prior: Role; implied: Role }> {
    const prior = await this.getRoleOrThrow(priorId);
    const implied = await this.getRoleOrThrow(impliedId);
    const rules = await selectImplications(this.d.db, priorId);
    if (!rules.some((r) => r.implied_role_id === impliedId)) throw ImpliedRoleNotFound(priorId, impliedId);
    return { prior, implied };
  }

  async deleteImpliedRole(priorId: string, impliedId: string, caller: Caller): Promise<void> {
    await this.getImpliedRoleOrThrow(priorId, impliedId);
    await deleteImpliedRole(this.d.db, priorId, impliedId);
    this.d.invalidator.invalidate(`implied role ${priorId}->${impliedId} deleted`);
    this.d.notifier.resource('deleted', 'implied_role', `${priorId},${impliedId}`, caller.initiator);
  }

  /** Rules grouped by prior role: [{prior, implies: [...]}]. */
  async listImplications(priorId?: string): Promise<{ prior: Role; implies: Role[] }[]> {
    if (priorId) await this.getRoleOrThrow(priorId);
    const rules = await selectImplications(this.d.db, priorId);
    const roles = await this.rolesByIds(rules.flatMap((r) => [r.prior_role_id, r.implied_role_id]));
    const grouped = new Map<string, Role[]>();
    for (const r of rules) {
      const implied = roles.get(r.implied_role_id);
      if (!implied) continue;
      grouped.set(r.prior_role_id, [...(grouped.get(r.prior_role_id) ?? []), implied]);
    }
    const out: { prior: Role; implies: Role[] }[] = [];
    for (const [p, implies] of grouped) {
      const prior = roles.get(p);
      if (prior) out.push({ prior, implies });
    }
    return out;
  }

  /** Implications and domain-specific roles, cached until identity data changes (all replicas). */
  private async meta(): Promise<RoleMeta> {
    const generation = this.d.invalidator.generation;
    if (this.cachedMeta?.generation === generation) return this.cachedMeta;
    const implies = new Map<string, string[]>();
    for (const r of await selectImplications(this.d.db)) implies.set(r.prior_role_id, [...(implies.get(r.prior_role_id) ?? []), r.implied_role_id]);
    const domainRoles = new Set((await selectRoleRows(this.d.db, {})).map(rowToRole).filter((r) => r.domainId !== null).map((r) => r.id));
    this.cachedMeta = { generation, implies, domainRoles };
    return this.cachedMeta;
  }

  /** The roles plus every role they imply, transitively. */
  private expand(roleIds: Iterable<string>, implies: Map<string, string[]>): Set<string> {
    const out = new Set<string>();
    const stack = [...roleIds];
    while (stack.length) {
      const r = stack.pop()!;
      if (out.has(r)) continue;
      out.add(r);
      for (const i of implies.get(r) ?? []) stack.push(i);
    }
    return out;
  }

  // ---- grants -----------------------------------------------------------------------------

  private async projectOrThrow(id: string): Promise<{ domainId: string }> {
    const r = await selectProjectRow(this.d.db, id);
    if (!r) throw ProjectNotFound(id);
    return { domainId: r.domain_id };
  }

  private async domainOrThrow(id: string): Promise<void> {
    const r = await selectProjectRow(this.d.db, id);
    if (!r || Number(r.is_domain) !== 1) throw DomainNotFound(id);
  }

  /**
   * Keystone's create_grant: the role and the target must exist (the actor need not: OS-INHERIT
   * grants to unknown users are stored), a domain-specific role only on projects of its own
   * domain and never on the system. Granting twice is not an error.
   */
  async createGrant(g: Grant, caller: Caller): Promise<void> {
    const role = await this.getRoleOrThrow(g.roleId);
    if ('domain' in g.scope) await this.domainOrThrow(g.scope.domain);
    if ('project' in g.scope) {
      const project = await this.projectOrThrow(g.scope.project);
      if (role.domainId && project.domainId !== role.domainId) throw DomainSpecificRoleMismatch(g.roleId, g.scope.project);
    }
    if ('system' in g.scope && role.domainId) throw DomainRoleInSystemGrant(g.roleId);
    try {
      await insertAssignment(this.d.db, rowOf(g));
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    this.d.invalidator.invalidate('grant created');
    // COMPAT(keystone): system grants are not announced (create_system_grant_* carry no notification)
    if (!('system' in g.scope)) this.d.notifier.roleAssignment('created', this.auditOf(g), caller.initiator);
  }

  async checkGrant(g: Grant): Promise<void> {
    if (!('system' in g.scope)) {
      await this.getRoleOrThrow(g.roleId);
      if ('domain' in g.scope) await this.domainOrThrow(g.scope.domain);
      if ('project' in g.scope) await this.projectOrThrow(g.scope.project);
    }
    if (!(await assignmentExists(this.d.db, rowOf(g)))) throw this.notFound(g);
  }

  /** Tokens re-read their roles at validation, so dropping the cached validations is enough. */
  async deleteGrant(g: Grant, caller: Caller): Promise<void> {
    if (!('system' in g.scope)) await this.getRoleOrThrow(g.roleId);
    if ((await deleteAssignment(this.d.db, rowOf(g))) === 0) throw this.notFound(g);
    this.d.invalidator.invalidate('grant deleted');
    if (!('system' in g.scope)) this.d.notifier.roleAssignment('deleted', this.auditOf(g), caller.initiator);
  }

  /** Roles granted directly to the actor on exactly that target (GET .../roles, .../roles/inherited_to_projects). */
  async listGrantedRoles(actor: Actor, scope: AssignmentScope, inherited = false): Promise<Role[]> {
    if ('domain' in scope) await this.domainOrThrow(scope.domain);
    if ('project' in scope) await this.projectOrThrow(scope.project);
    const row = rowOf({ roleId: '', actor, scope, inherited });
    const rows = await selectAssignments(this.d.db, { types: [row.type], actorIds: [row.actor_id], targetIds: [row.target_id], inherited });
    const roles = await this.rolesByIds(rows.map((r) => r.role_id));
    return rows.map((r) => roles.get(r.role_id)).filter((r): r is Role => r !== undefined);
  }

  private notFound(g: Grant) {
    const row = rowOf(g);
    return RoleAssignmentNotFound(g.roleId, row.actor_id, row.target_id);
  }

  private auditOf(g: Grant) {
    return {
      roleId: g.roleId,
      userId: 'user' in g.actor ? g.actor.user : undefined,
      groupId: 'group' in g.actor ? g.actor.group : undefined,
      projectId: 'project' in g.scope ? g.scope.project : undefined,
      domainId: 'domain' in g.scope ? g.scope.domain : undefined,
      system: 'system' in g.scope,
      inherited: g.inherited ?? false,
    };
  }

  // ---- effective roles (tokens) -------------------------------------------------------------

  /**
   * Every role id a token of the user on the target carries: grants to the user and the user's
   * groups, grants inherited from the project's domain and ancestors, implied roles added, and
   * domain-specific roles left out (they only serve to imply global ones). Two indexed queries
   * (the user's groups, then the grants) and the cached implication map: this runs on every token issue and uncached validation.
   * `keepDomainRoles` is for trusts, which check the trustor's full role set as Keystone does.
   */
  async effectiveRoleIds(userId: string, scope: AssignmentScope, opts: { keepDomainRoles?: boolean } = {}): Promise<string[]> {
    const groups = await selectGroupIdsOfUser(this.d.db, userId);
    const direct = await selectTokenRoleIds(this.d.db, userId, groups, scope);
    if (direct.length === 0) return [];
    const meta = await this.meta();
    const all = [...this.expand(direct, meta.implies)];
    return opts.keepDomainRoles ? all : all.filter((r) => !meta.domainRoles.has(r));
  }

  /**
   * Targets where the user holds at least one effective role: projects (through groups and
   * inheritance too) for GET /v3/auth/projects and /v3/users/{id}/projects, domains for
   * /v3/auth/domains, the system for /v3/auth/system.
   */
  async targetsOfUser(userId: string, kind: 'project' | 'domain' | 'system'): Promise<string[]> {
    if (kind === 'system') {
      // COMPAT(keystone): /v3/auth/system looks at the user's own system grants only, not its groups'
      const rows = await selectAssignments(this.d.db, { types: ['UserSystem'], actorIds: [userId], targetIds: [SYSTEM_TARGET] });
      return rows.length ? [SYSTEM_TARGET] : [];
    }
    const list = await this.listAssignments({ userId, effective: true });
    const ids = new Set<string>();
    for (const a of list) {
      if (kind === 'project' && 'project' in a.scope) ids.add(a.scope.project);
      if (kind === 'domain' && 'domain' in a.scope) ids.add(a.scope.domain);
    }
    return [...ids];
  }

  // ---- GET /v3/role_assignments ---------------------------------------------------------------

  /** Keystone's list_role_assignments, direct or effective, with a domain-scoped caller's view. */
  async listAssignments(q: AssignmentQuery): Promise<RoleAssignment[]> {
    let subtree: string[] | undefined;
    if (q.projectId && q.includeSubtree) {
      await this.projectOrThrow(q.projectId);
      subtree = (await selectSubtrees(this.d.db, [q.projectId])).get(q.projectId) ?? [];
    }
    const list = q.effective ? await this.effectiveAssignments(q, subtree) : await this.directAssignments(q, subtree);
    return q.visibleInDomain !== undefined ? this.visibleIn(list, q.visibleInDomain) : list;
  }

  private async directAssignments(q: AssignmentQuery, subtree: string[] | undefined): Promise<RoleAssignment[]> {
    const actorTypes = q.userId ? USER_TYPES : q.groupId ? GROUP_TYPES : undefined;
    const actorIds = q.userId ? [q.userId] : q.groupId ? [q.groupId] : undefined;
    const projectIds = q.projectId ? [q.projectId, ...(subtree ?? [])] : undefined;
    const rows: AssignmentRow[] = [];
    if (!q.system) {
      const targetTypes = projectIds ? PROJECT_TYPES : q.domainId ? DOMAIN_TYPES : [...PROJECT_TYPES, ...DOMAIN_TYPES];
      const targetIds = projectIds ?? (q.domainId ? [q.domainId] : undefined);
      rows.push(
        ...(await selectAssignments(this.d.db, {
          types: only(targetTypes, actorTypes),
          ...(actorIds ? { actorIds } : {}),
          ...(targetIds ? { targetIds } : {}),
          ...(q.roleId !== undefined ? { roleId: q.roleId } : {}),
          ...(q.inherited !== undefined ? { inherited: q.inherited } : {}),
        })),
      );
    }
    // COMPAT(keystone): system grants are listed whenever no project or domain is asked for,
    // whatever scope.OS-INHERIT:inherited_to says
    if (q.system || (!q.projectId && !q.domainId)) {
      rows.push(
        ...(await selectAssignments(this.d.db, {
          types: only(SYSTEM_TYPES, actorTypes),
          ...(actorIds ? { actorIds } : {}),
          targetIds: [SYSTEM_TARGET],
          ...(q.roleId !== undefined ? { roleId: q.roleId } : {}),
        })),
      );
    }
    return rows.map(assignmentOf);
  }

  /**
   * Keystone's effective mode: only the grants that can affect the result are read (a fixed
   * number of queries), then groups become their members, inherited grants land on the projects
   * below their target, implied roles are added and domain-specific roles dropped. System
   * grants are never part of it.
   */
  private async effectiveAssignments(q: AssignmentQuery, subtree: string[] | undefined): Promise<RoleAssignment[]> {
    const db = this.d.db;
    // domains do not inherit: with a domain filter only direct grants count
    const inherited = q.domainId ? false : q.inherited;
    const projectIds = q.projectId ? [q.projectId, ...(subtree ?? [])] : undefined;
    let lineage: { domainId: string; ancestors: string[] } | undefined;
    if (q.projectId && inherited !== false) {
      lineage = await selectProjectLineage(db, q.projectId);
      if (!lineage) throw ProjectNotFound(q.projectId);
    }

    const grantsOf = async (actorTypes: AssignmentType[] | undefined, actorIds: string[] | undefined): Promise<AssignmentRow[]> => {
      const actors = actorIds ? { actorIds } : {};
      const out: AssignmentRow[] = [];
      if (inherited !== true) {
        const targetTypes = projectIds ? PROJECT_TYPES : q.domainId ? DOMAIN_TYPES : [...PROJECT_TYPES, ...DOMAIN_TYPES];
        const targetIds = projectIds ?? (q.domainId ? [q.domainId] : undefined);
        out.push(...(await selectAssignments(db, { types: only(targetTypes, actorTypes), ...actors, ...(targetIds ? { targetIds } : {}), inherited: false })));
      }
      if (inherited !== false) {
        if (lineage) {
          out.push(...(await selectAssignments(db, { types: only(DOMAIN_TYPES, actorTypes), ...actors, targetIds: [lineage.domainId], inherited: true })));
          const sources = [...lineage.ancestors, ...(subtree ? projectIds! : [])];
          if (sources.length) out.push(...(await selectAssignments(db, { types: only(PROJECT_TYPES, actorTypes), ...actors, targetIds: sources, inherited: true })));
        } else {
          out.push(...(await selectAssignments(db, { types: only([...PROJECT_TYPES, ...DOMAIN_TYPES], actorTypes), ...actors, inherited: true })));
        }
      }
      return out;
    };

    let refs: AssignmentRow[];
    if (q.userId) {
      const groups = await selectGroupIdsOfUser(db, q.userId);
      refs = [...(await grantsOf(USER_TYPES, [q.userId])), ...(groups.length ? await grantsOf(GROUP_TYPES, groups) : [])];
    } else {
      refs = await grantsOf(undefined, undefined);
    }

    // what the expansion needs, read in one query each
    const inheritedDomains = new Set<string>();
    const subtreeRoots = new Set<string>();
    const groupsToExpand = new Set<string>();
    for (const r of refs) {
      if (Number(r.inherited) === 1) {
        if (DOMAIN_TYPES.includes(r.type)) {
          if (!q.projectId) inheritedDomains.add(r.target_id);
        } else if (!q.projectId || (subtree && projectIds!.includes(r.target_id))) {
          subtreeRoots.add(r.target_id);
        }
      }
      if (isGroupRow(r) && !q.userId) groupsToExpand.add(r.actor_id);
    }
    const [domainProjects, subtrees, members] = await Promise.all([
      selectProjectIdsByDomain(db, [...inheritedDomains]),
      selectSubtrees(db, [...subtreeRoots]),
      selectMemberIds(db, [...groupsToExpand]),
    ]);
    const usersOf = (r: AssignmentRow): string[] => (isGroupRow(r) ? (q.userId ? [q.userId] : (members.get(r.actor_id) ?? [])) : [r.actor_id]);

    const expanded: RoleAssignment[] = [];
    for (const r of refs) {
      const group = isGroupRow(r) ? { group: r.actor_id } : {};
      if (Number(r.inherited) === 1) {
        const fromDomain = DOMAIN_TYPES.includes(r.type);
        let targets: string[];
        if (projectIds) targets = subtree && !fromDomain && projectIds.includes(r.target_id) ? (subtrees.get(r.target_id) ?? []) : projectIds;
        else targets = fromDomain ? (domainProjects.get(r.target_id) ?? []) : (subtrees.get(r.target_id) ?? []);
        const inheritedFrom = fromDomain ? { domain: r.target_id } : { project: r.target_id };
        for (const user of usersOf(r)) {
          for (const project of targets) expanded.push({ actor: { user }, scope: { project }, roleId: r.role_id, inherited: false, via: { ...group, inheritedFrom } });
        }
      } else if (isGroupRow(r)) {
        const a = assignmentOf(r);
        for (const user of usersOf(r)) expanded.push({ ...a, actor: { user }, via: { group: r.actor_id } });
      } else {
        expanded.push(assignmentOf(r));
      }
    }

    const meta = await this.meta();
    let out = this.withImpliedRoles(expanded, meta.implies).filter((a) => !meta.domainRoles.has(a.roleId));
    if (q.roleId !== undefined) out = out.filter((a) => a.roleId === q.roleId);
    return out;
  }

  /**
   * Keystone's add_implied_roles: each implied role becomes its own entry naming its prior role;
   * an entry equal to one already expanded is not expanded again (cycles end).
   */
  private withImpliedRoles(refs: RoleAssignment[], implies: Map<string, string[]>): RoleAssignment[] {
    const results = [...refs];
    const toCheck = [...refs];
    const checked = new Set<string>();
    while (toCheck.length) {
      const next = toCheck.pop()!;
      checked.add(refKey(next));
      for (const impliedId of implies.get(next.roleId) ?? []) {
        const copy: RoleAssignment = { ...next, roleId: impliedId, via: { ...next.via, priorRoleId: next.roleId } };
        if (checked.has(refKey(copy))) continue;
        results.push(copy);
        toCheck.push(copy);
      }
    }
    return results;
  }

  /** What a domain-scoped caller sees: assignments on its domain and on its domain's projects. */
  private async visibleIn(list: RoleAssignment[], domainId: string): Promise<RoleAssignment[]> {
    const domains = await selectProjectDomains(this.d.db, [...new Set(list.flatMap((a) => ('project' in a.scope ? [a.scope.project] : [])))]);
    return list.filter((a) => ('domain' in a.scope ? a.scope.domain === domainId : 'project' in a.scope ? domains.get(a.scope.project) === domainId : false));
  }
}
