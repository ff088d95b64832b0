// Policy blobs and their OS-ENDPOINT-POLICY associations with endpoints, services and regions.
import type { Selectable } from 'kysely';
import type { Policy } from '../domain/catalog.models.js';
import type { PolicyAssociationTable, PolicyTable } from './schema.js';
import { parseJson, type Db } from './rows.js';

export type PolicyAssociationRow = Selectable<PolicyAssociationTable>;

const rowToPolicy = (r: Selectable<PolicyTable>): Policy => ({ id: r.id, type: r.type, blob: r.blob, extra: parseJson(r.extra, {}) });

export async function insertPolicy(db: Db, p: Policy): Promise<void> {
  await db.insertInto('policy').values({ id: p.id, type: p.type, blob: p.blob, extra: JSON.stringify(p.extra) }).execute();
}

export async function selectPolicy(db: Db, id: string): Promise<Policy | undefined> {
  const r = await db.selectFrom('policy').selectAll().where('id', '=', id).executeTakeFirst();
  return r && rowToPolicy(r);
}

export async function selectPolicies(db: Db, f: { type?: string }): Promise<Policy[]> {
  let q = db.selectFrom('policy').selectAll();
  if (f.type !== undefined) q = q.where('type', '=', f.type);
  return (await q.orderBy('id').execute()).map(rowToPolicy);
}

export async function updatePolicyRow(db: Db, p: Policy): Promise<void> {
  await db.updateTable('policy').set({ type: p.type, blob: p.blob, extra: JSON.stringify(p.extra) }).where('id', '=', p.id).execute();
}

export async function deletePolicyRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('policy').where('id', '=', id).execute();
}

/** The unique key of an association's target: endpoint|service|region, '' for the absent ones. */
export function targetKeyOf(t: { endpointId?: string | null; serviceId?: string | null; regionId?: string | null }): string {
  return `${t.endpointId ?? ''}|${t.serviceId ?? ''}|${t.regionId ?? ''}`;
}

export async function selectAssociationByTarget(db: Db, targetKey: string): Promise<PolicyAssociationRow | undefined> {
  return db.selectFrom('policy_association').selectAll().where('target_key', '=', targetKey).executeTakeFirst();
}

export async function insertAssociation(db: Db, a: PolicyAssociationRow): Promise<void> {
  await db.insertInto('policy_association').values(a).execute();
}

/** A target has one policy: associating another policy with it moves the association. */
export async function setAssociationPolicy(db: Db, targetKey: string, policyId: string): Promise<void> {
  await db.updateTable('policy_association').set({ policy_id: policyId }).where('target_key', '=', targetKey).execute();
}

export async function deleteAssociation(db: Db, policyId: string, targetKey: string): Promise<void> {
  await db.deleteFrom('policy_association').where('policy_id', '=', policyId).where('target_key', '=', targetKey).execute();
}

export async function selectAssociationsOfPolicy(db: Db, policyId: string): Promise<PolicyAssociationRow[]> {
  return db.selectFrom('policy_association').selectAll().where('policy_id', '=', policyId).orderBy('target_key').execute();
}

/** Associations naming a policy, an endpoint, a service or a region that is going away. */
export async function deleteAssociationsOf(db: Db, column: 'policy_id' | 'endpoint_id' | 'service_id' | 'region_id', id: string): Promise<void> {
  await db.deleteFrom('policy_association').where(column, '=', id).execute();
}
