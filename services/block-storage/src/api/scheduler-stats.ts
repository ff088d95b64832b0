// GET /scheduler-stats/get_pools (pools and, with detail, their capabilities; filters 3.28, checked
// 3.31, by volume type 3.35) and GET /capabilities/{host} (cinder/api/contrib/scheduler_stats.py,
// capabilities.py); admin only.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import { BadRequest } from '../domain/errors.js';
import { OsServicesService } from '../domain/os-services.service.js';
import { atLeast, parseBool, q1, type RawQuery } from './common.js';
import type { OsServicesFrame } from './services.js';
import { capabilitiesView, poolView } from './services.views.js';

const Query = Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]));

export function schedulerStatsRoutes(frame: OsServicesFrame): AnyRoute[] {
  const svc = () => frame.services.osServices;
  return [
    defineRoute({
      method: 'GET',
      url: '/scheduler-stats/get_pools',
      query: Query,
      policy: 'scheduler_extension:scheduler_stats:get_pools',
      errors: [404],
      response: { 200: Type.Object({ pools: Type.Array(Type.Object({ name: Type.String(), capabilities: Type.Optional(Type.Record(Type.String(), Type.Unknown())) })) }) },
      handler: async ({ query, req }) => {
        const raw = query as RawQuery;
        const detailRaw = q1(raw, 'detail');
        let detail = false;
        if (detailRaw !== undefined) {
          try {
            detail = parseBool(detailRaw, 'detail');
          } catch {
            throw BadRequest(`Value '${detailRaw}' for 'detail' is not a boolean.`);
          }
        }
        // before 3.28 every filter is ignored; from 3.31 only name and volume_type are accepted
        const filters = atLeast(req, '3.28') ? Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'detail').map(([k, v]) => [k, Array.isArray(v) ? v.at(-1)! : v!])) : {};
        if (atLeast(req, '3.31')) OsServicesService.checkPoolFilters(Object.keys(filters));
        const { name, volume_type: volumeType, ...capabilities } = filters;
        const pools = await svc().pools({ name, capabilities, ...(atLeast(req, '3.35') && volumeType !== undefined ? { volumeType } : {}) });
        return { pools: pools.map((p) => poolView(p, detail)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/capabilities/:host_name',
      params: Type.Object({ host_name: Type.String() }),
      policy: 'volume_extension:capabilities',
      errors: [404],
      handler: async ({ params }) => {
        const c = await svc().capabilities(params.host_name);
        return capabilitiesView(c.namespace, c.capabilities);
      },
    }),
  ];
}
