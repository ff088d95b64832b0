// GET /v3/role_assignments: who holds which role where, direct or effective, with names on request.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { RequestContext } from '@alto/kernel';
import type { IdentityServices } from '../services.js';
import type { Role } from '../domain/models.js';
import type { RoleAssignment } from '../domain/roles.service.js';
import { BadRequest } from '../domain/errors.js';
import { baseUrl, queryBool, queryStr, tokenCredentials, type Frame } from './common.js';
import { wireProject } from './projects.js';

const Query = Type.Object({}, { additionalProperties: true });

/** Keystone's query_filter_is_true: a flag present with no value (`?effective`) is true; `0`/`false` are false. */
function flag(q: Record<string, unknown>, name: string): boolean {
  if (!(name in q)) return false;
  const v = q[name];
  return v === '' || queryBool(v) === true;
}

/** A filter Keystone applies only when given a non-empty value (`params.get(...)` is falsy otherwise). */
function given(q: Record<string, unknown>, name: string): string | undefined {
  const v = queryStr(q[name]);
  return v ? v : undefined;
}

/** Keystone's _assert_* checks, in its order. */
function checkCombination(q: Record<string, unknown>, effective: boolean, inherited: boolean | undefined): void {
  const has = (n: string) => given(q, n) !== undefined;
  if (has('scope.domain.id') && has('scope.project.id')) throw BadRequest('Specify a domain or project, not both', 'identity.assignment_scope_ambiguous');
  if (has('scope.domain.id') && has('scope.system')) throw BadRequest('Specify system or domain, not both', 'identity.assignment_scope_ambiguous');
  if (has('scope.project.id') && has('scope.system')) throw BadRequest('Specify system or project, not both', 'identity.assignment_scope_ambiguous');
  if (has('user.id') && has('group.id')) throw BadRequest('Specify a user or group, not both', 'identity.assignment_actor_ambiguous');
  if (effective) {
    if (has('group.id')) throw BadRequest('Combining effective and group filter will always result in an empty list.', 'identity.effective_with_group');
    if (inherited && has('scope.domain.id')) {
      throw BadRequest('Combining effective, domain and inherited filters will always result in an empty list.', 'identity.effective_inherited_domain');
    }
  }
}

export function roleAssignmentRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v3/role_assignments',
      query: Query,
      policy: 'identity:list_role_assignments',
      // Keystone checks ?include_subtree under its own rule, with the project (loaded first: an
      // unknown one is a 404) as target
      policyOf: ({ query }) => (flag(query as Record<string, unknown>, 'include_subtree') ? 'identity:list_role_assignments_for_tree' : 'identity:list_role_assignments'),
      credentials: tokenCredentials,
      target: async ({ query }, ctx) => {
        const q = query as Record<string, unknown>;
        if (flag(q, 'include_subtree')) {
          const projectId = given(q, 'scope.project.id');
          return projectId ? { project: wireProject(await s.resources.getProjectOrThrow(projectId)) } : {};
        }
        // a domain-scoped caller may list (its own domain's part of) the assignments
        return ctx.domainId ? { domain_id: ctx.domainId } : {};
      },
      errors: [400, 404],
      handler: async ({ query, req }, ctx) => list(s, frame, req, query as Record<string, unknown>, ctx),
    }),
  ];
}

async function list(s: IdentityServices, frame: Frame, req: Parameters<typeof baseUrl>[0], q: Record<string, unknown>, ctx: RequestContext) {
  const subtree = flag(q, 'include_subtree');
  if (subtree && !given(q, 'scope.project.id')) throw BadRequest('scope.project.id must be specified if include_subtree is also specified', 'identity.subtree_needs_project');
  const effective = flag(q, 'effective');
  const inheritedTo = queryStr(q['scope.OS-INHERIT:inherited_to']);
  const inherited = 'scope.OS-INHERIT:inherited_to' in q ? inheritedTo === 'projects' : undefined;
  checkCombination(q, effective, inherited);
  const userId = given(q, 'user.id');
  const groupId = given(q, 'group.id');
  const roleId = given(q, 'role.id');
  const projectId = given(q, 'scope.project.id');
  const domainId = given(q, 'scope.domain.id');
  const assignments = await s.roles.listAssignments({
    ...(userId !== undefined ? { userId } : {}),
    ...(groupId !== undefined ? { groupId } : {}),
    ...(roleId !== undefined ? { roleId } : {}),
    ...(projectId !== undefined ? { projectId, includeSubtree: subtree } : {}),
    ...(domainId !== undefined ? { domainId } : {}),
    ...(given(q, 'scope.system') === 'all' ? { system: true } : {}),
    ...(inherited !== undefined ? { inherited } : {}),
    effective,
    // a domain-scoped caller sees its own domain only (the tree variant is not filtered upstream)
    ...(ctx.domainId && !subtree ? { visibleInDomain: ctx.domainId } : {}),
  });
  const base = baseUrl(req, frame);
  const names = flag(q, 'include_names') ? await namesFor(s, assignments) : undefined;
  const selfQuery = req.url.includes('?') ? `?${req.url.split('?')[1]}` : '';
  return {
    role_assignments: assignments.map((a) => assignmentView(a, base, names)),
    links: { self: `${base}/v3/role_assignments${selfQuery}`, previous: null, next: null },
  };
}

interface Names {
  roles: Map<string, Role>;
  users: Map<string, { name: string; domainId: string }>;
  groups: Map<string, { name: string; domainId: string }>;
  projects: Map<string, { name: string; domainId: string }>;
  domains: Map<string, string>;
}

async function namesFor(s: IdentityServices, list: RoleAssignment[]): Promise<Names> {
  const ids = (pick: (a: RoleAssignment) => string | undefined) => [...new Set(list.map(pick).filter((x): x is string => x !== undefined))];
  const [roles, users, groups, projects, domains] = await Promise.all([
    s.roles.rolesByIds(ids((a) => a.roleId)),
    s.users.listUsers({ ids: ids((a) => ('user' in a.actor ? a.actor.user : undefined)) }),
    s.groups.groupsByIds(ids((a) => ('group' in a.actor ? a.actor.group : undefined))),
    s.resources.listProjectsByIds(ids((a) => ('project' in a.scope ? a.scope.project : undefined))),
    s.resources.listDomains(),
  ]);
  return {
    roles,
    users: new Map(users.map((u) => [u.id, { name: u.name, domainId: u.domainId }])),
    groups: new Map([...groups.values()].map((g) => [g.id, { name: g.name, domainId: g.domainId }])),
    projects: new Map(projects.map((p) => [p.id, { name: p.name, domainId: p.domainId }])),
    domains: new Map(domains.map((d) => [d.id, d.name])),
  };
}

/**
 * Keystone's _format_entity: the scope, the actor and the role (with names on request), and links
 * to the grant the entry comes from, to the group membership that brought it, and (upstream's
 * own wording and argument order) to the implication.
 */
export function assignmentView(a: RoleAssignment, base: string, names: Names | undefined): Record<string, unknown> {
  const dom = (id: string) => ({ id, name: names?.domains.get(id) ?? null });
  const links: Record<string, string> = {};
  const out: Record<string, unknown> = { links };
  let path: string;
  const from = a.via?.inheritedFrom;
  if ('project' in a.scope) {
    const p = names?.projects.get(a.scope.project);
    out.scope = { project: names && p ? { id: a.scope.project, name: p.name, domain: dom(p.domainId) } : { id: a.scope.project } };
    path = from ? ('domain' in from ? `/domains/${from.domain}` : `/projects/${from.project}`) : `/projects/${a.scope.project}`;
  } else if ('domain' in a.scope) {
    out.scope = { domain: names ? dom(a.scope.domain) : { id: a.scope.domain } };
    path = `/domains/${a.scope.domain}`;
  } else {
    out.scope = { system: { all: true } };
    path = '/system';
  }
  const named = (m: Map<string, { name: string; domainId: string }> | undefined, id: string) => {
    if (!names) return { id };
    const e = m?.get(id);
    // Keystone renders an actor it cannot find with empty names
    return e ? { id, name: e.name, domain: dom(e.domainId) } : { id, name: '', domain: { id: '', name: '' } };
  };
  if ('user' in a.actor) {
    out.user = named(names?.users, a.actor.user);
    if (a.via?.group) {
      links.membership = `${base}/v3/groups/${a.via.group}/users/${a.actor.user}`;
      path += `/groups/${a.via.group}`;
    } else {
      path += `/users/${a.actor.user}`;
    }
  } else {
    out.group = named(names?.groups, a.actor.group);
    path += `/groups/${a.actor.group}`;
  }
  const r = names?.roles.get(a.roleId);
  out.role = names && r ? { id: a.roleId, name: r.name, ...(r.domainId ? { domain: dom(r.domainId) } : {}) } : { id: a.roleId };
  const prior = a.via?.priorRoleId;
  path += `/roles/${prior ?? a.roleId}`;
  if (a.inherited || from) {
    (out.scope as Record<string, unknown>)['OS-INHERIT:inherited_to'] = 'projects';
    path = `/OS-INHERIT${path}/inherited_to_projects`;
  }
  links.assignment = `${base}/v3${path}`;
  // COMPAT(keystone): /prior_role/{implied}/implies/{prior} is what upstream renders (sic)
  if (prior) links.prior_role = `${base}/v3/prior_role/${a.roleId}/implies/${prior}`;
  return out;
}
