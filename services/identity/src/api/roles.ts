// /v3/roles, role inference rules (/v3/roles/{prior}/implies, /v3/role_inferences).
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
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
   * Keystone loads the role before policy (an unknown one is a 404 for anyone) and guards a
   * domain-specific role with its own rules (identity:*_domain_role). The target step runs before
   * the policy name is picked, so it notes here which kind of role the request is about.
   */
  const loaded = new WeakMap<FastifyRequest, Role>();
  const target = async ({ params, req }: { params: { role_id: string }; req: FastifyRequest }) => {
    const r = await s.roles.getRoleOrThrow(params.role_id);
    loaded.set(req, r);
    return { role: wireRole(r) };
  };
  const policyFor = (base: string, domainPolicy: string) => ({ req }: { req: FastifyRequest }) => (loaded.get(req)?.domainId ? domainPolicy : base);
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
      policyOf: ({ query }) => (queryStr((query as Record<string, unknown>).domain_id) ? 'identity:list_domain_roles' : 'identity:list_roles'),
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req, query }) => {
        const q = query as Record<string, unknown>;
        const roles = await s.roles.listRoles({ ...filtersOf(q, { name: 'name' }), domainId: queryStr(q.domain_id) ?? null });
        const base = baseUrl(req, frame);
        return collection('roles', roles.map((r) => roleView(r, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/roles',
      policy: 'identity:create_role',
      policyOf: ({ body }) => ((body as { role?: { domain_id?: unknown } } | undefined)?.role?.domain_id ? 'identity:create_domain_role' : 'identity:create_role'),
      credentials: tokenCredentials,
      target: ({ body }) => ({ role: (body as { role?: unknown } | undefined)?.role ?? {} }),
      body: RoleCreate,
      bodyKey: 'role',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [409],
      handler: async ({ body, req }) => {
        const r = body as Record<string, unknown>;
        // COMPAT(keystone): the domain of a domain-specific role is not checked (an unknown one is stored)
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
      policyOf: policyFor('identity:get_role', 'identity:get_domain_role'),
      credentials: tokenCredentials,
      target,
      errors: [404],
      handler: async ({ params, req }) => ({ role: roleView(await s.roles.getRoleOrThrow(params.role_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/roles/:role_id',
      params: Params,
      policy: 'identity:update_role',
      policyOf: policyFor('identity:update_role', 'identity:update_domain_role'),
      credentials: tokenCredentials,
      target,
      body: RoleUpdate,
      bodyKey: 'role',
      bodyKeyMissing: 'null',
      errors: [403, 404, 409],
      handler: async ({ params, body, req }) => {
        const r = body as Record<string, unknown>;
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
      policyOf: policyFor('identity:delete_role', 'identity:delete_domain_role'),
      credentials: tokenCredentials,
      target,
      status: 204,
      errors: [403, 404],
      handler: async ({ params, req }) => {
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
