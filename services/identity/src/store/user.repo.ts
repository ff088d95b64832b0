// Users and their password history.
import type { Selectable } from 'kysely';
import type { User } from '../domain/models.js';
import type { PasswordTable, UserTable } from './schema.js';
import { bool, int, parseJson, type Db } from './rows.js';

type Row = Selectable<UserTable>;

export function rowToUser(r: Row, passwordExpiresAt: number | null): User {
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

export async function selectUserRow(db: Db, id: string): Promise<Row | undefined> {
  return db.selectFrom('user').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function selectUserRowByName(db: Db, domainId: string, name: string): Promise<Row | undefined> {
  return db.selectFrom('user').selectAll().where('domain_id', '=', domainId).where('name', '=', name).executeTakeFirst();
}

export interface UserFilter {
  domainId?: string;
  name?: string;
  enabled?: boolean;
  ids?: string[];
}

export async function selectUserRows(db: Db, f: UserFilter): Promise<Row[]> {
  let q = db.selectFrom('user').selectAll();
  if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  if (f.enabled !== undefined) q = q.where('enabled', '=', int(f.enabled));
  if (f.ids !== undefined) {
    if (f.ids.length === 0) return [];
    q = q.where('id', 'in', f.ids);
  }
  return q.orderBy('name').orderBy('id').execute();
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

export async function insertPassword(db: Db, p: Selectable<PasswordTable>): Promise<void> {
  await db.insertInto('password').values(p).execute();
}

/** The password in force: the newest one. */
export async function selectCurrentPassword(db: Db, userId: string): Promise<Selectable<PasswordTable> | undefined> {
  return db.selectFrom('password').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
}

/** Password expiry for many users at once (for lists). */
export async function selectPasswordExpiries(db: Db, userIds: string[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  if (userIds.length === 0) return out;
  const rows = await db
    .selectFrom('password')
    .select(['user_id', 'expires_at', 'created_at'])
    .where('user_id', 'in', userIds)
    .orderBy('created_at', 'asc')
    .execute();
  for (const r of rows) out.set(r.user_id, r.expires_at);
  return out;
}
