// Roles, role implications, grants and role assignment listings (direct and effective).
import { newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { Assignment, AssignmentScope, Extra, Role } from './models.js';
import { BadRequest, Conflict, Forbidden, ImmutableDelete, ImmutableUpdate, ImpliedRoleNotFound, RoleAssignmentNotFound, RoleNotFound } from './errors.js';
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
import { assignmentExists, deleteAssignment, insertAssignment, selectAssignments, SYSTEM_TARGET, type AssignmentRow } from '../store/assignment.repo.js';
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

export interface Grant {
  roleId: string;
  actor: { user: string } | { group: string };
  scope: AssignmentScope;
  inherited?: boolean;
}

export interface AssignmentQuery {
  userId?: string;
  groupId?: string;
  roleId?: string;
  projectIds?: string[];
  domainId?: string;
  system?: boolean;
  effective?: boolean;
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

function assignmentOf(r: AssignmentRow): Assignment {
  const actor = r.type.startsWith('User') ? { user: r.actor_id } : { group: r.actor_id };
  const scope: AssignmentScope = r.type.endsWith('Project') ? { project: r.target_id } : r.type.endsWith('Domain') ? { domain: r.target_id } : { system: 'all' };
  return { actor, scope, roleId: r.role_id, inherited: r.inherited === 1 };
}

/** `[assignment] prohibited_implied_role`: roles that may never be implied. */
const PROHIBITED_IMPLIED = new Set(['admin']);

export class RolesService {
  private readonly d: CoreDeps;
  private implications: { generation: number; map: Map<string, string[]> } | undefined;

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

  async createImpliedRole(priorId: string, impliedId: string, caller: Caller | undefined): Promise<{ prior: Role; implied: Role }> {
    const prior = await this.getRoleOrThrow(priorId);
    const implied = await this.getRoleOrThrow(impliedId);
    if (PROHIBITED_IMPLIED.has(implied.name) || implied.domainId !== null) throw Forbidden(`${impliedId} cannot be an implied roles.`, 'identity.invalid_implied_role');
    // Upstream accepts cycles and self-implication; expansion below is cycle-safe.
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

  /** prior -> directly implied, cached until identity data changes. */
  private async implicationMap(): Promise<Map<string, string[]>> {
    const gen = this.d.invalidator.generation;
    if (this.implications?.generation === gen) return this.implications.map;
    const map = new Map<string, string[]>();
    for (const r of await selectImplications(this.d.db)) map.set(r.prior_role_id, [...(map.get(r.prior_role_id) ?? []), r.implied_role_id]);
    this.implications = { generation: gen, map };
    return map;
  }

  /** The roles plus every role they imply, transitively. */
  private expand(roleIds: Iterable<string>, map: Map<string, string[]>): Set<string> {
    const out = new Set<string>();
    const stack = [...roleIds];
    while (stack.length) {
      const r = stack.pop()!;
      if (out.has(r)) continue;
      out.add(r);
      for (const i of map.get(r) ?? []) stack.push(i);
    }
    return out;
  }

  // ---- grants -----------------------------------------------------------------------------

  async createGrant(g: Grant, caller: Caller): Promise<void> {
    try {
      await insertAssignment(this.d.db, rowOf(g));
    } catch (err) {
      if (!isUniqueViolation(err)) throw err; // granting twice is not an error
    }
    this.d.invalidator.invalidate('grant created');
    this.d.notifier.roleAssignment('created', this.auditOf(g), caller.initiator);
  }

  async checkGrant(g: Grant): Promise<void> {
    if (!(await assignmentExists(this.d.db, rowOf(g)))) throw this.notFound(g);
  }

  async deleteGrant(g: Grant, caller: Caller): Promise<void> {
    if ((await deleteAssignment(this.d.db, rowOf(g))) === 0) throw this.notFound(g);
    this.d.invalidator.invalidate('grant deleted');
    this.d.notifier.roleAssignment('deleted', this.auditOf(g), caller.initiator);
  }

  /** Roles granted directly to the actor on exactly that target (GET .../users/{u}/roles). */
  async listGrantedRoles(actor: Grant['actor'], scope: AssignmentScope, inherited = false): Promise<Role[]> {
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

  // ---- effective roles (tokens) and listings -----------------------------------------------

  /** Every role id the user holds on the target, implications included. */
  async effectiveRoleIds(userId: string, scope: AssignmentScope): Promise<string[]> {
    const row = rowOf({ roleId: '', actor: { user: userId }, scope });
    const rows = await selectAssignments(this.d.db, { types: [row.type], actorIds: [userId], targetIds: [row.target_id], inherited: false });
    if (rows.length === 0) return [];
    return [...this.expand(rows.map((r) => r.role_id), await this.implicationMap())];
  }

  /** Targets where the user holds at least one role (GET /v3/auth/projects, /v3/auth/domains). */
  async targetsOfUser(userId: string, kind: 'project' | 'domain' | 'system'): Promise<string[]> {
    const type: AssignmentType = kind === 'project' ? 'UserProject' : kind === 'domain' ? 'UserDomain' : 'UserSystem';
    const rows = await selectAssignments(this.d.db, { types: [type], actorIds: [userId], inherited: false });
    return [...new Set(rows.map((r) => r.target_id))];
  }

  /** GET /v3/role_assignments: direct assignments, or with `effective` each implied role as its own entry. */
  async listAssignments(q: AssignmentQuery): Promise<Assignment[]> {
    if (q.effective && q.groupId) throw BadRequest('Combining effective and group filter will always result in an empty list.', 'identity.effective_with_group');
    const types: AssignmentType[] = [];
    const wantUser = q.groupId === undefined;
    const wantGroup = q.userId === undefined && !q.effective;
    const scopes: ('Project' | 'Domain' | 'System')[] = q.projectIds ? ['Project'] : q.domainId ? ['Domain'] : q.system ? ['System'] : ['Project', 'Domain', 'System'];
    for (const s of scopes) {
      if (wantUser) types.push(`User${s}`);
      if (wantGroup) types.push(`Group${s}`);
    }
    const targetIds = q.projectIds ?? (q.domainId ? [q.domainId] : q.system ? [SYSTEM_TARGET] : undefined);
    const actorIds = q.userId ? [q.userId] : q.groupId ? [q.groupId] : undefined;
    const rows = await selectAssignments(this.d.db, {
      types,
      ...(actorIds ? { actorIds } : {}),
      ...(targetIds ? { targetIds } : {}),
      ...(q.effective ? { inherited: false } : {}),
    });
    // effective listings leave system assignments out, as upstream does
    let out = rows.map(assignmentOf).filter((a) => !q.effective || !('system' in a.scope));
    if (q.effective) {
      const map = await this.implicationMap();
      const expanded: Assignment[] = [];
      for (const a of out) {
        expanded.push(a);
        for (const implied of this.expand(map.get(a.roleId) ?? [], map)) {
          if (implied !== a.roleId) expanded.push({ ...a, roleId: implied, priorRoleId: a.roleId });
        }
      }
      out = expanded;
    }
    if (q.roleId !== undefined) out = out.filter((a) => a.roleId === q.roleId);
    return out;
  }
}
