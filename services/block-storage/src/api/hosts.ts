// os-hosts (admin, deprecated upstream but still served): the services as hosts, and a
// cinder-volume host's volume and snapshot usage per project (cinder/api/contrib/hosts.py).
import Type from 'typebox';
import { NotFoundError } from '@alto/kernel';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { BlockStorageCoreDeps } from '../domain/deps.js';
import { cinderTime, q1, type RawQuery } from './common.js';

export interface HostsFrame {
  core: Pick<BlockStorageCoreDeps, 'db' | 'clock' | 'config'>;
}

const HostNotFound = (host: string) => new NotFoundError(`Host ${host} could not be found.`, 'volume.host_not_found');

export function hostRoutes(frame: HostsFrame): AnyRoute[] {
  const { db, clock, config } = frame.core;
  /** Enabled services as Cinder's _list_hosts shows them (zone filter, alive within service_down_time). */
  const listHosts = async (zone?: string) => {
    let q = db.selectFrom('service').selectAll().where('disabled', '=', 0);
    if (zone) q = q.where('availability_zone', '=', zone);
    const now = clock.nowMs();
    return (await q.orderBy('host').execute()).map((s) => ({
      host_name: s.host,
      service: s.topic,
      zone: s.availability_zone,
      'service-status': Math.abs(now - Number(s.updated_at ?? s.created_at)) <= config.serviceDownSeconds * 1000 ? 'available' : 'unavailable',
      'service-state': s.disabled ? 'disabled' : 'enabled',
      'last-update': cinderTime(s.updated_at),
    }));
  };
  return [
    defineRoute({
      method: 'GET',
      url: '/os-hosts',
      policy: 'volume_extension:hosts',
      errors: [],
      handler: async ({ req }) => ({ hosts: await listHosts(q1(req.query as RawQuery, 'zone')) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/os-hosts/:host',
      params: Type.Object({ host: Type.String() }),
      policy: 'volume_extension:hosts',
      errors: [404],
      handler: async ({ params }) => {
        const host = params.host;
        const service = await db.selectFrom('service').select('host').where('host', '=', host).where('topic', '=', 'cinder-volume').executeTakeFirst();
        if (!service) throw HostNotFound(host);
        // volumes live on host#pool; the host's usage counts every pool
        const volumes = await db
          .selectFrom('volume')
          .select((eb) => ['project_id', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size').as('gb')])
          .where('deleted', '=', 0)
          .where((eb) => eb.or([eb('volume.host', '=', host), eb('volume.host', 'like', `${host}#%`)]))
          .groupBy('project_id')
          .execute();
        const snapshots = await db
          .selectFrom('snapshot')
          .innerJoin('volume as v', 'v.id', 'snapshot.volume_id')
          .select((eb) => ['snapshot.project_id', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('snapshot.volume_size').as('gb')])
          .where('snapshot.deleted', '=', 0)
          .where((eb) => eb.or([eb('v.host', '=', host), eb('v.host', 'like', `${host}#%`)]))
          .groupBy('snapshot.project_id')
          .execute();
        const snapOf = new Map(snapshots.map((s) => [s.project_id, { n: Number(s.n), gb: Number(s.gb ?? 0) }]));
        const resource = (project: string, vn: number, vgb: number, sn: number, sgb: number) => ({
          resource: { host, project, volume_count: String(vn), total_volume_gb: String(vgb), snapshot_count: String(sn), total_snapshot_gb: String(sgb) },
        });
        const perProject = volumes.map((v) => resource(v.project_id, Number(v.n), Number(v.gb ?? 0), snapOf.get(v.project_id)?.n ?? 0, snapOf.get(v.project_id)?.gb ?? 0));
        const sum = (f: (r: (typeof perProject)[number]['resource']) => string) => perProject.reduce((a, r) => a + Number(f(r.resource)), 0);
        return {
          host: [
            resource('(total)', sum((r) => r.volume_count), sum((r) => r.total_volume_gb), sum((r) => r.snapshot_count), sum((r) => r.total_snapshot_gb)),
            ...perProject,
          ],
        };
      },
    }),
  ];
}
