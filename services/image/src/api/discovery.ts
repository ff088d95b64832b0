// Version discovery, /v2/schemas/*, and /v2/info/{import,stores,stores/detail,usage}.
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { NotFoundError } from '@alto/kernel';
import { defineRoute, requestBaseUrl, type AnyRoute } from '@alto/http';
import type { ImageFrame } from './common.js';

/** Glance Zed's API versions: 2.15 is CURRENT (what Debian 12's Glance answers). */
const VERSIONS = ['2.15', '2.13', '2.12', '2.11', '2.10', '2.9', '2.8', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'];

function versions(req: FastifyRequest, publicEndpoint: string | undefined) {
  const base = requestBaseUrl(req, publicEndpoint);
  return { versions: VERSIONS.map((v, i) => ({ id: `v${v}`, status: i === 0 ? 'CURRENT' : 'SUPPORTED', links: [{ rel: 'self', href: `${base}/v2/` }] })) };
}

export interface DiscoveryDeps {
  publicEndpoint?: string | undefined;
  usage(projectId: string): Promise<Record<string, { limit: number; usage: number }>>;
  storeDetails(): Promise<Record<string, unknown>[]>;
}

export function discoveryRoutes(frame: ImageFrame, deps: DiscoveryDeps): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/',
      auth: 'none',
      policy: null,
      status: 300,
      errors: [],
      handler: async ({ req }) => versions(req, deps.publicEndpoint),
    }),
    defineRoute({ method: 'GET', url: '/versions', auth: 'none', policy: null, errors: [], handler: async ({ req }) => versions(req, deps.publicEndpoint) }),
    defineRoute({ method: 'GET', url: '/v2', auth: 'none', policy: null, status: 300, errors: [], handler: async ({ req }) => versions(req, deps.publicEndpoint) }),
    defineRoute({
      method: 'GET',
      url: '/v2/schemas/:name',
      params: Type.Object({ name: Type.String() }),
      policy: null,
      errors: [404],
      handler: async ({ params }) => {
        const schema = frame.schemas[params.name];
        if (!schema) throw new NotFoundError('The resource could not be found.', 'image.no_schema');
        return schema;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v2/info/import',
      policy: null,
      errors: [],
      handler: async () => ({
        'import-methods': { description: 'Import methods available.', type: 'array', value: frame.importMethods },
      }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v2/info/stores',
      policy: null,
      errors: [404],
      handler: async () => {
        if (!frame.multiStore) throw new NotFoundError('Multi backend is not supported at this site.', 'image.no_multistore');
        return { stores: frame.storeIds.map((id) => ({ id, ...(frame.storeDescriptions[id] ? { description: frame.storeDescriptions[id] } : {}), ...(id === frame.defaultStore ? { default: true } : {}) })) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v2/info/stores/detail',
      policy: 'stores_info_detail',
      errors: [404],
      handler: async () => {
        if (!frame.multiStore) throw new NotFoundError('Multi backend is not supported at this site.', 'image.no_multistore');
        return { stores: await deps.storeDetails() };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v2/info/usage',
      policy: null,
      errors: [],
      handler: async (_input, ctx) => ({ usage: await deps.usage(ctx.projectId ?? '') }),
    }),
  ];
}
