// GET /v3/role_assignments: who holds which role where, direct or effective, with names on request.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import type { Assignment, Role } from '../domain/models.js';
import { BadRequest } from '../domain/errors.js';
import { baseUrl, queryBool, queryStr, tokenCredentials, type Frame } from './common.js';

const Query = Type.Object({}, { additionalProperties: true });

/** Keystone treats a flag present with no value (`?effective`) as true. */
function flag(q: Record<string, unknown>, name: string): boolean {
  if (!(name in q)) return false;
  const v = q[name];
  return v === '' || queryBool(v) === true;
}

export function roleAssignmentRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v3/role_assignments',
      query: Query,
      policy: 'identity:list_role_assignments',
      credentials: tokenCredentials,
      // Keystone passes the scope filters to policy so a domain reader can list its own domain
      target: ({ query }) => {
        const q = query as Record<string, unknown>;
        const t: Record<string, unknown> = {};
        if (queryStr(q['scope.domain.id'])) t.domain_id = queryStr(q['scope.domain.id']);
        if (queryStr(q['scope.project.id'])) t.project_id = queryStr(q['scope.project.id']);
        return t;
      },
      errors: [400],
      handler: async ({ query, req }) => {
        const q = query as Record<string, unknown>;
        const effective = flag(q, 'effective');
        const includeNames = flag(q, 'include_names');
        const includeSubtree = flag(q, 'include_subtree');
        const projectId = queryStr(q['scope.project.id']);
        const domainId = queryStr(q['scope.domain.id']);
        const system = queryStr(q['scope.system']);
        if (projectId !== undefined && domainId !== undefined) throw BadRequest('Specify a domain or project, not both', 'identity.assignment_scope_ambiguous');
        if (includeSubtree && !projectId) throw BadRequest('scope.project.id must be specified if include_subtree is also specified', 'identity.subtree_needs_project');
        let projectIds = projectId ? [projectId] : undefined;
        if (includeSubtree && projectId) projectIds = await subtreeOf(s, projectId);
        const list = await s.roles.listAssignments({
          ...(queryStr(q['user.id']) !== undefined ? { userId: queryStr(q['user.id'])! } : {}),
          ...(queryStr(q['group.id']) !== undefined ? { groupId: queryStr(q['group.id'])! } : {}),
          ...(queryStr(q['role.id']) !== undefined ? { roleId: queryStr(q['role.id'])! } : {}),
          ...(projectIds ? { projectIds } : {}),
          ...(domainId !== undefined ? { domainId } : {}),
          ...(system !== undefined ? { system: true } : {}),
          effective,
        });
        const base = baseUrl(req, frame);
        const names = includeNames ? await namesFor(s, list) : undefined;
        const selfQuery = req.url.includes('?') ? `?${req.url.split('?')[1]}` : '';
        return {
          role_assignments: list.map((a) => assignmentView(a, base, names)),
          links: { self: `${base}/v3/role_assignments${selfQuery}`, previous: null, next: null },
        };
      },
    }),
  ];
}

async function subtreeOf(s: IdentityServices, projectId: string): Promise<string[]> {
  await s.resources.getProjectOrThrow(projectId);
  const out = [projectId];
  for (let i = 0; i < out.length; i++) {
    for (const child of await s.resources.listProjects({ parentId: out[i]! })) out.push(child.id);
  }
  return out;
}

interface Names {
  roles: Map<string, Role>;
  users: Map<string, { name: string; domainId: string }>;
  projects: Map<string, { name: string; domainId: string }>;
  domains: Map<string, string>;
}

async function namesFor(s: IdentityServices, list: Assignment[]): Promise<Names> {
  const roles = await s.roles.rolesByIds(list.map((a) => a.roleId));
  const userIds = [...new Set(list.flatMap((a) => ('user' in a.actor ? [a.actor.user] : [])))];
  const users = new Map((await s.users.listUsers({ ids: userIds })).map((u) => [u.id, { name: u.name, domainId: u.domainId }]));
  const projectIds = [...new Set(list.flatMap((a) => ('project' in a.scope ? [a.scope.project] : [])))];
  const projects = new Map((await s.resources.listProjectsByIds(projectIds)).map((p) => [p.id, { name: p.name, domainId: p.domainId }]));
  const domains = new Map((await s.resources.listDomains()).map((d) => [d.id, d.name]));
  return { roles, users, projects, domains };
}

function assignmentView(a: Assignment, base: string, names: Names | undefined): Record<string, unknown> {
  const dom = (id: string) => ({ id, name: names?.domains.get(id) ?? null });
  const role: Record<string, unknown> = { id: a.roleId };
  const r = names?.roles.get(a.roleId);
  if (names && r) {
    role.name = r.name;
    if (r.domainId) role.domain = dom(r.domainId);
  }
  const out: Record<string, unknown> = { role };
  let actorPath: string;
  if ('user' in a.actor) {
    const u = names?.users.get(a.actor.user);
    out.user = names && u ? { id: a.actor.user, name: u.name, domain: dom(u.domainId) } : { id: a.actor.user };
    actorPath = `users/${a.actor.user}`;
  } else {
    out.group = { id: a.actor.group };
    actorPath = `groups/${a.actor.group}`;
  }
  let scopePath: string;
  if ('project' in a.scope) {
    const p = names?.projects.get(a.scope.project);
    out.scope = { project: names && p ? { id: a.scope.project, name: p.name, domain: dom(p.domainId) } : { id: a.scope.project } };
    scopePath = `projects/${a.scope.project}`;
  } else if ('domain' in a.scope) {
    out.scope = { domain: names ? dom(a.scope.domain) : { id: a.scope.domain } };
    scopePath = `domains/${a.scope.domain}`;
  } else {
    out.scope = { system: { all: true } };
    scopePath = 'system';
  }
  const assignmentRole = a.priorRoleId ?? a.roleId;
  const links: Record<string, string> = { assignment: `${base}/v3/${scopePath}/${actorPath}/roles/${assignmentRole}` };
  if (a.priorRoleId) links.prior_role = `${base}/v3/roles/${a.priorRoleId}`;
  out.links = links;
  return out;
}
