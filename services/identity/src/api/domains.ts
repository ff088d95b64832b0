// /v3/domains.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import { DomainIdInvalid } from '../domain/resource.errors.js';
import type { ProjectPatch } from '../domain/resource.service.js';
import { Bool, Description, ImmutableOptions, Name64, PathId, baseUrl, callerOf, collection, filtersOf, nullable, tokenCredentials, type Frame } from './common.js';
import { domainView } from './views.js';
import type { Domain } from '../domain/models.js';
import { OPTIONS_KEY } from '../store/project.repo.js';
import { Tags, nameMatcherOf, tagFilterOf } from './projects.params.js';

const DomainProps = {
  description: Type.Optional(nullable(Description)),
  enabled: Type.Optional(Bool),
  name: Type.Optional(Name64),
  tags: Type.Optional(Tags),
  options: Type.Optional(ImmutableOptions),
};
const DomainCreate = Type.Object(DomainProps, { required: ['name'], additionalProperties: true });
const DomainUpdate = Type.Object(DomainProps, { minProperties: 1, additionalProperties: true });
const Params = Type.Object({ domain_id: PathId });
const KNOWN = new Set(['id', 'name', 'description', 'enabled', 'tags', 'options', 'links', OPTIONS_KEY]);

/** Attributes Keystone keeps in `extra`: anything it does not model. */
export function extraOf(input: Record<string, unknown>, known: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([k]) => !known.has(k)));
}

/** Keystone's _validate_id_format: an explicit domain id is a UUID in its 32-hex-digit form. */
function explicitDomainId(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !/^[0-9a-f]{32}$/.test(v)) throw DomainIdInvalid();
  return v;
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
        // COMPAT(keystone): upstream ignores the tag filters here; they apply as on projects
        const tags = tagFilterOf(q);
        let domains = await s.resources.listDomains({ ...filtersOf(q, { name: 'name' }, { enabled: 'enabled' }), ...(tags ? { tags } : {}) });
        const nameMatches = nameMatcherOf(q);
        if (nameMatches) domains = domains.filter((d) => nameMatches(d.name));
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
        // the explicit id stays among the extra attributes too, as upstream keeps it
        const id = explicitDomainId(d.explicit_domain_id);
        const created = await s.resources.createDomain(
          {
            ...(id ? { id } : {}),
            name: d.name as string,
            description: (d.description as string | null | undefined) ?? '',
            enabled: (d.enabled as boolean | undefined) ?? true,
            tags: (d.tags as string[] | undefined) ?? [],
            options: (d.options as Record<string, unknown> | undefined) ?? {},
            extra: extraOf(d, KNOWN),
          },
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
      errors: [403, 404, 409],
      handler: async ({ params, body, req }) => {
        const d = body as Record<string, unknown>;
        const patch: ProjectPatch = { extra: extraOf(d, KNOWN) };
        if (d.name !== undefined) patch.name = d.name as string;
        if (d.description !== undefined) patch.description = d.description as string | null;
        if (d.enabled !== undefined) patch.enabled = d.enabled as boolean;
        if (d.tags !== undefined) patch.tags = d.tags as string[];
        if (d.options !== undefined) patch.options = d.options as Record<string, unknown>;
        const updated = await s.resources.updateDomain(params.domain_id, patch, callerOf(req));
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
