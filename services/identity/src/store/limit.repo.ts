// Unified limits: registered limits (a service's defaults) and project or domain limits.
import type { Selectable } from 'kysely';
import type { Limit, RegisteredLimit } from '../domain/catalog.models.js';
import type { RegisteredLimitTable } from './schema.js';
import type { Db } from './rows.js';

const rowToRegistered = (r: Selectable<RegisteredLimitTable>): RegisteredLimit => ({
  id: r.id,
  serviceId: r.service_id,
  regionId: r.region_id,
  resourceName: r.resource_name,
  defaultLimit: Number(r.default_limit),
  description: r.description,
});

export interface RegisteredLimitFilter {
  serviceId?: string;
  /** null: registered limits without a region. */
  regionId?: string | null;
  resourceName?: string;
}

export async function insertRegisteredLimit(db: Db, r: RegisteredLimit): Promise<void> {
  await db
    .insertInto('registered_limit')
    .values({
      id: r.id,
      service_id: r.serviceId,
      region_id: r.regionId,
      region_key: r.regionId ?? '',
      resource_name: r.resourceName,
      default_limit: r.defaultLimit,
      description: r.description,
    })
    .execute();
}

export async function selectRegisteredLimit(db: Db, id: string): Promise<RegisteredLimit | undefined> {
  const r = await db.selectFrom('registered_limit').selectAll().where('id', '=', id).executeTakeFirst();
  return r && rowToRegistered(r);
}

export async function selectRegisteredLimits(db: Db, f: RegisteredLimitFilter): Promise<RegisteredLimit[]> {
  let q = db.selectFrom('registered_limit').selectAll();
  if (f.serviceId !== undefined) q = q.where('service_id', '=', f.serviceId);
  if (f.regionId === null) q = q.where('region_key', '=', '');
  else if (f.regionId !== undefined) q = q.where('region_id', '=', f.regionId);
  if (f.resourceName !== undefined) q = q.where('resource_name', '=', f.resourceName);
  return (await q.orderBy('service_id').orderBy('region_key').orderBy('resource_name').execute()).map(rowToRegistered);
}

export async function updateRegisteredLimitRow(db: Db, r: RegisteredLimit): Promise<void> {
  await db
    .updateTable('registered_limit')
    .set({ service_id: r.serviceId, region_id: r.regionId, region_key: r.regionId ?? '', resource_name: r.resourceName, default_limit: r.defaultLimit, description: r.description })
    .where('id', '=', r.id)
    .execute();
}

export async function deleteRegisteredLimitRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('registered_limit').where('id', '=', id).execute();
}

export async function registeredLimitInUse(db: Db, id: string): Promise<boolean> {
  const r = await db.selectFrom('project_limit').select('id').where('registered_limit_id', '=', id).limit(1).executeTakeFirst();
  return r !== undefined;
}

export interface LimitFilter extends RegisteredLimitFilter {
  projectId?: string;
  domainId?: string;
  id?: string;
}

/** Limits joined with their registered limit, which carries service, region and resource. */
export async function selectLimits(db: Db, f: LimitFilter): Promise<Limit[]> {
  let q = db
    .selectFrom('project_limit as l')
    .innerJoin('registered_limit as r', 'r.id', 'l.registered_limit_id')
    .select(['l.id', 'l.project_id', 'l.domain_id', 'l.registered_limit_id', 'l.resource_limit', 'l.description', 'r.service_id', 'r.region_id', 'r.resource_name']);
  if (f.id !== undefined) q = q.where('l.id', '=', f.id);
  if (f.projectId !== undefined) q = q.where('l.project_id', '=', f.projectId);
  if (f.domainId !== undefined) q = q.where('l.domain_id', '=', f.domainId);
  if (f.serviceId !== undefined) q = q.where('r.service_id', '=', f.serviceId);
  if (f.regionId === null) q = q.where('r.region_key', '=', '');
  else if (f.regionId !== undefined) q = q.where('r.region_id', '=', f.regionId);
  if (f.resourceName !== undefined) q = q.where('r.resource_name', '=', f.resourceName);
  const rows = await q.orderBy('r.service_id').orderBy('r.region_key').orderBy('r.resource_name').orderBy('l.target_key').execute();
  return rows.map((r) => ({
    id: r.id,
    projectId: r.project_id,
    domainId: r.domain_id,
    registeredLimitId: r.registered_limit_id,
    serviceId: r.service_id,
    regionId: r.region_id,
    resourceName: r.resource_name,
    resourceLimit: Number(r.resource_limit),
    description: r.description,
  }));
}

export async function selectLimit(db: Db, id: string): Promise<Limit | undefined> {
  return (await selectLimits(db, { id }))[0];
}

export async function insertLimit(db: Db, l: Limit): Promise<void> {
  await db
    .insertInto('project_limit')
    .values({
      id: l.id,
      project_id: l.projectId,
      domain_id: l.domainId,
      target_key: l.projectId ?? l.domainId ?? '',
      registered_limit_id: l.registeredLimitId,
      resource_limit: l.resourceLimit,
      description: l.description,
    })
    .execute();
}

export async function updateLimitRow(db: Db, l: Limit): Promise<void> {
  await db.updateTable('project_limit').set({ resource_limit: l.resourceLimit, description: l.description }).where('id', '=', l.id).execute();
}

export async function deleteLimitRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('project_limit').where('id', '=', id).execute();
}

/** The limits of a project or of a domain (both are rows of the project table). */
export async function deleteLimitsOfTarget(db: Db, targetId: string): Promise<void> {
  await db.deleteFrom('project_limit').where('target_key', '=', targetId).execute();
}
