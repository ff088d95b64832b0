// Volume transfer routes on both of Cinder's mounts: the os-volume-transfer extension
// (api/contrib/volume_transfer.py) and /volume-transfers (api/v3/volume_transfer.py: no_snapshots
// 3.55, history 3.57, pages 3.59, encrypted volumes 3.70): create, list, detail, show, delete, accept.
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import { QuotaExceededError } from '@alto/kernel';
import { createValidators, defineRoute, type AnyRoute } from '@alto/http';
import { cinderCheck } from './cinder-validation.js';
import { isAdmin } from '../domain/deps.js';
import type { TransfersService } from '../domain/transfers.service.js';
import { TRANSFER_BOOLEANS, TRANSFER_COLUMNS, TRANSFER_TIMES, type TransferListQuery } from '../store/transfer.repo.js';
import { atLeast, nextLinks, parseLimit, parseSort, q1, type BlockStorageFrame, type RawQuery } from './common.js';
import { parseOffset } from './messages.js';
import { TRANSFER_COLLECTION, TransferSchema, TransferSummarySchema, transferSummaryView, transferView } from './transfers.views.js';

const TransferId = Type.Object({ transfer_id: Type.String() });
const Links = Type.Array(Type.Object({ rel: Type.String(), href: Type.String() }));
const AnyObject = Type.Unsafe<Record<string, unknown>>({ type: 'object' });

// Cinder's schemas (api/schemas/volume_transfer.py) with its two format checkers
const ajv = createValidators().body;
/** oslo uuidutils.is_uuid_like: hyphens, braces and urn:uuid: are allowed around 32 hex digits. */
ajv.addFormat('uuid', (v: string) => /^[0-9a-f]{32}$/i.test(v.replace(/^urn:/i, '').replace(/^uuid:/i, '').replace(/[{}-]/g, '')));
/** validators.py name_skip_leading_trailing_spaces: 1 to 255 characters once stripped. */
ajv.addFormat('name_skip_leading_trailing_spaces', (v: string) => v.trim().length > 0 && v.trim().length <= 255);
const name = { oneOf: [{ type: 'string', format: 'name_skip_leading_trailing_spaces' }, { type: 'null' }] };
const boolean = {
  type: ['boolean', 'string'],
  enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f'],
};
const createSchema = (withSnapshots: boolean) => ({
  type: 'object',
  properties: {
    transfer: {
      type: 'object',
      properties: { volume_id: { type: 'string', format: 'uuid' }, name, ...(withSnapshots ? { no_snapshots: boolean } : {}) },
      required: ['volume_id'],
      additionalProperties: false,
    },
  },
  required: ['transfer'],
  additionalProperties: false,
});
const acceptSchema = {
  type: 'object',
  properties: { accept: { type: 'object', properties: { auth_key: { type: ['string', 'integer'] } }, required: ['auth_key'], additionalProperties: false } },
  required: ['accept'],
  additionalProperties: false,
};

interface CreateBody {
  transfer: { volume_id: string; name?: string | null; no_snapshots?: boolean | string };
}
interface AcceptBody {
  accept: { auth_key: string | number };
}

const checkCreate = cinderCheck<CreateBody>(createSchema(false), ajv);
const checkCreateV355 = cinderCheck<CreateBody>(createSchema(true), ajv);
const checkAccept = cinderCheck<AcceptBody>(acceptSchema, ajv);

/** Sort keys: the model's columns, with the expires_at Cinder keeps (always NULL) and we do not. */
const SORT_KEYS = new Set([...TRANSFER_COLUMNS, 'expires_at']);
const SIZE_OVER_QUOTA = 'VolumeSizeExceedsAvailableQuota: ';

/** oslo bool_from_string, not strict: anything unrecognised is false. */
const truthy = (v: string | boolean | undefined) => (typeof v === 'boolean' ? v : ['1', 't', 'true', 'on', 'y', 'yes'].includes(String(v ?? '').trim().toLowerCase()));

/** The frame these routes need: plugin.ts's services include the transfers service. */
export type TransfersFrame = BlockStorageFrame & { services: { transfers: TransfersService } };

interface Mount {
  base: '/os-volume-transfer' | '/volume-transfers';
  /** The extension's controller: no no_snapshots, no pages, no encrypted volumes at any version. */
  legacy: boolean;
}

/** The transfer list query from Cinder's query string (VolumeTransferController._get_transfers and transfer_get_all*). */
async function transferListQuery(frame: TransfersFrame, req: FastifyRequest, raw: RawQuery, ctx: RequestContext, paged: boolean): Promise<TransferListQuery> {
  const params: RawQuery = { ...raw };
  const q: TransferListQuery = { eq: {}, sort: [] };
  let marker: string | undefined;
  if (paged) {
    q.limit = parseLimit(params, frame.maxLimit);
    marker = q1(params, 'marker');
    q.offset = parseOffset(params);
    const asked = parseSort(params, SORT_KEYS);
    // process_sort_params: created_at and id follow in the first key's direction; Cinder's
    // expires_at is never set, so ordering by it changes nothing
    q.sort = asked.filter((s) => s.key !== 'expires_at');
    for (const key of ['created_at', 'id']) if (!asked.some((s) => s.key === key)) q.sort.push({ key, dir: asked[0]!.dir });
    for (const k of ['limit', 'marker', 'offset', 'sort', 'sort_key', 'sort_dir']) delete params[k];
  } else {
    // COMPAT(cinder volume_transfer.py): the unpaged list is oldest first
    q.sort = [
      { key: 'created_at', dir: 'asc' },
      { key: 'id', dir: 'asc' },
    ];
  }
  if ('name' in params) {
    params.display_name = params.name;
    delete params.name;
  }
  const allTenants = truthy(q1(params, 'all_tenants'));
  delete params.all_tenants;
  const ownerFilter = q1(params, 'project_id');
  delete params.project_id;
  // a member sees the transfers of its project's volumes; an admin every project's with all_tenants
  q.projectId = isAdmin(ctx) && allTenants ? ownerFilter || undefined : (ctx.projectId ?? '');
  for (const key of Object.keys(params)) {
    const value = q1(params, key) ?? '';
    // COMPAT(cinder _process_transfer_filters): every other query key is a filter on the model, and a
    // key the model lacks (limit, offset, sort... on the unpaged list too) answers an empty list
    if (!TRANSFER_COLUMNS.has(key) || TRANSFER_TIMES.has(key)) q.none = true;
    // the database compares booleans with the text as given: accepted=0 matches, accepted=false nothing
    else if (TRANSFER_BOOLEANS.has(key)) {
      if (/^\d+$/.test(value)) q.eq[key] = Number(value);
      else q.none = true;
    } else q.eq[key] = value;
  }
  if (marker) q.marker = await frame.services.transfers.getOrThrow(ctx, marker);
  return q;
}

export function transferRoutes(frame: TransfersFrame): AnyRoute[] {
  const transfers = () => frame.services.transfers;
  const routes: AnyRoute[] = [];
  for (const m of [
    { base: '/os-volume-transfer', legacy: true },
    { base: '/volume-transfers', legacy: false },
  ] satisfies Mount[]) {
    const checkCreateFor = (req: FastifyRequest) => (!m.legacy && atLeast(req, '3.55') ? checkCreateV355 : checkCreate);
    const list = (kind: 'summary' | 'detail') =>
      defineRoute({
        method: 'GET',
        url: kind === 'detail' ? `${m.base}/detail` : m.base,
        policy: 'volume:get_all_transfers',
        errors: [404],
        response: { 200: Type.Object({ transfers: Type.Array(kind === 'detail' ? TransferSchema : TransferSummarySchema), transfers_links: Type.Optional(Links) }) },
        handler: async ({ req }, ctx) => {
          const raw = req.query as RawQuery;
          const q = await transferListQuery(frame, req, raw, ctx, !m.legacy && atLeast(req, '3.59'));
          const rows = await transfers().list(q);
          // COMPAT(cinder common.limited): the page is cut again by the request's offset and limit,
          // so on the paged list an offset counts twice, as upstream does
          const offset = parseOffset(raw);
          const limit = parseLimit(raw, frame.maxLimit);
          const page = rows.slice(offset, offset + (limit || frame.maxLimit));
          const out: Record<string, unknown> = {
            transfers: page.map((t) => (kind === 'detail' ? transferView(frame, req, ctx, t) : transferSummaryView(frame, req, ctx, t))),
          };
          // _get_collection_links: a full page (against the rows before the cut) links onward
          if (page.length && limit <= (rows.length || page.length)) out.transfers_links = nextLinks(frame, req, ctx, TRANSFER_COLLECTION, raw, page.at(-1)!.id);
          return out;
        },
      });
    routes.push(
      defineRoute({
        method: 'POST',
        url: m.base,
        body: AnyObject,
        status: 202,
        policy: 'volume:create_transfer',
        // Cinder validates the body, then loads the volume, then checks the policy on it
        target: async ({ body, req }, ctx) => {
          if (!body || typeof body !== 'object' || Array.isArray(body)) return { project_id: ctx.projectId ?? null, user_id: ctx.userId ?? null };
          return transfers().volumeTarget(ctx, checkCreateFor(req)(body).transfer.volume_id);
        },
        errors: [404],
        response: { 202: Type.Object({ transfer: TransferSchema }) },
        handler: async ({ body, req }, ctx) => {
          const t = checkCreateFor(req)(body).transfer;
          const created = await transfers().create(ctx, {
            volumeId: t.volume_id,
            name: typeof t.name === 'string' ? t.name.trim() : null,
            noSnapshots: !m.legacy && atLeast(req, '3.55') && truthy(t.no_snapshots),
            allowEncrypted: !m.legacy && atLeast(req, '3.70'),
          });
          return { transfer: transferView(frame, req, ctx, created.row, created.authKey) };
        },
      }),
      list('summary'),
      list('detail'),
      defineRoute({
        method: 'GET',
        url: `${m.base}/:transfer_id`,
        params: TransferId,
        policy: 'volume:get_transfer',
        errors: [404],
        response: { 200: Type.Object({ transfer: TransferSchema }) },
        handler: async ({ params, req }, ctx) => ({ transfer: transferView(frame, req, ctx, await transfers().getOrThrow(ctx, params.transfer_id)) }),
      }),
      defineRoute({
        method: 'DELETE',
        url: `${m.base}/:transfer_id`,
        params: TransferId,
        status: 202,
        policy: 'volume:delete_transfer',
        target: async ({ params }, ctx) => transfers().transferVolumeTarget(ctx, params.transfer_id),
        errors: [404],
        handler: async ({ params }, ctx) => {
          await transfers().delete(ctx, params.transfer_id);
          return undefined;
        },
      }),
      defineRoute({
        method: 'POST',
        url: `${m.base}/:transfer_id/accept`,
        params: TransferId,
        body: AnyObject,
        status: 202,
        policy: 'volume:accept_transfer',
        // the body is checked before the policy, as Cinder's decorator does; the target is the caller's own
        target: async ({ body }, ctx) => {
          if (body && typeof body === 'object' && !Array.isArray(body)) checkAccept(body);
          return { project_id: ctx.projectId ?? null, user_id: ctx.userId ?? null };
        },
        errors: [404, 413],
        response: { 202: Type.Object({ transfer: TransferSummarySchema }) },
        handler: async ({ params, body, req }, ctx) => {
          const accepted = await transfers()
            .accept(ctx, params.transfer_id, String(checkAccept(body).accept.auth_key))
            .catch((err: unknown) => {
              // COMPAT(cinder volume_transfer.py accept): this one quota error is re-raised as a bare
              // HTTPRequestEntityTooLarge, so its message loses the exception name the others keep
              if (err instanceof QuotaExceededError && err.message.startsWith(SIZE_OVER_QUOTA)) throw new QuotaExceededError(err.message.slice(SIZE_OVER_QUOTA.length), err.code);
              throw err;
            });
          return { transfer: transferSummaryView(frame, req, ctx, accepted) };
        },
      }),
    );
  }
  return routes;
}
