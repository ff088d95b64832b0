// Snapshot routes: create, list (summary, detail), show, update, delete, metadata and the
// snapshot actions (os-reset_status, os-force_delete, os-update_snapshot_status).
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import { PayloadTooLargeError, type RequestContext } from '@alto/kernel';
import { compileCheck, createValidators, defineRoute, pyRepr, type AnyRoute } from '@alto/http';
import { isAdmin } from '../domain/deps.js';
import { BadRequest, InvalidInput } from '../domain/errors.js';
import { SNAPSHOT_SORT_KEYS, SNAPSHOT_STATUSES, type SnapshotDetail, type SnapshotListQuery } from '../domain/snapshots.service.js';
import type { SnapshotTable } from '../store/schema.js';
import { atLeast, literalDict, nextLinks, parseBool, parseLimit, parseSort, q1, type BlockStorageFrame, type RawQuery } from './common.js';
import { snapshotSummaryView, snapshotView } from './snapshots.views.js';

const SnapshotId = Type.Object({ snapshot_id: Type.String() });
const MetaKey = Type.Object({ snapshot_id: Type.String(), key: Type.String() });

// The bodies are Cinder's own JSON schemas (api/schemas/snapshots.py, validation/parameter_types.py)
const nameAllowZero = { type: ['string', 'null'], minLength: 0, maxLength: 255 };
const description = { type: ['string', 'null'], minLength: 0, maxLength: 255 };
const uuidAllowNull = { oneOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }] };
const boolean = {
  type: ['boolean', 'string'],
  enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f'],
};
const metadataAllowsNull = { type: ['object', 'null'], patternProperties: { '^[a-zA-Z0-9-_:. /]{1,255}$': { type: 'string', maxLength: 255 } }, additionalProperties: false };

interface CreateSnapshotBody {
  snapshot: { volume_id: string | null; name?: string | null; display_name?: string | null; description?: string | null; force?: boolean | string; metadata?: Record<string, string> | null };
}
interface UpdateSnapshotBody {
  snapshot: { name?: string | null; display_name?: string | null; description?: string | null; display_description?: string | null };
}

const CreateBody = Type.Unsafe<CreateSnapshotBody>({
  type: 'object',
  properties: {
    snapshot: {
      type: 'object',
      properties: { name: nameAllowZero, display_name: nameAllowZero, description, volume_id: uuidAllowNull, force: boolean, metadata: metadataAllowsNull },
      required: ['volume_id'],
      additionalProperties: false,
    },
  },
  required: ['snapshot'],
  additionalProperties: false,
});
const UpdateBody = Type.Unsafe<UpdateSnapshotBody>({
  type: 'object',
  properties: {
    snapshot: {
      type: 'object',
      properties: { name: nameAllowZero, description, display_name: nameAllowZero, display_description: description },
      // the schema's anyOf (one of the four is required) is checked in the handler, worded as python-jsonschema words it
      additionalProperties: false,
    },
  },
  required: ['snapshot'],
  additionalProperties: false,
});
const validators = createValidators();
/** Snapshot metadata has no schema upstream (assert_valid_body, then check_metadata_properties). */
const AnyBody = Type.Unsafe<Record<string, unknown>>({ type: 'object' });

const checkCreate = compileCheck<CreateSnapshotBody>(validators.body, CreateBody, 'nova');

// The action bodies, checked once the action is known (Cinder validates per action method)
const check = <T>(schema: object) => compileCheck<T>(validators.body, schema, 'nova');
const checkResetStatus = check<{ 'os-reset_status': { status: string } }>({
  type: 'object',
  properties: { 'os-reset_status': { type: 'object', properties: { status: { type: 'string' } }, required: ['status'], additionalProperties: false } },
  required: ['os-reset_status'],
  additionalProperties: false,
});
const checkUpdateStatus = check<{ 'os-update_snapshot_status': { status: string; progress?: unknown } }>({
  type: 'object',
  properties: { 'os-update_snapshot_status': { type: 'object', properties: { status: { type: 'string' }, progress: {} }, required: ['status'], additionalProperties: false } },
  required: ['os-update_snapshot_status'],
  additionalProperties: false,
});

/** Python's str() of a JSON value, as Cinder's validation messages print the rejected value. */
const pyStr = (v: unknown) => (typeof v === 'string' ? v : pyRepr(v));
const METADATA_KEY = /^[a-zA-Z0-9-_:. /]{1,255}$/;
const isUuidLike = (v: string) => /^(urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i.test(v);

/**
 * The create schema's errors whose python-jsonschema wording Ajv does not give: volume_id's
 * oneOf (uuid or null) and metadata keys outside the pattern.
 */
function checkCreateWording(body: Record<string, unknown>): void {
  const snap = body.snapshot;
  if (!snap || typeof snap !== 'object' || Array.isArray(snap)) return;
  const { volume_id: volumeId, metadata } = snap as Record<string, unknown>;
  if (volumeId !== undefined && volumeId !== null && !(typeof volumeId === 'string' && isUuidLike(volumeId))) {
    throw BadRequest(`Invalid input for field/attribute volume_id. Value: ${pyStr(volumeId)}. ${pyRepr(volumeId)} is not valid under any of the given schemas`, 'http.schema_validation');
  }
  if (metadata && typeof metadata === 'object' && !Array.isArray(metadata)) {
    const extras = Object.keys(metadata).filter((k) => !METADATA_KEY.test(k)).sort();
    if (extras.length) {
      const keys = extras.map((k) => pyRepr(k)).join(', ');
      throw BadRequest(
        `Invalid input for field/attribute metadata. Value: ${pyRepr(metadata)}. ${keys} ${extras.length === 1 ? 'does' : 'do'} not match any of the regexes: '${METADATA_KEY.source}'`,
        'http.schema_validation',
      );
    }
  }
}

/** The snapshot actions and the policy each checks on the snapshot (admin_actions.py, snapshot_actions.py). */
const ACTIONS: Record<string, string> = {
  'os-reset_status': 'volume_extension:snapshot_admin_actions:reset_status',
  'os-force_delete': 'volume_extension:snapshot_admin_actions:force_delete',
  'os-update_snapshot_status': 'snapshot_extension:snapshot_actions:update_snapshot_status',
};

/** The one action a body names; Cinder's wsgi answers these 400s before it looks at the snapshot. */
function actionOf(body: unknown): string {
  if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length !== 1) throw BadRequest('Malformed request body', 'volume.malformed_body');
  const name = Object.keys(body)[0]!;
  if (!(name in ACTIONS)) throw BadRequest(`There is no such action: ${name}. Verify the request body and Content-Type header and try again.`, 'volume.no_such_action');
  return name;
}

/** validators.py 'snapshot_status' format: InvalidParameterValue with Python's tuple of statuses. */
function checkSnapshotStatus(status: string): void {
  if (!status || !(SNAPSHOT_STATUSES as readonly string[]).includes(status.toLowerCase())) {
    throw BadRequest(`Snapshot status: ${status} is invalid, valid statuses are: (${SNAPSHOT_STATUSES.map((s) => `'${s}'`).join(', ')}).`, 'volume.invalid_status');
  }
}

/** validators.py 'progress' format: an integer percentage. */
function checkProgress(progress: unknown): void {
  if (progress === undefined || progress === null || progress === '' || progress === false || progress === 0) return;
  // COMPAT(cinder): a number reaches Python's progress[:-1] and its TypeError becomes the message
  if (typeof progress !== 'string') throw BadRequest(`'${typeof progress === 'number' ? (Number.isInteger(progress) ? 'int' : 'float') : typeof progress === 'boolean' ? 'bool' : Array.isArray(progress) ? 'list' : 'dict'}' object is not subscriptable`);
  const n = progress.slice(0, -1);
  if (!/^\s*[-+]?\d+\s*$/.test(n)) throw InvalidInput('progress must be an integer percentage');
  const i = Number(n);
  if (i < 0 || i > 100 || !progress.endsWith('%')) throw InvalidInput('progress must be an integer percentage between 0 and 100');
}

/** utils.check_metadata_properties, as the metadata API words it (400 invalid, 413 too large). */
function checkMetadata(meta: Record<string, unknown>): Record<string, string> {
  for (const [k, v] of Object.entries(meta)) {
    if (!k.length) throw BadRequest(`Invalid metadata: Invalid input received: Metadata key: ${k} has 0 characters, less than 1.`, 'volume.invalid_metadata');
    if (typeof v !== 'string') throw BadRequest(`Invalid metadata: Invalid input received: Value for metadata key: ${k} is not a string or unicode`, 'volume.invalid_metadata');
    if (k.length > 255) throw new PayloadTooLargeError(`Invalid metadata size: Metadata property key ${k} greater than 255 characters.`, 'volume.metadata_too_large');
    if (v.length > 255) throw new PayloadTooLargeError(`Invalid metadata size: Metadata property key ${k} value greater than 255 characters.`, 'volume.metadata_too_large');
  }
  return meta as Record<string, string>;
}

/** assert_valid_body: the entity must be there and be a dict. */
function entity(body: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = body[key];
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw BadRequest(`Missing required element '${key}' in request body.`, 'volume.missing_element');
  return v as Record<string, unknown>;
}

/** Filters members may use from 3.31 (Cinder's default resource_filters.json for snapshots). */
const USER_FILTERS = new Set(['name', 'status', 'volume_id', 'metadata', 'availability_zone', 'consumes_quota']);
/** What members may filter on before 3.31 (others are dropped silently). */
const LEGACY_USER_FILTERS = new Set(['status', 'volume_id', 'name', 'metadata']);
/** Snapshot model attributes an admin may filter on, by wire name, and our columns. */
const COLUMN_OF: Record<string, keyof SnapshotTable> = {
  id: 'id', name: 'name', display_name: 'name', description: 'description', display_description: 'description', status: 'status', progress: 'progress',
  volume_id: 'volume_id', volume_size: 'volume_size', project_id: 'project_id', user_id: 'user_id', volume_type_id: 'volume_type_id',
  group_snapshot_id: 'group_snapshot_id', provider_location: 'provider_location', use_quota: 'use_quota',
};


/** Sort keys on the wire are model attributes (display_name, display_description); `name` from 3.30. */
function snapshotSort(req: FastifyRequest, query: RawQuery) {
  const wire = new Set([...SNAPSHOT_SORT_KEYS].filter((k) => k !== 'name' && k !== 'description'));
  wire.add('display_name').add('display_description');
  if (atLeast(req, '3.30')) wire.add('name');
  parseSort(query, wire);
  return parseSort(query, SNAPSHOT_SORT_KEYS, { display_name: 'name', display_description: 'description' });
}

/** utils.get_bool_param: strict, in its own words. */
function boolParam(raw: string, name: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(v)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(v)) return false;
  throw BadRequest(`Value '${raw}' for '${name}' is not a boolean.`, 'volume.invalid_bool');
}

/** The snapshot list query from Cinder's query string (v3 SnapshotsController._items), per caller. */
export async function snapshotListQuery(frame: BlockStorageFrame, req: FastifyRequest, query: RawQuery, ctx: RequestContext): Promise<SnapshotListQuery> {
  const admin = isAdmin(ctx);
  const rawAllTenants = q1(query, 'all_tenants');
  // non-strict bool_from_string: anything unrecognised is false
  const allTenants = admin && rawAllTenants !== undefined && ['1', 't', 'true', 'on', 'y', 'yes'].includes(rawAllTenants.trim().toLowerCase());
  const q: SnapshotListQuery = {
    projectId: allTenants ? undefined : (ctx.projectId ?? ''),
    eq: {},
    like: {},
    metadata: {},
    sort: snapshotSort(req, query),
    limit: parseLimit(query, frame.maxLimit),
    offset: parseOffset(q1(query, 'offset')),
  };
  const notFilters = new Set(['limit', 'marker', 'sort', 'sort_key', 'sort_dir', 'offset', 'all_tenants']);
  if (atLeast(req, '3.45')) notFilters.add('with_count');
  let keys = Object.keys(query).filter((k) => !notFilters.has(k));
  if (atLeast(req, '3.31')) {
    if (!admin) {
      const like = atLeast(req, '3.34');
      const invalid = keys.filter((k) => !(USER_FILTERS.has(k) || (like && USER_FILTERS.has(`${k}~`))));
      if (invalid.length) throw BadRequest(`Invalid filters ${invalid.join(',')} are found in query options.`, 'volume.invalid_filters');
    }
  } else {
    // before the generic filters: metadata from 3.22, consumes_quota not at all; members' unknown keys dropped
    keys = keys.filter((k) => !(k === 'metadata' && !atLeast(req, '3.22')) && (admin || LEGACY_USER_FILTERS.has(k)));
  }
  const eq = q.eq as Record<string, string | number | null>;
  for (const key of keys) {
    const raw = q1(query, key)!;
    const generic = atLeast(req, '3.31');
    if (key === 'metadata') {
      const meta = literalDict(raw);
      if (meta) Object.assign(q.metadata, meta);
      else q.none = true;
    } else if (key === 'availability_zone') {
      q.availabilityZone = raw;
    } else if (key === 'host') {
      q.host = raw;
    } else if (generic && key === 'consumes_quota') {
      eq.use_quota = boolParam(raw, 'use_quota') ? 1 : 0;
    } else if (generic && atLeast(req, '3.34') && key.endsWith('~') && COLUMN_OF[key.slice(0, -1)]) {
      (q.like as Record<string, string>)[COLUMN_OF[key.slice(0, -1)]!] = raw;
    } else if (COLUMN_OF[key]) {
      const col = COLUMN_OF[key];
      if (col === 'volume_size' || col === 'use_quota') {
        if (col === 'use_quota') eq[col] = boolParam(raw, 'use_quota') ? 1 : 0;
        else if (/^\d+$/.test(raw)) eq[col] = Number(raw);
        else q.none = true;
      } else eq[col] = raw;
    } else {
      // COMPAT(cinder): an admin's filter on something snapshots do not have matches nothing
      q.none = true;
    }
  }
  const marker = q1(query, 'marker');
  if (marker) q.marker = await frame.services.snapshots.markerOrThrow(ctx, marker);
  return q;
}

/** offset: 0 to DB_MAX_INT (oslo's validate_integer wording, a plain 400). */
function parseOffset(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\s*[-+]?\d+\s*$/.test(raw)) throw BadRequest('offset must be an integer', 'volume.invalid_offset');
  const n = Number(raw);
  if (n < 0) throw BadRequest('offset must be >= 0', 'volume.invalid_offset');
  if (n > 0x7fffffff) throw BadRequest('offset must be <= 2147483647', 'volume.invalid_offset');
  return n;
}

const trimmed = (v: string | null | undefined) => (typeof v === 'string' ? v.trim() : v);

export function snapshotRoutes(frame: BlockStorageFrame): AnyRoute[] {
  const { snapshots } = frame.services;
  const target = async (snapshotId: string, ctx: RequestContext) => snapshots.target(await snapshots.getRowOrThrow(ctx, snapshotId));
  const detail = (req: FastifyRequest, s: SnapshotDetail, extended: boolean) => snapshotView(req, s, { extended });
  const list = (kind: 'summary' | 'detail') =>
    defineRoute({
      method: 'GET',
      url: kind === 'detail' ? '/snapshots/detail' : '/snapshots',
      policy: 'volume:get_all_snapshots',
      errors: [404],
      handler: async ({ req }, ctx) => {
        const query = req.query as RawQuery;
        const q = await snapshotListQuery(frame, req, query, ctx);
        const items = await snapshots.list(q);
        const withCount = atLeast(req, '3.45') && q1(query, 'with_count') !== undefined && boolParam(q1(query, 'with_count')!, 'with_count');
        const count = withCount ? await snapshots.count({ ...q, marker: undefined }) : undefined;
        const extended = kind === 'detail' && snapshots.extendedAttributes(ctx);
        const out: Record<string, unknown> = { snapshots: items.map((s) => (kind === 'detail' ? detail(req, s, extended) : snapshotSummaryView(s))) };
        // COMPAT(cinder): _get_collection_links compares the limit with the total count when there
        // is one, so a counted last page still links onward
        if (items.length && q.limit <= (count || items.length)) {
          out.snapshots_links = nextLinks(frame, req, ctx, kind === 'detail' ? 'snapshots/detail' : 'snapshots', query, items.at(-1)!.row.id);
        }
        if (count !== undefined) out.count = count;
        return out;
      },
    });
  return [
    defineRoute({
      method: 'POST',
      url: '/snapshots',
      body: CreateBody,
      status: 202,
      policy: 'volume:create_snapshot',
      // the volume's target; a body without a usable volume_id falls to the schema's 400
      target: async ({ body }, ctx) => {
        // Cinder validates the body before it looks the volume up
        if (body && typeof body === 'object' && !Array.isArray(body)) {
          checkCreateWording(body as Record<string, unknown>);
          checkCreate(body);
        }
        const volumeId = (body as { snapshot?: { volume_id?: unknown } } | undefined)?.snapshot?.volume_id;
        if (typeof volumeId !== 'string') return { project_id: ctx.projectId ?? null, user_id: ctx.userId ?? null };
        const v = await snapshots.volumeRowOrThrow(ctx, volumeId);
        return { ...v, project_id: v.project_id, user_id: v.user_id };
      },
      errors: [404, 413],
      handler: async ({ body, req }, ctx) => {
        const s = body.snapshot;
        let force = false;
        if (s.force !== undefined) {
          force = parseBool(s.force, 'force');
          // COMPAT(cinder 3.66): force is meaningless from 3.66; false is refused, true ignored
          if (atLeast(req, '3.66') && !force) {
            throw BadRequest(
              "Since microversion 3.66 the 'force' flag is invalid for this request.  For backward compatability, however, when the 'force' flag is passed with a value evaluating to True, it is silently ignored.",
            );
          }
        }
        const created = await snapshots.create(ctx, {
          volumeId: s.volume_id ?? 'None',
          name: trimmed(s.name !== undefined ? s.name : s.display_name),
          description: trimmed(s.description),
          metadata: s.metadata,
          force,
          allowInUse: atLeast(req, '3.66'),
        });
        return { snapshot: detail(req, created, false) };
      },
    }),
    list('summary'),
    list('detail'),
    defineRoute({
      method: 'GET',
      url: '/snapshots/:snapshot_id',
      params: SnapshotId,
      policy: 'volume:get_snapshot',
      target: ({ params }, ctx) => target(params.snapshot_id, ctx),
      errors: [404],
      handler: async ({ params, req }, ctx) => ({ snapshot: detail(req, await snapshots.getOrThrow(ctx, params.snapshot_id), snapshots.extendedAttributes(ctx)) }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/snapshots/:snapshot_id',
      params: SnapshotId,
      body: UpdateBody,
      policy: 'volume:update_snapshot',
      target: ({ params }, ctx) => target(params.snapshot_id, ctx),
      errors: [404],
      handler: async ({ params, body, req }, ctx) => {
        const s = body.snapshot;
        if (!['name', 'description', 'display_name', 'display_description'].some((k) => k in s)) {
          throw BadRequest(`Invalid input for field/attribute snapshot. Value: ${pyRepr(s)}. ${pyRepr(s)} is not valid under any of the given schemas`, 'http.schema_validation');
        }
        const name = s.name !== undefined ? s.name : s.display_name;
        const desc = s.description !== undefined ? s.description : s.display_description;
        const updated = await snapshots.update(ctx, params.snapshot_id, { name: trimmed(name), description: trimmed(desc) });
        return { snapshot: detail(req, updated, false) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/snapshots/:snapshot_id',
      params: SnapshotId,
      status: 202,
      policy: 'volume:delete_snapshot',
      target: ({ params }, ctx) => target(params.snapshot_id, ctx),
      errors: [400, 404],
      handler: async ({ params }, ctx) => {
        await snapshots.delete(ctx, params.snapshot_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/snapshots/:snapshot_id/action',
      params: SnapshotId,
      body: AnyBody,
      status: 202,
      policy: 'volume:get_snapshot',
      policyOf: ({ body }) => ACTIONS[actionOf(body)]!,
      target: ({ params, body }, ctx) => {
        actionOf(body);
        return target(params.snapshot_id, ctx);
      },
      errors: [400, 404],
      handler: async ({ params, body }, ctx) => {
        const action = actionOf(body);
        if (action === 'os-reset_status') {
          const status = checkResetStatus(body)['os-reset_status'].status;
          checkSnapshotStatus(status);
          await snapshots.resetStatus(ctx, params.snapshot_id, status);
        } else if (action === 'os-force_delete') {
          // Cinder's delete_snapshot checks its own policy after force_delete's
          frame.services.authz.enforce('volume:delete_snapshot', ctx, await target(params.snapshot_id, ctx));
          await snapshots.delete(ctx, params.snapshot_id, { force: true });
        } else {
          const a = checkUpdateStatus(body)['os-update_snapshot_status'];
          checkProgress(a.progress);
          await snapshots.updateStatus(ctx, params.snapshot_id, a.status, typeof a.progress === 'string' ? a.progress : null);
        }
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/snapshots/:snapshot_id/metadata',
      params: SnapshotId,
      policy: 'volume:get_snapshot_metadata',
      target: ({ params }, ctx) => target(params.snapshot_id, ctx),
      errors: [404],
      handler: async ({ params }, ctx) => ({ metadata: await snapshots.metadata(ctx, params.snapshot_id) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/snapshots/:snapshot_id/metadata',
      params: SnapshotId,
      body: AnyBody,
      policy: 'volume:update_snapshot_metadata',
      target: ({ params }, ctx) => target(params.snapshot_id, ctx),
      errors: [404, 413],
      handler: async ({ params, body }, ctx) => ({ metadata: await snapshots.setMetadata(ctx, params.snapshot_id, checkMetadata(entity(body, 'metadata')), false) }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/snapshots/:snapshot_id/metadata',
      params: SnapshotId,
      body: AnyBody,
      policy: 'volume:update_snapshot_metadata',
      target: ({ params }, ctx) => target(params.snapshot_id, ctx),
      errors: [404, 413],
      handler: async ({ params, body }, ctx) => ({ metadata: await snapshots.setMetadata(ctx, params.snapshot_id, checkMetadata(entity(body, 'metadata')), true) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/snapshots/:snapshot_id/metadata/:key',
      params: MetaKey,
      policy: 'volume:get_snapshot_metadata',
      target: ({ params }, ctx) => target(params.snapshot_id, ctx),
      errors: [404],
      handler: async ({ params }, ctx) => ({ meta: { [params.key]: await snapshots.metadataKey(ctx, params.snapshot_id, params.key) } }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/snapshots/:snapshot_id/metadata/:key',
      params: MetaKey,
      body: AnyBody,
      policy: 'volume:update_snapshot_metadata',
      target: ({ params }, ctx) => target(params.snapshot_id, ctx),
      errors: [404, 413],
      handler: async ({ params, body }, ctx) => {
        const meta = entity(body, 'meta');
        if (!(params.key in meta)) throw BadRequest('Request body and URI mismatch', 'volume.uri_mismatch');
        if (Object.keys(meta).length > 1) throw BadRequest('Request body contains too many items', 'volume.too_many_items');
        await snapshots.setMetadata(ctx, params.snapshot_id, checkMetadata(meta), false);
        return { meta };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/snapshots/:snapshot_id/metadata/:key',
      params: MetaKey,
      policy: 'volume:delete_snapshot_metadata',
      target: ({ params }, ctx) => target(params.snapshot_id, ctx),
      errors: [404],
      handler: async ({ params }, ctx) => {
        await snapshots.deleteMetadataKey(ctx, params.snapshot_id, params.key);
        return undefined;
      },
    }),
  ];
}
