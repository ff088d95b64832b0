// /v3/regions, /v3/services, /v3/endpoints.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import type { EndpointInterface } from '../domain/models.js';
import { AltoError } from '@alto/kernel';
import { BadRequest, ExpectingToFind } from '../domain/errors.js';
import { Bool, Description, Name255, PathId, baseUrl, callerOf, collection, nullable, filtersOf, tokenCredentials, type Frame } from './common.js';
import { endpointView, regionView, serviceView } from './views.js';
import { extraOf } from './domains.js';

const RegionProps = { description: Type.Optional(nullable(Description)), id: Type.Optional(Type.String()), parent_region_id: Type.Optional(nullable(Type.String())) };
const RegionCreate = Type.Object(RegionProps, { additionalProperties: true });
const RegionUpdate = Type.Object(RegionProps, { minProperties: 1, additionalProperties: true });
const ServiceProps = { enabled: Type.Optional(Bool), name: Type.Optional(Name255), type: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) };
const ServiceCreate = Type.Object(ServiceProps, { required: ['type'], additionalProperties: true });
const ServiceUpdate = Type.Object(ServiceProps, { minProperties: 1, additionalProperties: true });
const Url = Type.String({ minLength: 0, maxLength: 225, pattern: '^[a-zA-Z0-9+.-]+:.+' });
const Interface = Type.Union([Type.Literal('admin'), Type.Literal('internal'), Type.Literal('public')]);
const EndpointProps = {
  enabled: Type.Optional(Bool),
  interface: Type.Optional(Interface),
  region_id: Type.Optional(Type.String()),
  region: Type.Optional(Type.String()),
  service_id: Type.Optional(Type.String()),
  url: Type.Optional(Url),
};
const EndpointCreate = Type.Object(EndpointProps, { required: ['interface', 'service_id', 'url'], additionalProperties: true });
const EndpointUpdate = Type.Object(EndpointProps, { minProperties: 1, additionalProperties: true });

const REGION_KNOWN = new Set(['id', 'description', 'parent_region_id', 'links']);
const SERVICE_KNOWN = new Set(['id', 'type', 'enabled', 'links']);
const ENDPOINT_KNOWN = new Set(['id', 'interface', 'region_id', 'region', 'service_id', 'url', 'enabled', 'links', 'legacy_endpoint_id']);

export function catalogRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  const regionParams = Type.Object({ region_id: PathId });
  const serviceParams = Type.Object({ service_id: PathId });
  const endpointParams = Type.Object({ endpoint_id: PathId });
  const regionBody = (r: Record<string, unknown>) => ({
    ...(r.description !== undefined ? { description: (r.description as string | null) ?? '' } : {}),
    ...(r.parent_region_id !== undefined ? { parentRegionId: r.parent_region_id as string | null } : {}),
    extra: extraOf(r, REGION_KNOWN),
  });
  return [
    // regions
    defineRoute({
      method: 'GET',
      url: '/v3/regions',
      policy: 'identity:list_regions',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req, query }) => {
        const q = query as Record<string, unknown>;
        const regions = await s.catalog.listRegions(filtersOf(q, { parent_region_id: 'parentRegionId' }));
        const b = baseUrl(req, frame);
        return collection('regions', regions.map((r) => regionView(r, b)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/regions',
      policy: 'identity:create_region',
      credentials: tokenCredentials,
      body: RegionCreate,
      bodyKey: 'region',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [400, 404, 409],
      handler: async ({ body, req }) => {
        const r = body as Record<string, unknown>;
        const created = await s.catalog.createRegion({ ...(typeof r.id === 'string' ? { id: r.id } : {}), ...regionBody(r) }, callerOf(req));
        return { region: regionView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v3/regions/:region_id',
      params: regionParams,
      policy: 'identity:create_region',
      credentials: tokenCredentials,
      body: RegionCreate,
      bodyKey: 'region',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [400, 404, 409],
      handler: async ({ params, body, req }) => {
        const r = body as Record<string, unknown>;
        if (r.id !== undefined && r.id !== params.region_id) throw BadRequest(`Conflicting region IDs specified: "${params.region_id}" != "${typeof r.id === 'string' ? r.id : JSON.stringify(r.id)}"`, 'identity.region_id_mismatch');
        const created = await s.catalog.createRegion({ id: params.region_id, ...regionBody(r) }, callerOf(req));
        return { region: regionView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/regions/:region_id',
      params: regionParams,
      policy: 'identity:get_region',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }) => ({ region: regionView(await s.catalog.getRegionOrThrow(params.region_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/regions/:region_id',
      params: regionParams,
      policy: 'identity:update_region',
      credentials: tokenCredentials,
      body: RegionUpdate,
      bodyKey: 'region',
      bodyKeyMissing: 'null',
      errors: [400, 404],
      handler: async ({ params, body, req }) => {
        const r = body as Record<string, unknown>;
        if (r.id !== undefined && r.id !== params.region_id) throw BadRequest('Update of `id` is not allowed.', 'identity.immutable_field');
        const updated = await s.catalog.updateRegion(params.region_id, regionBody(r), callerOf(req));
        return { region: regionView(updated, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/regions/:region_id',
      params: regionParams,
      policy: 'identity:delete_region',
      credentials: tokenCredentials,
      status: 204,
      errors: [403, 404],
      handler: async ({ params, req }) => {
        await s.catalog.deleteRegion(params.region_id, callerOf(req));
        return undefined;
      },
    }),
    // services
    defineRoute({
      method: 'GET',
      url: '/v3/services',
      policy: 'identity:list_services',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req, query }) => {
        const q = query as Record<string, unknown>;
        const services = await s.catalog.listServices(filtersOf(q, { type: 'type', name: 'name' }));
        const b = baseUrl(req, frame);
        return collection('services', services.map((x) => serviceView(x, b)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/services',
      policy: 'identity:create_service',
      credentials: tokenCredentials,
      body: ServiceCreate,
      bodyKey: 'service',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [],
      handler: async ({ body, req }) => {
        const x = body as Record<string, unknown>;
        const created = await s.catalog.createService({ type: x.type as string, enabled: (x.enabled as boolean | undefined) ?? true, extra: extraOf(x, SERVICE_KNOWN) }, callerOf(req));
        return { service: serviceView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/services/:service_id',
      params: serviceParams,
      policy: 'identity:get_service',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }) => ({ service: serviceView(await s.catalog.getServiceOrThrow(params.service_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/services/:service_id',
      params: serviceParams,
      policy: 'identity:update_service',
      credentials: tokenCredentials,
      body: ServiceUpdate,
      bodyKey: 'service',
      bodyKeyMissing: 'null',
      errors: [404],
      handler: async ({ params, body, req }) => {
        const x = body as Record<string, unknown>;
        const updated = await s.catalog.updateService(
          params.service_id,
          { ...(x.type !== undefined ? { type: x.type as string } : {}), ...(x.enabled !== undefined ? { enabled: x.enabled as boolean } : {}), extra: extraOf(x, SERVICE_KNOWN) },
          callerOf(req),
        );
        return { service: serviceView(updated, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/services/:service_id',
      params: serviceParams,
      policy: 'identity:delete_service',
      credentials: tokenCredentials,
      status: 204,
      errors: [404],
      handler: async ({ params, req }) => {
        await s.catalog.deleteService(params.service_id, callerOf(req));
        return undefined;
      },
    }),
    // endpoints
    defineRoute({
      method: 'GET',
      url: '/v3/endpoints',
      policy: 'identity:list_endpoints',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req, query }) => {
        const q = query as Record<string, unknown>;
        const endpoints = await s.catalog.listEndpoints(filtersOf(q, { interface: 'interface', service_id: 'serviceId', region_id: 'regionId' }));
        const b = baseUrl(req, frame);
        return collection('endpoints', endpoints.map((e) => endpointView(e, b)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/endpoints',
      policy: 'identity:create_endpoint',
      credentials: tokenCredentials,
      body: EndpointCreate,
      bodyKey: 'endpoint',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [400, 404],
      handler: async ({ body, req }) => {
        const e = body as Record<string, unknown>;
        if (e.region_id === undefined && typeof e.region === 'string') await s.catalog.ensureLegacyRegion(e.region, callerOf(req));
        // Keystone turns a missing service or region into a 400: the request named something that is not there
        const created = await s.catalog
          .createEndpoint(
            {
              interface: e.interface as EndpointInterface,
              serviceId: e.service_id as string,
              regionId: (e.region_id as string | undefined) ?? (e.region as string | undefined) ?? null,
              url: e.url as string,
              enabled: (e.enabled as boolean | undefined) ?? true,
              extra: extraOf(e, ENDPOINT_KNOWN),
            },
            callerOf(req),
          )
          .catch((err: unknown) => {
            // Keystone: ValidationError(attribute='endpoint service_id', target='service table')
            if (err instanceof AltoError && err.code === 'identity.service_not_found') throw ExpectingToFind('endpoint service_id', 'service table');
            if (err instanceof AltoError && err.code === 'identity.region_not_found') throw ExpectingToFind('endpoint region_id', 'region table');
            throw err;
          });
        return { endpoint: endpointView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/endpoints/:endpoint_id',
      params: endpointParams,
      policy: 'identity:get_endpoint',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }) => ({ endpoint: endpointView(await s.catalog.getEndpointOrThrow(params.endpoint_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/endpoints/:endpoint_id',
      params: endpointParams,
      policy: 'identity:update_endpoint',
      credentials: tokenCredentials,
      body: EndpointUpdate,
      bodyKey: 'endpoint',
      bodyKeyMissing: 'null',
      errors: [400, 404],
      handler: async ({ params, body, req }) => {
        const e = body as Record<string, unknown>;
        if (e.region_id === undefined && typeof e.region === 'string') await s.catalog.ensureLegacyRegion(e.region, callerOf(req));
        const region = (e.region_id ?? e.region) as string | undefined;
        const updated = await s.catalog.updateEndpoint(
          params.endpoint_id,
          {
            ...(e.interface !== undefined ? { interface: e.interface as EndpointInterface } : {}),
            ...(e.service_id !== undefined ? { serviceId: e.service_id as string } : {}),
            ...(region !== undefined ? { regionId: region } : {}),
            ...(e.url !== undefined ? { url: e.url as string } : {}),
            ...(e.enabled !== undefined ? { enabled: e.enabled as boolean } : {}),
            extra: extraOf(e, ENDPOINT_KNOWN),
          },
          callerOf(req),
        );
        return { endpoint: endpointView(updated, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/endpoints/:endpoint_id',
      params: endpointParams,
      policy: 'identity:delete_endpoint',
      credentials: tokenCredentials,
      status: 204,
      errors: [404],
      handler: async ({ params, req }) => {
        await s.catalog.deleteEndpoint(params.endpoint_id, callerOf(req));
        return undefined;
      },
    }),
  ];
}
