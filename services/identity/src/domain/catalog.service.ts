// Regions, services and endpoints, and the catalog built from them for tokens (filtered per
// project by OS-EP-FILTER associations).
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
import { selectEndpointGroups, selectEndpointIdsOfProject, selectGroupIdsOfProject, deleteProjectEndpointsOfEndpoint } from '../store/endpoint-filter.repo.js';
import { deleteAssociationsOf } from '../store/policy.repo.js';
import type { EndpointGroupFilters } from './catalog.models.js';
import type { Db } from '../store/rows.js';

export interface CatalogEntry {
  id: string;
  type: string;
  name: string;
  endpoints: { id: string; interface: EndpointInterface; region_id: string | null; url: string; region: string | null }[];
}

export interface CatalogOptions {
  /** `[endpoint_filter] return_all_endpoints_if_no_filter`: a project without associations sees every endpoint. */
  returnAllEndpointsIfNoFilter?: boolean;
}

/** `$(project_id)s`-style substitutions Keystone performs in endpoint URLs. */
const SUBST = /\$\((\w+)\)s/g;

/** Projects whose endpoint filter is remembered at once; past that the memory starts over. */
const MAX_CACHED_FILTERS = 10_000;

/** An endpoint group matches an endpoint when every attribute it names is equal (Keystone's filter). */
export function endpointMatchesGroup(e: Endpoint, filters: EndpointGroupFilters): boolean {
  const attrs: Record<string, unknown> = { service_id: e.serviceId, region_id: e.regionId, interface: e.interface };
  return Object.entries(filters).every(([k, v]) => attrs[k] === v);
}

export class CatalogService {
  private readonly d: CoreDeps;
  private readonly returnAll: boolean;
  private cached: { generation: number; services: Service[]; endpoints: Endpoint[]; filters: Map<string, ReadonlySet<string>> } | undefined;

  constructor(deps: CoreDeps, opts: CatalogOptions = {}) {
    this.d = deps;
    this.returnAll = opts.returnAllEndpointsIfNoFilter ?? true;
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
      for (const r of doomed.reverse()) {
        await deleteAssociationsOf(trx, 'region_id', r);
        await deleteRegionRow(trx, r);
      }
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
      for (const e of await selectEndpoints(trx, { serviceId: id })) await this.deleteEndpointRefs(trx, e.id);
      await deleteAssociationsOf(trx, 'service_id', id);
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
    await this.d.db.transaction().execute(async (trx) => {
      await this.deleteEndpointRefs(trx, id);
      await deleteEndpointRow(trx, id);
    });
    this.d.invalidator.invalidate('endpoint deleted');
    this.d.notifier.resource('deleted', 'endpoint', id, caller.initiator);
  }

  /** Project associations and policy associations of an endpoint go with it, as Keystone's callbacks do. */
  private async deleteEndpointRefs(trx: Db, endpointId: string): Promise<void> {
    await deleteProjectEndpointsOfEndpoint(trx, endpointId);
    await deleteAssociationsOf(trx, 'endpoint_id', endpointId);
  }

  // ---- catalog ----------------------------------------------------------------------------

  /**
   * OS-EP-FILTER: the endpoints associated with a project directly or through its endpoint
   * groups, in that order, disabled ones included (GET /v3/OS-EP-FILTER/projects/{id}/endpoints).
   */
  async endpointsOfProject(projectId: string): Promise<Endpoint[]> {
    return this.projectFilter(projectId, await selectEndpoints(this.d.db, {}));
  }

  private async projectFilter(projectId: string, endpoints: Endpoint[]): Promise<Endpoint[]> {
    const byId = new Map(endpoints.map((e) => [e.id, e]));
    const out = new Map<string, Endpoint>();
    for (const id of await selectEndpointIdsOfProject(this.d.db, projectId)) {
      const e = byId.get(id);
      if (e) out.set(id, e);
    }
    const groups = await selectEndpointGroups(this.d.db, { ids: await selectGroupIdsOfProject(this.d.db, projectId) });
    for (const g of groups) for (const e of endpoints) if (!out.has(e.id) && endpointMatchesGroup(e, g.filters)) out.set(e.id, e);
    return [...out.values()];
  }

  private async loaded() {
    const gen = this.d.invalidator.generation;
    if (this.cached?.generation !== gen) {
      this.cached = { generation: gen, services: await selectServices(this.d.db, {}), endpoints: await selectEndpoints(this.d.db, {}), filters: new Map() };
    }
    return this.cached;
  }

  /**
   * The v3 catalog: enabled services with their enabled endpoints, URLs substituted for the
   * project; endpoints whose URL needs a value we do not have are left out, as Keystone does.
   * A project with OS-EP-FILTER associations sees only those endpoints, and only the services
   * that keep at least one; without associations it sees everything, or nothing when
   * `return_all_endpoints_if_no_filter` is off (keystone/catalog/backends/sql.py get_v3_catalog).
   */
  async catalogFor(projectId: string | undefined, userId: string): Promise<CatalogEntry[]> {
    const cached = await this.loaded();
    let filter: ReadonlySet<string> | undefined;
    if (projectId !== undefined) {
      filter = cached.filters.get(projectId);
      if (!filter) {
        filter = new Set((await this.projectFilter(projectId, cached.endpoints)).map((e) => e.id));
        if (cached.filters.size >= MAX_CACHED_FILTERS) cached.filters.clear();
        cached.filters.set(projectId, filter);
      }
      if (filter.size === 0) filter = undefined;
    }
    if (!filter && !this.returnAll) return [];
    const values: Record<string, string | undefined> = { tenant_id: projectId, project_id: projectId, user_id: userId };
    const out: CatalogEntry[] = [];
    for (const s of cached.services) {
      if (!s.enabled) continue;
      const endpoints: CatalogEntry['endpoints'] = [];
      for (const e of cached.endpoints) {
        if (e.serviceId !== s.id || !e.enabled || (filter && !filter.has(e.id))) continue;
        let missing = false;
        const url = e.url.replace(SUBST, (_m, key: string) => {
          const v = values[key];
          if (v === undefined) missing = true;
          return v ?? '';
        });
        if (!missing) endpoints.push({ id: e.id, interface: e.interface, region_id: e.regionId, url, region: e.regionId });
      }
      if (filter && endpoints.length === 0) continue;
      out.push({ id: s.id, type: s.type, name: typeof s.extra.name === 'string' ? s.extra.name : '', endpoints });
    }
    return out;
  }

  /** The identity service's id, the observer in CADF events. */
  identityServiceId(): string | undefined {
    return this.cached?.services.find((s) => s.type === 'identity')?.id;
  }
}
