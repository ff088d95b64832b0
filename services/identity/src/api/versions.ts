// Version discovery: GET / (300 Multiple Choices) and GET /v3.
import { defineRoute, type AnyRoute } from '@alto/http';
import type { FastifyRequest } from 'fastify';
import { baseUrl, type Frame } from './common.js';

/** The date Keystone has advertised for v3.14 (its last identity API minor version). */
const V3 = { id: 'v3.14', status: 'stable', updated: '2020-04-07T00:00:00Z' };

function v3(req: FastifyRequest, frame: Frame) {
  return {
    ...V3,
    links: [{ rel: 'self', href: `${baseUrl(req, frame)}/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

export function versionRoutes(frame: Frame): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/',
      auth: 'none',
      policy: null,
      status: 300,
      errors: [],
      handler: async ({ req }) => ({ versions: { values: [v3(req, frame)] } }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v3',
      auth: 'none',
      policy: null,
      errors: [],
      handler: async ({ req }) => ({ version: v3(req, frame) }),
    }),
  ];
}
