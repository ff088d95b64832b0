// OS-OAUTH1: consumers, request tokens and access tokens.
import type { Selectable } from 'kysely';
import type { AccessTokenTable, ConsumerTable, RequestTokenTable } from './schema.js';
import type { Db } from './rows.js';

export type ConsumerRow = Selectable<ConsumerTable>;
export type RequestTokenRow = Selectable<RequestTokenTable>;
export type AccessTokenRow = Selectable<AccessTokenTable>;

// ---- consumers ---------------------------------------------------------------------------------

export async function insertConsumer(db: Db, row: ConsumerRow): Promise<void> {
  await db.insertInto('consumer').values(row).execute();
}

export async function selectConsumerRow(db: Db, id: string): Promise<ConsumerRow | undefined> {
  return db.selectFrom('consumer').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function selectConsumerRows(db: Db): Promise<ConsumerRow[]> {
  return db.selectFrom('consumer').selectAll().orderBy('id').execute();
}

export async function updateConsumerRow(db: Db, id: string, set: { description: string | null; extra: string }): Promise<void> {
  await db.updateTable('consumer').set(set).where('id', '=', id).execute();
}

/** The consumer and every token it was given, as upstream's delete_consumer. */
export async function deleteConsumerRow(db: Db, id: string): Promise<number> {
  await db.deleteFrom('request_token').where('consumer_id', '=', id).execute();
  await db.deleteFrom('access_token').where('consumer_id', '=', id).execute();
  const r = await db.deleteFrom('consumer').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows);
}

// ---- request tokens ----------------------------------------------------------------------------

export async function insertRequestToken(db: Db, row: RequestTokenRow): Promise<void> {
  await db.insertInto('request_token').values(row).execute();
}

export async function selectRequestTokenRow(db: Db, id: string): Promise<RequestTokenRow | undefined> {
  return db.selectFrom('request_token').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function authorizeRequestTokenRow(db: Db, id: string, set: { authorizing_user_id: string; verifier: string; role_ids: string }): Promise<void> {
  await db.updateTable('request_token').set(set).where('id', '=', id).execute();
}

/** Exchanges a request token for an access token: the access token is written and the request token gone, together. */
export async function exchangeRequestToken(db: Db, requestTokenId: string, access: AccessTokenRow): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const gone = await trx.deleteFrom('request_token').where('id', '=', requestTokenId).executeTakeFirst();
    // a concurrent exchange of the same request token already took it
    if (Number(gone.numDeletedRows) === 0) return false;
    await trx.insertInto('access_token').values(access).execute();
    return true;
  });
}

// ---- access tokens -----------------------------------------------------------------------------

export async function selectAccessTokenRow(db: Db, id: string): Promise<AccessTokenRow | undefined> {
  return db.selectFrom('access_token').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function selectAccessTokenRowsOfUser(db: Db, userId: string): Promise<AccessTokenRow[]> {
  return db.selectFrom('access_token').selectAll().where('authorizing_user_id', '=', userId).orderBy('id').execute();
}

export async function deleteAccessTokenRow(db: Db, id: string): Promise<number> {
  const r = await db.deleteFrom('access_token').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows);
}
