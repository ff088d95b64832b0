// Groups and user-group membership.
import type { Selectable } from 'kysely';
import type { Group } from '../domain/groups.service.js';
import type { GroupTable, UserTable } from './schema.js';
import { GROUP_TYPES } from './assignment.repo.js';
import { int, parseJson, type Db } from './rows.js';

type Row = Selectable<GroupTable>;

export function rowToGroup(r: Row): Group {
  return { id: r.id, name: r.name, domainId: r.domain_id, description: r.description, extra: parseJson(r.extra, {}) };
}

export async function insertGroup(db: Db, g: Group): Promise<void> {
  await db
    .insertInto('group')
    .values({ id: g.id, name: g.name, domain_id: g.domainId, description: g.description, extra: JSON.stringify(g.extra) })
    .execute();
}

export async function selectGroupRow(db: Db, id: string): Promise<Row | undefined> {
  return db.selectFrom('group').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface GroupFilter {
  domainId?: string;
  name?: string;
  ids?: string[];
}

export async function selectGroupRows(db: Db, f: GroupFilter): Promise<Row[]> {
  let q = db.selectFrom('group').selectAll();
  if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  if (f.ids !== undefined) {
    if (f.ids.length === 0) return [];
    q = q.where('id', 'in', f.ids);
  }
  return q.orderBy('name').orderBy('id').execute();
}

export async function updateGroupRow(db: Db, g: Group): Promise<void> {
  await db.updateTable('group').set({ name: g.name, description: g.description, extra: JSON.stringify(g.extra) }).where('id', '=', g.id).execute();
}

/** Deletes the group with its memberships and role assignments. */
export async function deleteGroupRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('user_group_membership').where('group_id', '=', id).execute();
  await db.deleteFrom('assignment').where('actor_id', '=', id).where('type', 'in', GROUP_TYPES).execute();
  await db.deleteFrom('group').where('id', '=', id).execute();
}

/** Adds a membership; false when it was there already. */
export async function insertMembership(db: Db, userId: string, groupId: string): Promise<boolean> {
  const existing = await db.selectFrom('user_group_membership').select('user_id').where('user_id', '=', userId).where('group_id', '=', groupId).executeTakeFirst();
  if (existing) return false;
  await db.insertInto('user_group_membership').values({ user_id: userId, group_id: groupId }).execute();
  return true;
}

export async function deleteMembership(db: Db, userId: string, groupId: string): Promise<number> {
  const r = await db.deleteFrom('user_group_membership').where('user_id', '=', userId).where('group_id', '=', groupId).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function membershipExists(db: Db, userId: string, groupId: string): Promise<boolean> {
  const r = await db.selectFrom('user_group_membership').select('user_id').where('user_id', '=', userId).where('group_id', '=', groupId).executeTakeFirst();
  return r !== undefined;
}

export async function selectGroupIdsOfUser(db: Db, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('user_group_membership').select('group_id').where('user_id', '=', userId).execute();
  return rows.map((r) => r.group_id);
}

export async function selectGroupRowsOfUser(db: Db, userId: string, f: { name?: string } = {}): Promise<Row[]> {
  let q = db.selectFrom('group').innerJoin('user_group_membership as m', 'm.group_id', 'group.id').selectAll('group').where('m.user_id', '=', userId);
  if (f.name !== undefined) q = q.where('group.name', '=', f.name);
  return q.orderBy('group.name').orderBy('group.id').execute();
}

/** The members of each group. */
export async function selectMemberIds(db: Db, groupIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(groupIds.map((g) => [g, []]));
  if (groupIds.length === 0) return out;
  const rows = await db.selectFrom('user_group_membership').select(['user_id', 'group_id']).where('group_id', 'in', groupIds).orderBy('user_id').execute();
  for (const r of rows) out.get(r.group_id)?.push(r.user_id);
  return out;
}

export type PasswordComparator = '<' | '<=' | '>' | '>=' | '=' | '<>';

export interface MemberFilter {
  domainId?: string;
  name?: string;
  enabled?: boolean;
  /** Keystone's `password_expires_at=lt:<time>`: members with a password whose expiry compares so. */
  passwordExpires?: { op: PasswordComparator; at: number };
}

export async function selectMemberRows(db: Db, groupId: string, f: MemberFilter): Promise<Selectable<UserTable>[]> {
  let q = db.selectFrom('user').innerJoin('user_group_membership as m', 'm.user_id', 'user.id').selectAll('user').where('m.group_id', '=', groupId);
  if (f.domainId !== undefined) q = q.where('user.domain_id', '=', f.domainId);
  if (f.name !== undefined) q = q.where('user.name', '=', f.name);
  if (f.enabled !== undefined) q = q.where('user.enabled', '=', int(f.enabled));
  const pe = f.passwordExpires;
  if (pe) {
    // a NULL expiry never compares true, as in SQL upstream
    q = q.where((eb) => eb.exists(eb.selectFrom('password as pw').select('pw.id').whereRef('pw.user_id', '=', 'user.id').where('pw.expires_at', pe.op, pe.at)));
  }
  return q.orderBy('user.name').orderBy('user.id').execute();
}
