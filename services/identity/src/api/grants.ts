// Role grants to users on projects, domains and the system:
// /v3/{projects|domains}/{id}/users/{user_id}/roles[/{role_id}] and /v3/system/users/{user_id}/roles[/{role_id}].
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import type { AssignmentScope } from '../domain/models.js';
import { DomainNotFound, Forbidden } from '../domain/errors.js';
import { PathId, baseUrl, callerOf, collection, tokenCredentials, type Frame } from './common.js';
import { roleView } from './views.js';
import { wireUser } from './users.js';
import { wireRole } from './roles.js';
import { wireProject } from './projects.js';
import { wireDomain } from './domains.js';

interface ScopeKind {
  prefix: string;
  idParam?: string;
  /** Upstream policy names for list, create, check, revoke. */
  policies: [string, string, string, string];
  scopeOf(id: string | undefined): AssignmentScope;
}

const KINDS: ScopeKind[] = [
  {
    prefix: '/v3/projects/:project_id',
    idParam: 'project_id',
    policies: ['identity:list_grants', 'identity:create_grant', 'identity:check_grant', 'identity:revoke_grant'],
    scopeOf: (id) => ({ project: id! }),
  },
  {
    prefix: '/v3/domains/:domain_id',
    idParam: 'domain_id',
    policies: ['identity:list_grants', 'identity:create_grant', 'identity:check_grant', 'identity:revoke_grant'],
    scopeOf: (id) => ({ domain: id! }),
  },
  {
    prefix: '/v3/system',
    policies: ['identity:list_system_grants_for_user', 'identity:create_system_grant_for_user', 'identity:check_system_grant_for_user', 'identity:revoke_system_grant_for_user'],
    scopeOf: () => ({ system: 'all' }),
  },
];

export function grantRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  /**
   * Keystone's target for grants: the role, the user (absent users allowed on revoke so a grant
   * to a deleted user can still be cleaned up) and the project or domain; missing ones are 404s.
   */
  const target = async (kind: ScopeKind, p: Record<string, string>, allowMissingUser: boolean) => {
    const t: Record<string, unknown> = {};
    if (p.role_id) t.role = wireRole(await s.roles.getRoleOrThrow(p.role_id));
    const user = await s.users.getUserOrThrow(p.user_id!).catch((e: unknown) => {
      if (allowMissingUser) return undefined;
      throw e;
    });
    if (user) t.user = wireUser(user);
    const scope = kind.scopeOf(kind.idParam ? p[kind.idParam] : undefined);
    if ('project' in scope) t.project = wireProject(await s.resources.getProjectOrThrow(scope.project));
    if ('domain' in scope) {
      const d = await s.resources.getDomainOrThrow(scope.domain).catch(() => {
        throw DomainNotFound(scope.domain);
      });
      t.domain = wireDomain(d);
    }
    return t;
  };

  /** A domain-specific role may only be granted within its own domain (Keystone's DomainSpecificRoleMismatch). */
  const checkRoleDomain = async (roleId: string, scope: AssignmentScope) => {
    const role = await s.roles.getRoleOrThrow(roleId);
    if (!role.domainId) return;
    const domainId = 'project' in scope ? (await s.resources.getProjectOrThrow(scope.project)).domainId : 'domain' in scope ? scope.domain : undefined;
    if (domainId !== role.domainId) {
      throw Forbidden(`Project ${'project' in scope ? scope.project : (domainId ?? 'system')} must be in the same domain as the role ${roleId} being assigned.`, 'identity.role_domain_mismatch');
    }
  };

  const routes: AnyRoute[] = [];
  for (const kind of KINDS) {
    const base = `${kind.prefix}/users/:user_id/roles`;
    const listParams = Type.Object({ ...(kind.idParam ? { [kind.idParam]: PathId } : {}), user_id: PathId });
    const oneParams = Type.Object({ ...(kind.idParam ? { [kind.idParam]: PathId } : {}), user_id: PathId, role_id: PathId });
    const [listPolicy, createPolicy, checkPolicy, revokePolicy] = kind.policies;
    const grantOf = (p: Record<string, string>) => ({ roleId: p.role_id!, actor: { user: p.user_id! }, scope: kind.scopeOf(kind.idParam ? p[kind.idParam] : undefined) });

    routes.push(
      defineRoute({
        method: 'GET',
        url: base,
        params: listParams,
        policy: listPolicy,
        credentials: tokenCredentials,
        target: ({ params }) => target(kind, params as Record<string, string>, false),
        errors: [404],
        handler: async ({ params, req }) => {
          const p = params as Record<string, string>;
          const roles = await s.roles.listGrantedRoles({ user: p.user_id! }, kind.scopeOf(kind.idParam ? p[kind.idParam] : undefined));
          const b = baseUrl(req, frame);
          return collection('roles', roles.map((r) => roleView(r, b)), req, frame);
        },
      }),
      defineRoute({
        method: 'PUT',
        url: `${base}/:role_id`,
        params: oneParams,
        policy: createPolicy,
        credentials: tokenCredentials,
        target: ({ params }) => target(kind, params as Record<string, string>, false),
        status: 204,
        errors: [403, 404],
        handler: async ({ params, req }) => {
          const g = grantOf(params);
          await checkRoleDomain(g.roleId, g.scope);
          await s.roles.createGrant(g, callerOf(req));
          return undefined;
        },
      }),
      defineRoute({
        method: ['GET', 'HEAD'],
        url: `${base}/:role_id`,
        params: oneParams,
        policy: checkPolicy,
        credentials: tokenCredentials,
        target: ({ params }) => target(kind, params as Record<string, string>, false),
        status: 204,
        errors: [404],
        handler: async ({ params }) => {
          await s.roles.checkGrant(grantOf(params));
          return undefined;
        },
      }),
      defineRoute({
        method: 'DELETE',
        url: `${base}/:role_id`,
        params: oneParams,
        policy: revokePolicy,
        credentials: tokenCredentials,
        target: ({ params }) => target(kind, params as Record<string, string>, true),
        status: 204,
        errors: [404],
        handler: async ({ params, req }) => {
          await s.roles.deleteGrant(grantOf(params), callerOf(req));
          return undefined;
        },
      }),
    );
  }
  return routes;
}
