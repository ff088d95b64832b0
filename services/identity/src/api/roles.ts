// /v3/roles, role inference rules (/v3/roles/{prior}/implies, /v3/role_inferences).
import Type from 'typebox';
import { ForbiddenError, type RequestContext } from '@alto/kernel';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import { Description, IdString, ImmutableOptions, Name255, PathId, baseUrl, callerOf, collection, nullable, queryStr, filtersOf, tokenCredentials, type Frame } from './common.js';
import { roleRefView, roleView } from './views.js';
import { extraOf } from './domains.js';
import type { Role } from '../domain/models.js';

const RoleProps = { name: Type.Optional(Name255), description: Type.Optional(nullable(Description)), options: Type.Optional(ImmutableOptions), domain_id: Type.Optional(nullable(IdString)) };
const RoleCreate = Type.Object(RoleProps, { required: ['name'], additionalProperties: true });
const RoleUpdate = Type.Object(RoleProps, { minProperties: 1, additionalProperties: true });
const Params = Type.Object({ role_id: PathId });
const ImplyParams = Type.Object({ prior_role_id: PathId, implied_role_id: PathId });
const PriorParams = Type.Object({ prior_role_id: PathId });
const KNOWN = new Set(['id', 'name', 'domain_id', 'description', 'options', 'links']);

export function wireRole(r: Role) {
  return { id: r.id, name: r.name, domain_id: r.domainId };
}

export function roleRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  /**
   * COMPAT(keystone): a domain-specific role is guarded by its own rules (identity:*_domain_role).
   * A route carries one policy name, checked first; this adds the domain rule for domain roles,
   * which under the default rules is the stricter one, so together they admit whom Keystone admits.
   */
  const enforceDomainRole = (policy: string, role: Record<string, unknown>, ctx: RequestContext) => {
    if (!frame.enforce) throw new ForbiddenError(undefined, 'identity.no_enforcer');
    frame.enforce(policy, { role }, ctx);
  };
  const target = async (id: string) => {
    const r = await s.roles.getRoleOrThrow(id).catch(() => undefined);
    return r ? { role: wireRole(r) } : {};
  };
  // Keystone loads both roles for the target and lets a missing one be a 404 before policy.
  const implyTarget = async (prior: string, implied?: string) => ({
    prior_role: wireRole(await s.roles.getRoleOrThrow(prior)),
    ...(implied ? { implied_role: wireRole(await s.roles.getRoleOrThrow(implied)) } : {}),
  });
  const inference = (prior: Role, implied: Role, base: string) => ({
    role_inference: { prior_role: roleRefView(prior, base), implies: roleRefView(implied, base) },
    links: { self: `${base}/v3/roles/${prior.id}/implies/${implied.id}` },
  });
  return [
    defineRoute({
      method: 'GET',
      url: '/v3/roles',
      policy: 'identity:list_roles',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req, query }, ctx) => {
        const q = query as Record<string, unknown>;
        if (queryStr(q.domain_id)) enforceDomainRole('identity:list_domain_roles', {}, ctx);
        const roles = await s.roles.listRoles({ ...filtersOf(q, { name: 'name' }), domainId: queryStr(q.domain_id) ?? null });
        const base = baseUrl(req, frame);
        return collection('roles', roles.map((r) => roleView(r, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/roles',
      policy: 'identity:create_role',
      credentials: tokenCredentials,
      target: ({ body }) => ({ role: (body as { role?: unknown } | undefined)?.role ?? {} }),
      body: RoleCreate,
      bodyKey: 'role',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [409],
      handler: async ({ body, req }, ctx) => {
        const r = body as Record<string, unknown>;
        if (r.domain_id) enforceDomainRole('identity:create_domain_role', r, ctx);
        const created = await s.roles.createRole(
          {
            name: r.name as string,
            domainId: (r.domain_id as string | null | undefined) ?? null,
            description: (r.description as string | null | undefined) ?? null,
            options: (r.options as Record<string, unknown> | undefined) ?? {},
            extra: extraOf(r, KNOWN),
          },
          callerOf(req),
        );
        return { role: roleView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/roles/:role_id',
      params: Params,
      policy: 'identity:get_role',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.role_id),
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        const role = await s.roles.getRoleOrThrow(params.role_id);
        if (role.domainId) enforceDomainRole('identity:get_domain_role', wireRole(role), ctx);
        return { role: roleView(role, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/roles/:role_id',
      params: Params,
      policy: 'identity:update_role',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.role_id),
      body: RoleUpdate,
      bodyKey: 'role',
      bodyKeyMissing: 'null',
      errors: [403, 404, 409],
      handler: async ({ params, body, req }, ctx) => {
        const r = body as Record<string, unknown>;
        const current = await s.roles.getRoleOrThrow(params.role_id);
        if (current.domainId) enforceDomainRole('identity:update_domain_role', wireRole(current), ctx);
        const updated = await s.roles.updateRole(
          params.role_id,
          {
            ...(r.name !== undefined ? { name: r.name as string } : {}),
            ...(r.description !== undefined ? { description: r.description as string | null } : {}),
            ...(r.options !== undefined ? { options: r.options as Record<string, unknown> } : {}),
            extra: extraOf(r, KNOWN),
          },
          callerOf(req),
        );
        return { role: roleView(updated, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/roles/:role_id',
      params: Params,
      policy: 'identity:delete_role',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.role_id),
      status: 204,
      errors: [403, 404],
      handler: async ({ params, req }, ctx) => {
        const current = await s.roles.getRoleOrThrow(params.role_id);
        if (current.domainId) enforceDomainRole('identity:delete_domain_role', wireRole(current), ctx);
        await s.roles.deleteRole(params.role_id, callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/role_inferences',
      policy: 'identity:list_role_inference_rules',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req }) => {
        const base = baseUrl(req, frame);
        const rules = await s.roles.listImplications();
        // no "links" here, as upstream
        return { role_inferences: rules.map((r) => ({ prior_role: roleRefView(r.prior, base), implies: r.implies.map((i) => roleRefView(i, base)) })) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/roles/:prior_role_id/implies',
      params: PriorParams,
      policy: 'identity:list_implied_roles',
      credentials: tokenCredentials,
      target: ({ params }) => implyTarget(params.prior_role_id),
      errors: [404],
      handler: async ({ params, req }) => {
        const base = baseUrl(req, frame);
        const prior = await s.roles.getRoleOrThrow(params.prior_role_id);
        const rules = await s.roles.listImplications(prior.id);
        return {
          role_inference: { prior_role: roleRefView(prior, base), implies: (rules[0]?.implies ?? []).map((i) => roleRefView(i, base)) },
          links: { self: `${base}/v3/roles/${prior.id}/implies` },
        };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v3/roles/:prior_role_id/implies/:implied_role_id',
      params: ImplyParams,
      policy: 'identity:create_implied_role',
      credentials: tokenCredentials,
      target: ({ params }) => implyTarget(params.prior_role_id, params.implied_role_id),
      status: 201,
      errors: [403, 404, 409],
      handler: async ({ params, req }) => {
        const r = await s.roles.createImpliedRole(params.prior_role_id, params.implied_role_id, callerOf(req));
        return inference(r.prior, r.implied, baseUrl(req, frame));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/roles/:prior_role_id/implies/:implied_role_id',
      params: ImplyParams,
      policy: 'identity:get_implied_role',
      credentials: tokenCredentials,
      target: ({ params }) => implyTarget(params.prior_role_id, params.implied_role_id),
      errors: [404],
      handler: async ({ params, req }) => {
        const r = await s.roles.getImpliedRoleOrThrow(params.prior_role_id, params.implied_role_id);
        return inference(r.prior, r.implied, baseUrl(req, frame));
      },
    }),
    defineRoute({
      method: 'HEAD',
      url: '/v3/roles/:prior_role_id/implies/:implied_role_id',
      params: ImplyParams,
      policy: 'identity:check_implied_role',
      credentials: tokenCredentials,
      target: ({ params }) => implyTarget(params.prior_role_id, params.implied_role_id),
      status: 204,
      errors: [404],
      handler: async ({ params }) => {
        await s.roles.getImpliedRoleOrThrow(params.prior_role_id, params.implied_role_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/roles/:prior_role_id/implies/:implied_role_id',
      params: ImplyParams,
      policy: 'identity:delete_implied_role',
      credentials: tokenCredentials,
      target: ({ params }) => implyTarget(params.prior_role_id, params.implied_role_id),
      status: 204,
      errors: [404],
      handler: async ({ params, req }) => {
        await s.roles.deleteImpliedRole(params.prior_role_id, params.implied_role_id, callerOf(req));
        return undefined;
      },
    }),
  ];
}
