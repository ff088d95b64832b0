// Application credentials, the roles they carry and their access rules (shared between a user's credentials).
//
// application_credential.expires_at is epoch MICROseconds, unlike the milliseconds elsewhere:
// Keystone keeps the credential's expiry as DateTimeInt (microseconds) and returns it as given,
// which clients (Tempest) compare to what they sent.
import type { Selectable } from 'kysely';
import type { AccessRuleTable, ApplicationCredentialTable } from './schema.js';
import type { Db } from './rows.js';

export type ApplicationCredentialRow = Selectable<ApplicationCredentialTable>;
export type AccessRuleRow = Selectable<AccessRuleTable>;

export async function insertApplicationCredential(db: Db, row: ApplicationCredentialRow, roleIds: string[], accessRuleIds: string[]): Promise<void> {
  await db.insertInto('application_credential').values(row).execute();
  if (roleIds.length) {
    await db
      .insertInto('application_credential_role')
      .values(roleIds.map((role_id) => ({ application_credential_id: row.id, role_id })))
      .execute();
  }
  if (accessRuleIds.length) {
    await db
      .insertInto('application_credential_access_rule')
      .values(accessRuleIds.map((access_rule_id) => ({ application_credential_id: row.id, access_rule_id })))
      .execute();
  }
}

export async function selectApplicationCredentialRow(db: Db, id: string): Promise<ApplicationCredentialRow | undefined> {
  return db.selectFrom('application_credential').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function selectApplicationCredentialRows(db: Db, f: { userId: string; name?: string }): Promise<ApplicationCredentialRow[]> {
  let q = db.selectFrom('application_credential').selectAll().where('user_id', '=', f.userId);
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  return q.orderBy('name').orderBy('id').execute();
}

export async function countApplicationCredentials(db: Db, userId: string): Promise<number> {
  const r = await db.selectFrom('application_credential').select((eb) => eb.fn.countAll<number | string>().as('n')).where('user_id', '=', userId).executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** Role ids per credential, in a stable order. */
export async function selectApplicationCredentialRoleIds(db: Db, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const rows = await db
    .selectFrom('application_credential_role')
    .selectAll()
    .where('application_credential_id', 'in', ids)
    .orderBy('application_credential_id')
    .orderBy('role_id')
    .execute();
  for (const r of rows) out.get(r.application_credential_id)?.push(r.role_id);
  return out;
}

/** Access rules per credential. */
export async function selectApplicationCredentialAccessRules(db: Db, ids: string[]): Promise<Map<string, AccessRuleRow[]>> {
  const out = new Map<string, AccessRuleRow[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const rows = await db
    .selectFrom('application_credential_access_rule as l')
    .innerJoin('access_rule as r', 'r.id', 'l.access_rule_id')
    .select(['l.application_credential_id', 'r.id', 'r.user_id', 'r.service', 'r.path', 'r.method'])
    .where('l.application_credential_id', 'in', ids)
    .orderBy('r.id')
    .execute();
  for (const r of rows) out.get(r.application_credential_id)?.push({ id: r.id, user_id: r.user_id, service: r.service, path: r.path, method: r.method });
  return out;
}

export async function deleteApplicationCredentialRow(db: Db, id: string): Promise<number> {
  // the role and access-rule links go with it (ON DELETE CASCADE); the rules themselves stay
  const r = await db.deleteFrom('application_credential').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function insertAccessRule(db: Db, row: AccessRuleRow): Promise<void> {
  await db.insertInto('access_rule').values(row).execute();
}

export async function selectAccessRuleRow(db: Db, id: string): Promise<AccessRuleRow | undefined> {
  return db.selectFrom('access_rule').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A user's rule with exactly this service, path and method (the natural key). */
export async function findAccessRuleRow(db: Db, userId: string, rule: { service: string; path: string; method: string }): Promise<AccessRuleRow | undefined> {
  return db
    .selectFrom('access_rule')
    .selectAll()
    .where('user_id', '=', userId)
    .where('service', '=', rule.service)
    .where('path', '=', rule.path)
    .where('method', '=', rule.method)
    .executeTakeFirst();
}

export async function selectAccessRuleRows(db: Db, f: { userId: string; service?: string; path?: string; method?: string }): Promise<AccessRuleRow[]> {
  let q = db.selectFrom('access_rule').selectAll().where('user_id', '=', f.userId);
  if (f.service !== undefined) q = q.where('service', '=', f.service);
  if (f.path !== undefined) q = q.where('path', '=', f.path);
  if (f.method !== undefined) q = q.where('method', '=', f.method);
  return q.orderBy('id').execute();
}

export async function accessRuleInUse(db: Db, id: string): Promise<boolean> {
  const r = await db.selectFrom('application_credential_access_rule').select('access_rule_id').where('access_rule_id', '=', id).executeTakeFirst();
  return r !== undefined;
}

export async function deleteAccessRuleRow(db: Db, id: string): Promise<number> {
  const r = await db.deleteFrom('access_rule').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * A deleted user's credentials, then their access rules (upstream's user-deleted callback).
 * The user row's ON DELETE CASCADE would remove both too, but MariaDB checks the rule's
 * link rows before it cascades the credential's, so the order is made explicit here.
 */
export async function deleteApplicationCredentialsOfUser(db: Db, userId: string): Promise<void> {
  await db.deleteFrom('application_credential').where('user_id', '=', userId).execute();
  await db.deleteFrom('access_rule').where('user_id', '=', userId).execute();
}
