// Revocation events (OS-REVOKE): what makes an otherwise valid token invalid.
import type { Selectable } from 'kysely';
import type { RevocationEventTable } from './schema.js';
import type { Db } from './rows.js';

export type RevocationEventRow = Selectable<RevocationEventTable>;

export async function insertRevocationEvent(db: Db, e: RevocationEventRow): Promise<void> {
  await db.insertInto('revocation_event').values(e).execute();
}

/** Events revoked at or after sinceMs, oldest first. */
export async function selectRevocationEvents(db: Db, sinceMs = 0): Promise<RevocationEventRow[]> {
  return db.selectFrom('revocation_event').selectAll().where('revoked_at', '>=', sinceMs).orderBy('revoked_at').orderBy('id').execute();
}

/** Events older than any token that could still be presented carry no information. */
export async function pruneRevocationEvents(db: Db, revokedBeforeMs: number): Promise<number> {
  const r = await db.deleteFrom('revocation_event').where('revoked_at', '<', revokedBeforeMs).executeTakeFirst();
  return Number(r.numDeletedRows);
}
