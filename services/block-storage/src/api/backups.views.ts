// Backups on the wire: Cinder's backup view builders (api/views/backups.py and its v3 subclass)
// and the project/user attributes the v3 controller adds to show and the detail list.
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import type { BackupDetail, RestoreResult } from '../domain/backups.service.js';
import { atLeast, cinderTime, resourceLinks, type BlockStorageFrame } from './common.js';

/** The summary: create and update answers and GET /backups items. */
export function backupSummaryView(frame: BlockStorageFrame, req: FastifyRequest, ctx: RequestContext, b: BackupDetail): Record<string, unknown> {
  return { id: b.row.id, name: b.row.name, links: resourceLinks(frame, req, ctx, 'backups', b.row.id) };
}

export interface BackupViewOptions {
  /** backup:backup_project_attribute allowed: show and the detail list add project_id (3.18) and user_id (3.56). */
  projectAttribute: boolean;
}

/** The detail: GET /backups/{id} and GET /backups/detail items. */
export function backupView(frame: BlockStorageFrame, req: FastifyRequest, ctx: RequestContext, b: BackupDetail, opts: BackupViewOptions): Record<string, unknown> {
  const r = b.row;
  const out: Record<string, unknown> = {
    id: r.id,
    status: r.status,
    size: Number(r.size),
    object_count: Number(r.object_count),
    availability_zone: r.availability_zone,
    container: r.container,
    created_at: cinderTime(r.created_at),
    updated_at: cinderTime(r.updated_at),
    name: r.name,
    description: r.description,
    fail_reason: r.fail_reason,
    volume_id: r.volume_id,
    links: resourceLinks(frame, req, ctx, 'backups', r.id),
    is_incremental: !!r.is_incremental,
    has_dependent_backups: b.hasDependentBackups,
    snapshot_id: r.snapshot_id,
    data_timestamp: cinderTime(r.data_timestamp),
  };
  if (atLeast(req, '3.43')) out.metadata = b.metadata;
  // COMPAT(cinder 3.64): only a key of its own (never the fixed key) is shown
  if (atLeast(req, '3.64') && r.encryption_key_id && r.encryption_key_id !== '00000000-0000-0000-0000-000000000000') out.encryption_key_id = r.encryption_key_id;
  if (opts.projectAttribute && atLeast(req, '3.18')) out['os-backup-project-attr:project_id'] = r.project_id;
  if (opts.projectAttribute && atLeast(req, '3.56')) out.user_id = r.user_id;
  return out;
}

/** POST /backups/{id}/restore's answer. */
export function restoreView(r: RestoreResult): Record<string, unknown> {
  return { restore: { backup_id: r.backupId, volume_id: r.volumeId, volume_name: r.volumeName } };
}
