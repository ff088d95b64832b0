// Attachment rows: one per attachment of a volume (attachments API and the legacy actions).
import type { Selectable } from 'kysely';
import type { VolumeAttachmentTable } from './schema.js';
import type { Db } from './volume.repo.js';

export type AttachmentRow = Selectable<VolumeAttachmentTable>;

/** Live attachments of several volumes (one query for a page), oldest first. */
export async function attachmentsOf(db: Db, volumeIds: string[]): Promise<Map<string, AttachmentRow[]>> {
  const out = new Map<string, AttachmentRow[]>(volumeIds.map((id) => [id, []]));
  if (!volumeIds.length) return out;
  const rows = await db.selectFrom('volume_attachment').selectAll().where('volume_id', 'in', volumeIds).where('deleted', '=', 0).orderBy('created_at').execute();
  for (const r of rows) out.get(r.volume_id)!.push(r);
  return out;
}
