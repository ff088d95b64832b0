// Version discovery: GET / (300, the version list, no token) and GET /v3/ (the v3 entry).
import type { FastifyRequest } from 'fastify';
import { defineRoute, type AnyRoute } from '@alto/http';
import { baseUrl, type BlockStorageFrame } from './common.js';

/** The microversions this service implements (advertised in discovery and negotiated). */
export const MIN_VERSION = '3.0';
export const MAX_VERSION = '3.70';
/** When the v3 API last changed (Cinder Zed's `updated`). */
const UPDATED = '2022-08-31T00:00:00Z';

function v3Entry(frame: BlockStorageFrame, req: FastifyRequest) {
  return {
    id: 'v3.0',
    status: 'CURRENT',
    version: MAX_VERSION,
    min_version: MIN_VERSION,
    updated: UPDATED,
    links: [
      { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' },
      { rel: 'self', href: `${baseUrl(frame, req)}/v3/` },
    ],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.volume+json;version=3' }],
  };
}

export function versionRoutes(frame: BlockStorageFrame): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/',
      auth: 'none',
      policy: null,
      status: 300,
      errors: [],
      handler: async ({ req }) => ({ versions: [v3Entry(frame, req)] }),
    }),
    // Cinder redirects the version root without its slash
    defineRoute({
      method: 'GET',
      url: '/v3',
      auth: 'none',
      policy: null,
      status: 302,
      errors: [],
      handler: async ({ req, reply }) => {
        void reply.header('location', `${baseUrl(frame, req)}/v3/`);
        return undefined;
      },
    }),
    // COMPAT(cinder): unlike Glance, the v3 root is behind authtoken (401 without a token)
    defineRoute({
      method: 'GET',
      url: '/v3/',
      policy: null,
      errors: [],
      handler: async ({ req }) => ({ versions: [v3Entry(frame, req)] }),
    }),
    defineRoute({
      method: 'GET',
      url: '/healthcheck',
      auth: 'none',
      policy: null,
      errors: [],
      handler: async ({ reply }) => {
        void reply.type('text/plain; charset=UTF-8');
        return 'OK';
      },
    }),
  ];
}
