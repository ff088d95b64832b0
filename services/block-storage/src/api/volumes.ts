// Volume routes: create, list (summary, detail, /summary), show, update, delete, metadata.
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import { defineRoute, type AnyRoute } from '@alto/http';
import { isAdmin } from '../domain/deps.js';
import { BadRequest, InvalidInput } from '../domain/errors.js';
import type { VolumeDetail } from '../domain/volumes.service.js';
import { VOLUME_SORT_KEYS, type VolumeListQuery } from '../store/volume.repo.js';
import { atLeast, columnFilter, dictFilter, nextLinks, parseBool, parseLimit, parseSort, q1, type BlockStorageFrame, type FilterColumns, type RawQuery } from './common.js';
import { volumeSummaryView, volumeView } from './volumes.views.js';

const VolumeId = Type.Object({ volume_id: Type.String() });
const MetaKey = Type.Object({ volume_id: Type.String(), key: Type.String() });

const nullableString = Type.Union([Type.String(), Type.Null()]);
const Metadata = Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.String({ maxLength: 255 }));
/** cinder/api/schemas/volumes.py create (additional properties allowed inside the volume, as upstream). */
const CreateBody = Type.Object(
  {
    volume: Type.Object(
      {
        name: Type.Optional(nullableString),
        description: Type.Optional(nullableString),
        display_name: Type.Optional(nullableString),
        display_description: Type.Optional(nullableString),
        volume_type: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
        metadata: Type.Optional(Type.Union([Metadata, Type.Null()])),
        snapshot_id: Type.Optional(nullableString),
        source_volid: Type.Optional(nullableString),
        backup_id: Type.Optional(nullableString),
        imageRef: Type.Optional(nullableString),
        image_id: Type.Optional(nullableString),
        availability_zone: Type.Optional(nullableString),
        multiattach: Type.Optional(Type.Boolean()),
        consistencygroup_id: Type.Optional(nullableString),
        group_id: Type.Optional(nullableString),
        size: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 2147483647 }), Type.String({ pattern: '^[0-9]+$' }), Type.Null()])),
      },
      { additionalProperties: true },
    ),
    'OS-SCH-HNT:scheduler_hints': Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
  },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  {
    volume: Type.Object(
      {
        name: Type.Optional(nullableString),
        description: Type.Optional(nullableString),
        display_name: Type.Optional(nullableString),
        display_description: Type.Optional(nullableString),
        metadata: Type.Optional(Metadata),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
const MetadataBody = Type.Object({ metadata: Metadata }, { additionalProperties: false });
const MetaItemBody = Type.Object({ meta: Metadata }, { additionalProperties: false });

/** Filters members may use (Cinder's default resource_filters.json for volumes). */
const USER_FILTERS = new Set(['name', 'status', 'metadata', 'bootable', 'migration_status', 'availability_zone', 'group_id', 'size', 'created_at', 'updated_at']);
/** Query keys that are not filters. */
const NOT_FILTERS = new Set(['limit', 'marker', 'sort', 'sort_key', 'sort_dir', 'offset', 'with_count', 'all_tenants', 'project_id', 'detail']);
/** Filters on columns, by their wire name. */
const COLUMN_OF: Record<string, string> = {
  name: 'name', display_name: 'name', status: 'status', bootable: 'bootable', migration_status: 'migration_status', availability_zone: 'availability_zone',
  group_id: 'group_id', size: 'size', host: 'host', user_id: 'user_id', volume_type_id: 'volume_type_id', id: 'id', attach_status: 'attach_status',
  description: 'description', display_description: 'description', multiattach: 'multiattach', snapshot_id: 'snapshot_id', source_volid: 'source_volid',
  replication_status: 'replication_status', consistencygroup_id: 'consistencygroup_id',
};
const FILTER_COLUMNS: FilterColumns = { columnOf: COLUMN_OF, booleans: new Set(['bootable', 'multiattach']), numeric: new Set(['size']) };
const TIME_OPS: Record<string, VolumeListQuery['times'][number]['op']> = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=', neq: '!=' };


/** The volume list query from Cinder's query string, per caller (admins filter on anything). */
export async function volumeListQuery(frame: BlockStorageFrame, req: FastifyRequest, query: RawQuery, ctx: RequestContext): Promise<VolumeListQuery> {
  const admin = isAdmin(ctx);
  const allTenants = admin && q1(query, 'all_tenants') !== undefined && parseBool(q1(query, 'all_tenants'), 'all_tenants');
  const q: VolumeListQuery = {
    projectId: allTenants ? (q1(query, 'project_id') ?? undefined) : ctx.projectId ?? '',
    eq: {},
    like: {},
    metadata: {},
    imageMetadata: {},
    times: [],
    sort: parseSort(query, VOLUME_SORT_KEYS, { display_name: 'name' }),
    limit: parseLimit(query, frame.maxLimit),
  };
  const keys = Object.keys(query).filter((k) => !NOT_FILTERS.has(k));
  if (!admin) {
    const invalid = keys.filter((k) => !USER_FILTERS.has(k) && !(k === 'glance_metadata' && atLeast(req, '3.4')));
    if (invalid.length) throw BadRequest(`Invalid filters ${invalid.join(', ')} are found in query options.`, 'volume.invalid_filters');
  }
  for (const key of keys) {
    const raw = q1(query, key)!;
    if (key === 'metadata') Object.assign(q.metadata, dictFilter(raw, key));
    else if (key === 'glance_metadata') Object.assign(q.imageMetadata, dictFilter(raw, key));
    else if ((key === 'created_at' || key === 'updated_at') && atLeast(req, '3.60')) {
      for (const part of raw.split(',')) {
        const m = /^(gt|gte|lt|lte|eq|neq):(.+)$/.exec(part.trim());
        const ms = Date.parse(m ? m[2]! : part);
        if (Number.isNaN(ms)) throw InvalidInput(`Invalid time comparison filter ${key}: ${raw}`);
        q.times.push({ key, op: m ? TIME_OPS[m[1]!]! : '=', ms });
      }
    } else columnFilter(q, req, key, raw, FILTER_COLUMNS);
  }
  const marker = q1(query, 'marker');
  if (marker) q.marker = await frame.services.volumes.markerOrThrow(ctx, marker);
  return q;
}

function nameOf(body: { name?: string | null; display_name?: string | null }): string | null | undefined {
  return body.name !== undefined ? body.name : body.display_name;
}

function descriptionOf(body: { description?: string | null; display_description?: string | null }): string | null | undefined {
  return body.description !== undefined ? body.description : body.display_description;
}

/** Cinder checks name and description lengths itself (utils.check_string_length). */
function checkLength(field: string, v: string | null | undefined): void {
  if (typeof v === 'string' && v.length > 255) throw InvalidInput(`${field} has ${v.length} characters, more than 255.`);
}

function checkMetadata(meta: Record<string, string> | null | undefined): void {
  for (const [k, v] of Object.entries(meta ?? {})) {
    if (!k.length) throw InvalidInput('Metadata property key blank.');
    if (k.length > 255) throw InvalidInput('Metadata property key greater than 255 characters.');
    if (v.length > 255) throw InvalidInput('Metadata property value greater than 255 characters.');
  }
}

export function volumeRoutes(frame: BlockStorageFrame): AnyRoute[] {
  const { volumes } = frame.services;
  const target = async (volumeId: string, ctx: RequestContext) => volumes.target(await volumes.getRowOrThrow(ctx, volumeId));
  const detail = (req: FastifyRequest, ctx: RequestContext, v: VolumeDetail, extensions: boolean) =>
    volumeView(frame, req, ctx, v, { extensions, rights: volumes.viewRights(ctx, v.row), isAdmin: isAdmin(ctx) });
  const list = (kind: 'summary' | 'detail') =>
    defineRoute({
      method: 'GET',
      url: kind === 'detail' ? '/volumes/detail' : '/volumes',
      policy: 'volume:get_all',
      errors: [404],
      handler: async ({ req }, ctx) => {
        const query = req.query as RawQuery;
        const q = await volumeListQuery(frame, req, query, ctx);
        const items = await volumes.list(q);
        const out: Record<string, unknown> = { volumes: items.map((v) => (kind === 'detail' ? detail(req, ctx, v, true) : volumeSummaryView(frame, req, ctx, v))) };
        if (items.length && items.length === q.limit) out.volumes_links = nextLinks(frame, req, ctx, kind === 'detail' ? 'volumes/detail' : 'volumes', query, items.at(-1)!.row.id);
        if (atLeast(req, '3.45') && q1(query, 'with_count') !== undefined && parseBool(q1(query, 'with_count'), 'with_count')) {
          out.count = (await volumes.count({ ...q, marker: undefined })).count;
        }
        return out;
      },
    });
  return [
    defineRoute({
      method: 'POST',
      url: '/volumes',
      body: CreateBody,
      status: 202,
      policy: 'volume:create',
      errors: [404, 413],
      handler: async ({ body, req }, ctx) => {
        const v = body.volume;
        const name = nameOf(v);
        const description = descriptionOf(v);
        checkLength('name', name);
        checkLength('description', description);
        checkMetadata(v.metadata);
        if (typeof v.size === 'string') {
          // COMPAT(cinder): its validator applies minimum/maximum to numeric strings too
          const n = Number(v.size);
          if (n < 1) throw BadRequest(`Invalid input for field/attribute size. Value: ${v.size}. ${v.size} is less than the minimum of 1`, 'volume.bad_size');
          if (n > 2147483647) throw BadRequest(`Invalid input for field/attribute size. Value: ${v.size}. ${v.size} is greater than the maximum of 2147483647`, 'volume.bad_size');
        }
        if (v.size === undefined || v.size === null) {
          if (!v.snapshot_id && !v.source_volid && !v.backup_id) throw BadRequest('The server could not comply with the request since it is either malformed or otherwise incorrect.');
        }
        const imageId = v.imageRef ?? v.image_id ?? null;
        if (imageId) frame.services.authz.enforce('volume:create_from_image', ctx);
        if (v.multiattach) frame.services.authz.enforce('volume:multiattach', ctx);
        const created = await volumes.create(ctx, {
          size: v.size === undefined || v.size === null ? undefined : Number(v.size),
          name,
          description,
          volumeType: v.volume_type,
          availabilityZone: v.availability_zone,
          metadata: v.metadata ?? undefined,
          snapshotId: v.snapshot_id,
          sourceVolid: v.source_volid,
          imageId,
          backupId: v.backup_id,
          multiattach: v.multiattach,
        });
        return { volume: detail(req, ctx, created, false) };
      },
    }),
    list('summary'),
    list('detail'),
    defineRoute({
      method: 'GET',
      url: '/volumes/summary',
      policy: 'volume:get_all',
      microversion: { min: '3.12' },
      errors: [],
      handler: async ({ req }, ctx) => {
        const q = await volumeListQuery(frame, req, req.query as RawQuery, ctx);
        const { count, size } = await volumes.count({ ...q, marker: undefined });
        const summary: Record<string, unknown> = { total_count: count, total_size: size };
        if (atLeast(req, '3.36')) summary.metadata = {};
        return { 'volume-summary': summary };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/volumes/:volume_id',
      params: VolumeId,
      policy: 'volume:get',
      target: ({ params }, ctx) => target(params.volume_id, ctx),
      errors: [404],
      handler: async ({ params, req }, ctx) => ({ volume: detail(req, ctx, await volumes.getOrThrow(ctx, params.volume_id), true) }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/volumes/:volume_id',
      params: VolumeId,
      body: UpdateBody,
      policy: 'volume:update',
      target: ({ params }, ctx) => target(params.volume_id, ctx),
      errors: [404],
      handler: async ({ params, body, req }, ctx) => {
        const v = body.volume;
        const name = nameOf(v);
        const description = descriptionOf(v);
        checkLength('name', name);
        checkLength('description', description);
        checkMetadata(v.metadata);
        return { volume: detail(req, ctx, await volumes.update(ctx, params.volume_id, { name, description, metadata: v.metadata }), false) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/volumes/:volume_id',
      params: VolumeId,
      status: 202,
      policy: 'volume:delete',
      policyOf: ({ query }) => (q1(query as RawQuery, 'force') !== undefined && parseBool(q1(query as RawQuery, 'force'), 'force') ? 'volume_extension:volume_admin_actions:force_delete' : 'volume:delete'),
      target: ({ params }, ctx) => target(params.volume_id, ctx),
      errors: [400, 404],
      handler: async ({ params, req }, ctx) => {
        const query = req.query as RawQuery;
        const cascade = q1(query, 'cascade') !== undefined && parseBool(q1(query, 'cascade'), 'cascade');
        const force = atLeast(req, '3.23') && q1(query, 'force') !== undefined && parseBool(q1(query, 'force'), 'force');
        await volumes.delete(ctx, params.volume_id, { cascade, force });
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/volumes/:volume_id/metadata',
      params: VolumeId,
      policy: 'volume:get_volume_metadata',
      target: ({ params }, ctx) => target(params.volume_id, ctx),
      errors: [404],
      handler: async ({ params }, ctx) => ({ metadata: await volumes.metadata(ctx, params.volume_id) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/volumes/:volume_id/metadata',
      params: VolumeId,
      body: MetadataBody,
      policy: 'volume:create_volume_metadata',
      target: ({ params }, ctx) => target(params.volume_id, ctx),
      errors: [404],
      handler: async ({ params, body }, ctx) => {
        checkMetadata(body.metadata);
        return { metadata: await volumes.setMetadata(ctx, params.volume_id, body.metadata, false) };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/volumes/:volume_id/metadata',
      params: VolumeId,
      body: MetadataBody,
      policy: 'volume:update_volume_metadata',
      target: ({ params }, ctx) => target(params.volume_id, ctx),
      errors: [404],
      handler: async ({ params, body }, ctx) => {
        checkMetadata(body.metadata);
        return { metadata: await volumes.setMetadata(ctx, params.volume_id, body.metadata, true) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/volumes/:volume_id/metadata/:key',
      params: MetaKey,
      policy: 'volume:get_volume_metadata',
      target: ({ params }, ctx) => target(params.volume_id, ctx),
      errors: [404],
      handler: async ({ params }, ctx) => ({ meta: { [params.key]: await volumes.metadataKey(ctx, params.volume_id, params.key) } }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/volumes/:volume_id/metadata/:key',
      params: MetaKey,
      body: MetaItemBody,
      policy: 'volume:update_volume_metadata',
      target: ({ params }, ctx) => target(params.volume_id, ctx),
      errors: [404],
      handler: async ({ params, body }, ctx) => {
        const keys = Object.keys(body.meta);
        if (keys.length > 1) throw BadRequest('Request body contains too many items', 'volume.too_many_items');
        if (keys[0] !== params.key) throw BadRequest('Request body and URI mismatch', 'volume.uri_mismatch');
        checkMetadata(body.meta);
        await volumes.setMetadata(ctx, params.volume_id, body.meta, false);
        return { meta: body.meta };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/volumes/:volume_id/metadata/:key',
      params: MetaKey,
      policy: 'volume:delete_volume_metadata',
      target: ({ params }, ctx) => target(params.volume_id, ctx),
      errors: [404],
      handler: async ({ params }, ctx) => {
        await volumes.deleteMetadataKey(ctx, params.volume_id, params.key);
        return undefined;
      },
    }),
  ];
}
