// /v3/OS-TRUST/trusts: create, list, show and delete trusts, and the roles they delegate.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import type { TrustInput } from '../domain/trusts.service.js';
import { Bool, IdString, PathId, baseUrl, callerOf, collection, nullable, queryStr, tokenCredentials, type Frame } from './common.js';
import { roleView } from './views.js';
import { trustView, wireTrust } from './delegation.views.js';
import { RoleRefs } from './application-credentials.js';

/** keystone/trust/schema.py: user ids may be LDAP ids, so any 1-64 characters. */
const ExternalId = Type.String({ minLength: 1, maxLength: 64 });
const TrustCreate = Type.Object(
  {
    trustor_user_id: ExternalId,
    trustee_user_id: ExternalId,
    impersonation: Bool,
    project_id: Type.Optional(nullable(IdString)),
    remaining_uses: Type.Optional(Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 1 })),
    expires_at: Type.Optional(Type.Unsafe<string | null>({ type: ['null', 'string'] })),
    allow_redelegation: Type.Optional(Type.Unsafe<boolean | null>({ type: ['boolean', 'null'] })),
    redelegation_count: Type.Optional(Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 0 })),
    roles: Type.Optional(RoleRefs),
  },
  { required: ['trustor_user_id', 'trustee_user_id', 'impersonation'], additionalProperties: true },
);
const Params = Type.Object({ trust_id: PathId });
const RoleParams = Type.Object({ trust_id: PathId, role_id: PathId });
const ListQuery = Type.Object({ trustor_user_id: Type.Optional(Type.String()), trustee_user_id: Type.Optional(Type.String()) }, { additionalProperties: true });

/** Attributes Keystone computes or ignores; anything else a client sends is kept as extra. */
const KNOWN = new Set([
  'id',
  'trustor_user_id',
  'trustee_user_id',
  'impersonation',
  'project_id',
  'remaining_uses',
  'expires_at',
  'allow_redelegation',
  'redelegation_count',
  'redelegated_trust_id',
  'roles',
  'roles_links',
  'links',
  'deleted_at',
]);

type Body = {
  trustor_user_id: string;
  trustee_user_id: string;
  impersonation: boolean;
  project_id?: string | null;
  remaining_uses?: number | null;
  expires_at?: string | null;
  allow_redelegation?: boolean | null;
  redelegation_count?: number | null;
  roles?: { id?: string; name?: string }[];
} & Record<string, unknown>;

function inputOf(b: Body): TrustInput {
  return {
    trustorUserId: b.trustor_user_id,
    trusteeUserId: b.trustee_user_id,
    impersonation: b.impersonation,
    projectId: b.project_id,
    remainingUses: b.remaining_uses,
    expiresAt: b.expires_at,
    allowRedelegation: b.allow_redelegation,
    redelegationCount: b.redelegation_count,
    roles: b.roles?.map((r) => (r.id !== undefined ? { id: r.id } : { name: r.name! })),
    extra: Object.fromEntries(Object.entries(b).filter(([k]) => !KNOWN.has(k))),
  };
}

export function trustRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  // Keystone loads the trust for policy and lets an unknown (or unusable) one be a 404 first.
  const target = async (id: string) => ({ trust: wireTrust(await s.trusts.getTrustOrThrow(id)) });
  return [
    defineRoute({
      method: 'POST',
      url: '/v3/OS-TRUST/trusts',
      policy: 'identity:create_trust',
      credentials: tokenCredentials,
      // the trust as sent: policy sees it before it is validated, as upstream checks it
      target: ({ body }) => {
        const trust = (body as { trust?: unknown } | undefined)?.trust;
        return { trust: trust && typeof trust === 'object' ? trust : {} };
      },
      body: TrustCreate,
      bodyKey: 'trust',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [404, 409],
      handler: async ({ body, req }) => {
        const trust = await s.trusts.createTrust(inputOf(body), callerOf(req));
        const base = baseUrl(req, frame);
        return { trust: trustView(trust, base, await s.trusts.rolesOf(trust)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/OS-TRUST/trusts',
      query: ListQuery,
      // the rule depends on the filter: the trustor's or trustee's own listing, or everything
      policy: 'identity:list_trusts',
      policyOf: ({ query }) => {
        if (queryStr(query.trustor_user_id)) return 'identity:list_trusts_for_trustor';
        if (queryStr(query.trustee_user_id)) return 'identity:list_trusts_for_trustee';
        return 'identity:list_trusts';
      },
      credentials: tokenCredentials,
      target: ({ query }) => {
        const trustor = queryStr(query.trustor_user_id);
        const trustee = queryStr(query.trustee_user_id);
        return trustor ? { trust: { trustor_user_id: trustor } } : trustee ? { trust: { trustee_user_id: trustee } } : {};
      },
      errors: [],
      handler: async ({ query, req }) => {
        const q = query as Record<string, unknown>;
        const trusts = await s.trusts.listTrusts(
          { trustorUserId: queryStr(q.trustor_user_id) || undefined, trusteeUserId: queryStr(q.trustee_user_id) || undefined, otherFilter: Object.keys(q).length > 0 },
          callerOf(req),
        );
        const base = baseUrl(req, frame);
        return collection('trusts', trusts.map((t) => trustView(t, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/OS-TRUST/trusts/:trust_id',
      params: Params,
      policy: 'identity:get_trust',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.trust_id),
      errors: [404],
      handler: async ({ params, req }) => {
        const trust = await s.trusts.showTrust(params.trust_id, callerOf(req));
        return { trust: trustView(trust, baseUrl(req, frame), await s.trusts.rolesOf(trust)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/OS-TRUST/trusts/:trust_id',
      params: Params,
      policy: 'identity:delete_trust',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.trust_id),
      status: 204,
      errors: [404],
      handler: async ({ params, req }) => {
        await s.trusts.deleteTrust(params.trust_id, callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/OS-TRUST/trusts/:trust_id/roles',
      params: Params,
      policy: 'identity:list_roles_for_trust',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.trust_id),
      errors: [404],
      handler: async ({ params, req }) => {
        const roles = await s.trusts.listTrustRoles(params.trust_id, callerOf(req));
        const base = baseUrl(req, frame);
        // COMPAT(keystone): the same link upstream builds for roles_links, without OS-TRUST/trusts
        return { roles: roles.map((r) => roleView(r, base)), links: { self: `${base}/v3/${params.trust_id}/roles`, previous: null, next: null } };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/OS-TRUST/trusts/:trust_id/roles/:role_id',
      params: RoleParams,
      policy: 'identity:get_role_for_trust',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.trust_id),
      errors: [404],
      handler: async ({ params, req }) => ({ role: roleView(await s.trusts.getTrustRoleOrThrow(params.trust_id, params.role_id, callerOf(req)), baseUrl(req, frame)) }),
    }),
  ];
}
