// Regions, services and endpoints.
import type { Selectable } from 'kysely';
import type { Endpoint, EndpointInterface, Region, Service } from '../domain/models.js';
import type { EndpointTable, RegionTable, ServiceTable } from './schema.js';
import { bool, int, parseJson, type Db } from './rows.js';

export const rowToRegion = (r: Selectable<RegionTable>): Region => ({ id: r.id, description: r.description, parentRegionId: r.parent_region_id, extra: parseJson(r.extra, {}) });
export const rowToService = (r: Selectable<ServiceTable>): Service => ({ id: r.id, type: r.type, enabled: bool(r.enabled), extra: parseJson(r.extra, {}) });
export const rowToEndpoint = (r: Selectable<EndpointTable>): Endpoint => ({
  id: r.id,
  interface: r.interface as EndpointInterface,
  serviceId: r.service_id,
  regionId: r.region_id,
  url: r.url,
  enabled: bool(r.enabled),
  extra: parseJson(r.extra, {}),
});

export async function insertRegion(db: Db, r: Region): Promise<void> {
  await db.insertInto('region').values({ id: r.id, description: r.description, parent_region_id: r.parentRegionId, extra: JSON.stringify(r.extra) }).execute();
}
export async function selectRegion(db: Db, id: string): Promise<Region | undefined> {
  const r = await db.selectFrom('region').selectAll().where('id', '=', id).executeTakeFirst();
  return r && rowToRegion(r);
}
export async function selectRegions(db: Db, f: { parentRegionId?: string }): Promise<Region[]> {
  let q = db.selectFrom('region').selectAll();
  if (f.parentRegionId !== undefined) q = q.where('parent_region_id', '=', f.parentRegionId);
  return (await q.orderBy('id').execute()).map(rowToRegion);
}
export async function updateRegionRow(db: Db, r: Region): Promise<void> {
  await db.updateTable('region').set({ description: r.description, parent_region_id: r.parentRegionId, extra: JSON.stringify(r.extra) }).where('id', '=', r.id).execute();
}
export async function deleteRegionRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('region').where('id', '=', id).execute();
}

export async function insertService(db: Db, s: Service): Promise<void> {
  await db.insertInto('service').values({ id: s.id, type: s.type, enabled: int(s.enabled), extra: JSON.stringify(s.extra) }).execute();
}
export async function selectService(db: Db, id: string): Promise<Service | undefined> {
  const r = await db.selectFrom('service').selectAll().where('id', '=', id).executeTakeFirst();
  return r && rowToService(r);
}
export async function selectServices(db: Db, f: { type?: string }): Promise<Service[]> {
  let q = db.selectFrom('service').selectAll();
  if (f.type !== undefined) q = q.where('type', '=', f.type);
  return (await q.orderBy('type').orderBy('id').execute()).map(rowToService);
}
export async function updateServiceRow(db: Db, s: Service): Promise<void> {
  await db.updateTable('service').set({ type: s.type, enabled: int(s.enabled), extra: JSON.stringify(s.extra) }).where('id', '=', s.id).execute();
}
export async function deleteServiceRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('service').where('id', '=', id).execute();
}

export async function insertEndpoint(db: Db, e: Endpoint): Promise<void> {
  await db
    .insertInto('endpoint')
    .values({ id: e.id, interface: e.interface, service_id: e.serviceId, region_id: e.regionId, url: e.url, enabled: int(e.enabled), extra: JSON.stringify(e.extra) })
    .execute();
}
export async function selectEndpoint(db: Db, id: string): Promise<Endpoint | undefined> {
  const r = await db.selectFrom('endpoint').selectAll().where('id', '=', id).executeTakeFirst();
  return r && rowToEndpoint(r);
}
export async function selectEndpoints(db: Db, f: { interface?: string; serviceId?: string; regionId?: string }): Promise<Endpoint[]> {
  let q = db.selectFrom('endpoint').selectAll();
  if (f.interface !== undefined) q = q.where('interface', '=', f.interface);
  if (f.serviceId !== undefined) q = q.where('service_id', '=', f.serviceId);
  if (f.regionId !== undefined) q = q.where('region_id', '=', f.regionId);
  return (await q.orderBy('service_id').orderBy('interface').orderBy('id').execute()).map(rowToEndpoint);
}
export async function updateEndpointRow(db: Db, e: Endpoint): Promise<void> {
  await db
    .updateTable('endpoint')
    .set({ interface: e.interface, service_id: e.serviceId, region_id: e.regionId, url: e.url, enabled: int(e.enabled), extra: JSON.stringify(e.extra) })
    .where('id', '=', e.id)
    .execute();
}
export async function deleteEndpointRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('endpoint').where('id', '=', id).execute();
}
export async function deleteEndpointsOfService(db: Db, serviceId: string): Promise<void> {
  await db.deleteFrom('endpoint').where('service_id', '=', serviceId).execute();
}
