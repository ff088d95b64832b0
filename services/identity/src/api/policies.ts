// /v3/policies (policy blobs) and OS-ENDPOINT-POLICY: policy associations with endpoints,
// services and regions, and /v3/endpoints/{id}/OS-ENDPOINT-POLICY/policy.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import type { Endpoint } from '../domain/models.js';
import type { Policy, PolicyTarget } from '../domain/catalog.models.js';
import { InvalidInput } from '../domain/catalog.errors.js';
import { PathId, baseUrl, callerOf, collection, filtersOf, tokenCredentials, type Frame } from './common.js';
import { endpointView } from './views.js';
import { extraOf } from './domains.js';

const PolicyProps = { blob: Type.Optional(Type.String()), type: Type.Optional(Type.String({ maxLength: 255 })) };
const PolicyCreate = Type.Object(PolicyProps, { required: ['blob', 'type'], additionalProperties: true });
const PolicyUpdate = Type.Object(PolicyProps, { minProperties: 1, additionalProperties: true });
const KNOWN = new Set(['id', 'blob', 'type', 'links']);

export function policyView(p: Policy, base: string, collectionName = 'policies') {
  return { ...p.extra, id: p.id, blob: p.blob, type: p.type, links: { self: `${base}/v3/${collectionName}/${p.id}` } };
}

/** Endpoints as OS-ENDPOINT-POLICY lists them: without the legacy `region` field. */
function policyEndpointView(e: Endpoint, base: string) {
  const v: Record<string, unknown> = endpointView(e, base);
  delete v.region;
  return v;
}

interface AssociationKind {
  suffix: string;
  policies: { create: string; check: string; delete: string };
  targetOf(p: Record<string, string>): PolicyTarget;
}

const KINDS: AssociationKind[] = [
  {
    suffix: 'endpoints/:endpoint_id',
    policies: { create: 'identity:create_policy_association_for_endpoint', check: 'identity:check_policy_association_for_endpoint', delete: 'identity:delete_policy_association_for_endpoint' },
    targetOf: (p) => ({ endpointId: p.endpoint_id! }),
  },
  {
    suffix: 'services/:service_id',
    policies: { create: 'identity:create_policy_association_for_service', check: 'identity:check_policy_association_for_service', delete: 'identity:delete_policy_association_for_service' },
    targetOf: (p) => ({ serviceId: p.service_id! }),
  },
  {
    suffix: 'services/:service_id/regions/:region_id',
    policies: {
      create: 'identity:create_policy_association_for_region_and_service',
      check: 'identity:check_policy_association_for_region_and_service',
      delete: 'identity:delete_policy_association_for_region_and_service',
    },
    targetOf: (p) => ({ serviceId: p.service_id!, regionId: p.region_id! }),
  },
];

export function policyRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  const params = Type.Object({ policy_id: PathId });
  const routes: AnyRoute[] = [
    defineRoute({
      method: 'GET',
      url: '/v3/policies',
      policy: 'identity:list_policies',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req, query }) => {
        const b = baseUrl(req, frame);
        return collection('policies', (await s.policies.listPolicies(filtersOf(query, { type: 'type' }))).map((p) => policyView(p, b)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/policies',
      policy: 'identity:create_policy',
      credentials: tokenCredentials,
      body: PolicyCreate,
      bodyKey: 'policy',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [400],
      handler: async ({ body, req }) => {
        const p = body as Record<string, unknown>;
        const created = await s.policies.createPolicy({ type: p.type as string, blob: p.blob as string, extra: extraOf(p, KNOWN) }, callerOf(req));
        return { policy: policyView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/policies/:policy_id',
      params,
      policy: 'identity:get_policy',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params: p, req }) => ({ policy: policyView(await s.policies.getPolicyOrThrow(p.policy_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/policies/:policy_id',
      params,
      policy: 'identity:update_policy',
      credentials: tokenCredentials,
      body: PolicyUpdate,
      bodyKey: 'policy',
      bodyKeyMissing: 'empty',
      errors: [400, 404],
      handler: async ({ params: p, body, req }) => {
        const x = body as Record<string, unknown>;
        if (x.id !== undefined && x.id !== p.policy_id) throw InvalidInput('Cannot change policy ID', 'immutable_field');
        const updated = await s.policies.updatePolicy(
          p.policy_id,
          { ...(x.type !== undefined ? { type: x.type as string } : {}), ...(x.blob !== undefined ? { blob: x.blob as string } : {}), extra: extraOf(x, KNOWN) },
          callerOf(req),
        );
        return { policy: policyView(updated, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/policies/:policy_id',
      params,
      policy: 'identity:delete_policy',
      credentials: tokenCredentials,
      status: 204,
      errors: [404],
      handler: async ({ params: p, req }) => {
        await s.policies.deletePolicy(p.policy_id, callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/policies/:policy_id/OS-ENDPOINT-POLICY/endpoints',
      params,
      policy: 'identity:list_endpoints_for_policy',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params: p, req }) => {
        const b = baseUrl(req, frame);
        return collection('endpoints', (await s.policies.endpointsForPolicy(p.policy_id)).map((e) => policyEndpointView(e, b)), req, frame);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/endpoints/:endpoint_id/OS-ENDPOINT-POLICY/policy',
      params: Type.Object({ endpoint_id: PathId }),
      policy: 'identity:get_policy_for_endpoint',
      credentials: tokenCredentials,
      errors: [404],
      // COMPAT(keystone api/endpoints.py EndpointPolicyEndpointResource): upstream wraps the
      // policy with collection_name='endpoints', so its self link reads /v3/endpoints/{policy_id}.
      handler: async ({ params: p, req }) => ({ policy: policyView(await s.policies.policyForEndpoint(p.endpoint_id), baseUrl(req, frame), 'endpoints') }),
    }),
  ];
  for (const kind of KINDS) {
    const url = `/v3/policies/:policy_id/OS-ENDPOINT-POLICY/${kind.suffix}`;
    const kindParams = Type.Object({ policy_id: PathId, ...Object.fromEntries(kind.suffix.split('/').filter((x) => x.startsWith(':')).map((x) => [x.slice(1), PathId])) });
    const ids = (p: unknown) => p as Record<string, string>;
    routes.push(
      defineRoute({
        method: 'PUT',
        url,
        params: kindParams,
        policy: kind.policies.create,
        credentials: tokenCredentials,
        status: 204,
        errors: [404],
        handler: async ({ params: p }) => {
          await s.policies.associate(ids(p).policy_id!, kind.targetOf(ids(p)));
          return undefined;
        },
      }),
      defineRoute({
        method: 'GET',
        url,
        params: kindParams,
        policy: kind.policies.check,
        credentials: tokenCredentials,
        status: 204,
        errors: [404],
        handler: async ({ params: p }) => {
          await s.policies.checkAssociation(ids(p).policy_id!, kind.targetOf(ids(p)));
          return undefined;
        },
      }),
      defineRoute({
        method: 'DELETE',
        url,
        params: kindParams,
        policy: kind.policies.delete,
        credentials: tokenCredentials,
        status: 204,
        errors: [404],
        handler: async ({ params: p }) => {
          await s.policies.dissociate(ids(p).policy_id!, kind.targetOf(ids(p)));
          return undefined;
        },
      }),
    );
  }
  return routes;
}
