// Volumes on the wire: Cinder's volume view builder (api/v3/views/volumes.py) and the
// show/detail extensions (tenant, host, migration attributes, image metadata) per microversion.
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import type { VolumeDetail } from '../domain/volumes.service.js';
import type { AttachmentRow } from '../store/attachment.repo.js';
import { READ_ONLY, READ_WRITE } from '../store/volume.repo.js';
import { atLeast, cinderTime, resourceLinks, type BlockStorageFrame } from './common.js';

/** Policy decisions that shape a volume's view (VolumesService.viewRights). */
export interface VolumeViewRights {
  host: boolean;
  migration: boolean;
  tenant: boolean;
  imageMetadata: boolean;
}

export interface VolumeViewOptions {
  /** GET show/detail add the extension attributes; create and update answers do not. */
  extensions: boolean;
  rights: VolumeViewRights;
  isAdmin: boolean;
}

/**
 * The volume's metadata as Cinder shows it: the user's keys plus the admin metadata `readonly`
 * once the flag was set, and `attached_mode` while attached.
 */
function metadataView(v: VolumeDetail): Record<string, string> {
  const out: Record<string, string> = { ...v.metadata };
  const ro = Number(v.row.read_only);
  if (ro === READ_ONLY || ro === READ_WRITE) out.readonly = ro === READ_ONLY ? 'True' : 'False';
  const attached = v.attachments.find((a) => a.attach_status === 'attached');
  if (attached?.attach_mode && attached.attach_mode !== 'null') out.attached_mode = attached.attach_mode;
  return out;
}

/** One attachment in a volume's view; the host is shown to admins only (Cinder hides it from others). */
export function attachmentView(a: AttachmentRow, isAdmin = true) {
  return {
    server_id: a.instance_uuid,
    attachment_id: a.id,
    attached_at: cinderTime(a.attach_time),
    host_name: isAdmin ? a.attached_host : null,
    volume_id: a.volume_id,
    device: a.mountpoint,
    id: a.volume_id,
  };
}

export function volumeSummaryView(frame: BlockStorageFrame, req: FastifyRequest, ctx: RequestContext, v: VolumeDetail) {
  return { id: v.row.id, name: v.row.name, links: resourceLinks(frame, req, ctx, 'volumes', v.row.id) };
}

export function volumeView(frame: BlockStorageFrame, req: FastifyRequest, ctx: RequestContext, v: VolumeDetail, opts: VolumeViewOptions): Record<string, unknown> {
  const r = v.row;
  const out: Record<string, unknown> = {
    id: r.id,
    status: r.status,
    size: Number(r.size),
    availability_zone: r.availability_zone,
    created_at: cinderTime(r.created_at),
    updated_at: cinderTime(r.updated_at),
    name: r.name,
    description: r.description,
    volume_type: v.typeName,
    snapshot_id: r.snapshot_id,
    source_volid: r.source_volid,
    metadata: metadataView(v),
    links: resourceLinks(frame, req, ctx, 'volumes', r.id),
    user_id: r.user_id,
    bootable: r.bootable ? 'true' : 'false',
    encrypted: !!r.encryption_key_id,
    replication_status: r.replication_status,
    consistencygroup_id: r.consistencygroup_id,
    multiattach: !!r.multiattach,
    attachments: v.attachments.filter((a) => a.attach_status === 'attached').map((a) => attachmentView(a, opts.isAdmin)),
  };
  if (atLeast(req, '3.13')) out.group_id = r.group_id;
  if (atLeast(req, '3.48')) {
    // COMPAT(cinder 3.48/3.69): true until a backend without shared targets takes the volume
    out.shared_targets = !r.host;
    out.service_uuid = v.serviceUuid;
  }
  if (atLeast(req, '3.61') && opts.isAdmin) out.cluster_name = null;
  if (atLeast(req, '3.63')) out.volume_type_id = r.volume_type_id;
  if (atLeast(req, '3.65')) out.consumes_quota = !!r.use_quota;
  if (opts.isAdmin) out.migration_status = r.migration_status;
  if (opts.extensions) {
    if (opts.rights.tenant) out['os-vol-tenant-attr:tenant_id'] = r.project_id;
    if (opts.rights.migration) {
      out['os-vol-mig-status-attr:migstat'] = r.migration_status;
      out['os-vol-mig-status-attr:name_id'] = null;
    }
    if (opts.rights.host) out['os-vol-host-attr:host'] = r.host;
    if (opts.rights.imageMetadata && Object.keys(v.imageMetadata).length) out.volume_image_metadata = v.imageMetadata;
  }
  return out;
}
