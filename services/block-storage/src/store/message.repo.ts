// User messages (/v3/messages): rows written when asynchronous work fails, so users learn why.
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { afterMarker, sortExpr, withTiebreak, type NullAs, type SortSpec } from './keyset.js';
import type { MessageTable } from './schema.js';
import type { Db } from './volume.repo.js';

export interface NewMessage {
  projectId: string;
  /** VOLUME, VOLUME_SNAPSHOT, VOLUME_BACKUP ... (cinder/message/message_field.py Resource). */
  resourceType: string;
  resourceUuid: string | null;
  /** Cinder's action id, e.g. '001' (schedule allocate volume). */
  actionId: string;
  /** Cinder's detail id, e.g. '003' (no valid backend). */
  detailId: string;
  /** ERROR (Cinder writes only errors). */
  level?: string;
  requestId?: string | null;
  nowMs: number;
  ttlMs: number;
}

/** Records a user message; event_id is Cinder's `VOLUME_<resource>_<action>_<detail>`. */
export async function insertMessage(db: Db, m: NewMessage): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('message')
    .values({
      id,
      project_id: m.projectId,
      // work found by a sweep has no request: Cinder's periodic tasks make a context with a fresh id too
      request_id: m.requestId ?? `req-${randomUUID()}`,
      resource_type: m.resourceType,
      resource_uuid: m.resourceUuid,
      event_id: `VOLUME_${m.resourceType}_${m.actionId}_${m.detailId}`,
      message_level: m.level ?? 'ERROR',
      detail_id: m.detailId,
      action_id: m.actionId,
      created_at: m.nowMs,
      expires_at: m.nowMs + m.ttlMs,
      deleted: 0,
      deleted_at: null,
    })
    .execute();
  return id;
}

export type MessageRow = Selectable<MessageTable>;

/** Columns a message list may sort and filter by (the model's fields Cinder accepts). */
export const MESSAGE_COLUMNS = new Set(['id', 'project_id', 'request_id', 'resource_type', 'resource_uuid', 'event_id', 'message_level', 'detail_id', 'action_id', 'created_at', 'expires_at']);
const MESSAGE_NULL_AS: NullAs = { request_id: 'text', resource_type: 'text', resource_uuid: 'text', detail_id: 'text', action_id: 'text', expires_at: 'number' };

export interface MessageListQuery {
  /** undefined: every project's (admins). */
  projectId?: string | undefined;
  /** Messages that expired before this are gone (the periodic cleanup may not have run yet). */
  nowMs: number;
  /** column -> exact value; `column~` -> substring (3.34 like filters). */
  filters: Record<string, string>;
  sort: SortSpec[];
  marker?: MessageRow | undefined;
  limit: number;
  offset?: number;
}

/** A live (not deleted, not expired) message, of `projectId` when given. */
export async function selectMessage(db: Db, id: string, nowMs: number, projectId?: string): Promise<MessageRow | undefined> {
  let q = db.selectFrom('message').selectAll().where('id', '=', id).where('deleted', '=', 0).where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>=', nowMs)]));
  if (projectId !== undefined) q = q.where('project_id', '=', projectId);
  return q.executeTakeFirst();
}

export async function listMessageRows(db: Db, q: MessageListQuery): Promise<MessageRow[]> {
  const sort = withTiebreak(q.sort);
  let query = db
    .selectFrom('message')
    .selectAll()
    .where('deleted', '=', 0)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>=', q.nowMs)]));
  if (q.projectId !== undefined) query = query.where('project_id', '=', q.projectId);
  for (const [key, value] of Object.entries(q.filters)) {
    // COMPAT(cinder apply_like_filters): `key~=v` is LIKE '%v%', the value unescaped as Cinder leaves it
    const like = key.endsWith('~');
    const column = (like ? key.slice(0, -1) : key) as keyof MessageTable;
    query = like ? query.where(column, 'like', `%${value}%`) : query.where(column, '=', value);
  }
  if (q.marker) {
    const marker = q.marker as unknown as Record<string, unknown>;
    query = query.where((eb) => afterMarker(eb, sort, marker, MESSAGE_NULL_AS));
  }
  for (const s of sort) query = query.orderBy((eb) => sortExpr(eb, s.key, MESSAGE_NULL_AS), s.dir);
  query = query.limit(q.limit);
  if (q.offset) query = query.offset(q.offset);
  return query.execute();
}

/** Marks a message deleted; false when it was already gone. */
export async function deleteMessageRow(db: Db, id: string, nowMs: number): Promise<boolean> {
  const r = await db.updateTable('message').set({ deleted: 1, deleted_at: nowMs }).where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Removes messages past their guaranteed_until (Cinder's cleanup_expired_messages); how many. */
export async function deleteExpiredMessages(db: Db, nowMs: number): Promise<number> {
  const r = await db.deleteFrom('message').where('expires_at', '<', nowMs).executeTakeFirst();
  return Number(r.numDeletedRows);
}
