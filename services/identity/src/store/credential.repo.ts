// Credentials (EC2 and others): rows hold the Fernet-encrypted blob and the hash of the key that wrote it.
import type { Selectable } from 'kysely';
import type { CredentialTable } from './schema.js';
import type { Db } from './rows.js';

export type CredentialRow = Selectable<CredentialTable>;

export interface CredentialFilter {
  userId?: string;
  type?: string;
  projectId?: string;
}

export async function insertCredential(db: Db, row: CredentialRow): Promise<void> {
  await db.insertInto('credential').values(row).execute();
}

export async function selectCredentialRow(db: Db, id: string): Promise<CredentialRow | undefined> {
  return db.selectFrom('credential').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function selectCredentialRows(db: Db, f: CredentialFilter = {}): Promise<CredentialRow[]> {
  let q = db.selectFrom('credential').selectAll();
  if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
  if (f.type !== undefined) q = q.where('type', '=', f.type);
  if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
  return q.orderBy('created_at').orderBy('id').execute();
}

export async function countCredentialsOfUser(db: Db, userId: string): Promise<number> {
  const r = await db.selectFrom('credential').select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function updateCredentialRow(db: Db, id: string, set: Partial<Omit<CredentialRow, 'id' | 'created_at'>>): Promise<void> {
  await db.updateTable('credential').set(set).where('id', '=', id).execute();
}

/** Re-encrypts one blob only if it still holds the ciphertext it was read with (a concurrent update wins). */
export async function replaceCredentialBlob(db: Db, id: string, from: string, to: { encrypted_blob: string; key_hash: string }): Promise<boolean> {
  const r = await db.updateTable('credential').set(to).where('id', '=', id).where('encrypted_blob', '=', from).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteCredentialRow(db: Db, id: string): Promise<number> {
  const r = await db.deleteFrom('credential').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** keystone's delete_credentials_for_user: a deleted user takes its credentials along. */
export async function deleteCredentialsOfUser(db: Db, userId: string): Promise<void> {
  await db.deleteFrom('credential').where('user_id', '=', userId).execute();
}

/** keystone's delete_credentials_for_project: so do the credentials bound to a deleted project. */
export async function deleteCredentialsOfProject(db: Db, projectId: string): Promise<void> {
  await db.deleteFrom('credential').where('project_id', '=', projectId).execute();
}
