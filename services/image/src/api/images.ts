// /v2/images: create, list, show, JSON-patch update, delete, deactivate/reactivate, tags.
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { defineRoute, requestBaseUrl, RawBody, type AnyRoute } from '@alto/http';
import { AltoError, type RequestContext } from '@alto/kernel';
import type { MemberStatus, Visibility } from '../domain/models.js';
import { BadRequest, ReadOnly, Reserved } from '../domain/errors.js';
import { RESERVED_NAMESPACE, type Change, type NewImage } from '../domain/images.service.js';
import type { Comparison, ImageFilters, SortKey, SortSpec } from '../store/image.repo.js';
import { all, imageTargetOf, one, proposedTarget, strictBool, type ImageFrame } from './common.js';
import { imageView } from './views.js';

const ImageId = Type.Object({ image_id: Type.String() });
const ImageTag = Type.Object({ image_id: Type.String(), tag_value: Type.String() });

/** Keys no request may set; Glance answers 403 "Attribute 'x' is read-only." */
const DISALLOWED = ['direct_url', 'self', 'file', 'schema', 'stores'];
const READ_ONLY = ['created_at', 'updated_at', 'status', 'checksum', 'size', 'virtual_size', 'direct_url', 'self', 'file', 'schema', 'id', 'os_hash_algo', 'os_hash_value'];
/** Read-only on create (Glance's _disallowed_properties plus the computed ones). */
const CREATE_READ_ONLY = ['created_at', 'updated_at', 'status', 'checksum', 'size', 'virtual_size'];
const RESERVED = ['location', 'deleted', 'deleted_at'];
const SORT_KEYS: SortKey[] = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'];
const PATCH_TYPES = ['application/openstack-images-v2.1-json-patch', 'application/openstack-images-v2.0-json-patch'];
const ACCEPT_PATCH = [...PATCH_TYPES].sort().join(', ');

/** Headers Glance adds to image create/show answers so clients learn import methods and stores. */
function discoveryHeaders(frame: ImageFrame, reply: FastifyReply): void {
  void reply.header('openstack-image-import-methods', frame.importMethods.join(','));
  if (frame.multiStore) void reply.header('openstack-image-store-ids', frame.storeIds.join(','));
}

function parseCreate(body: Record<string, unknown>): NewImage {
  const props: Record<string, string> = {};
  const out: NewImage = { properties: props };
  for (const [k, v] of Object.entries(body)) {
    switch (k) {
      case 'id':
        out.id = v as string;
        break;
      case 'name':
        out.name = v as string | null;
        break;
      case 'visibility':
        out.visibility = v as Visibility;
        break;
      case 'protected':
        out.protected = v as boolean;
        break;
      case 'os_hidden':
        out.osHidden = v as boolean;
        break;
      case 'owner':
        out.owner = v as string | null;
        break;
      case 'disk_format':
        out.diskFormat = v as string | null;
        break;
      case 'container_format':
        out.containerFormat = v as string | null;
        break;
      case 'min_disk':
        out.minDisk = v as number;
        break;
      case 'min_ram':
        out.minRam = v as number;
        break;
      case 'tags':
        out.tags = v as string[];
        break;
      case 'locations':
        // COMPAT(glance): locations need show_multiple_locations, which stays off
        throw Reserved('locations');
      case 'os_hash_algo':
      case 'os_hash_value':
        // COMPAT(glance zed): accepted on create and ignored
        break;
      default:
        if (RESERVED.includes(k) || k.startsWith(RESERVED_NAMESPACE)) throw Reserved(k);
        props[k] = v as string;
    }
  }
  return out;
}

/** Reads a JSON-patch body (Glance's draft-10 style: {"op", "path", "value"}). */
export function parsePatch(frame: ImageFrame, body: unknown, draft: 4 | 10 = 10): Change[] {
  if (!Array.isArray(body)) throw BadRequest('Request body must be a JSON array of operation objects.');
  const changes: Change[] = [];
  for (const raw of body as unknown[]) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw BadRequest('Operations must be JSON objects.');
    const r = raw as Record<string, unknown>;
    let op: unknown;
    let rawPath: unknown;
    if (draft === 10) {
      op = r.op;
      if (op === undefined) throw BadRequest('Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.');
      if (op !== 'add' && op !== 'remove' && op !== 'replace') {
        throw BadRequest(`Invalid operation: \`${JSON.stringify(op)}\`. It must be one of the following: add, remove, replace.`);
      }
      if (r.path === undefined) throw BadRequest("Unable to find 'path' in JSON Schema change");
      rawPath = r.path;
    } else {
      // COMPAT(glance openstack-images-v2.0-json-patch): draft 4 names the op as the member key
      const ops = (['add', 'remove', 'replace'] as const).filter((k) => k in r);
      if (ops.length > 1) throw BadRequest('Operation objects must contain only one member named "add", "remove", or "replace".');
      if (ops.length === 0) throw BadRequest('Operation objects must contain exactly one member named "add", "remove", or "replace".');
      op = ops[0];
      rawPath = r[ops[0]!];
    }
    const pointer = typeof rawPath === 'string' ? rawPath : JSON.stringify(rawPath);
    const path = decodePointer(pointer);
    const root = path[0]!;
    const depth = root === 'locations' ? (op === 'replace' ? 1 : 2) : 1;
    if (path.length !== depth) throw BadRequest(`Invalid JSON pointer for this resource: '/${path.join('/')}'`);
    const change: Change = { op: op as Change['op'], path, draft };
    if (change.op !== 'remove') {
      if (!('value' in r)) throw BadRequest(`Operation "${change.op}" requires a member named "value".`);
      change.value = r.value;
    }
    if (READ_ONLY.includes(root)) throw ReadOnly(root);
    if (RESERVED.includes(root) || root.startsWith(RESERVED_NAMESPACE)) throw Reserved(root);
    if (op !== 'remove' && root !== 'locations') frame.validate('image', { [root]: change.value });
    changes.push(change);
  }
  return changes;
}

function decodePointer(pointer: string): string[] {
  if (!pointer.startsWith('/')) throw BadRequest(`Pointer \`${pointer}\` does not start with "/".`);
  if (/\/\s*?\//.test(pointer.slice(1))) throw BadRequest(`Pointer \`${pointer}\` contains adjacent "/".`);
  if (pointer.length > 1 && pointer.endsWith('/')) throw BadRequest(`Pointer \`${pointer}\` end with "/".`);
  if (pointer.slice(1).trim() === '/') throw BadRequest(`Pointer \`${pointer}\` does not contains valid token.`);
  if (/~[^01]/.test(pointer) || pointer.endsWith('~')) throw BadRequest(`Pointer \`${pointer}\` contains "~" not part of a recognized escape sequence.`);
  return pointer
    .replace(/^\/+/, '')
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~').trim());
}

interface ParsedList {
  visibility?: Visibility | 'all';
  memberStatus: MemberStatus | 'all';
  filters: ImageFilters;
  sort: SortSpec[];
  marker?: string;
  limit: number;
}

const TIME_OPS = new Set(['eq', 'neq', 'gt', 'gte', 'lt', 'lte']);

/** Glance's index params: filters (with `in:` lists and time operators), both sort syntaxes, paging. */
export function parseListQuery(frame: ImageFrame, q: Record<string, unknown>): ParsedList {
  const params = { ...q };
  const take = (k: string) => {
    const v = params[k];
    delete params[k];
    return v;
  };
  let limit = frame.limitDefault;
  const rawLimit = one(take('limit'));
  if (rawLimit !== undefined) {
    if (!/^-?\d+$/.test(rawLimit.trim())) throw BadRequest('limit param must be an integer');
    const n = Number(rawLimit);
    if (n < 0) throw BadRequest('limit param must be positive');
    limit = Math.min(n, frame.limitMax);
  }
  const marker = one(take('marker'));
  const memberStatus = one(take('member_status')) ?? 'accepted';
  if (!['pending', 'accepted', 'rejected', 'all'].includes(memberStatus)) throw BadRequest(`Invalid status: ${memberStatus}`);
  const tags = all(take('tag')).map((t) => t.trim());

  const sort: SortSpec[] = [];
  const checkKey = (k: string): SortKey => {
    if (!SORT_KEYS.includes(k as SortKey)) throw BadRequest(`Invalid sort key: ${k}. It must be one of the following: ${SORT_KEYS.join(', ')}.`);
    return k as SortKey;
  };
  const checkDir = (d: string): 'asc' | 'desc' => {
    if (d !== 'asc' && d !== 'desc') throw BadRequest(`Invalid sort direction: ${d}`);
    return d;
  };
  const newSort = one(take('sort'));
  const sortKeys = all(take('sort_key'));
  const sortDirs = all(take('sort_dir'));
  if (newSort !== undefined) {
    if (sortKeys.length || sortDirs.length) throw BadRequest('Old and new sorting syntax cannot be combined');
    for (const part of newSort.trim().split(',')) {
      const [k, d] = part.split(':');
      sort.push({ key: checkKey(k!.trim()), dir: checkDir((d ?? 'desc').trim() || 'desc') });
    }
  } else {
    const keys = sortKeys.map((k) => checkKey(k.trim()));
    const dirs = sortDirs.map((d) => checkDir(d.trim()));
    if (dirs.length > 1 && dirs.length !== keys.length) throw BadRequest('Number of sort dirs does not match the number of sort keys');
    const effectiveKeys = keys.length ? keys : (['created_at'] as SortKey[]);
    const defaultDir = dirs.length === 1 ? dirs[0]! : 'desc';
    effectiveKeys.forEach((k, i) => sort.push({ key: k, dir: dirs.length > 1 ? dirs[i]! : defaultDir }));
  }
  // Glance appends created_at and id so that pages are stable
  const lastDir = sort.length === 1 || new Set(sort.map((s) => s.dir)).size === 1 ? sort[0]!.dir : 'desc';
  if (!sort.some((s) => s.key === 'created_at')) sort.push({ key: 'created_at', dir: lastDir });

  const visibility = one(take('visibility'));
  if (visibility !== undefined && !['community', 'public', 'private', 'shared', 'all'].includes(visibility)) {
    throw BadRequest(`Invalid visibility value: ${visibility}`);
  }
  const filters: ImageFilters = {};
  if (tags.length) filters.tags = tags;
  const changesSince = one(take('changes-since'));
  if (changesSince !== undefined) {
    // Deliberate difference (docs/image.md): upstream v2 refuses changes-since; we answer it as
    // updated_at > the time given, the filter v1 clients relied on.
    filters.updatedAt = [{ op: 'gt', ms: parseTime('changes-since', changesSince) }];
  }
  const inList = (k: string, raw: string): string[] => {
    const m = /^(\w+):(.*)$/.exec(raw);
    if (m && m[1] === 'in') return splitQuoted(m[2]!);
    if (m && m[1] === 'eq') return [m[2]!];
    if (m && k !== 'name') throw BadRequest(`Unable to filter by unknown operator '${m[1]}'.`);
    return [raw];
  };
  for (const [k, rawV] of Object.entries(params)) {
    const v = one(rawV)!;
    switch (k) {
      case 'name':
        filters.name = inList(k, v);
        break;
      case 'id':
        filters.id = inList(k, v);
        break;
      case 'status':
        filters.status = inList(k, v);
        break;
      case 'disk_format':
        filters.diskFormat = inList(k, v);
        break;
      case 'container_format':
        filters.containerFormat = inList(k, v);
        break;
      case 'owner':
        filters.owner = [v];
        break;
      case 'protected':
        filters.protected = strictBool(v, `Invalid value '${v}' for 'protected' filter. Valid values are 'true' or 'false'.`);
        break;
      case 'os_hidden':
        filters.osHidden = strictBool(v, `Invalid value '${v}' for 'os_hidden' filter. Valid values are 'true' or 'false'.`);
        break;
      case 'size_min':
      case 'size_max': {
        if (!/^-?\d+$/.test(v.trim())) throw BadRequest('Unable to filter on a range with a non-numeric value.');
        if (k === 'size_min') filters.sizeMin = Number(v);
        else filters.sizeMax = Number(v);
        break;
      }
      case 'created_at':
      case 'updated_at': {
        const m = /^(\w+):(.*)$/.exec(v);
        const op = m && TIME_OPS.has(m[1]!) ? (m[1] as Comparison) : 'eq';
        const ms = parseTime(k, m && TIME_OPS.has(m[1]!) ? m[2]! : v);
        (k === 'created_at' ? (filters.createdAt ??= []) : (filters.updatedAt ??= [])).push({ op, ms });
        break;
      }
      case 'checksum':
      case 'os_hash_value':
      case 'os_hash_algo':
      case 'min_disk':
      case 'min_ram':
      case 'size':
      case 'virtual_size':
        // COMPAT(glance): a filter named after an image column compares that column
        (filters.core ??= {})[k] = v;
        break;
      default:
        (filters.properties ??= {})[k] = [v];
    }
  }
  const parsed: ParsedList = { memberStatus: memberStatus as MemberStatus | 'all', filters, sort, limit };
  if (visibility !== undefined) parsed.visibility = visibility as Visibility | 'all';
  if (marker !== undefined) parsed.marker = marker;
  return parsed;
}

function parseTime(key: string, value: string): number {
  const ms = Date.parse(value.includes('T') || value.length > 10 ? value : `${value}T00:00:00Z`);
  if (Number.isNaN(ms)) throw BadRequest(`Bad "${key}" query filter format. Use ISO 8601 DateTime notation.`);
  return ms;
}

/** `in:a,"b,c",d` -> ['a', 'b,c', 'd'] (Glance's split_filter_value_for_quotes). */
function splitQuoted(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function listLinks(req: FastifyRequest, images: { id: string }[], limit: number): Record<string, string> {
  const url = new URL(req.url, 'http://x');
  url.searchParams.delete('marker');
  const first = `/v2/images${url.search}`;
  const links: Record<string, string> = { first, schema: '/v2/schemas/images' };
  if (images.length > 0 && images.length === limit) {
    url.searchParams.set('marker', images[images.length - 1]!.id);
    links.next = `/v2/images${url.search}`;
  }
  return links;
}

export function imageRoutes(frame: ImageFrame): AnyRoute[] {
  const s = frame.services;
  const view = (i: Parameters<typeof imageView>[0]) => imageView(i, { multiStore: frame.multiStore, showDirectUrl: frame.showDirectUrl });
  const target = (input: { params: { image_id: string } }, ctx: RequestContext) => imageTargetOf(frame, ctx, input.params.image_id);
  const jsonBody = (body: unknown): Record<string, unknown> => {
    if (body === undefined || body instanceof RawBody) throw BadRequest('Body expected in request.');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw BadRequest('Body expected in request.');
    return body as Record<string, unknown>;
  };

  return [
    defineRoute({
      method: 'POST',
      url: '/v2/images',
      policy: 'add_image',
      target: (input, ctx) => proposedTarget(ctx, (typeof input.body === 'object' && input.body && !(input.body instanceof RawBody) ? input.body : {}) as Record<string, unknown>),
      status: 201,
      errors: [403, 409, 413],
      handler: async ({ body, req, reply }, ctx) => {
        const b = jsonBody(body);
        for (const k of DISALLOWED) if (k in b) throw ReadOnly(k);
        frame.validate('image', b);
        for (const k of CREATE_READ_ONLY) if (k in b) throw ReadOnly(k);
        const image = await s.images.create(ctx, parseCreate(b));
        void reply.header('location', `${requestBaseUrl(req)}/v2/images/${image.id}`);
        discoveryHeaders(frame, reply);
        return view(image);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v2/images',
      policy: 'get_images',
      target: (_input, ctx) => ({ project_id: ctx.projectId ?? null }),
      errors: [],
      handler: async ({ query, req }, ctx) => {
        const p = parseListQuery(frame, query as Record<string, unknown>);
        const images = p.limit === 0 ? [] : await s.images.list(ctx, p);
        return { images: images.map(view), ...listLinks(req, images, p.limit) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v2/images/:image_id',
      params: ImageId,
      policy: 'get_image',
      target,
      errors: [404],
      handler: async ({ params, reply }, ctx) => {
        discoveryHeaders(frame, reply);
        return view(await s.images.getImageOrThrow(ctx, params.image_id));
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v2/images/:image_id',
      params: ImageId,
      policy: 'modify_image',
      target,
      errors: [404, 409, 413, 415],
      handler: async ({ params, body, req, reply }, ctx) => {
        const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim();
        if (!PATCH_TYPES.includes(type)) {
          void reply.header('accept-patch', ACCEPT_PATCH);
          throw new AltoError('unsupported_media_type', 'image.patch_type', 'Unsupported Content-Type');
        }
        const changes = parsePatch(frame, body instanceof RawBody ? parseRawJson(body) : body, type === PATCH_TYPES[1] ? 4 : 10);
        discoveryHeaders(frame, reply);
        return view(await s.images.update(ctx, params.image_id, changes));
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v2/images/:image_id',
      params: ImageId,
      policy: 'delete_image',
      target,
      status: 204,
      errors: [403, 404, 409],
      handler: async ({ params }, ctx) => {
        await s.images.delete(ctx, params.image_id);
        s.data.kickDeletes();
        return undefined;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v2/images/:image_id/actions/deactivate',
      params: ImageId,
      policy: 'deactivate',
      target,
      status: 204,
      errors: [403, 404],
      handler: async ({ params }, ctx) => {
        await s.images.deactivate(ctx, params.image_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v2/images/:image_id/actions/reactivate',
      params: ImageId,
      policy: 'reactivate',
      target,
      status: 204,
      errors: [403, 404],
      handler: async ({ params }, ctx) => {
        await s.images.reactivate(ctx, params.image_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v2/images/:image_id/tags/:tag_value',
      params: ImageTag,
      policy: 'modify_image',
      target,
      status: 204,
      errors: [400, 404, 413],
      handler: async ({ params }, ctx) => {
        if (params.tag_value.length > 255) frame.validate('image', { tags: [params.tag_value] });
        await s.images.addTag(ctx, params.image_id, params.tag_value);
        return undefined;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v2/images/:image_id/tags/:tag_value',
      params: ImageTag,
      policy: 'modify_image',
      target,
      status: 204,
      errors: [404],
      handler: async ({ params }, ctx) => {
        await s.images.deleteTag(ctx, params.image_id, params.tag_value);
        return undefined;
      },
    }),
  ];
}

function parseRawJson(body: RawBody): unknown {
  try {
    return JSON.parse(body.data.toString('utf8'));
  } catch {
    throw BadRequest('Malformed JSON in request body.');
  }
}
