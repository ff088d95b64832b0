// Snapshots on the wire: Cinder's snapshot view builders (api/views/snapshots.py and its v3
// subclass) and the os-extended-snapshot-attributes extension, per microversion.
import type { FastifyRequest } from 'fastify';
import type { SnapshotDetail } from '../domain/snapshots.service.js';
import { atLeast, cinderTime } from './common.js';

/** The v2 summary: index items (GET /snapshots) carry exactly this, at every microversion. */
export function snapshotSummaryView(s: SnapshotDetail): Record<string, unknown> {
  const r = s.row;
  return {
    id: r.id,
    created_at: cinderTime(r.created_at),
    updated_at: cinderTime(r.updated_at),
    name: r.name,
    description: r.description,
    volume_id: r.volume_id,
    status: r.status,
    size: Number(r.volume_size),
    metadata: s.metadata,
  };
}

/**
 * The v3 detail (create, update, show, detail list); `extended` adds the extension's project_id
 * and progress, which Cinder adds to show and the detail list only, when the policy allows.
 */
export function snapshotView(req: FastifyRequest, s: SnapshotDetail, opts: { extended: boolean }): Record<string, unknown> {
  const out = snapshotSummaryView(s);
  if (atLeast(req, '3.14')) out.group_snapshot_id = s.row.group_snapshot_id;
  if (atLeast(req, '3.41')) out.user_id = s.row.user_id;
  if (atLeast(req, '3.65')) out.consumes_quota = !!s.row.use_quota;
  if (opts.extended) {
    out['os-extended-snapshot-attributes:project_id'] = s.row.project_id;
    out['os-extended-snapshot-attributes:progress'] = s.row.progress;
  }
  return out;
}
