// /v3/domains.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import { Bool, Description, Name64, PathId, baseUrl, callerOf, collection, nullable, queryBool, queryStr, tokenCredentials, type Frame } from './common.js';
import { domainView } from './views.js';
import type { Domain } from '../domain/models.js';

const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 255, pattern: '^[^,/]*$' }), { maxItems: 80, uniqueItems: true });
const DomainProps = { description: Type.Optional(nullable(Description)), enabled: Type.Optional(Bool), name: Type.Optional(Name64), tags: Type.Optional(Tags) };
const DomainCreate = Type.Object(DomainProps, { required: ['name'], additionalProperties: true });
const DomainUpdate = Type.Object(DomainProps, { minProperties: 1, additionalProperties: true });
const Params = Type.Object({ domain_id: PathId });
const KNOWN = new Set(['id', 'name', 'description', 'enabled', 'tags', 'options', 'links']);

/** Attributes Keystone keeps in `extra`: anything it does not model. */
export function extraOf(input: Record<string, unknown>, known: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([k]) => !known.has(k)));
}

export function domainRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  const target = async (id: string) => {
    const d = await s.resources.getDomainOrThrow(id).catch(() => undefined);
    return d ? { domain: wireDomain(d) } : {};
  };
  return [
    defineRoute({
      method: 'GET',
      url: '/v3/domains',
      policy: 'identity:list_domains',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req, query }) => {
        const q = query as Record<string, unknown>;
        const domains = await s.resources.listDomains({ name: queryStr(q.name), enabled: queryBool(q.enabled) });
        const base = baseUrl(req, frame);
        return collection('domains', domains.map((d) => domainView(d, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/domains',
      policy: 'identity:create_domain',
      credentials: tokenCredentials,
      target: ({ body }) => ({ domain: (body as { domain?: unknown } | undefined)?.domain ?? {} }),
      body: DomainCreate,
      bodyKey: 'domain',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [409],
      handler: async ({ body, req }) => {
        const d = body as Record<string, unknown>;
        const created = await s.resources.createDomain(
          { name: d.name as string, description: (d.description as string | null | undefined) ?? '', enabled: (d.enabled as boolean | undefined) ?? true, extra: extraOf(d, KNOWN) },
          callerOf(req),
        );
        return { domain: domainView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/domains/:domain_id',
      params: Params,
      policy: 'identity:get_domain',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.domain_id),
      errors: [404],
      handler: async ({ params, req }) => ({ domain: domainView(await s.resources.getDomainOrThrow(params.domain_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/domains/:domain_id',
      params: Params,
      policy: 'identity:update_domain',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.domain_id),
      body: DomainUpdate,
      bodyKey: 'domain',
      bodyKeyMissing: 'null',
      errors: [404, 409],
      handler: async ({ params, body, req }) => {
        const d = body as Record<string, unknown>;
        const updated = await s.resources.updateDomain(
          params.domain_id,
          {
            ...(d.name !== undefined ? { name: d.name as string } : {}),
            ...(d.description !== undefined ? { description: d.description as string | null } : {}),
            ...(d.enabled !== undefined ? { enabled: d.enabled as boolean } : {}),
            extra: extraOf(d, KNOWN),
          },
          callerOf(req),
        );
        return { domain: domainView(updated, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/domains/:domain_id',
      params: Params,
      policy: 'identity:delete_domain',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.domain_id),
      status: 204,
      errors: [403, 404],
      handler: async ({ params, req }) => {
        await s.resources.deleteDomain(params.domain_id, callerOf(req));
        return undefined;
      },
    }),
  ];
}

/** What policy sees of a domain (Keystone's internal dict). */
export function wireDomain(d: Domain) {
  return { id: d.id, name: d.name, enabled: d.enabled, description: d.description };
}
