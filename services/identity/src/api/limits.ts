// Unified limits: /v3/limits/model, /v3/registered_limits, /v3/limits.
import Type from 'typebox';
import { compileJsonSchema, defineRoute, pyRepr, type AnyRoute } from '@alto/http';
import type { RequestContext } from '@alto/kernel';
import type { IdentityServices } from '../services.js';
import type { Limit, RegisteredLimit } from '../domain/catalog.models.js';
import type { LimitInput, RegisteredLimitInput } from '../domain/limits.service.js';
import { InvalidInput } from '../domain/catalog.errors.js';
import { Description, IdString, PathId, baseUrl, collection, filtersOf, nullable, tokenCredentials, type Frame } from './common.js';
import { wireProject } from './projects.js';
import { wireDomain } from './domains.js';

const ResourceName = Type.String({ minLength: 1, maxLength: 255 });
/** The largest value a signed INT column holds. */
const LimitValue = Type.Integer({ minimum: -1, maximum: 0x7fffffff });

const RegisteredLimitProps = {
  service_id: Type.Optional(IdString),
  region_id: Type.Optional(nullable(Type.String())),
  resource_name: Type.Optional(ResourceName),
  default_limit: Type.Optional(LimitValue),
  description: Type.Optional(nullable(Description)),
};
const RegisteredLimitCreate = Type.Array(
  Type.Object(RegisteredLimitProps, { required: ['service_id', 'resource_name', 'default_limit'], additionalProperties: false }),
  { minItems: 1 },
);
const RegisteredLimitUpdate = Type.Object(RegisteredLimitProps, { additionalProperties: false });

// Keystone's limit_create: each item is exactly a project limit or a domain limit (oneOf).
const limitShape = (owner: 'project_id' | 'domain_id') =>
  Type.Object(
    {
      [owner]: IdString,
      service_id: IdString,
      region_id: Type.Optional(Type.String()),
      resource_name: ResourceName,
      resource_limit: LimitValue,
      description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    },
    { additionalProperties: false },
  );
const LimitItem = Type.Union([limitShape('project_id'), limitShape('domain_id')]);
const LimitCreate = Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1 });
const LimitUpdate = Type.Object({ resource_limit: Type.Optional(LimitValue), description: Type.Optional(nullable(Description)) }, { additionalProperties: false });
const limitItemProblem = compileJsonSchema(LimitItem);

const RegisteredParams = Type.Object({ registered_limit_id: PathId });
const LimitParams = Type.Object({ limit_id: PathId });

export function registeredLimitView(r: RegisteredLimit, base: string) {
  return {
    id: r.id,
    service_id: r.serviceId,
    region_id: r.regionId,
    resource_name: r.resourceName,
    default_limit: r.defaultLimit,
    description: r.description,
    links: { self: `${base}/v3/registered_limits/${r.id}` },
  };
}

export function limitView(l: Limit, base: string) {
  return {
    id: l.id,
    project_id: l.projectId,
    domain_id: l.domainId,
    resource_limit: l.resourceLimit,
    description: l.description,
    service_id: l.serviceId,
    region_id: l.regionId,
    resource_name: l.resourceName,
    links: { self: `${base}/v3/limits/${l.id}` },
  };
}

/**
 * python-jsonschema reports a failed oneOf as a whole ("... is not valid under any of the given
 * schemas"), where Ajv would name the first branch's error.
 */
function checkLimitItems(items: Record<string, unknown>[]): void {
  items.forEach((item, i) => {
    if (limitItemProblem(item) !== undefined) throw InvalidInput(`Invalid input for field '${i}': ${pyRepr(item)} is not valid under any of the given schemas`, 'limit_schema');
  });
}

export function limitRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  /** Keystone's _build_limit_enforcement_target: the limit with its project or domain; absent, nothing. */
  const limitTarget = async (id: string) => {
    const l = await s.limits.getLimitOrThrow(id).catch(() => undefined);
    if (!l) return {};
    const limit: Record<string, unknown> = { ...limitView(l, '') };
    delete limit.links;
    if (l.projectId !== null) limit.project = wireProject(await s.resources.getProjectOrThrow(l.projectId));
    else if (l.domainId !== null) limit.domain = wireDomain(await s.resources.getDomainOrThrow(l.domainId));
    return { limit };
  };
  const viewerOf = (ctx: RequestContext) => ({ system: ctx.systemScope === 'all', domainId: ctx.domainId, projectId: ctx.projectId });

  return [
    defineRoute({
      method: 'GET',
      url: '/v3/limits/model',
      policy: 'identity:get_limit_model',
      credentials: tokenCredentials,
      errors: [],
      handler: async () => ({ model: s.limits.getModel() }),
    }),
    // registered limits
    defineRoute({
      method: 'GET',
      url: '/v3/registered_limits',
      policy: 'identity:list_registered_limits',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req, query }) => {
        const f = filtersOf(query, { service_id: 'serviceId', region_id: 'regionId', resource_name: 'resourceName' });
        const b = baseUrl(req, frame);
        return collection('registered_limits', (await s.limits.listRegisteredLimits(f)).map((r) => registeredLimitView(r, b)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/registered_limits',
      policy: 'identity:create_registered_limits',
      credentials: tokenCredentials,
      body: RegisteredLimitCreate,
      bodyKey: 'registered_limits',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [400, 409],
      handler: async ({ body, req }) => {
        const inputs = (body as Record<string, unknown>[]).map(
          (r): RegisteredLimitInput => ({
            serviceId: r.service_id as string,
            regionId: r.region_id as string | null | undefined,
            resourceName: r.resource_name as string,
            defaultLimit: r.default_limit as number,
            description: r.description as string | null | undefined,
          }),
        );
        const b = baseUrl(req, frame);
        // no collection links on create, as upstream
        return { registered_limits: (await s.limits.createRegisteredLimits(inputs)).map((r) => registeredLimitView(r, b)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/registered_limits/:registered_limit_id',
      params: RegisteredParams,
      policy: 'identity:get_registered_limit',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }) => ({ registered_limit: registeredLimitView(await s.limits.getRegisteredLimitOrThrow(params.registered_limit_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/registered_limits/:registered_limit_id',
      params: RegisteredParams,
      policy: 'identity:update_registered_limit',
      credentials: tokenCredentials,
      body: RegisteredLimitUpdate,
      bodyKey: 'registered_limit',
      bodyKeyMissing: 'empty',
      errors: [400, 403, 404, 409],
      handler: async ({ params, body, req }) => {
        const r = body as Record<string, unknown>;
        const updated = await s.limits.updateRegisteredLimit(params.registered_limit_id, {
          ...(r.service_id !== undefined ? { serviceId: r.service_id as string } : {}),
          ...(r.region_id !== undefined ? { regionId: r.region_id as string | null } : {}),
          ...(r.resource_name !== undefined ? { resourceName: r.resource_name as string } : {}),
          ...(r.default_limit !== undefined ? { defaultLimit: r.default_limit as number } : {}),
          ...(r.description !== undefined ? { description: r.description as string | null } : {}),
        });
        return { registered_limit: registeredLimitView(updated, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/registered_limits/:registered_limit_id',
      params: RegisteredParams,
      policy: 'identity:delete_registered_limit',
      credentials: tokenCredentials,
      status: 204,
      errors: [403, 404],
      handler: async ({ params }) => {
        await s.limits.deleteRegisteredLimit(params.registered_limit_id);
        return undefined;
      },
    }),
    // project and domain limits
    defineRoute({
      method: 'GET',
      url: '/v3/limits',
      policy: 'identity:list_limits',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req, query }, ctx) => {
        const f = filtersOf(query, { service_id: 'serviceId', region_id: 'regionId', resource_name: 'resourceName', project_id: 'projectId', domain_id: 'domainId' });
        const b = baseUrl(req, frame);
        return collection('limits', (await s.limits.listLimits(f, viewerOf(ctx))).map((l) => limitView(l, b)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/limits',
      policy: 'identity:create_limits',
      credentials: tokenCredentials,
      body: LimitCreate,
      bodyKey: 'limits',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [400, 403, 409],
      handler: async ({ body, req }) => {
        const items = body as Record<string, unknown>[];
        checkLimitItems(items);
        const inputs = items.map(
          (l): LimitInput => ({
            projectId: l.project_id as string | undefined,
            domainId: l.domain_id as string | undefined,
            serviceId: l.service_id as string,
            regionId: l.region_id as string | undefined,
            resourceName: l.resource_name as string,
            resourceLimit: l.resource_limit as number,
            description: l.description as string | null | undefined,
          }),
        );
        const b = baseUrl(req, frame);
        return { limits: (await s.limits.createLimits(inputs)).map((l) => limitView(l, b)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/limits/:limit_id',
      params: LimitParams,
      policy: 'identity:get_limit',
      credentials: tokenCredentials,
      target: ({ params }) => limitTarget(params.limit_id),
      errors: [404],
      handler: async ({ params, req }) => ({ limit: limitView(await s.limits.getLimitOrThrow(params.limit_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/limits/:limit_id',
      params: LimitParams,
      policy: 'identity:update_limit',
      credentials: tokenCredentials,
      body: LimitUpdate,
      bodyKey: 'limit',
      bodyKeyMissing: 'empty',
      errors: [400, 403, 404],
      handler: async ({ params, body, req }) => {
        const l = body as Record<string, unknown>;
        const updated = await s.limits.updateLimit(params.limit_id, {
          ...(l.resource_limit !== undefined ? { resourceLimit: l.resource_limit as number } : {}),
          ...(l.description !== undefined ? { description: l.description as string | null } : {}),
        });
        return { limit: limitView(updated, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/limits/:limit_id',
      params: LimitParams,
      policy: 'identity:delete_limit',
      credentials: tokenCredentials,
      status: 204,
      errors: [404],
      handler: async ({ params }) => {
        await s.limits.deleteLimit(params.limit_id);
        return undefined;
      },
    }),
  ];
}
