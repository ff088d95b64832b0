// Backup routes: create, list (summary, detail), show, update (3.9), delete, restore, and the
// admin actions os-reset_status and os-force_delete (cinder/api/contrib/backups.py, api/v3/backups.py).
import Type from 'typebox';
import type { TSchema } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import { defineRoute, type AnyRoute } from '@alto/http';
import { isAdmin } from '../domain/deps.js';
import { BadRequest, InvalidInput } from '../domain/errors.js';
import type { BackupDetail, BackupsService } from '../domain/backups.service.js';
import { BACKUP_SORT_KEYS, type BackupListQuery } from '../store/backup.repo.js';
import { cinderCheck } from './cinder-validation.js';
import { atLeast, columnFilter, nextLinks, parseBool, parseLimit, parseSort, q1, type BlockStorageFrame, type FilterColumns, type RawQuery } from './common.js';
import { backupSummaryView, backupView, restoreView } from './backups.views.js';
import { parseOffset } from './messages.js';

/** The services the backup routes call (added to BlockStorageServices by plugin.ts). */
export interface BackupServices {
  backups: BackupsService;
}
export type BackupFrame = BlockStorageFrame & { services: BlockStorageFrame['services'] & BackupServices };

const BackupId = Type.Object({ backup_id: Type.String() });

// cinder/api/validation/parameter_types.py
const nullableText = Type.Unsafe<string | null>({ type: ['string', 'null'], minLength: 0, maxLength: 255 });
const uuidOrNull = Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'uuid' });
const BOOLEAN_STRINGS = ['True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f'];
const boolean = Type.Unsafe<boolean | string>({ type: ['boolean', 'string'], enum: [true, false, ...BOOLEAN_STRINGS] });
const metadataOrNull = Type.Unsafe<Record<string, string> | null>({
  type: ['object', 'null'],
  patternProperties: { '^[a-zA-Z0-9-_:. /]{1,255}$': { type: 'string', maxLength: 255 } },
  additionalProperties: false,
});
const metadata = Type.Unsafe<Record<string, string>>({
  type: 'object',
  patternProperties: { '^[a-zA-Z0-9-_:. /]{1,255}$': { type: 'string', maxLength: 255 } },
  additionalProperties: false,
});

// cinder/api/schemas/backups.py: create grows metadata at 3.43 and availability_zone at 3.51
const createSchema = (version: 'base' | '3.43' | '3.51'): TSchema =>
  Type.Object(
    {
      backup: Type.Object(
        {
          volume_id: Type.String({ format: 'uuid' }),
          container: Type.Optional(nullableText),
          description: Type.Optional(nullableText),
          incremental: Type.Optional(boolean),
          force: Type.Optional(boolean),
          name: Type.Optional(nullableText),
          snapshot_id: Type.Optional(uuidOrNull),
          ...(version !== 'base' ? { metadata: Type.Optional(metadataOrNull) } : {}),
          ...(version === '3.51' ? { availability_zone: Type.Optional(nullableText) } : {}),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  );
interface CreateInput {
  backup: {
    volume_id: string;
    container?: string | null;
    description?: string | null;
    incremental?: boolean | string;
    force?: boolean | string;
    name?: string | null;
    snapshot_id?: string | null;
    metadata?: Record<string, string> | null;
    availability_zone?: string | null;
  };
}
const updateSchema = (withMetadata: boolean): TSchema =>
  Type.Object(
    {
      backup: Type.Unsafe({
        type: ['object', 'null'],
        properties: { name: nullableText, description: nullableText, ...(withMetadata ? { metadata } : {}) },
        additionalProperties: false,
      }),
    },
    { additionalProperties: false },
  );
interface UpdateInput {
  backup: { name?: string | null; description?: string | null; metadata?: Record<string, string> } | null;
}
const RestoreBody = Type.Object(
  { restore: Type.Unsafe({ type: ['object', 'null'], properties: { name: nullableText, volume_id: uuidOrNull }, additionalProperties: false }) },
  { additionalProperties: false },
);
interface RestoreInput {
  restore: { name?: string | null; volume_id?: string | null } | null;
}
const ResetBody = Type.Object(
  { 'os-reset_status': Type.Object({ status: Type.String() }, { additionalProperties: false }) },
  { additionalProperties: false },
);

/** Filters members may use (Cinder's default resource_filters.json for backups). */
const USER_FILTERS = new Set(['name', 'status', 'volume_id']);
/** Query keys that are not filters. */
const NOT_FILTERS = new Set(['limit', 'marker', 'sort', 'sort_key', 'sort_dir', 'offset', 'all_tenants']);
/** Filters on columns, by their wire name. */
const COLUMN_OF: Record<string, string> = {
  name: 'name', display_name: 'name', description: 'description', display_description: 'description', status: 'status', volume_id: 'volume_id', id: 'id',
  project_id: 'project_id', user_id: 'user_id', host: 'host', availability_zone: 'availability_zone', snapshot_id: 'snapshot_id', parent_id: 'parent_id',
  container: 'container', size: 'size', object_count: 'object_count', is_incremental: 'is_incremental',
};
const FILTER_COLUMNS: FilterColumns = { columnOf: COLUMN_OF, booleans: new Set(['is_incremental']), numeric: new Set(['size', 'object_count']) };

const MALFORMED = 'The server could not comply with the request since it is either malformed or otherwise incorrect.';

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) throw BadRequest(MALFORMED);
  return body as Record<string, unknown>;
}

/** Cinder's name/description check (validate_name_and_description without length: the schema bounds them). */
function stripped(v: string | null | undefined): string | null | undefined {
  return typeof v === 'string' ? v.trim() : v;
}

/** The backup list query from Cinder's query string, per caller (admins filter on anything). */
export async function backupListQuery(frame: BackupFrame, req: FastifyRequest, query: RawQuery, ctx: RequestContext): Promise<BackupListQuery> {
  const admin = isAdmin(ctx);
  const rawAll = q1(query, 'all_tenants');
  let allTenants = false;
  if (admin && rawAll !== undefined) {
    if (!/^(1|0|t|f|true|false|on|off|y|n|yes|no)$/i.test(rawAll.trim())) throw InvalidInput(`all_tenants must be a boolean, got '${rawAll}'.`);
    allTenants = parseBool(rawAll, 'all_tenants');
  }
  // COMPAT(cinder 3.37): sorting by name (display_name) came with BACKUP_SORT_NAME
  const sort = parseSort(query, BACKUP_SORT_KEYS, atLeast(req, '3.37') ? { display_name: 'name', display_description: 'description' } : { display_name: 'name', display_description: 'description', name: '-' });
  const q: BackupListQuery = {
    projectId: allTenants ? undefined : (ctx.projectId ?? ''),
    eq: {},
    like: {},
    metadata: {},
    sort,
    limit: parseLimit(query, frame.maxLimit),
    offset: parseOffset(query),
  };
  const notFilters = new Set([...NOT_FILTERS, ...(atLeast(req, '3.45') ? ['with_count'] : [])]);
  let keys = Object.keys(query).filter((k) => !notFilters.has(k));
  if (!admin) {
    const invalid = keys.filter((k) => !USER_FILTERS.has(k));
    // COMPAT(cinder 3.31): resource filters reject what is not configured; before, they were dropped
    if (invalid.length && atLeast(req, '3.31')) throw BadRequest(`Invalid filters ${invalid.join(',')} are found in query options.`, 'volume.invalid_filters');
    keys = keys.filter((k) => USER_FILTERS.has(k));
  }
  for (const key of keys) {
    const raw = q1(query, key)!;
    columnFilter(q, req, key, raw, FILTER_COLUMNS);
  }
  const marker = q1(query, 'marker');
  if (marker) q.marker = await frame.services.backups.getRowOrThrow(ctx, marker);
  return q;
}

export function backupRoutes(frame: BackupFrame): AnyRoute[] {
  const svc = () => frame.services.backups;
  const checks = { base: cinderCheck<CreateInput>(createSchema('base')), '3.43': cinderCheck<CreateInput>(createSchema('3.43')), '3.51': cinderCheck<CreateInput>(createSchema('3.51')) };
  const parseCreate = (body: unknown, req: FastifyRequest) => checks[atLeast(req, '3.51') ? '3.51' : atLeast(req, '3.43') ? '3.43' : 'base'](objectBody(body));
  const updateChecks = { base: cinderCheck<UpdateInput>(updateSchema(false)), meta: cinderCheck<UpdateInput>(updateSchema(true)) };
  const checkRestore = cinderCheck<RestoreInput>(RestoreBody);
  const checkReset = cinderCheck<{ 'os-reset_status': { status: string } }>(ResetBody);
  const backupTarget = async (id: string, ctx: RequestContext) => svc().target(await svc().getRowOrThrow(ctx, id));
  const detail = (req: FastifyRequest, ctx: RequestContext, b: BackupDetail, withProject: boolean) => backupView(frame, req, ctx, b, { projectAttribute: withProject });

  const list = (kind: 'summary' | 'detail') =>
    defineRoute({
      method: 'GET',
      url: kind === 'detail' ? '/backups/detail' : '/backups',
      policy: 'backup:get_all',
      errors: [404],
      handler: async ({ req }, ctx) => {
        const query = req.query as RawQuery;
        const q = await backupListQuery(frame, req, query, ctx);
        const items = await svc().list(q);
        const withProject = kind === 'detail' && svc().projectAttribute(ctx);
        const out: Record<string, unknown> = {
          backups: items.map((b) => (kind === 'detail' ? detail(req, ctx, b, withProject) : backupSummaryView(frame, req, ctx, b))),
        };
        if (items.length && items.length === q.limit) out.backups_links = nextLinks(frame, req, ctx, kind === 'detail' ? 'backups/detail' : 'backups', query, items.at(-1)!.row.id);
        if (atLeast(req, '3.45') && q1(query, 'with_count') !== undefined && parseBool(q1(query, 'with_count'), 'with_count')) {
          out.count = await svc().count({ ...q, marker: undefined, offset: undefined });
        }
        return out;
      },
    });

  return [
    defineRoute({
      method: 'POST',
      url: '/backups',
      status: 202,
      policy: 'backup:create',
      // Cinder checks the body, finds the volume (404), then authorizes against it
      target: async ({ body, req }, ctx) => {
        const { backup } = parseCreate(body, req);
        return frame.services.volumes.target(await frame.services.volumes.getRowOrThrow(ctx, backup.volume_id));
      },
      errors: [400, 404, 413, 503],
      handler: async ({ body, req }, ctx) => {
        const { backup: b } = parseCreate(body, req);
        const created = await svc().create(ctx, {
          volumeId: b.volume_id,
          name: stripped(b.name),
          description: stripped(b.description),
          container: b.container,
          incremental: b.incremental === undefined ? false : parseBool(b.incremental, 'incremental'),
          force: b.force === undefined ? false : parseBool(b.force, 'force'),
          snapshotId: b.snapshot_id,
          metadata: atLeast(req, '3.43') ? b.metadata : undefined,
          availabilityZone: atLeast(req, '3.51') ? b.availability_zone : undefined,
        });
        return { backup: backupSummaryView(frame, req, ctx, created) };
      },
    }),
    list('summary'),
    list('detail'),
    defineRoute({
      method: 'GET',
      url: '/backups/:backup_id',
      params: BackupId,
      policy: 'backup:get',
      target: ({ params }, ctx) => backupTarget(params.backup_id, ctx),
      errors: [404],
      handler: async ({ params, req }, ctx) => ({ backup: detail(req, ctx, await svc().getOrThrow(ctx, params.backup_id), svc().projectAttribute(ctx)) }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/backups/:backup_id',
      params: BackupId,
      policy: 'backup:update',
      microversion: { min: '3.9' },
      target: ({ params }, ctx) => backupTarget(params.backup_id, ctx),
      errors: [400, 404],
      handler: async ({ params, body, req }, ctx) => {
        const { backup: b } = updateChecks[atLeast(req, '3.43') ? 'meta' : 'base'](objectBody(body));
        const updated = await svc().update(ctx, params.backup_id, {
          name: b && 'name' in b ? stripped(b.name) : undefined,
          description: b && 'description' in b ? stripped(b.description) : undefined,
          metadata: b?.metadata,
        });
        return { backup: backupSummaryView(frame, req, ctx, updated) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/backups/:backup_id',
      params: BackupId,
      status: 202,
      policy: 'backup:delete',
      target: ({ params }, ctx) => backupTarget(params.backup_id, ctx),
      errors: [400, 404],
      handler: async ({ params }, ctx) => {
        await svc().delete(ctx, params.backup_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/backups/:backup_id/restore',
      params: BackupId,
      status: 202,
      policy: 'backup:restore',
      target: ({ params }, ctx) => backupTarget(params.backup_id, ctx),
      errors: [400, 404, 413],
      handler: async ({ params, body }, ctx) => {
        const { restore } = checkRestore(objectBody(body));
        return restoreView(await svc().restore(ctx, params.backup_id, { volumeId: restore?.volume_id, name: restore?.name }));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/backups/:backup_id/action',
      params: BackupId,
      status: 202,
      policy: 'volume_extension:backup_admin_actions:reset_status',
      policyOf: ({ body }) =>
        body && typeof body === 'object' && 'os-force_delete' in body ? 'volume_extension:backup_admin_actions:force_delete' : 'volume_extension:backup_admin_actions:reset_status',
      target: ({ params }, ctx) => backupTarget(params.backup_id, ctx),
      errors: [400, 404],
      handler: async ({ params, body }, ctx) => {
        const b = objectBody(body);
        const [action] = Object.keys(b);
        if (action === 'os-force_delete') {
          await svc().delete(ctx, params.backup_id, { force: true });
          return undefined;
        }
        if (action === 'os-reset_status') {
          const status = checkReset(b)['os-reset_status'].status;
          // COMPAT(cinder zed): the backup_status format checker's own words
          if (!['available', 'error'].includes(status.toLowerCase())) throw BadRequest(`Backup status: ${status} is invalid, valid statuses are: ['available', 'error'].`);
          await svc().resetStatus(ctx, params.backup_id, status.toLowerCase() as 'available' | 'error');
          return undefined;
        }
        throw BadRequest(`There is no such action: ${action ?? ''}`, 'volume.no_such_action');
      },
    }),
  ];
}
