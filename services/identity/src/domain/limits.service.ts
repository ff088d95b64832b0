// Unified limits: registered limits, project and domain limits, and the enforcement model that
// validates them (keystone/limit).
import { newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { CoreDeps } from './deps.js';
import type { CatalogService } from './catalog.service.js';
import type { ResourceService } from './resource.service.js';
import type { EnforcementModel, Limit, RegisteredLimit } from './catalog.models.js';
import { Conflict, ExpectingToFind } from './errors.js';
import { InvalidLimit, LimitNotFound, NoLimitReference, RegisteredLimitInUse, RegisteredLimitNotFound } from './catalog.errors.js';
import {
  deleteLimitRow,
  deleteRegisteredLimitRow,
  insertLimit,
  insertRegisteredLimit,
  registeredLimitInUse,
  selectLimit,
  selectLimits,
  selectRegisteredLimit,
  selectRegisteredLimits,
  updateLimitRow,
  updateRegisteredLimitRow,
  type LimitFilter,
  type RegisteredLimitFilter,
} from '../store/limit.repo.js';

/** GET /v3/limits/model: upstream's names and descriptions, word for word. */
export const ENFORCEMENT_MODELS: Record<EnforcementModel, { name: EnforcementModel; description: string }> = {
  flat: { name: 'flat', description: 'Limit enforcement and validation does not take project hierarchy into consideration.' },
  strict_two_level: { name: 'strict_two_level', description: 'This model requires project hierarchy never exceeds a depth of two' },
};

export interface RegisteredLimitInput {
  serviceId: string;
  regionId?: string | null | undefined;
  resourceName: string;
  defaultLimit: number;
  description?: string | null | undefined;
}

export type RegisteredLimitPatch = Partial<RegisteredLimitInput>;

export interface LimitInput {
  projectId?: string | undefined;
  domainId?: string | undefined;
  serviceId: string;
  regionId?: string | undefined;
  resourceName: string;
  resourceLimit: number;
  description?: string | null | undefined;
}

export interface LimitPatch {
  resourceLimit?: number;
  description?: string | null;
}

/** What a caller's token is scoped to, which bounds the limits it lists. */
export interface LimitViewer {
  system: boolean;
  domainId?: string | undefined;
  projectId?: string | undefined;
}

type Checked = Pick<Limit, 'projectId' | 'domainId' | 'serviceId' | 'regionId' | 'resourceName' | 'resourceLimit'>;

const pyStr = (v: string | number | null) => (v === null ? 'None' : String(v));

export class LimitsService {
  private readonly d: CoreDeps;
  private readonly catalog: CatalogService;
  private readonly resources: ResourceService;
  readonly model: EnforcementModel;

  constructor(deps: CoreDeps, refs: { catalog: CatalogService; resources: ResourceService }, model: EnforcementModel) {
    this.d = deps;
    this.catalog = refs.catalog;
    this.resources = refs.resources;
    this.model = model;
  }

  getModel(): { name: EnforcementModel; description: string } {
    return ENFORCEMENT_MODELS[this.model];
  }

  /**
   * Keystone's _assert_resource_exist: what a limit names must exist, else a 400 naming the
   * field. A project id that is a domain makes the limit a domain limit.
   */
  private async assertRefs<T extends { serviceId?: string | undefined; regionId?: string | null | undefined; projectId?: string | undefined; domainId?: string | undefined }>(
    x: T,
    target: 'registered_limit' | 'limit',
  ): Promise<T> {
    const out = { ...x };
    const missing = (attribute: string) => () => {
      throw ExpectingToFind(attribute, target);
    };
    if (x.serviceId !== undefined) await this.catalog.getServiceOrThrow(x.serviceId).catch(missing('service_id'));
    if (x.regionId !== undefined && x.regionId !== null) await this.catalog.getRegionOrThrow(x.regionId).catch(missing('region_id'));
    if (x.projectId !== undefined) {
      const p = await this.resources.getProjectOrThrow(x.projectId).catch(missing('project_id'));
      if (p.isDomain) {
        out.domainId = x.projectId;
        delete out.projectId;
      }
    }
    if (out.domainId !== undefined) await this.resources.getDomainOrThrow(out.domainId).catch(missing('domain_id'));
    return out;
  }

  // ---- registered limits ------------------------------------------------------------------

  async getRegisteredLimitOrThrow(id: string): Promise<RegisteredLimit> {
    const r = await selectRegisteredLimit(this.d.db, id);
    if (!r) throw RegisteredLimitNotFound(id);
    return r;
  }

  listRegisteredLimits(f: RegisteredLimitFilter): Promise<RegisteredLimit[]> {
    return selectRegisteredLimits(this.d.db, f);
  }

  /** All or nothing: every item is checked, then all are stored in one transaction. */
  async createRegisteredLimits(inputs: RegisteredLimitInput[]): Promise<RegisteredLimit[]> {
    for (const i of inputs) await this.assertRefs(i, 'registered_limit');
    const created = inputs.map(
      (i): RegisteredLimit => ({ id: newHexId(), serviceId: i.serviceId, regionId: i.regionId ?? null, resourceName: i.resourceName, defaultLimit: i.defaultLimit, description: i.description ?? null }),
    );
    try {
      await this.d.db.transaction().execute(async (trx) => {
        for (const r of created) await insertRegisteredLimit(trx, r);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('registered_limit', 'Duplicate entry');
      throw err;
    }
    return created;
  }

  /** Refused while any limit refers to it: the limits would silently change meaning. */
  async updateRegisteredLimit(id: string, patch: RegisteredLimitPatch): Promise<RegisteredLimit> {
    await this.assertRefs(patch, 'registered_limit');
    try {
      return await this.d.db.transaction().execute(async (trx) => {
        const current = await selectRegisteredLimit(trx, id);
        if (!current) throw RegisteredLimitNotFound(id);
        if (await registeredLimitInUse(trx, id)) throw RegisteredLimitInUse(id);
        const next: RegisteredLimit = {
          ...current,
          serviceId: patch.serviceId ?? current.serviceId,
          regionId: patch.regionId === undefined ? current.regionId : patch.regionId,
          resourceName: patch.resourceName ?? current.resourceName,
          defaultLimit: patch.defaultLimit ?? current.defaultLimit,
          description: patch.description === undefined ? current.description : patch.description,
        };
        await updateRegisteredLimitRow(trx, next);
        return next;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('registered_limit', 'Duplicate entry');
      throw err;
    }
  }

  async deleteRegisteredLimit(id: string): Promise<void> {
    await this.d.db.transaction().execute(async (trx) => {
      if (!(await selectRegisteredLimit(trx, id))) throw RegisteredLimitNotFound(id);
      if (await registeredLimitInUse(trx, id)) throw RegisteredLimitInUse(id);
      await deleteRegisteredLimitRow(trx, id);
    });
  }

  // ---- project and domain limits ----------------------------------------------------------

  async getLimitOrThrow(id: string): Promise<Limit> {
    const l = await selectLimit(this.d.db, id);
    if (!l) throw LimitNotFound(id);
    return l;
  }

  /**
   * A system-scoped caller sees every limit; a domain-scoped one its domain's limit and those of
   * the projects in it; a project-scoped one only its project's (keystone/api/limits.py).
   */
  async listLimits(f: LimitFilter, viewer: LimitViewer): Promise<Limit[]> {
    if (viewer.system) return selectLimits(this.d.db, f);
    if (viewer.domainId !== undefined) {
      const domainId = viewer.domainId;
      const projects = new Set((await this.resources.listProjects({ domainId })).map((p) => p.id));
      return (await selectLimits(this.d.db, f)).filter((l) => (l.projectId !== null ? projects.has(l.projectId) : l.domainId === domainId));
    }
    if (viewer.projectId !== undefined) {
      if (f.projectId !== undefined && f.projectId !== viewer.projectId) return [];
      return selectLimits(this.d.db, { ...f, projectId: viewer.projectId });
    }
    return [];
  }

  /** All or nothing, like registered limits; each needs a registered limit for its service, region and resource. */
  async createLimits(inputs: LimitInput[]): Promise<Limit[]> {
    const checked: LimitInput[] = [];
    for (const i of inputs) checked.push(await this.assertRefs(i, 'limit'));
    await this.checkHierarchy(
      checked.map((i) => ({ projectId: i.projectId ?? null, domainId: i.domainId ?? null, serviceId: i.serviceId, regionId: i.regionId ?? null, resourceName: i.resourceName, resourceLimit: i.resourceLimit })),
    );
    try {
      return await this.d.db.transaction().execute(async (trx) => {
        const created: Limit[] = [];
        for (const i of checked) {
          const [registered] = await selectRegisteredLimits(trx, { serviceId: i.serviceId, regionId: i.regionId ?? null, resourceName: i.resourceName });
          if (!registered) throw NoLimitReference();
          const l: Limit = {
            id: newHexId(),
            projectId: i.projectId ?? null,
            domainId: i.domainId ?? null,
            registeredLimitId: registered.id,
            serviceId: i.serviceId,
            regionId: i.regionId ?? null,
            resourceName: i.resourceName,
            resourceLimit: i.resourceLimit,
            description: i.description ?? null,
          };
          await insertLimit(trx, l);
          created.push(l);
        }
        return created;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('limit', 'Duplicate entry');
      throw err;
    }
  }

  /**
   * COMPAT(keystone limit/backends/sql.py update_limit): upstream skips falsy values, so a
   * resource_limit of 0 or an empty description is silently ignored there; here they apply.
   */
  async updateLimit(id: string, patch: LimitPatch): Promise<Limit> {
    const current = await this.getLimitOrThrow(id);
    const next: Limit = {
      ...current,
      resourceLimit: patch.resourceLimit ?? current.resourceLimit,
      description: patch.description === undefined ? current.description : patch.description,
    };
    await this.checkHierarchy([next]);
    await updateLimitRow(this.d.db, next);
    return next;
  }

  async deleteLimit(id: string): Promise<void> {
    await this.getLimitOrThrow(id);
    await deleteLimitRow(this.d.db, id);
  }

  // ---- strict_two_level -------------------------------------------------------------------

  /**
   * keystone/limit/models/strict_two_level.py: a project's limit may not exceed its parent
   * domain's (the domain's own limit, else the registered default; a parent limit given in the
   * same request wins), and a domain's limit may not be below any of its projects' limits.
   * Upstream's truthiness is kept: a parent or child value of 0 is not compared.
   */
  private async checkHierarchy(limits: Checked[]): Promise<void> {
    if (this.model !== 'strict_two_level') return;
    for (const l of limits) {
      if (!(await this.satisfiesHierarchy(l, limits))) {
        const level = l.projectId !== null ? 'project_id' : 'domain_id';
        throw InvalidLimit(
          `The resource limit (${level}: ${pyStr(l.projectId ?? l.domainId)}, resource_name: ${l.resourceName}, resource_limit: ${l.resourceLimit}, service_id: ${l.serviceId}, region_id: ${pyStr(l.regionId)}) doesn't satisfy current hierarchy model.`,
        );
      }
    }
  }

  private async satisfiesHierarchy(l: Checked, batch: Checked[]): Promise<boolean> {
    const same = (x: Checked) => x.serviceId === l.serviceId && x.regionId === l.regionId && x.resourceName === l.resourceName;
    if (l.projectId !== null) {
      const parentId = (await this.resources.getProjectOrThrow(l.projectId)).parentId;
      const inBatch = batch.find((x) => x.domainId !== null && x.domainId === parentId && same(x));
      if (inBatch) return l.resourceLimit <= inBatch.resourceLimit;
      const parent = parentId === null ? null : await this.valueOf(l, { domainId: parentId });
      return !parent || l.resourceLimit <= parent;
    }
    if (l.domainId === null) return true;
    for (const p of await this.resources.listProjects({ domainId: l.domainId })) {
      const child = await this.valueOf(l, { projectId: p.id });
      if (child && l.resourceLimit < child) return false;
    }
    return true;
  }

  /** The limit set for the target, or for a domain without one the registered default. */
  private async valueOf(l: Checked, target: { projectId: string } | { domainId: string }): Promise<number | null> {
    const [own] = await selectLimits(this.d.db, { ...target, serviceId: l.serviceId, regionId: l.regionId, resourceName: l.resourceName });
    if (own) return own.resourceLimit;
    if (!('domainId' in target)) return null;
    const [registered] = await selectRegisteredLimits(this.d.db, { serviceId: l.serviceId, regionId: l.regionId, resourceName: l.resourceName });
    return registered ? registered.defaultLimit : null;
  }
}
