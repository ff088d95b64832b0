// Version discovery: GET / (300 Multiple Choices) and GET /v3.
import { defineRoute, versionEntry, type AnyRoute } from '@alto/http';
import type { FastifyRequest } from 'fastify';
import { baseUrl, type Frame } from './common.js';

/** Keystone's identity API v3.14, as upstream advertises it. */
const V3 = { id: 'v3.14', status: 'stable', updated: '2020-04-07T00:00:00Z', path: '/v3/', mediaType: 'application/vnd.openstack.identity-v3+json' };

const v3 = (req: FastifyRequest, frame: Frame) => versionEntry(baseUrl(req, frame), V3);

export function versionRoutes(frame: Frame): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/',
      auth: 'none',
      policy: null,
      status: 300,
      errors: [],
      handler: async ({ req, reply }) => {
        // upstream points the client at the only version
        void reply.header('location', `${baseUrl(req, frame)}/v3/`);
        return { versions: { values: [v3(req, frame)] } };
      },
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
