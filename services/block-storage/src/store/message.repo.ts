// User messages (/v3/messages): rows written when asynchronous work fails, so users learn why.
import { randomUUID } from 'node:crypto';
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
      request_id: m.requestId ?? null,
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
