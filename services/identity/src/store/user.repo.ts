// Users, their password history (newest last, strictly ordered) and their authentication state.
import type { Selectable } from 'kysely';
import type { User } from '../domain/models.js';
import type { PasswordTable, UserTable } from './schema.js';
import { bool, int, parseJson, type Db } from './rows.js';

/** A user row with its current password's expiry beside it. */
export type UserRow = Selectable<UserTable> & { password_expires_at: number | null };
export type PasswordRow = Selectable<PasswordTable>;

/** The stored flag as is; the inactivity rule is applied by the service. */
export function rowToUser(r: Selectable<UserTable>, passwordExpiresAt: number | null): User {
  return {
    id: r.id,
    name: r.name,
    domainId: r.domain_id,
    enabled: bool(r.enabled),
    defaultProjectId: r.default_project_id,
    extra: parseJson(r.extra, {}),
    options: parseJson(r.options, {}),
    passwordExpiresAt,
    createdAt: r.created_at,
  };
}

export async function insertUser(db: Db, u: User): Promise<void> {
  await db
    .insertInto('user')
    .values({
      id: u.id,
      domain_id: u.domainId,
      name: u.name,
      enabled: int(u.enabled),
      default_project_id: u.defaultProjectId,
      extra: JSON.stringify(u.extra),
      options: JSON.stringify(u.options),
      created_at: u.createdAt,
      last_active_at: null,
      failed_auth_at: null,
    })
    .execute();
}

/** user.* plus the newest password's expires_at, in one statement. */
function usersWithExpiry(db: Db) {
  return db
    .selectFrom('user')
    .selectAll('user')
    .select((eb) =>
      eb
        .selectFrom('password')
        .select('password.expires_at')
        .whereRef('password.user_id', '=', 'user.id')
        .orderBy('password.created_at', 'desc')
        .limit(1)
        .as('password_expires_at'),
    );
}

export async function selectUserRow(db: Db, id: string): Promise<UserRow | undefined> {
  return usersWithExpiry(db).where('user.id', '=', id).executeTakeFirst();
}

export async function selectUserRowByName(db: Db, domainId: string, name: string): Promise<UserRow | undefined> {
  return usersWithExpiry(db).where('user.domain_id', '=', domainId).where('user.name', '=', name).executeTakeFirst();
}

export interface UserFilter {
  domainId?: string;
  name?: string;
  enabled?: boolean;
  ids?: string[];
}

export async function selectUserRows(db: Db, f: UserFilter): Promise<UserRow[]> {
  let q = usersWithExpiry(db);
  if (f.domainId !== undefined) q = q.where('user.domain_id', '=', f.domainId);
  if (f.name !== undefined) q = q.where('user.name', '=', f.name);
  if (f.enabled !== undefined) q = q.where('user.enabled', '=', int(f.enabled));
  if (f.ids !== undefined) {
    if (f.ids.length === 0) return [];
    q = q.where('user.id', 'in', f.ids);
  }
  return q.orderBy('user.name').orderBy('user.id').execute();
}

export async function updateUserRow(db: Db, u: User): Promise<void> {
  await db
    .updateTable('user')
    .set({ name: u.name, enabled: int(u.enabled), default_project_id: u.defaultProjectId, extra: JSON.stringify(u.extra), options: JSON.stringify(u.options) })
    .where('id', '=', u.id)
    .execute();
}

export async function deleteUserRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('user').where('id', '=', id).execute();
}

/** One more failed attempt, counted in the database so concurrent failures all count. */
export async function recordAuthFailure(db: Db, id: string, at: number): Promise<void> {
  await db
    .updateTable('user')
    .set((eb) => ({ failed_auth_count: eb('failed_auth_count', '+', 1), failed_auth_at: at }))
    .where('id', '=', id)
    .execute();
}

export async function clearAuthFailures(db: Db, id: string): Promise<void> {
  await db.updateTable('user').set({ failed_auth_count: 0, failed_auth_at: null }).where('id', '=', id).where('failed_auth_count', '>', 0).execute();
}

/** last_active_at is a day: written at most once a day per user. */
export async function markActive(db: Db, id: string, day: number): Promise<void> {
  await db
    .updateTable('user')
    .set({ last_active_at: day })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_active_at', 'is', null), eb('last_active_at', '<', day)]))
    .execute();
}

/** The password in force: the newest one. */
export async function selectCurrentPassword(db: Db, userId: string): Promise<PasswordRow | undefined> {
  return (await selectPasswordHistory(db, userId, 1))[0];
}

/** The newest passwords first. */
export async function selectPasswordHistory(db: Db, userId: string, limit: number): Promise<PasswordRow[]> {
  return db.selectFrom('password').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/**
 * Adds a password as the current one, as Keystone's password setter does: the history is trimmed
 * to `keep` entries, older passwords expire now, and the new one sorts after every other even
 * when made in the same millisecond. Call inside a transaction.
 */
export async function pushPassword(db: Db, p: PasswordRow, keep: number): Promise<void> {
  const history = await db.selectFrom('password').select(['id', 'created_at']).where('user_id', '=', p.user_id).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  const stale = history.slice(keep).map((h) => h.id);
  if (stale.length) await db.deleteFrom('password').where('id', 'in', stale).execute();
  const now = p.created_at;
  await db
    .updateTable('password')
    .set({ expires_at: now })
    .where('user_id', '=', p.user_id)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .execute();
  const newest = history[0]?.created_at;
  await db
    .insertInto('password')
    .values({ ...p, created_at: newest !== undefined && newest >= now ? newest + 1 : now })
    .execute();
}

/** The current password's expiry for many users at once (kept for lists built outside the user service). */
export async function selectPasswordExpiries(db: Db, userIds: string[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  if (userIds.length === 0) return out;
  const rows = await db.selectFrom('password').select(['user_id', 'expires_at']).where('user_id', 'in', userIds).orderBy('created_at', 'asc').orderBy('id', 'asc').execute();
  for (const r of rows) out.set(r.user_id, r.expires_at);
  return out;
}
