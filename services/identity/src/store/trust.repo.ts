// OS-TRUST trusts and their delegated roles. Deleted trusts keep their row (deleted_at) for the
// redelegation chain; every read here leaves out deleted trusts and trusts whose trustor,
// trustee or project no longer exists (Keystone deletes those with the user or project).
import type { ExpressionBuilder, Selectable } from 'kysely';
import type { IdentityDB, TrustTable } from './schema.js';
import type { Db } from './rows.js';

export type TrustRow = Selectable<TrustTable>;

/** The trust's parties and project still exist. */
function alive(eb: ExpressionBuilder<IdentityDB, 'trust'>) {
  return eb.and([
    eb('trust.deleted_at', 'is', null),
    eb.exists(eb.selectFrom('user').select('user.id').whereRef('user.id', '=', 'trust.trustor_user_id')),
    eb.exists(eb.selectFrom('user').select('user.id').whereRef('user.id', '=', 'trust.trustee_user_id')),
    eb.or([eb('trust.project_id', 'is', null), eb.exists(eb.selectFrom('project').select('project.id').whereRef('project.id', '=', 'trust.project_id'))]),
  ]);
}

export async function insertTrust(db: Db, row: TrustRow, roleIds: string[]): Promise<void> {
  await db.insertInto('trust').values(row).execute();
  if (roleIds.length) await db.insertInto('trust_role').values(roleIds.map((role_id) => ({ trust_id: row.id, role_id }))).execute();
}

export async function selectTrustRow(db: Db, id: string): Promise<TrustRow | undefined> {
  return db.selectFrom('trust').selectAll('trust').where('trust.id', '=', id).where(alive).executeTakeFirst();
}

export async function selectTrustRows(db: Db, f: { trustorUserId?: string; trusteeUserId?: string; redelegatedTrustId?: string }): Promise<TrustRow[]> {
  let q = db.selectFrom('trust').selectAll('trust').where(alive);
  if (f.trustorUserId !== undefined) q = q.where('trust.trustor_user_id', '=', f.trustorUserId);
  if (f.trusteeUserId !== undefined) q = q.where('trust.trustee_user_id', '=', f.trusteeUserId);
  if (f.redelegatedTrustId !== undefined) q = q.where('trust.redelegated_trust_id', '=', f.redelegatedTrustId);
  return q.orderBy('trust.created_at').orderBy('trust.id').execute();
}

export async function selectTrustRoleIds(db: Db, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const rows = await db.selectFrom('trust_role').selectAll().where('trust_id', 'in', ids).orderBy('trust_id').orderBy('role_id').execute();
  for (const r of rows) out.get(r.trust_id)?.push(r.role_id);
  return out;
}

export async function softDeleteTrust(db: Db, id: string, at: number): Promise<number> {
  const r = await db.updateTable('trust').set({ deleted_at: at }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Takes one use of a limited trust, only if nobody took it meanwhile (Keystone's optimistic
 * consume_use): 'unlimited', 'consumed', 'exhausted', 'gone', or 'raced' to try again.
 */
export async function consumeTrustUse(db: Db, id: string): Promise<'unlimited' | 'consumed' | 'exhausted' | 'gone' | 'raced'> {
  const row = await db.selectFrom('trust').select('remaining_uses').where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  if (!row) return 'gone';
  if (row.remaining_uses === null) return 'unlimited';
  if (row.remaining_uses <= 0) return 'exhausted';
  const r = await db
    .updateTable('trust')
    .set({ remaining_uses: row.remaining_uses - 1 })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .where('remaining_uses', '=', row.remaining_uses)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1 ? 'consumed' : 'raced';
}
