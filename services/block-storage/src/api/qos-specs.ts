// QoS specs routes: list, create, show, set keys, delete, delete_keys, associations and the
// GET-with-query associate / disassociate / disassociate_all (cinder/api/contrib/qos_specs_manage.py).
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import { isAdmin } from '../domain/deps.js';
import { BadRequest } from '../domain/errors.js';
import type { QosService } from '../domain/qos.service.js';
import { QOS_SORT_KEYS, type QosListQuery } from '../store/qos.repo.js';
import { nextLinks, parseBool, parseLimit, parseSort, q1, type BlockStorageFrame, type RawQuery } from './common.js';
import { checkSpecs, SPEC_KEY } from './types.js';
import { qosDetailView, qosSummaryView } from './types.views.js';

/** The frame these routes need: the QoS service besides the core's. */
export type QosFrame = BlockStorageFrame & { services: { qos: QosService } };

const QosId = Type.Object({ qos_id: Type.String() });

/** cinder/api/schemas/qos_specs.py create: a name, and any other keys (the specs). */
const CreateBody = Type.Object(
  { qos_specs: Type.Object({ name: Type.String() }, { additionalProperties: true }) },
  { additionalProperties: false },
);
/** set: the specs (extra_specs_with_null), checked by checkSpecs for jsonschema's wording. */
const SetBody = Type.Object({ qos_specs: Type.Unknown() }, { additionalProperties: false });
/** unset. */
const UnsetBody = Type.Object(
  { keys: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { uniqueItems: true }) },
  { additionalProperties: false },
);

const NOT_FILTERS = new Set(['limit', 'marker', 'offset', 'sort', 'sort_key', 'sort_dir']);
/** What members could filter on (they may not list at all by default). */
const USER_FILTERS = new Set(['id', 'name', 'consumer']);

/** Cinder's 'name_skip_leading_trailing_spaces' format; the name is stored stripped. */
function qosName(name: string): string {
  const stripped = name.trim();
  if (!name) throw BadRequest("An invalid 'name' value was provided. The 'name' can not be None.", 'volume.invalid_name');
  if (!stripped) throw BadRequest("An invalid 'name' value was provided. The 'name' can not be empty.", 'volume.invalid_name');
  if ([...stripped].length > 255) throw BadRequest("An invalid 'name' value was provided. The 'name' can not be greater than 255 characters.", 'volume.invalid_name');
  return stripped;
}

function volTypeId(query: RawQuery): string {
  const id = q1(query, 'vol_type_id');
  if (!id) throw BadRequest('Volume Type id must not be None.', 'volume.qos_no_type');
  return id;
}

export function qosRoutes(frame: QosFrame): AnyRoute[] {
  const { qos } = frame.services;
  const P = 'volume_extension:qos_specs_manage';
  return [
    defineRoute({
      method: 'GET',
      url: '/qos-specs',
      policy: `${P}:get_all`,
      errors: [404],
      handler: async ({ req }, ctx) => {
        const query = req.query as RawQuery;
        const q: QosListQuery = { eq: {}, sort: parseSort(query, QOS_SORT_KEYS), limit: parseLimit(query, frame.maxLimit) };
        for (const key of Object.keys(query).filter((k) => !NOT_FILTERS.has(k))) {
          if (!isAdmin(ctx) && !USER_FILTERS.has(key)) continue;
          // COMPAT(cinder): filters go to the key/value model, which has an id but no name or
          // consumer column, so any filter but id matches nothing
          if (key === 'id') q.eq.id = q1(query, key)!;
          else q.none = true;
        }
        const marker = q1(query, 'marker');
        if (marker) q.marker = await qos.getRowOrThrow(marker);
        const items = q.none ? [] : await qos.list(q);
        const out: Record<string, unknown> = { qos_specs: items.map(qosSummaryView) };
        if (items.length && items.length === q.limit) out.qos_specs_links = nextLinks(frame, req, ctx, 'qos-specs', query, items.at(-1)!.row.id);
        return out;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/qos-specs',
      body: CreateBody,
      policy: `${P}:create`,
      errors: [409],
      handler: async ({ body, req }, ctx) => {
        const { name, ...specs } = body.qos_specs as Record<string, unknown> & { name: string };
        return qosDetailView(frame, req, ctx, await qos.create(ctx, qosName(name), specs));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/qos-specs/:qos_id',
      params: QosId,
      policy: `${P}:get`,
      errors: [404],
      handler: async ({ params, req }, ctx) => qosDetailView(frame, req, ctx, await qos.getOrThrow(params.qos_id)),
    }),
    defineRoute({
      method: 'PUT',
      url: '/qos-specs/:qos_id',
      params: QosId,
      body: SetBody,
      policy: `${P}:update`,
      errors: [404],
      handler: async ({ params, body }, ctx) => {
        const specs = checkSpecs(body.qos_specs, 'qos_specs', SPEC_KEY);
        await qos.update(ctx, params.qos_id, specs);
        return { qos_specs: specs };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/qos-specs/:qos_id',
      params: QosId,
      status: 202,
      policy: `${P}:delete`,
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        const raw = q1(req.query as RawQuery, 'force');
        await qos.delete(ctx, params.qos_id, raw !== undefined && parseBool(raw, 'force'));
        return undefined;
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/qos-specs/:qos_id/delete_keys',
      params: QosId,
      body: UnsetBody,
      status: 202,
      policy: `${P}:delete`,
      errors: [404],
      handler: async ({ params, body }, ctx) => {
        await qos.deleteKeys(ctx, params.qos_id, body.keys);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/qos-specs/:qos_id/associations',
      params: QosId,
      policy: `${P}:get_all`,
      errors: [404],
      handler: async ({ params }) => ({ qos_associations: await qos.associations(params.qos_id) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/qos-specs/:qos_id/associate',
      params: QosId,
      status: 202,
      policy: `${P}:update`,
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        await qos.associate(ctx, params.qos_id, volTypeId(req.query as RawQuery));
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/qos-specs/:qos_id/disassociate',
      params: QosId,
      status: 202,
      policy: `${P}:update`,
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        await qos.disassociate(ctx, params.qos_id, volTypeId(req.query as RawQuery));
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/qos-specs/:qos_id/disassociate_all',
      params: QosId,
      status: 202,
      policy: `${P}:update`,
      errors: [404],
      handler: async ({ params }, ctx) => {
        await qos.disassociateAll(ctx, params.qos_id);
        return undefined;
      },
    }),
  ];
}
