// Attachment rows: one per attachment of a volume (attachments API and the legacy actions).
import type { Selectable } from 'kysely';
import type { VolumeAttachmentTable } from './schema.js';
import type { Db } from './volume.repo.js';
import { afterMarker, sortExpr, withTiebreak, type NullAs, type SortSpec } from './keyset.js';

export type AttachmentRow = Selectable<VolumeAttachmentTable>;

/** Live attachments of several volumes (one query for a page), oldest first. */
export async function attachmentsOf(db: Db, volumeIds: string[]): Promise<Map<string, AttachmentRow[]>> {
  const out = new Map<string, AttachmentRow[]>(volumeIds.map((id) => [id, []]));
  if (!volumeIds.length) return out;
  const rows = await db.selectFrom('volume_attachment').selectAll().where('volume_id', 'in', volumeIds).where('deleted', '=', 0).orderBy('created_at').execute();
  for (const r of rows) out.get(r.volume_id)!.push(r);
  return out;
}

export async function insertAttachment(db: Db, row: VolumeAttachmentTable): Promise<void> {
  await db.insertInto('volume_attachment').values(row).execute();
}

/** A live attachment, or undefined. */
export async function selectAttachment(db: Db, id: string): Promise<AttachmentRow | undefined> {
  return db.selectFrom('volume_attachment').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
}

export async function updateAttachment(db: Db, id: string, set: Partial<Omit<VolumeAttachmentTable, 'id' | 'created_at'>>): Promise<boolean> {
  const r = await db.updateTable('volume_attachment').set(set).where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Cinder's attachment_destroy: the row stays, marked deleted (attach_status `deleted`). */
export async function destroyAttachment(db: Db, id: string, nowMs: number): Promise<boolean> {
  const r = await db
    .updateTable('volume_attachment')
    .set({ attach_status: 'deleted', deleted: 1, deleted_at: nowMs, detach_time: nowMs, updated_at: nowMs })
    .where('id', '=', id)
    .where('deleted', '=', 0)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * A volume's status and attach_status from its live attachments (Cinder's
 * _get_statuses_from_attachments): errors are ignored, then the alphabetically first status wins
 * (attached > attaching > detaching > reserved); none means detached / available.
 */
export async function statusesFromAttachments(db: Db, volumeId: string): Promise<{ status: string; attachStatus: string }> {
  const r = await db
    .selectFrom('volume_attachment')
    .select('attach_status')
    .where('volume_id', '=', volumeId)
    .where('deleted', '=', 0)
    .where('attach_status', 'not like', 'error%')
    .orderBy('attach_status', 'asc')
    .limit(1)
    .executeTakeFirst();
  const attachStatus = r?.attach_status ?? 'detached';
  const status = attachStatus === 'attached' ? 'in-use' : attachStatus === 'detached' ? 'available' : attachStatus;
  return { status, attachStatus };
}

export interface AttachmentListQuery {
  /** Only this project's attachments; undefined: every project's (admin all_tenants). */
  projectId?: string | undefined;
  /** column = value filters (volume_id, instance_uuid, attach_status). */
  eq: Partial<Record<'volume_id' | 'instance_uuid' | 'attach_status', string>>;
  sort: SortSpec[];
  marker?: AttachmentRow | undefined;
  limit: number;
  offset?: number | undefined;
}

/** Attachment columns a list may sort by. */
export const ATTACHMENT_SORT_KEYS = new Set(['id', 'volume_id', 'instance_uuid', 'attached_host', 'mountpoint', 'attach_status', 'attach_mode', 'attach_time', 'detach_time', 'created_at', 'updated_at']);
const ATTACHMENT_NULL_AS: NullAs = { instance_uuid: 'text', attached_host: 'text', mountpoint: 'text', attach_mode: 'text', attach_time: 'number', detach_time: 'number', updated_at: 'number' };

export async function listAttachmentRows(db: Db, q: AttachmentListQuery): Promise<AttachmentRow[]> {
  const sort = withTiebreak(q.sort);
  let query = db.selectFrom('volume_attachment').selectAll().where('deleted', '=', 0);
  if (q.projectId !== undefined) query = query.where('project_id', '=', q.projectId);
  for (const [k, v] of Object.entries(q.eq)) query = query.where(k as 'volume_id', '=', v);
  if (q.marker) {
    const marker = q.marker as unknown as Record<string, unknown>;
    query = query.where((eb) => afterMarker(eb, sort, marker, ATTACHMENT_NULL_AS));
  }
  for (const s of sort) query = query.orderBy((eb) => sortExpr(eb, s.key, ATTACHMENT_NULL_AS), s.dir);
  query = query.limit(q.limit);
  if (q.offset) query = query.offset(q.offset);
  return query.execute();
}
