// Volume type routes: list, show (also `default`), create, update, delete, extra specs and the
// access of private types (cinder/api/v3/types.py, contrib/types_manage.py,
// contrib/types_extra_specs.py, contrib/volume_type_access.py).
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import { defineRoute, pyRepr, type AnyRoute } from '@alto/http';
import { isAdmin } from '../domain/deps.js';
import { BadRequest } from '../domain/errors.js';
import { READ_SENSITIVE, USER_VISIBLE_EXTRA_SPECS, type TypeDetail, type TypesService } from '../domain/types.service.js';
import { TYPE_SORT_KEYS, type TypeListQuery } from '../store/type.repo.js';
import { atLeast, dictFilter, nextLinks, parseBool, parseLimit, parseSort, q1, type BlockStorageFrame, type RawQuery } from './common.js';
import { typeAccessView, typeManageView, typeView } from './types.views.js';

/** The frame these routes need: the types service besides the core's. */
export type TypesFrame = BlockStorageFrame & { services: { types: TypesService } };

const TypeId = Type.Object({ type_id: Type.String() });
const SpecKey = Type.Object({ type_id: Type.String(), key: Type.String() });

/** parameter_types.boolean: a JSON boolean or one of oslo's boolean strings. */
const BOOL_STRINGS = ['True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f'];
const Bool = Type.Union([Type.Boolean(), Type.String({ enum: BOOL_STRINGS })]);
const description = Type.Union([Type.String({ maxLength: 255 }), Type.Null()]);
/** Extra specs are checked by checkSpecs (jsonschema's patternProperties wording), not by Ajv. */
const AnySpecs = Type.Unknown();

/** cinder/api/schemas/volume_types.py create. */
const CreateBody = Type.Object(
  {
    volume_type: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 255 }),
        description: Type.Optional(description),
        extra_specs: Type.Optional(AnySpecs),
        'os-volume-type-access:is_public': Type.Optional(Bool),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
/** cinder/api/schemas/volume_types.py update. */
const UpdateBody = Type.Object(
  {
    volume_type: Type.Object(
      {
        name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()])),
        description: Type.Optional(description),
        is_public: Type.Optional(Bool),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
const SpecsBody = Type.Object({ extra_specs: AnySpecs }, { additionalProperties: false });
const ProjectBody = Type.Object({ project: Type.String() }, { additionalProperties: false });
const ActionBody = Type.Object(
  { addProjectAccess: Type.Optional(ProjectBody), removeProjectAccess: Type.Optional(ProjectBody) },
  { additionalProperties: true },
);

/** parameter_types.extra_specs(_with_null): keys may have spaces and slashes. */
export const SPEC_KEY = '^[a-zA-Z0-9-_:. /]{1,255}$';
/** parameter_types.extra_specs_with_no_spaces_key. */
export const SPEC_KEY_NO_SPACES = '^[a-zA-Z0-9-_:.]{1,255}$';

const field = (attr: string, value: unknown, message: string) => BadRequest(`Invalid input for field/attribute ${attr}. Value: ${pyRepr(value)}. ${message}`, 'http.schema_validation');

/**
 * A specs object as jsonschema checks it (type, then each matching key's value, then the keys no
 * pattern matches), worded as Cinder's validator does; values may be strings or null.
 */
export function checkSpecs(value: unknown, attr: string, keyPattern: string): Record<string, string | null> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw field(attr, value, `${pyRepr(value)} is not of type 'object'`);
  const re = new RegExp(keyPattern);
  const specs = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(specs)) {
    if (!re.test(k)) continue;
    if (v !== null && typeof v !== 'string') throw field(k, v, `${pyRepr(v)} is not of type 'string', 'null'`);
    if (typeof v === 'string' && [...v].length > 255) throw field(k, v, `${pyRepr(v)} is too long`);
  }
  const extras = Object.keys(specs).filter((k) => !re.test(k)).sort();
  if (extras.length) {
    const verb = extras.length === 1 ? 'does' : 'do';
    throw field(attr, value, `${extras.map((k) => pyRepr(k)).join(', ')} ${verb} not match any of the regexes: ${pyRepr(keyPattern)}`);
  }
  return specs as Record<string, string | null>;
}

/** Specs as stored: our value column is NOT NULL, so a null value is kept as ''. */
export const storedSpecs = (specs: Record<string, string | null>): Record<string, string> =>
  Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, v ?? '']));

/** Cinder's 'name' format: not empty, not only spaces (InvalidName's wording). */
export function checkName(name: string | null | undefined): void {
  if (!name) throw BadRequest("An invalid 'name' value was provided. The 'name' can not be None.", 'volume.invalid_name');
  if (name.trim().length === 0) throw BadRequest("An invalid 'name' value was provided. The 'name' can not be empty.", 'volume.invalid_name');
}

/** Query keys that page and sort rather than filter (common.get_pagination_params, get_sort_params). */
const NOT_FILTERS = new Set(['limit', 'marker', 'offset', 'sort', 'sort_key', 'sort_dir']);
/** Filters members may use (resource_filters.json volume_type; before 3.52 only is_public). */
const USER_FILTERS = new Set(['is_public', 'extra_specs']);
const TYPE_COLUMNS = new Set(['id', 'name', 'description', 'qos_specs_id']);


/** The type list query from Cinder's query string, per caller (VolumeTypesController._get_volume_types). */
export async function typeListQuery(frame: TypesFrame, req: FastifyRequest, query: RawQuery, ctx: RequestContext): Promise<TypeListQuery> {
  const admin = isAdmin(ctx);
  const q: TypeListQuery = {
    isPublic: true,
    accessProject: ctx.projectId,
    eq: {},
    extraSpecs: {},
    sort: parseSort(query, TYPE_SORT_KEYS),
    limit: parseLimit(query, frame.maxLimit),
  };
  let keys = Object.keys(query).filter((k) => !NOT_FILTERS.has(k));
  if (!admin) {
    if (atLeast(req, '3.52')) {
      const invalid = keys.filter((k) => !USER_FILTERS.has(k));
      if (invalid.length) throw BadRequest(`Invalid filters ${invalid.join(', ')} are found in query options.`, 'volume.invalid_filters');
    } else {
      // before 3.52 Cinder drops what members may not filter on
      keys = keys.filter((k) => k === 'is_public');
    }
  }
  if (admin) {
    // only admins choose: absent means public (and their project's private ones), 'none' both
    const raw = q1(query, 'is_public');
    if (raw !== undefined) {
      if (raw.trim().toLowerCase() === 'none') q.isPublic = null;
      else {
        try {
          q.isPublic = parseBool(raw, 'is_public');
        } catch {
          throw BadRequest(`Invalid is_public filter [${raw}]`, 'volume.invalid_filters');
        }
      }
    }
  }
  for (const key of keys) {
    if (key === 'is_public') continue;
    const raw = q1(query, key)!;
    if (key === 'extra_specs') {
      const specs = dictFilter(raw, key);
      // a member filtering on specs it may not see gets nothing rather than a wrong answer
      if (!frame.services.authz.check(READ_SENSITIVE, ctx) && Object.keys(specs).some((k) => !(USER_VISIBLE_EXTRA_SPECS as readonly string[]).includes(k))) q.none = true;
      Object.assign(q.extraSpecs, specs);
    } else if (TYPE_COLUMNS.has(key)) (q.eq as Record<string, string>)[key] = raw;
    // COMPAT(cinder): an admin's filter on something types do not have matches nothing
    else q.none = true;
  }
  const marker = q1(query, 'marker');
  if (marker) q.marker = await frame.services.types.markerOrThrow(ctx, marker);
  return q;
}

export function typeRoutes(frame: TypesFrame): AnyRoute[] {
  const { types, authz } = frame.services;
  const view = (ctx: RequestContext, t: TypeDetail, accessKey: boolean) => {
    const rights = types.viewRights(ctx);
    return typeView(t, { rights, visibleSpecs: (s) => types.visibleSpecs(ctx, s, rights.sensitive), accessKey });
  };
  const accessKey = (ctx: RequestContext) => authz.check('volume_extension:volume_type_access', ctx);
  /** Cinder's target for a type: its fields over the default (the caller's project stays). */
  const typeTarget = (ctx: RequestContext, t: TypeDetail) => ({ ...t.row, project_id: ctx.projectId ?? null, user_id: ctx.userId ?? null });
  return [
    defineRoute({
      method: 'GET',
      url: '/types',
      policy: 'volume_extension:type_get_all',
      errors: [404],
      handler: async ({ req }, ctx) => {
        const query = req.query as RawQuery;
        const q = await typeListQuery(frame, req, query, ctx);
        const items = q.none ? [] : await types.list(q);
        const out: Record<string, unknown> = { volume_types: items.map((t) => view(ctx, t, true)) };
        if (items.length && items.length === q.limit) out.volume_type_links = nextLinks(frame, req, ctx, 'types', query, items.at(-1)!.row.id);
        return out;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/types/:type_id',
      params: TypeId,
      policy: 'volume_extension:type_get',
      // Cinder finds the type (404 first), then authorizes with it as the target
      target: async ({ params }, ctx) => typeTarget(ctx, params.type_id === 'default' ? await types.getDefault(ctx) : await types.getOrThrow(ctx, params.type_id)),
      errors: [404],
      handler: async ({ params }, ctx) => {
        const isDefault = params.type_id === 'default';
        const t = isDefault ? await types.getDefault(ctx) : await types.getOrThrow(ctx, params.type_id);
        return { volume_type: view(ctx, t, !isDefault) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/types',
      body: CreateBody,
      policy: 'volume_extension:type_create',
      errors: [409],
      handler: async ({ body }, ctx) => {
        const v = body.volume_type;
        checkName(v.name);
        const specs = v.extra_specs === undefined ? {} : checkSpecs(v.extra_specs, 'extra_specs', SPEC_KEY);
        const isPublic = v['os-volume-type-access:is_public'] === undefined ? true : parseBool(v['os-volume-type-access:is_public'], 'is_public');
        const t = await types.create(ctx, { name: v.name, description: v.description, extraSpecs: storedSpecs(specs), isPublic });
        return { volume_type: typeManageView(t, accessKey(ctx)) };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/types/:type_id',
      params: TypeId,
      body: UpdateBody,
      policy: 'volume_extension:type_update',
      errors: [404, 409],
      handler: async ({ params, body }, ctx) => {
        const v = body.volume_type;
        const isPublic = v.is_public === undefined ? undefined : parseBool(v.is_public, 'is_public');
        const t = await types.update(ctx, params.type_id, { name: v.name, description: v.description, isPublic });
        return { volume_type: typeManageView(t, false) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/types/:type_id',
      params: TypeId,
      status: 202,
      policy: 'volume_extension:type_delete',
      errors: [404],
      handler: async ({ params }, ctx) => {
        await types.delete(ctx, params.type_id);
        return undefined;
      },
    }),

    // extra specs
    defineRoute({
      method: 'GET',
      url: '/types/:type_id/extra_specs',
      params: TypeId,
      policy: 'volume_extension:types_extra_specs:index',
      errors: [404],
      handler: async ({ params }, ctx) => ({ extra_specs: await types.specs(ctx, params.type_id) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/types/:type_id/extra_specs',
      params: TypeId,
      body: SpecsBody,
      policy: 'volume_extension:types_extra_specs:create',
      errors: [404],
      handler: async ({ params, body }, ctx) => {
        const specs = checkSpecs(body.extra_specs, 'extra_specs', SPEC_KEY_NO_SPACES);
        await types.setSpecs(ctx, params.type_id, storedSpecs(specs));
        return { extra_specs: specs };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/types/:type_id/extra_specs/:key',
      params: SpecKey,
      policy: 'volume_extension:types_extra_specs:show',
      errors: [404],
      handler: async ({ params }, ctx) => ({ [params.key]: await types.spec(ctx, params.type_id, params.key) }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/types/:type_id/extra_specs/:key',
      params: SpecKey,
      body: Type.Unknown(),
      policy: 'volume_extension:types_extra_specs:update',
      errors: [404],
      handler: async ({ params, body }, ctx) => {
        // the body is the one spec itself (schema: no-spaces extra specs, exactly one property)
        const n = Object.keys(body as object).length;
        if (n < 1) throw BadRequest(`${pyRepr(body)} does not have enough properties`, 'http.schema_validation');
        if (n > 1) throw BadRequest(`${pyRepr(body)} has too many properties`, 'http.schema_validation');
        const specs = checkSpecs(body, 'extra_specs', SPEC_KEY_NO_SPACES);
        await types.setSpecs(ctx, params.type_id, storedSpecs(specs), params.key);
        return specs;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/types/:type_id/extra_specs/:key',
      params: SpecKey,
      status: 202,
      policy: 'volume_extension:types_extra_specs:delete',
      // Cinder checks the type before the policy here
      target: async ({ params }, ctx) => typeTarget(ctx, { row: await types.getRowOrThrow(ctx, params.type_id), extraSpecs: {} }),
      errors: [404],
      handler: async ({ params }, ctx) => {
        await types.deleteSpec(ctx, params.type_id, params.key);
        return undefined;
      },
    }),

    // access to private types
    defineRoute({
      method: 'GET',
      url: '/types/:type_id/os-volume-type-access',
      params: TypeId,
      policy: 'volume_extension:volume_type_access:get_all_for_type',
      errors: [404],
      handler: async ({ params }, ctx) => typeAccessView(params.type_id, await types.accessList(ctx, params.type_id)),
    }),
    defineRoute({
      method: 'POST',
      url: '/types/:type_id/action',
      params: TypeId,
      body: ActionBody,
      status: 202,
      policy: 'volume_extension:volume_type_access:addProjectAccess',
      policyOf: ({ body }) =>
        body && typeof body === 'object' && 'removeProjectAccess' in body ? 'volume_extension:volume_type_access:removeProjectAccess' : 'volume_extension:volume_type_access:addProjectAccess',
      errors: [404, 409],
      handler: async ({ params, body }, ctx) => {
        const keys = Object.keys(body);
        if (keys.length !== 1) throw BadRequest('Malformed request body', 'volume.malformed_body');
        const action = keys[0]!;
        if (action !== 'addProjectAccess' && action !== 'removeProjectAccess') {
          throw BadRequest(`There is no such action: ${action}. Verify the request body and Content-Type header and try again.`, 'volume.no_such_action');
        }
        const project = body[action]!.project;
        if (!isUuidLike(project)) throw field('project', project, `${pyRepr(project)} is not a 'uuid'`);
        if (action === 'addProjectAccess') await types.addAccess(ctx, params.type_id, project);
        else await types.removeAccess(ctx, params.type_id, project);
        return undefined;
      },
    }),
  ];
}

/** oslo uuidutils.is_uuid_like: 32 hex digits once urn:uuid:, braces and dashes are set aside (Keystone's ids have no dashes). */
export function isUuidLike(s: string): boolean {
  return /^[0-9a-f]{32}$/i.test(s.replace(/^urn:uuid:/i, '').replace(/^\{|\}$/g, '').replace(/-/g, ''));
}
