// Regions, services and endpoints, and the catalog built from them for tokens.
import { ConflictError, newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { Endpoint, EndpointInterface, Extra, Region, Service } from './models.js';
import { BadRequest, Conflict, EndpointNotFound, Forbidden, RegionNotFound, ServiceNotFound } from './errors.js';
import type { Caller, CoreDeps } from './deps.js';
import {
  deleteEndpointRow,
  deleteEndpointsOfService,
  deleteRegionRow,
  deleteServiceRow,
  insertEndpoint,
  insertRegion,
  insertService,
  selectEndpoint,
  selectEndpoints,
  selectRegion,
  selectRegions,
  selectService,
  selectServices,
  updateEndpointRow,
  updateRegionRow,
  updateServiceRow,
} from '../store/catalog.repo.js';

export interface CatalogEntry {
  id: string;
  type: string;
  name: string;
  endpoints: { id: string; interface: EndpointInterface; region_id: string | null; url: string; region: string | null }[];
}

/** `$(project_id)s`-style substitutions Keystone performs in endpoint URLs. */
const SUBST = /\$\((\w+)\)s/g;

export class CatalogService {
  private readonly d: CoreDeps;
  private cached: { generation: number; services: Service[]; endpoints: Endpoint[] } | undefined;

  constructor(deps: CoreDeps) {
    this.d = deps;
  }

  // ---- regions ----------------------------------------------------------------------------

  async getRegionOrThrow(id: string): Promise<Region> {
    const r = await selectRegion(this.d.db, id);
    if (!r) throw RegionNotFound(id);
    return r;
  }

  listRegions(f: { parentRegionId?: string }): Promise<Region[]> {
    return selectRegions(this.d.db, f);
  }

  private async checkParent(id: string, parentId: string | null): Promise<void> {
    if (!parentId) return;
    if (parentId === id) throw BadRequest(`The specified parent region ${parentId} would create a circular region hierarchy.`, 'identity.region_cycle');
    // walk up from the parent: meeting ourselves means a cycle
    let cur: string | null = parentId;
    const seen = new Set<string>();
    while (cur) {
      if (cur === id) throw BadRequest(`The specified parent region ${parentId} would create a circular region hierarchy.`, 'identity.region_cycle');
      if (seen.has(cur)) break;
      seen.add(cur);
      const r = await selectRegion(this.d.db, cur);
      if (!r) throw RegionNotFound(cur);
      cur = r.parentRegionId;
    }
  }

  async createRegion(input: { id?: string; description?: string; parentRegionId?: string | null; extra?: Extra }, caller: Caller | undefined): Promise<Region> {
    const region: Region = { id: input.id ?? newHexId(), description: input.description ?? '', parentRegionId: input.parentRegionId ?? null, extra: input.extra ?? {} };
    await this.checkParent(region.id, region.parentRegionId);
    try {
      await insertRegion(this.d.db, region);
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('region', `Duplicate ID, ${region.id}.`);
      throw err;
    }
    this.d.invalidator.invalidate('region created');
    if (caller) this.d.notifier.resource('created', 'region', region.id, caller.initiator);
    return region;
  }

  async updateRegion(id: string, patch: { description?: string; parentRegionId?: string | null; extra?: Extra }, caller: Caller): Promise<Region> {
    const current = await this.getRegionOrThrow(id);
    const next: Region = {
      ...current,
      description: patch.description ?? current.description,
      parentRegionId: patch.parentRegionId === undefined ? current.parentRegionId : patch.parentRegionId,
      extra: patch.extra ? { ...current.extra, ...patch.extra } : current.extra,
    };
    await this.checkParent(id, next.parentRegionId);
    await updateRegionRow(this.d.db, next);
    this.d.invalidator.invalidate('region updated');
    this.d.notifier.resource('updated', 'region', id, caller.initiator);
    return next;
  }

  /** Child regions go too (Keystone cascades), unless any of them has endpoints. */
  async deleteRegion(id: string, caller: Caller): Promise<void> {
    await this.getRegionOrThrow(id);
    await this.d.db.transaction().execute(async (trx) => {
      const all = await selectRegions(trx, {});
      const doomed = [id];
      for (let i = 0; i < doomed.length; i++) for (const r of all) if (r.parentRegionId === doomed[i]) doomed.push(r.id);
      for (const r of doomed) {
        if ((await selectEndpoints(trx, { regionId: r })).length) {
          throw Forbidden(`Unable to delete region ${id} because it or its child regions have associated endpoints.`, 'identity.region_in_use');
        }
      }
      for (const r of doomed.reverse()) await deleteRegionRow(trx, r);
    });
    this.d.invalidator.invalidate('region deleted');
    this.d.notifier.resource('deleted', 'region', id, caller.initiator);
  }

  // ---- services ---------------------------------------------------------------------------

  async getServiceOrThrow(id: string): Promise<Service> {
    const s = await selectService(this.d.db, id);
    if (!s) throw ServiceNotFound(id);
    return s;
  }

  listServices(f: { type?: string; name?: string }): Promise<Service[]> {
    return selectServices(this.d.db, { ...(f.type !== undefined ? { type: f.type } : {}) }).then((all) => (f.name === undefined ? all : all.filter((s) => s.extra.name === f.name)));
  }

  async createService(input: { type: string; enabled?: boolean; extra?: Extra }, caller: Caller | undefined): Promise<Service> {
    const s: Service = { id: newHexId(), type: input.type, enabled: input.enabled ?? true, extra: input.extra ?? {} };
    await insertService(this.d.db, s);
    this.d.invalidator.invalidate('service created');
    if (caller) this.d.notifier.resource('created', 'service', s.id, caller.initiator);
    return s;
  }

  async updateService(id: string, patch: { type?: string; enabled?: boolean; extra?: Extra }, caller: Caller): Promise<Service> {
    const current = await this.getServiceOrThrow(id);
    const next: Service = { ...current, type: patch.type ?? current.type, enabled: patch.enabled ?? current.enabled, extra: patch.extra ? { ...current.extra, ...patch.extra } : current.extra };
    await updateServiceRow(this.d.db, next);
    this.d.invalidator.invalidate('service updated');
    this.d.notifier.resource('updated', 'service', id, caller.initiator);
    return next;
  }

  async deleteService(id: string, caller: Caller): Promise<void> {
    await this.getServiceOrThrow(id);
    await this.d.db.transaction().execute(async (trx) => {
      await deleteEndpointsOfService(trx, id);
      await deleteServiceRow(trx, id);
    });
    this.d.invalidator.invalidate('service deleted');
    this.d.notifier.resource('deleted', 'service', id, caller.initiator);
  }

  // ---- endpoints --------------------------------------------------------------------------

  async getEndpointOrThrow(id: string): Promise<Endpoint> {
    const e = await selectEndpoint(this.d.db, id);
    if (!e) throw EndpointNotFound(id);
    return e;
  }

  listEndpoints(f: { interface?: string; serviceId?: string; regionId?: string }): Promise<Endpoint[]> {
    return selectEndpoints(this.d.db, f);
  }

  private async checkRefs(serviceId: string, regionId: string | null): Promise<void> {
    if (!(await selectService(this.d.db, serviceId))) throw ServiceNotFound(serviceId);
    if (regionId && !(await selectRegion(this.d.db, regionId))) throw RegionNotFound(regionId);
  }

  /**
   * A region named with the legacy `region` field (not `region_id`) is created when missing,
   * as Keystone does for clients that still speak the v2 way.
   */
  async ensureLegacyRegion(regionId: string, caller: Caller | undefined): Promise<void> {
    if (await selectRegion(this.d.db, regionId)) return;
    await this.createRegion({ id: regionId }, caller).catch((err: unknown) => {
      if (!(err instanceof ConflictError)) throw err; // created meanwhile by someone else
    });
  }

  async createEndpoint(input: { interface: EndpointInterface; serviceId: string; regionId?: string | null; url: string; enabled?: boolean; extra?: Extra }, caller: Caller | undefined): Promise<Endpoint> {
    const e: Endpoint = {
      id: newHexId(),
      interface: input.interface,
      serviceId: input.serviceId,
      regionId: input.regionId ?? null,
      url: input.url,
      enabled: input.enabled ?? true,
      extra: input.extra ?? {},
    };
    await this.checkRefs(e.serviceId, e.regionId);
    await insertEndpoint(this.d.db, e);
    this.d.invalidator.invalidate('endpoint created');
    if (caller) this.d.notifier.resource('created', 'endpoint', e.id, caller.initiator);
    return e;
  }

  async updateEndpoint(id: string, patch: Partial<Pick<Endpoint, 'interface' | 'serviceId' | 'regionId' | 'url' | 'enabled'>> & { extra?: Extra }, caller: Caller): Promise<Endpoint> {
    const current = await this.getEndpointOrThrow(id);
    const next: Endpoint = {
      ...current,
      interface: patch.interface ?? current.interface,
      serviceId: patch.serviceId ?? current.serviceId,
      regionId: patch.regionId === undefined ? current.regionId : patch.regionId,
      url: patch.url ?? current.url,
      enabled: patch.enabled ?? current.enabled,
      extra: patch.extra ? { ...current.extra, ...patch.extra } : current.extra,
    };
    await this.checkRefs(next.serviceId, next.regionId);
    await updateEndpointRow(this.d.db, next);
    this.d.invalidator.invalidate('endpoint updated');
    this.d.notifier.resource('updated', 'endpoint', id, caller.initiator);
    return next;
  }

  async deleteEndpoint(id: string, caller: Caller): Promise<void> {
    await this.getEndpointOrThrow(id);
    await deleteEndpointRow(this.d.db, id);
    this.d.invalidator.invalidate('endpoint deleted');
    this.d.notifier.resource('deleted', 'endpoint', id, caller.initiator);
  }

  // ---- catalog ----------------------------------------------------------------------------

  /**
   * The v3 catalog: enabled services with their enabled endpoints, URLs substituted for the
   * project; endpoints whose URL needs a value we do not have are left out, as Keystone does.
   */
  async catalogFor(projectId: string | undefined, userId: string): Promise<CatalogEntry[]> {
    const gen = this.d.invalidator.generation;
    if (this.cached?.generation !== gen) {
      this.cached = { generation: gen, services: await selectServices(this.d.db, {}), endpoints: await selectEndpoints(this.d.db, {}) };
    }
    const values: Record<string, string | undefined> = { tenant_id: projectId, project_id: projectId, user_id: userId };
    const out: CatalogEntry[] = [];
    for (const s of this.cached.services) {
      if (!s.enabled) continue;
      const endpoints: CatalogEntry['endpoints'] = [];
      for (const e of this.cached.endpoints) {
        if (e.serviceId !== s.id || !e.enabled) continue;
        let missing = false;
        const url = e.url.replace(SUBST, (_m, key: string) => {
          const v = values[key];
          if (v === undefined) missing = true;
          return v ?? '';
        });
        if (!missing) endpoints.push({ id: e.id, interface: e.interface, region_id: e.regionId, url, region: e.regionId });
      }
      out.push({ id: s.id, type: s.type, name: typeof s.extra.name === 'string' ? s.extra.name : '', endpoints });
    }
    return out;
  }

  /** The identity service's id, the observer in CADF events. */
  identityServiceId(): string | undefined {
    return this.cached?.services.find((s) => s.type === 'identity')?.id;
  }
}
