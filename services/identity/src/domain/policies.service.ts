// Policy blobs (/v3/policies) and OS-ENDPOINT-POLICY: which policy applies to an endpoint.
import { newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { Caller, CoreDeps } from './deps.js';
import type { CatalogService } from './catalog.service.js';
import type { Endpoint, Extra } from './models.js';
import type { Policy, PolicyTarget } from './catalog.models.js';
import { NoPolicyForEndpoint, PolicyAssociationNotFound, PolicyNotFound } from './catalog.errors.js';
import {
  deleteAssociation,
  deleteAssociationsOf,
  deletePolicyRow,
  insertAssociation,
  insertPolicy,
  selectAssociationByTarget,
  selectAssociationsOfPolicy,
  selectPolicies,
  selectPolicy,
  setAssociationPolicy,
  targetKeyOf,
  updatePolicyRow,
} from '../store/policy.repo.js';

export class PoliciesService {
  private readonly d: CoreDeps;
  private readonly catalog: CatalogService;

  constructor(deps: CoreDeps, refs: { catalog: CatalogService }) {
    this.d = deps;
    this.catalog = refs.catalog;
  }

  // ---- policies ---------------------------------------------------------------------------

  async getPolicyOrThrow(id: string): Promise<Policy> {
    const p = await selectPolicy(this.d.db, id);
    if (!p) throw PolicyNotFound(id);
    return p;
  }

  listPolicies(f: { type?: string }): Promise<Policy[]> {
    return selectPolicies(this.d.db, f);
  }

  async createPolicy(input: { type: string; blob: string; extra?: Extra }, caller: Caller): Promise<Policy> {
    const p: Policy = { id: newHexId(), type: input.type, blob: input.blob, extra: input.extra ?? {} };
    await insertPolicy(this.d.db, p);
    this.d.notifier.resource('created', 'policy', p.id, caller.initiator);
    return p;
  }

  async updatePolicy(id: string, patch: { type?: string; blob?: string; extra?: Extra }, caller: Caller): Promise<Policy> {
    const current = await this.getPolicyOrThrow(id);
    const next: Policy = { ...current, type: patch.type ?? current.type, blob: patch.blob ?? current.blob, extra: { ...current.extra, ...patch.extra } };
    await updatePolicyRow(this.d.db, next);
    this.d.notifier.resource('updated', 'policy', id, caller.initiator);
    return next;
  }

  /** Its endpoint associations go too (upstream leaves them dangling, and they then answer 404). */
  async deletePolicy(id: string, caller: Caller): Promise<void> {
    await this.getPolicyOrThrow(id);
    await this.d.db.transaction().execute(async (trx) => {
      await deleteAssociationsOf(trx, 'policy_id', id);
      await deletePolicyRow(trx, id);
    });
    this.d.notifier.resource('deleted', 'policy', id, caller.initiator);
  }

  // ---- OS-ENDPOINT-POLICY -----------------------------------------------------------------

  /** Upstream's lookups before the association itself: policy, then endpoint, service and region (404s). */
  private async assertTarget(policyId: string, t: PolicyTarget): Promise<void> {
    await this.getPolicyOrThrow(policyId);
    if ('endpointId' in t) {
      await this.catalog.getEndpointOrThrow(t.endpointId);
      return;
    }
    await this.catalog.getServiceOrThrow(t.serviceId);
    if (t.regionId !== undefined) await this.catalog.getRegionOrThrow(t.regionId);
  }

  /** A target has at most one policy: associating another one replaces it, as Keystone does. */
  async associate(policyId: string, t: PolicyTarget): Promise<void> {
    await this.assertTarget(policyId, t);
    const key = targetKeyOf(t);
    const row = { id: newHexId(), policy_id: policyId, endpoint_id: null, service_id: null, region_id: null, ...columnsOf(t), target_key: key };
    if (await selectAssociationByTarget(this.d.db, key)) {
      await setAssociationPolicy(this.d.db, key, policyId);
      return;
    }
    try {
      await insertAssociation(this.d.db, row);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      await setAssociationPolicy(this.d.db, key, policyId); // associated meanwhile by someone else
    }
  }

  async checkAssociation(policyId: string, t: PolicyTarget): Promise<void> {
    await this.assertTarget(policyId, t);
    const row = await selectAssociationByTarget(this.d.db, targetKeyOf(t));
    if (row?.policy_id !== policyId) throw PolicyAssociationNotFound();
  }

  /** Deleting an association that is not there is not an error upstream. */
  async dissociate(policyId: string, t: PolicyTarget): Promise<void> {
    await this.assertTarget(policyId, t);
    await deleteAssociation(this.d.db, policyId, targetKeyOf(t));
  }

  /**
   * The policy for an endpoint: one associated with the endpoint itself, else with its service
   * in its region or the nearest parent region that has one, else with its service.
   */
  async policyForEndpoint(endpointId: string): Promise<Policy> {
    const endpoint = await this.catalog.getEndpointOrThrow(endpointId);
    const policyOf = async (t: Parameters<typeof targetKeyOf>[0]) => (await selectAssociationByTarget(this.d.db, targetKeyOf(t)))?.policy_id;
    let policyId = await policyOf({ endpointId });
    const seen = new Set<string>();
    for (let region = endpoint.regionId; policyId === undefined && region !== null && !seen.has(region); ) {
      seen.add(region);
      policyId = await policyOf({ serviceId: endpoint.serviceId, regionId: region });
      region = (await this.catalog.getRegionOrThrow(region)).parentRegionId;
    }
    policyId ??= await policyOf({ serviceId: endpoint.serviceId });
    if (policyId === undefined) throw NoPolicyForEndpoint(endpointId);
    return this.getPolicyOrThrow(policyId);
  }

  /**
   * The endpoints a policy applies to, association by association, as upstream lists them: an
   * endpoint, a service's endpoints, or a service's endpoints in a region and its child regions.
   */
  async endpointsForPolicy(policyId: string): Promise<Endpoint[]> {
    await this.getPolicyOrThrow(policyId);
    const endpoints = await this.catalog.listEndpoints({});
    const regions = await this.catalog.listRegions({});
    const out: Endpoint[] = [];
    for (const a of await selectAssociationsOfPolicy(this.d.db, policyId)) {
      if (a.endpoint_id !== null) {
        out.push(await this.catalog.getEndpointOrThrow(a.endpoint_id));
      } else if (a.service_id !== null && a.region_id === null) {
        out.push(...endpoints.filter((e) => e.serviceId === a.service_id));
      } else if (a.service_id !== null && a.region_id !== null) {
        const tree = new Set<string>([a.region_id]);
        for (let grew = true; grew; ) {
          grew = false;
          for (const r of regions) {
            if (r.parentRegionId !== null && tree.has(r.parentRegionId) && !tree.has(r.id)) {
              tree.add(r.id);
              grew = true;
            }
          }
        }
        out.push(...endpoints.filter((e) => e.serviceId === a.service_id && e.regionId !== null && tree.has(e.regionId)));
      }
    }
    return out;
  }
}

function columnsOf(t: PolicyTarget): { endpoint_id?: string; service_id?: string; region_id?: string } {
  if ('endpointId' in t) return { endpoint_id: t.endpointId };
  return { service_id: t.serviceId, ...(t.regionId !== undefined ? { region_id: t.regionId } : {}) };
}
