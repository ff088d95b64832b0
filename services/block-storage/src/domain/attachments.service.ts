// Volume attachments (Cinder's attachment_* of volume/api.py and the manager's connection
// half): reserve, connect through the volume's worker, complete, delete; the volume's status
// follows its attachments (available -> reserved -> attaching -> in-use -> available).
import { randomUUID } from 'node:crypto';
import { AltoError, InternalError, type JsonObject, type RequestContext } from '@alto/kernel';
import { VOLUME_TOPIC } from '../workers/topics.js';
import type { WireConnectionInfo } from '../workers/volume-connections.js';
import {
  attachmentsOf,
  destroyAttachment,
  insertAttachment,
  listAttachmentRows,
  selectAttachment,
  statusesFromAttachments,
  updateAttachment,
  type AttachmentListQuery,
  type AttachmentRow,
} from '../store/attachment.repo.js';
import { extraSpecsOf, selectTypeById } from '../store/type.repo.js';
import { isReadOnly, selectVolume, updateVolumeIf, type Db, type VolumeRow } from '../store/volume.repo.js';
import { isAdmin, type BlockStorageCoreDeps } from './deps.js';
import { AttachmentNotFound, Conflict, InvalidInput, InvalidVolume, VolumeNotFound } from './errors.js';
import type { VolumesService } from './volumes.service.js';

/**
 * Asks the compute service which attachment a server uses for a volume (Cinder's OSSA-2023-003
 * check before a user deletes a connected attachment): the attachment id, or null when the
 * server or the volume is unknown to it.
 */
export type ServerAttachmentLookup = (ctx: RequestContext, serverId: string, volumeId: string) => Promise<string | null>;

export interface AttachmentsOptions {
  /** Without it (no compute service yet), a connected attachment is deleted as if Nova did not know it. */
  serverAttachment?: ServerAttachmentLookup | undefined;
  /** How long an RPC to a worker may take. */
  rpcTimeoutMs?: number | undefined;
}

/** Connection info as Cinder's manager hands it out: the driver's, plus access mode, QoS, encryption, cacheable. */
export interface ConnectionInfoOut {
  driver_volume_type: string;
  data: Record<string, unknown>;
}

const QOS_TUNE = ['read_iops_sec', 'read_bytes_sec', 'write_iops_sec', 'write_bytes_sec', 'total_iops_sec', 'total_bytes_sec'];

export const parseJson = (s: string | null): Record<string, unknown> => {
  if (!s) return {};
  try {
    const v = JSON.parse(s) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

/** Whether an attachment has connection info (Cinder's truthiness: an empty dict is none). */
const connected = (a: AttachmentRow) => Object.keys(parseJson(a.connection_info)).length > 0;

/** Cinder's build_or_str. */
const orStr = (xs: readonly string[]) => xs.join(' or ');

export class AttachmentsService {
  private readonly d: BlockStorageCoreDeps;
  private readonly volumes: VolumesService;
  private readonly opts: AttachmentsOptions;

  constructor(d: BlockStorageCoreDeps, volumes: VolumesService, opts: AttachmentsOptions = {}) {
    this.d = d;
    this.volumes = volumes;
    this.opts = opts;
  }

  /** A live attachment the caller may see (its project's; any for admins), or 404. */
  async getOrThrow(ctx: RequestContext, id: string): Promise<AttachmentRow> {
    const row = await selectAttachment(this.d.db, id);
    if (!row || (!isAdmin(ctx) && row.project_id !== ctx.projectId)) throw AttachmentNotFound(id);
    return row;
  }

  /** Cinder's target for an attachment: its fields; project_id is its volume's. */
  target(row: AttachmentRow): Record<string, unknown> {
    return { ...row, project_id: row.project_id, user_id: null };
  }

  async list(q: AttachmentListQuery): Promise<AttachmentRow[]> {
    return listAttachmentRows(this.d.db, q);
  }

  // ---- create / update / complete / delete ---------------------------------------------------

  /**
   * attachment_create: reserves the volume (reserved) and records an attachment; with a connector
   * it also connects at once (attaching). The answer is the attachment as reserved with the
   * connection info added, as Cinder answers (its object is not re-read after the worker's update).
   */
  async create(ctx: RequestContext, volume: VolumeRow, input: { instanceUuid?: string | null | undefined; connector?: Record<string, unknown> | null | undefined; mode?: string | undefined }): Promise<AttachmentRow> {
    if (volume.status.includes('error')) {
      throw InvalidVolume(
        `Volume attachments can not be created if the volume is in an error state. The Volume ${volume.id} currently has a status of: ${volume.status} `,
      );
    }
    const instanceUuid = input.instanceUuid ?? null;
    const row = await this.reserve(ctx, volume, instanceUuid);
    // Use of the readonly flag (admin metadata upstream) wins over the mode argument (3.54)
    const attachMode = isReadOnly(volume) ? 'ro' : (input.mode ?? 'null');
    await updateAttachment(this.d.db, row.id, { attach_mode: attachMode, connection_info: '{}' });
    let answer: AttachmentRow = { ...row, attach_mode: attachMode, connection_info: '{}' };
    if (input.connector) {
      const info = await this.connect(ctx, volume.id, row.id, input.connector).catch((err: unknown) => {
        // COMPAT(cinder): the controller answers 500 for anything but a refusal; the reservation stays
        if (err instanceof AltoError && ['bad_request', 'forbidden'].includes(err.kind)) throw err;
        throw new InternalError(err instanceof AltoError ? `Unable to create attachment for volume (${err.message}).` : 'Unable to create attachment for volume.', 'volume.attachment_create_failed');
      });
      await updateAttachment(this.d.db, row.id, { connection_info: JSON.stringify(info), attach_mode: attachMode });
      answer = { ...answer, connection_info: JSON.stringify(info) };
    }
    return answer;
  }

  /** Cinder's _attachment_reserve: the volume to reserved (compare-and-set) and a reserved attachment row. */
  private async reserve(ctx: RequestContext, volume: VolumeRow, instanceUuid: string | null): Promise<AttachmentRow> {
    const multi = !!volume.multiattach;
    if (multi && volume.status === 'in-use' && volume.bootable) this.d.authz.enforce('volume:multiattach_bootable_volume', ctx, this.volumes.target(volume));
    const expected = multi ? ['available', 'in-use', 'downloading'] : ['available', 'downloading'];
    const now = this.d.clock.nowMs();
    const reserved = await this.d.db.transaction().execute(async (trx) => {
      const moved = await trx
        .updateTable('volume')
        .set({ status: 'reserved', updated_at: now })
        .where('id', '=', volume.id)
        .where('deleted', '=', 0)
        .where('multiattach', '=', volume.multiattach)
        .where('status', 'in', expected)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) {
        const current = await selectVolume(trx, volume.id);
        if (!current) throw VolumeNotFound(volume.id);
        // the same server attaching again (a live migration to another host) may reserve
        const again = instanceUuid && ['in-use', 'reserved'].includes(current.status) && (await attachmentsOf(trx, [volume.id])).get(volume.id)!.some((a) => a.instance_uuid === instanceUuid);
        if (!again) throw InvalidVolume(`Volume ${volume.id} status must be ${orStr(expected)} to reserve, but the current status is ${current.status}.`);
      }
      const row: AttachmentRow = {
        id: randomUUID(),
        volume_id: volume.id,
        project_id: volume.project_id,
        instance_uuid: instanceUuid,
        attached_host: null,
        mountpoint: null,
        attach_status: 'reserved',
        attach_mode: null,
        connector: null,
        connection_info: null,
        attach_time: null,
        detach_time: null,
        created_at: now,
        updated_at: null,
        deleted: 0,
        deleted_at: null,
      };
      await insertAttachment(trx, row);
      return row;
    });
    return reserved;
  }

  /**
   * attachment_update: connects a reserved attachment for a connector. Cinder refuses a second
   * connected host on a volume that is not multiattach, and answers 500 with its reason for
   * every refusal here (its controller wraps CinderException).
   */
  async update(ctx: RequestContext, attachment: AttachmentRow, connector: Record<string, unknown>): Promise<AttachmentRow> {
    try {
      const volume = await selectVolume(this.d.db, attachment.volume_id);
      if (!volume) throw VolumeNotFound(attachment.volume_id);
      if (volume.status.includes('error')) {
        throw InvalidVolume(`Volume attachments can not be updated if the volume is in an error state. The Volume ${volume.id} currently has a status of: ${volume.status} `);
      }
      const all = (await attachmentsOf(this.d.db, [volume.id])).get(volume.id)!;
      if (all.length > 1 && !volume.multiattach && !(await this.typeIsMultiattach(volume.volume_type_id))) {
        const hosts = new Set(all.filter(connected).map((a) => parseJson(a.connector).host));
        if (hosts.size > 0) throw InvalidVolume(`duplicate connectors detected on volume ${volume.id}`);
      }
      const info = await this.connect(ctx, volume.id, attachment.id, connector);
      await updateAttachment(this.d.db, attachment.id, { connection_info: JSON.stringify(info) });
      // COMPAT(cinder): the answer is the attachment as it was read, with the connection info
      return { ...attachment, connection_info: JSON.stringify(info) };
    } catch (err) {
      if (err instanceof AltoError && err.kind === 'bad_request') {
        throw new InternalError(`Unable to update attachment.(${err.message}).`, 'volume.attachment_update_failed');
      }
      throw err;
    }
  }

  /** os-complete (3.44): the attachment attached, the volume in-use. */
  async complete(attachment: AttachmentRow): Promise<void> {
    const now = this.d.clock.nowMs();
    await this.d.db.transaction().execute(async (trx) => {
      await updateAttachment(trx, attachment.id, { attach_status: 'attached', updated_at: now });
      await updateVolumeIf(trx, attachment.volume_id, undefined, { status: 'in-use', attach_status: 'attached', updated_at: now });
    });
  }

  /**
   * attachment_delete: refuses a user's delete of a connected attachment its server still uses
   * (409), terminates the connection on the worker, then removes the row; the volume's status is
   * recomputed from what is left. Answers the attachments left on the volume.
   */
  async delete(ctx: RequestContext, attachment: AttachmentRow): Promise<AttachmentRow[]> {
    await this.deletionAllowed(ctx, attachment);
    if (attachment.attach_status !== 'reserved') {
      const connector = parseJson(attachment.connector);
      if (attachment.connector) await this.terminate(ctx, attachment.volume_id, connector);
    }
    await this.finishDetach(attachment.volume_id, attachment.id);
    return (await attachmentsOf(this.d.db, [attachment.volume_id])).get(attachment.volume_id)!;
  }

  /**
   * Cinder's attachment_deletion_allowed (bug 2004555): a service may always; a user may not
   * remove an attachment a server still uses (409), nor one it cannot name (an unknown id, or a
   * volume with several attachments and none named).
   */
  async deletionAllowed(ctx: RequestContext, attachmentOrId: AttachmentRow | string | undefined, volume?: VolumeRow): Promise<void> {
    if (ctx.serviceRoles.includes('service')) return;
    let ref = attachmentOrId;
    if (!ref && volume) {
      const all = (await attachmentsOf(this.d.db, [volume.id])).get(volume.id)!;
      if (!all.length) return;
      if (all.length === 1) ref = all[0];
    }
    const a = typeof ref === 'string' ? await selectAttachment(this.d.db, ref) : ref;
    if (a) {
      if (volume && volume.id !== a.volume_id) throw InvalidInput('Mismatched volume and attachment');
      if (!a.instance_uuid || !connected(a)) return;
      // COMPAT(cinder 2004555): without a compute service to ask, the attachment is treated as unknown to Nova
      const lookup = this.opts.serverAttachment;
      if (!lookup) return;
      const used = await lookup(ctx, a.instance_uuid, a.volume_id);
      if (used === null || used !== a.id) return;
    }
    throw Conflict(`Detach volume from instance ${a?.instance_uuid ?? ''} using the Compute API`, 'volume.nova_using_attachment');
  }

  /** Cinder's volume_detached: the attachment gone, the volume's statuses from those left. */
  async finishDetach(volumeId: string, attachmentId: string | null): Promise<void> {
    const now = this.d.clock.nowMs();
    await this.d.db.transaction().execute(async (trx) => {
      if (attachmentId) await destroyAttachment(trx, attachmentId, now);
      const volume = await selectVolume(trx, volumeId);
      if (!volume) return;
      const { status, attachStatus } = await statusesFromAttachments(trx, volumeId);
      const set: Parameters<typeof updateVolumeIf>[3] = { attach_status: attachStatus, updated_at: now };
      // migrations and uploads set the status themselves when they end
      if (attachStatus !== 'detached' || (!volume.migration_status && volume.status !== 'uploading') || ['success', 'error'].includes(volume.migration_status ?? '')) set.status = status;
      await updateVolumeIf(trx, volumeId, undefined, set);
    });
  }

  // ---- the connection, on the volume's worker ------------------------------------------------

  /**
   * The manager's attachment_update: the backend connects the connector, the attachment and the
   * volume become attaching, and the answer is Cinder's flattened connection info (the driver's
   * data, driver_volume_type and attachment_id at one level).
   */
  private async connect(ctx: RequestContext, volumeId: string, attachmentId: string, connector: Record<string, unknown>): Promise<Record<string, unknown>> {
    const attachment = (await selectAttachment(this.d.db, attachmentId))!;
    const mode = attachment.attach_mode && attachment.attach_mode !== 'null' ? attachment.attach_mode : typeof connector.mode === 'string' ? connector.mode : 'rw';
    const withMode = { ...connector, mode };
    const info = await this.initializeConnection(ctx, volumeId, withMode);
    const now = this.d.clock.nowMs();
    await this.d.db.transaction().execute(async (trx) => {
      await updateAttachment(trx, attachmentId, {
        attach_status: 'attaching',
        connector: JSON.stringify(withMode),
        attached_host: typeof connector.host === 'string' ? connector.host : '',
        mountpoint: typeof connector.mountpoint === 'string' ? connector.mountpoint : 'na',
        attach_mode: mode,
        attach_time: now,
        updated_at: now,
      });
      await updateVolumeIf(trx, volumeId, undefined, { status: 'attaching', attach_status: 'attaching', updated_at: now });
    });
    return { ...info.data, driver_volume_type: info.driver_volume_type, attachment_id: attachmentId };
  }

  /** The worker's initialize_connection with Cinder's _parse_connection_options applied. */
  async initializeConnection(ctx: RequestContext, volumeId: string, connector: Record<string, unknown>): Promise<ConnectionInfoOut> {
    const volume = await selectVolume(this.d.db, volumeId);
    if (!volume) throw VolumeNotFound(volumeId);
    const host = this.hostOrThrow(volume);
    const raw = (await this.d.bus.call({ topic: VOLUME_TOPIC, server: host }, 'initialize_connection', { volume_id: volume.id, connector: connector as JsonObject }, this.callOptions(ctx))) as unknown as WireConnectionInfo;
    return this.parseConnectionOptions(volume, raw);
  }

  /** The worker's terminate_connection. */
  async terminate(ctx: RequestContext, volumeId: string, connector: Record<string, unknown> | null): Promise<void> {
    const volume = await selectVolume(this.d.db, volumeId);
    if (!volume) throw VolumeNotFound(volumeId);
    const host = this.hostOrThrow(volume);
    await this.d.bus.call({ topic: VOLUME_TOPIC, server: host }, 'terminate_connection', { volume_id: volume.id, connector: (connector ?? {}) as JsonObject }, this.callOptions(ctx));
  }

  private callOptions(ctx: RequestContext) {
    return { requestId: ctx.requestId, ...(this.opts.rpcTimeoutMs ? { timeoutMs: this.opts.rpcTimeoutMs } : {}) };
  }

  private hostOrThrow(volume: VolumeRow): string {
    if (!volume.host) throw InvalidVolume(`Volume ${volume.id} has no backend host yet (status ${volume.status}).`);
    return volume.host;
  }

  private async typeIsMultiattach(typeId: string): Promise<boolean> {
    return (await extraSpecsOf(this.d.db, typeId)).multiattach === '<is> True';
  }

  /** Cinder's _parse_connection_options: front-end QoS (per-GB values resolved), access mode, encrypted, cacheable. */
  private async parseConnectionOptions(volume: VolumeRow, raw: WireConnectionInfo): Promise<ConnectionInfoOut> {
    const data: Record<string, unknown> = { ...(raw.data ?? {}) };
    data.qos_specs = await this.frontEndQos(this.d.db, volume);
    // COMPAT(cinder): access mode from the readonly flag (Cinder's admin metadata `readonly`)
    data.access_mode = isReadOnly(volume) ? 'ro' : 'rw';
    if (data.encrypted === undefined || data.encrypted === null) data.encrypted = !!volume.encryption_key_id;
    const cacheable = (await extraSpecsOf(this.d.db, volume.volume_type_id)).cacheable === '<is> True';
    data.cacheable = data.cacheable !== undefined && data.cacheable !== null ? !!data.cacheable && cacheable : cacheable;
    return { driver_volume_type: raw.driver_volume_type, data };
  }

  private async frontEndQos(db: Db, volume: VolumeRow): Promise<Record<string, unknown> | null> {
    const type = await selectTypeById(db, volume.volume_type_id);
    if (!type?.qos_specs_id) return null;
    const qos = await db.selectFrom('qos_specs').select(['id', 'consumer']).where('id', '=', type.qos_specs_id).where('deleted', '=', 0).executeTakeFirst();
    if (!qos || !['front-end', 'both'].includes(qos.consumer)) return null;
    const kv = await db.selectFrom('qos_spec_kv').select(['key', 'value']).where('qos_specs_id', '=', qos.id).execute();
    const specs: Record<string, unknown> = Object.fromEntries(kv.map((r) => [r.key, r.value]));
    const size = Number(volume.size);
    for (const opt of QOS_TUNE) {
      const perGb = `${opt}_per_gb`;
      if (!(perGb in specs)) continue;
      const minimum = Math.trunc(Number(specs[`${opt}_per_gb_min`] ?? 0));
      delete specs[`${opt}_per_gb_min`];
      const perGbValue = Math.max(minimum, Math.trunc(Number(specs[perGb])) * size);
      const max = Math.trunc(Number(specs[`${opt}_max`] ?? perGbValue));
      delete specs[`${opt}_max`];
      specs[opt] = Math.min(perGbValue, max);
      delete specs[perGb];
    }
    return specs;
  }
}
