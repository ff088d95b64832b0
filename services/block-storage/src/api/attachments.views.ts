// Attachments on the wire: Cinder's attachment view builder (api/v3/views/attachments.py).
import type { AttachmentRow } from '../store/attachment.repo.js';
import { cinderTime } from './common.js';

/** Cinder's _normalize: a time, or '' when there is none. */
const timeOrEmpty = (ms: number | null) => cinderTime(ms) ?? '';

/** Stored connection info, parsed; null when never set (legacy os-attach rows). */
function connectionInfo(raw: string | null): Record<string, unknown> | null {
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export function attachmentSummaryView(a: AttachmentRow) {
  return { id: a.id, status: a.attach_status, instance: a.instance_uuid, volume_id: a.volume_id };
}

export function attachmentDetailView(a: AttachmentRow) {
  return {
    ...attachmentSummaryView(a),
    attached_at: timeOrEmpty(a.attach_time),
    detached_at: timeOrEmpty(a.detach_time),
    attach_mode: a.attach_mode,
    connection_info: connectionInfo(a.connection_info),
  };
}

export function attachmentListView(rows: AttachmentRow[], detail: boolean) {
  return { attachments: rows.map(detail ? attachmentDetailView : attachmentSummaryView) };
}
