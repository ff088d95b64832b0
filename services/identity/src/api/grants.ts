// Role grants to users and groups: /v3/{projects|domains}/{id}/{users|groups}/{actor_id}/roles[/{role_id}],
// /v3/system/{users|groups}/{actor_id}/roles[/{role_id}], and OS-INHERIT's grants inherited to
// projects: /v3/OS-INHERIT/{domains|projects}/{id}/{users|groups}/{actor_id}/roles[/{role_id}]/inherited_to_projects.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import type { AssignmentScope } from '../domain/models.js';
import type { Actor, Grant } from '../domain/roles.service.js';
import { DomainNotFound } from '../domain/errors.js';
import { PathId, baseUrl, callerOf, collection, tokenCredentials, type Frame } from './common.js';
import { roleView } from './views.js';
import { wireUser } from './users.js';
import { wireRole } from './roles.js';
import { wireProject } from './projects.js';
import { wireDomain } from './domains.js';
import { wireGroup } from './groups.js';

type Params = Record<string, string>;

interface ActorKind {
  segment: 'users' | 'groups';
  param: 'user_id' | 'group_id';
  of(id: string): Actor;
}

const ACTORS: ActorKind[] = [
  { segment: 'users', param: 'user_id', of: (id) => ({ user: id }) },
  { segment: 'groups', param: 'group_id', of: (id) => ({ group: id }) },
];

interface ScopeKind {
  prefix: string;
  param?: 'project_id' | 'domain_id';
  inherited: boolean;
  /** Upstream policy names for list, create, check, revoke. */
  policies(actor: ActorKind): [string, string, string, string];
  scopeOf(p: Params): AssignmentScope;
  /** Upstream's target builder: which entities it loads, in which order, and what a missing one does. */
  target: 'project' | 'domain' | 'system' | 'os-inherit';
  /** OS-INHERIT serves the role list on domains only. */
  listable: boolean;
}

const GRANT_POLICIES = (): [string, string, string, string] => ['identity:list_grants', 'identity:create_grant', 'identity:check_grant', 'identity:revoke_grant'];

const SCOPES: ScopeKind[] = [
  { prefix: '/v3/projects/:project_id', param: 'project_id', inherited: false, policies: GRANT_POLICIES, scopeOf: (p) => ({ project: p.project_id! }), target: 'project', listable: true },
  { prefix: '/v3/domains/:domain_id', param: 'domain_id', inherited: false, policies: GRANT_POLICIES, scopeOf: (p) => ({ domain: p.domain_id! }), target: 'domain', listable: true },
  {
    prefix: '/v3/system',
    inherited: false,
    policies: (a) => {
      const who = a.segment === 'users' ? 'user' : 'group';
      return [`identity:list_system_grants_for_${who}`, `identity:create_system_grant_for_${who}`, `identity:check_system_grant_for_${who}`, `identity:revoke_system_grant_for_${who}`];
    },
    scopeOf: () => ({ system: 'all' }),
    target: 'system',
    listable: true,
  },
  {
    prefix: '/v3/OS-INHERIT/domains/:domain_id',
    param: 'domain_id',
    inherited: true,
    policies: GRANT_POLICIES,
    scopeOf: (p) => ({ domain: p.domain_id! }),
    target: 'os-inherit',
    listable: true,
  },
  {
    prefix: '/v3/OS-INHERIT/projects/:project_id',
    param: 'project_id',
    inherited: true,
    policies: GRANT_POLICIES,
    scopeOf: (p) => ({ project: p.project_id! }),
    target: 'os-inherit',
    listable: false,
  },
];

export function grantRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  const role = async (id: string) => wireRole(await s.roles.getRoleOrThrow(id));
  const actor = async (a: ActorKind, id: string) => (a.segment === 'users' ? wireUser(await s.users.getUserOrThrow(id)) : wireGroup(await s.groups.getGroupOrThrow(id)));
  const domain = async (id: string) =>
    wireDomain(
      await s.resources.getDomainOrThrow(id).catch(() => {
        throw DomainNotFound(id);
      }),
    );
  const project = async (id: string) => wireProject(await s.resources.getProjectOrThrow(id));
  const orEmpty = <T>(p: Promise<T>) => p.catch(() => ({}));

  /**
   * Keystone's targets for grants: projects.py loads role, actor, project; domains.py domain,
   * role, actor; system.py role, actor; a missing one is a 404 before policy, except the actor of
   * a revoke (so a grant to a deleted user can be cleaned up). OS-INHERIT loads the same but
   * leaves a missing entity empty, for policy to decide first.
   */
  const target = async (kind: ScopeKind, a: ActorKind, p: Params, revoke: boolean) => {
    const t: Record<string, unknown> = {};
    const actorKey = a.segment === 'users' ? 'user' : 'group';
    const loadActor = async () => {
      const v = await actor(a, p[a.param]!).catch((e: unknown) => {
        if (revoke) return undefined;
        throw e;
      });
      if (v) t[actorKey] = v;
    };
    switch (kind.target) {
      case 'project':
        if (p.role_id) t.role = await role(p.role_id);
        await loadActor();
        t.project = await project(p.project_id!);
        break;
      case 'domain':
        t.domain = await domain(p.domain_id!);
        if (p.role_id) t.role = await role(p.role_id);
        await loadActor();
        break;
      case 'system':
        if (p.role_id) t.role = await role(p.role_id);
        await loadActor();
        break;
      case 'os-inherit':
        if (p.role_id) t.role = await orEmpty(role(p.role_id));
        t[actorKey] = await orEmpty(actor(a, p[a.param]!));
        if (p.domain_id) t.domain = await orEmpty(domain(p.domain_id));
        if (p.project_id) t.project = await orEmpty(project(p.project_id));
        break;
    }
    return t;
  };

  const routes: AnyRoute[] = [];
  for (const kind of SCOPES) {
    for (const a of ACTORS) {
      const base = `${kind.prefix}/${a.segment}/:${a.param}/roles`;
      const suffix = kind.inherited ? '/inherited_to_projects' : '';
      const scopeParams = kind.param ? { [kind.param]: PathId } : {};
      const listParams = Type.Object({ ...scopeParams, [a.param]: PathId });
      const oneParams = Type.Object({ ...scopeParams, [a.param]: PathId, role_id: PathId });
      const [listPolicy, createPolicy, checkPolicy, revokePolicy] = kind.policies(a);
      const grantOf = (p: Params): Grant => ({ roleId: p.role_id!, actor: a.of(p[a.param]!), scope: kind.scopeOf(p), inherited: kind.inherited });

      if (kind.listable) {
        routes.push(
          defineRoute({
            method: 'GET',
            url: `${base}${suffix}`,
            params: listParams,
            policy: listPolicy,
            credentials: tokenCredentials,
            target: ({ params }) => target(kind, a, params, false),
            errors: [404],
            handler: async ({ params, req }) => {
              const p = params;
              const roles = await s.roles.listGrantedRoles(a.of(p[a.param]!), kind.scopeOf(p), kind.inherited);
              const b = baseUrl(req, frame);
              return collection('roles', roles.map((r) => roleView(r, b)), req, frame);
            },
          }),
        );
      }
      routes.push(
        defineRoute({
          method: 'PUT',
          url: `${base}/:role_id${suffix}`,
          params: oneParams,
          policy: createPolicy,
          credentials: tokenCredentials,
          target: ({ params }) => target(kind, a, params, false),
          status: 204,
          errors: [400, 403, 404],
          handler: async ({ params, req }) => {
            await s.roles.createGrant(grantOf(params), callerOf(req));
            return undefined;
          },
        }),
        defineRoute({
          method: ['GET', 'HEAD'],
          url: `${base}/:role_id${suffix}`,
          params: oneParams,
          policy: checkPolicy,
          credentials: tokenCredentials,
          target: ({ params }) => target(kind, a, params, false),
          status: 204,
          errors: [404],
          handler: async ({ params }) => {
            await s.roles.checkGrant(grantOf(params));
            return undefined;
          },
        }),
        defineRoute({
          method: 'DELETE',
          url: `${base}/:role_id${suffix}`,
          params: oneParams,
          policy: revokePolicy,
          credentials: tokenCredentials,
          target: ({ params }) => target(kind, a, params, true),
          status: 204,
          errors: [404],
          handler: async ({ params, req }) => {
            await s.roles.deleteGrant(grantOf(params), callerOf(req));
            return undefined;
          },
        }),
      );
    }
  }
  return routes;
}
