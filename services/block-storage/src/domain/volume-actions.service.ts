// Volume actions (POST /volumes/{id}/action): extend, bootable and readonly flags, admin
// reset/force-delete/force-detach, retype, the legacy attach state machine (reserve,
// initialize_connection, attach, begin/roll detaching, detach, terminate_connection) and image
// metadata, with the checks and wording of Cinder's volume/api.py, manager and admin_actions.
import { randomUUID } from 'node:crypto';
import { AltoError, InternalError, type RequestContext } from '@alto/kernel';
import { availabilityZoneFilter, capabilitiesFilter } from '../scheduler/backend.filters.js';
import { backendStateOf } from '../workers/volume-scheduler.js';
import { WORKER_BINARY } from '../workers/volume-worker.js';
import { backendHostOf } from '../workers/topics.js';
import { attachmentsOf, insertAttachment, type AttachmentRow } from '../store/attachment.repo.js';
import { extraSpecsOf, selectTypeById, selectTypeByName, type VolumeTypeRow } from '../store/type.repo.js';
import { deleteMetadataKey, isReadOnly, metadataOf, READ_ONLY, READ_WRITE, selectVolume, updateVolumeIf, writeMetadata, type VolumeColumns, type VolumeRow } from '../store/volume.repo.js';
import type { BlockStorageCoreDeps } from './deps.js';
import { BadRequest, InvalidInput, InvalidVolume, NotFound, VolumeTypeNotFound, VolumeTypeNotFoundByName } from './errors.js';
import { typeResource, type Deltas, type QuotaEngine } from './quotas.js';
import { looksLikeUuid, type VolumesService } from './volumes.service.js';
import type { AttachmentsService, ConnectionInfoOut } from './attachments.service.js';

/** Cinder's volume/api.py AVAILABLE_MIGRATION_STATUS: a volume not being migrated. */
const NOT_MIGRATING = [null, 'deleting', 'error', 'success'];
const notMigrating = (row: VolumeRow) => NOT_MIGRATING.includes(row.migration_status);

/** Cinder's fields.VolumeStatus.ALL, in its order (the reset_status message lists them). */
export const VOLUME_STATUSES = [
  'creating', 'available', 'deleting', 'error', 'error_deleting', 'error_managing', 'managing', 'attaching', 'in-use', 'detaching', 'maintenance',
  'restoring-backup', 'error_restoring', 'reserved', 'awaiting-transfer', 'backing-up', 'error_backing-up', 'error_extending', 'downloading',
  'uploading', 'retyping', 'extending',
] as const;
export const RESET_ATTACH_STATUSES = ['attached', 'detached'] as const;
export const MIGRATION_STATUSES = ['migrating', 'error', 'success', 'completing', 'none', 'starting'] as const;

/** Cinder's sanitize_hostname (RFC 952/1123), applied to os-attach's host_name. */
export function sanitizeHostname(h: string): string {
  // latin-1 only: characters beyond it are dropped, as Cinder's encode('latin-1', 'ignore')
  return [...h]
    .filter((c) => c.charCodeAt(0) <= 0xff)
    .join('')
    .replace(/[ _]/g, '-')
    .replace(/[^\p{L}\p{N}_.-]+/gu, '')
    .toLowerCase()
    .replace(/^[.-]+|[.-]+$/g, '');
}

export interface ResetStatusInput {
  status?: string | null | undefined;
  attachStatus?: string | null | undefined;
  migrationStatus?: string | null | undefined;
}

export interface AttachInput {
  instanceUuid?: string | undefined;
  hostName?: string | undefined;
  mountpoint: string;
  mode: string;
}

export class VolumeActionsService {
  private readonly d: BlockStorageCoreDeps;
  private readonly quotas: QuotaEngine;
  private readonly volumes: VolumesService;
  private readonly attachments: AttachmentsService;

  constructor(d: BlockStorageCoreDeps, quotas: QuotaEngine, volumes: VolumesService, attachments: AttachmentsService) {
    this.d = d;
    this.quotas = quotas;
    this.volumes = volumes;
    this.attachments = attachments;
  }

  private now(): number {
    return this.d.clock.nowMs();
  }

  // ---- size, flags, admin --------------------------------------------------------------------

  /**
   * os-extend: the volume goes extending with target_size, the gigabytes it grows by are
   * consumed in the same transaction, and its worker is told (it converges and answers available
   * or in-use). attached: an in-use volume (3.42+, volume:extend_attached_volume).
   */
  async extend(ctx: RequestContext, row: VolumeRow, newSize: number, attached: boolean): Promise<void> {
    const size = Number(row.size);
    const increase = newSize - size;
    if (increase <= 0) throw InvalidInput(`New size for extend must be greater than current size. (current: ${size}, extended: ${newSize}).`);
    await this.checkTypeSizeLimits(row.volume_type_id, newSize);
    const expected = attached ? 'in-use' : 'available';
    const typeName = (await selectTypeById(this.d.db, row.volume_type_id))?.name;
    const deltas: Deltas = { gigabytes: increase, ...(typeName ? { [typeResource('gigabytes', typeName)]: increase } : {}) };
    await this.quotas.checkPerVolumeSize(row.project_id, newSize);
    await this.quotas.prepare(row.project_id, deltas);
    await this.d.db.transaction().execute(async (trx) => {
      const moved = await updateVolumeIf(trx, row.id, [expected], { status: 'extending', previous_status: expected, target_size: newSize, task_owner: null, task_lease_until: null, updated_at: this.now() });
      if (!moved) {
        const current = (await selectVolume(trx, row.id)) ?? row;
        throw InvalidVolume(`Volume ${row.id} status must be '{'status': '${expected}'}' to extend, currently ${current.status}.`);
      }
      await this.quotas.consume(trx, row.project_id, deltas);
    });
    await this.volumes.kick(row.id, row.host, 'extend_volume');
  }

  /** Cinder's provision_filter_on_size: the type's provisioning:min_vol_size / max_vol_size. */
  private async checkTypeSizeLimits(typeId: string, size: number): Promise<void> {
    const specs = await extraSpecsOf(this.d.db, typeId);
    const min = specs['provisioning:min_vol_size'];
    const max = specs['provisioning:max_vol_size'];
    if (min !== undefined && size < Number(min)) throw InvalidInput(`Volume size ${size}GiB is less than minimum required volume size ${min}GiB for this volume type.`);
    if (max !== undefined && size > Number(max)) throw InvalidInput(`Volume size ${size}GiB is greater than maximum allowed volume size ${max}GiB for this volume type.`);
  }

  /** os-set_bootable (volume_api.update). */
  async setBootable(row: VolumeRow, bootable: boolean): Promise<void> {
    if (row.status === 'maintenance') throw InvalidVolume('The volume cannot be updated during maintenance.');
    await updateVolumeIf(this.d.db, row.id, undefined, { bootable: bootable ? 1 : 0, updated_at: this.now() });
  }

  /** os-update_readonly_flag: only on available volumes (Cinder keeps it as admin metadata `readonly`). */
  async updateReadonly(row: VolumeRow, readonly: boolean): Promise<void> {
    if (row.status !== 'available') throw InvalidVolume(`Volume ${row.id} status must be available to update readonly flag, but current status is: ${row.status}.`);
    await updateVolumeIf(this.d.db, row.id, undefined, { read_only: readonly ? READ_ONLY : READ_WRITE, updated_at: this.now() });
  }

  /**
   * os-reset_status (admin): writes the statuses as given, drops any worker's hold on the volume,
   * and with attach_status detached removes its attachments (the status then follows them, as
   * Cinder's volume_detached decides).
   */
  async resetStatus(row: VolumeRow, input: ResetStatusInput): Promise<void> {
    const set: VolumeColumns = {};
    if (input.status) set.status = input.status.toLowerCase();
    if (input.attachStatus) set.attach_status = input.attachStatus.toLowerCase();
    if (input.migrationStatus) {
      const m = input.migrationStatus.toLowerCase();
      set.migration_status = m === 'none' ? null : m;
    }
    // COMPAT(cinder admin_actions): upstream's tuple lacks a comma ('error_deleting' 'detaching'), so only 'deleting' is refused
    if (set.status === 'deleting' || set.status === 'error_deletingdetaching') throw BadRequest(`Cannot reset-state to ${set.status}`);
    const attached = (await attachmentsOf(this.d.db, [row.id])).get(row.id)!;
    if (set.status === 'in-use' && !attached.length) throw BadRequest('Cannot reset-state to in-use because volume does not have any attachments.');
    await updateVolumeIf(this.d.db, row.id, undefined, { ...set, task_owner: null, task_lease_until: null, updated_at: this.now() });
    if (set.attach_status === 'detached') for (const a of attached) await this.attachments.finishDetach(row.id, a.id);
  }

  // ---- retype --------------------------------------------------------------------------------

  /**
   * os-retype: the new type must differ, the volume be available or in-use, not migrating nor in a
   * group. The volume's own backend must still pass the scheduler's filters for the new type
   * (Cinder's find_retype_backend); then the type changes at once and the per-type quotas move.
   * A volume whose backend does not fit would need a migration, which this deployment does not
   * do: with migration_policy never it stays as it was (Cinder's 202 and silent failure), with
   * on-demand it is refused.
   */
  async retype(ctx: RequestContext, row: VolumeRow, newTypeRef: string, migrationPolicy: string | null): Promise<void> {
    const newType = await this.typeByNameOrId(newTypeRef);
    await this.checkTypeSizeLimits(newType.id, Number(row.size));
    const target = this.volumes.target(row);
    const srcMulti = !!row.multiattach;
    const tgtMulti = (await extraSpecsOf(this.d.db, newType.id)).multiattach === '<is> True';
    if (srcMulti !== tgtMulti) {
      if (row.status !== 'available') {
        throw InvalidInput(`Invalid volume_type passed, retypes affecting multiattach are only allowed on available volumes, the specified volume however currently has a status of: ${row.status}.`);
      }
      if (tgtMulti) this.d.authz.enforce('volume:multiattach', ctx, target);
    }
    const oldType = await selectTypeById(this.d.db, row.volume_type_id);
    const qosAllows = row.status === 'available' || (await this.qosAllowsRetype(oldType, newType));
    if (!['available', 'in-use'].includes(row.status) || !notMigrating(row) || row.consistencygroup_id || row.group_id || row.volume_type_id === newType.id || !qosAllows) {
      throw InvalidVolume(
        'Retype needs volume to be in available or in-use state, not be part of an active migration or a consistency group, requested type has to be different that the one from the volume, and for in-use volumes front-end qos specs cannot change.',
      );
    }
    if (!(await this.backendFits(row, newType))) {
      if (migrationPolicy === 'on-demand') {
        throw BadRequest(`Invalid volume: Retyping volume ${row.id} to type ${newType.name} needs a migration to another backend, which this deployment does not support.`, 'volume.retype_needs_migration');
      }
      this.d.log.warn({ volume_id: row.id, new_type: newType.name }, 'retype: the volume\'s backend does not satisfy the new type and migration_policy is never; nothing changed');
      return;
    }
    const size = Number(row.size);
    const add: Deltas = { [typeResource('volumes', newType.name)]: 1, [typeResource('gigabytes', newType.name)]: size };
    const give: Deltas = oldType ? { [typeResource('volumes', oldType.name)]: 1, [typeResource('gigabytes', oldType.name)]: size } : {};
    await this.quotas.prepare(row.project_id, add);
    await this.d.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('volume')
        .set({ volume_type_id: newType.id, multiattach: tgtMulti ? 1 : 0, previous_status: row.status, updated_at: this.now() })
        .where('id', '=', row.id)
        .where('deleted', '=', 0)
        .where('status', 'in', ['available', 'in-use'])
        .where('volume_type_id', '=', row.volume_type_id)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw InvalidVolume('Retype needs volume to be in available or in-use state, not be part of an active migration or a consistency group, requested type has to be different that the one from the volume, and for in-use volumes front-end qos specs cannot change.');
      if (row.use_quota) {
        await this.quotas.consume(trx, row.project_id, add);
        await this.quotas.release(trx, row.project_id, give);
      }
    });
  }

  /** VolumeType.get_by_name_or_id (elevated: private types too). */
  private async typeByNameOrId(ref: string): Promise<VolumeTypeRow> {
    if (looksLikeUuid(ref)) {
      const t = await selectTypeById(this.d.db, ref);
      if (!t) throw VolumeTypeNotFound(ref);
      return t;
    }
    const t = await selectTypeByName(this.d.db, ref);
    if (!t) throw VolumeTypeNotFoundByName(ref);
    return t;
  }

  /** volume_qos_allows_retype for in-use volumes: the same QoS, or no front-end QoS on either type. */
  private async qosAllowsRetype(oldType: VolumeTypeRow | undefined, newType: VolumeTypeRow): Promise<boolean> {
    if ((oldType?.qos_specs_id ?? null) === newType.qos_specs_id) return true;
    const ids = [oldType?.qos_specs_id, newType.qos_specs_id].filter((x): x is string => !!x);
    if (!ids.length) return true;
    const rows = await this.d.db.selectFrom('qos_specs').select('consumer').where('id', 'in', ids).where('deleted', '=', 0).execute();
    return !rows.some((r) => r.consumer !== 'back-end');
  }

  /** Whether the volume's backend, as its worker last reported it, passes the zone and capability filters for `type`. */
  private async backendFits(row: VolumeRow, type: VolumeTypeRow): Promise<boolean> {
    if (!row.host) return true;
    const service = await this.d.db.selectFrom('service').selectAll().where('binary', '=', WORKER_BINARY).where('host', 'in', [row.host, backendHostOf(row.host)]).executeTakeFirst();
    const state = service && backendStateOf(service, 0);
    if (!state) return false;
    const request = {
      sizeGb: Number(row.size),
      operation: 'retype' as const,
      availabilityZones: [row.availability_zone],
      volumeType: { name: type.name, extraSpecs: await extraSpecsOf(this.d.db, type.id) },
      volumeExistsOn: row.host,
      volumeId: row.id,
    };
    return availabilityZoneFilter.check(state, request) === null && capabilitiesFilter.check(state, request) === null;
  }

  // ---- the legacy attach state machine ---------------------------------------------------------

  /** os-reserve: available (or in-use when multiattach) -> attaching. */
  async reserve(row: VolumeRow): Promise<void> {
    const expected = row.multiattach ? ['available', 'in-use'] : ['available'];
    const moved = await this.d.db
      .updateTable('volume')
      .set({ status: 'attaching', updated_at: this.now() })
      .where('id', '=', row.id)
      .where('deleted', '=', 0)
      .where('multiattach', '=', row.multiattach)
      .where('status', 'in', expected)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) {
      const current = (await selectVolume(this.d.db, row.id)) ?? row;
      throw InvalidVolume(`Volume status must be ${expected.join(' or ')} to reserve, but the status is ${current.status}.`);
    }
  }

  /** os-unreserve: attaching -> in-use when attachments remain, else available; anything else is left alone. */
  async unreserve(volumeId: string): Promise<void> {
    const live = (await attachmentsOf(this.d.db, [volumeId])).get(volumeId)!.filter((a) => a.attach_status !== 'detached');
    await updateVolumeIf(this.d.db, volumeId, ['attaching'], { status: live.length ? 'in-use' : 'available', updated_at: this.now() });
  }

  /** os-begin_detaching: in-use and attached (and not migrating) -> detaching. */
  async beginDetaching(row: VolumeRow): Promise<void> {
    const moved = await this.d.db
      .updateTable('volume')
      .set({ status: 'detaching', updated_at: this.now() })
      .where('id', '=', row.id)
      .where('deleted', '=', 0)
      .where('status', '=', 'in-use')
      .where('attach_status', '=', 'attached')
      .where((eb) => eb.or([eb('migration_status', 'is', null), eb('migration_status', 'in', ['deleting', 'error', 'success'])]))
      .executeTakeFirst();
    // a migrating volume is left as it is without complaint: its detach is the migration's
    if (Number(moved.numUpdatedRows) !== 1 && notMigrating(row)) {
      throw InvalidVolume("Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.");
    }
  }

  /** os-roll_detaching: detaching -> in-use. */
  async rollDetaching(row: VolumeRow): Promise<void> {
    await updateVolumeIf(this.d.db, row.id, ['detaching'], { status: 'in-use', updated_at: this.now() });
  }

  /** os-initialize_connection: the worker's connection info for a connector. */
  async initializeConnection(ctx: RequestContext, row: VolumeRow, connector: unknown): Promise<{ connection_info: ConnectionInfoOut }> {
    if (row.status === 'maintenance') throw InvalidVolume('The volume connection cannot be initialized in maintenance mode.');
    if (!connector || typeof connector !== 'object' || Array.isArray(connector)) throw InvalidInput('Connector does not have the required information: connector must be an object');
    try {
      return { connection_info: await this.attachments.initializeConnection(ctx, row.id, connector as Record<string, unknown>) };
    } catch (err) {
      if (err instanceof AltoError && err.kind === 'bad_request') throw err;
      if (err instanceof AltoError && err.code === 'volume.backend_api') throw new InternalError('Unable to fetch connection information from backend.', 'volume.backend_api');
      throw err;
    }
  }

  /** os-terminate_connection: the worker drops the connection, then the volume is unreserved. */
  async terminateConnection(ctx: RequestContext, row: VolumeRow, connector: unknown): Promise<void> {
    await this.attachments.deletionAllowed(ctx, undefined, row);
    const c = connector && typeof connector === 'object' && !Array.isArray(connector) ? (connector as Record<string, unknown>) : null;
    try {
      if (row.host) await this.attachments.terminate(ctx, row.id, c);
    } catch (err) {
      if (err instanceof AltoError && err.code === 'volume.backend_api') throw new InternalError('Unable to terminate volume connection from backend.', 'volume.backend_api');
      throw err;
    }
    await this.unreserve(row.id);
  }

  /**
   * os-attach (Cinder's attach and the manager's attach_volume): a readonly volume only attaches
   * ro; an instance (or host) already holding an attachment of this volume makes it in-use again;
   * else a new attachment is recorded attached and the volume goes in-use.
   */
  async attach(row: VolumeRow, input: AttachInput): Promise<AttachmentRow> {
    if (row.status === 'maintenance') throw InvalidVolume('The volume cannot be attached in maintenance mode.');
    if (isReadOnly(row) && input.mode !== 'ro') throw BadRequest(`Invalid attaching mode '${input.mode}' for volume ${row.id}.`, 'volume.invalid_attach_mode');
    const hostName = input.hostName ? sanitizeHostname(input.hostName) : null;
    const now = this.now();
    return this.d.db.transaction().execute(async (trx) => {
      let q = trx.selectFrom('volume_attachment').selectAll().where('deleted', '=', 0).where('volume_id', '=', row.id);
      q = input.instanceUuid ? q.where('instance_uuid', '=', input.instanceUuid) : q.where('attached_host', '=', hostName ?? '');
      const existing = await q.executeTakeFirst();
      if (existing) {
        await updateVolumeIf(trx, row.id, undefined, { status: 'in-use', updated_at: now });
        return existing;
      }
      const current = (await selectVolume(trx, row.id)) ?? row;
      if (current.status === 'in-use' && !current.multiattach && !current.migration_status) {
        throw BadRequest('Error attaching volume - InvalidVolume: Invalid volume: volume is already attached and multiple attachments are not enabled', 'volume.invalid_volume');
      }
      const a: AttachmentRow = {
        id: randomUUID(),
        volume_id: row.id,
        project_id: row.project_id,
        instance_uuid: input.instanceUuid ?? null,
        attached_host: hostName,
        mountpoint: input.mountpoint,
        attach_status: 'attached',
        attach_mode: input.mode,
        connector: null,
        connection_info: null,
        attach_time: now,
        detach_time: null,
        created_at: now,
        updated_at: now,
        deleted: 0,
        deleted_at: null,
      };
      await insertAttachment(trx, a);
      await updateVolumeIf(trx, row.id, undefined, { status: 'in-use', attach_status: 'attached', updated_at: now });
      return a;
    });
  }

  /**
   * os-detach (Cinder's detach and the manager's detach_volume): the named attachment (or the only
   * one) is removed and the volume's status follows what is left.
   */
  async detach(ctx: RequestContext, row: VolumeRow, attachmentId: string | null, wording = 'Error detaching volume'): Promise<void> {
    await this.attachments.deletionAllowed(ctx, attachmentId ?? undefined, row);
    if (row.status === 'maintenance') throw InvalidVolume('The volume cannot be detached in maintenance mode.');
    if (attachmentId) {
      await this.attachments.finishDetach(row.id, attachmentId);
      return;
    }
    const all = (await attachmentsOf(this.d.db, [row.id])).get(row.id)!;
    if (all.length > 1) throw BadRequest(`${wording} - InvalidVolume: Invalid volume: Detach volume failed: More than one attachment, but no attachment_id provided.`, 'volume.invalid_volume');
    if (!all.length) {
      await updateVolumeIf(this.d.db, row.id, undefined, { status: 'available', attach_status: 'detached', updated_at: this.now() });
      return;
    }
    await this.attachments.finishDetach(row.id, all[0]!.id);
  }

  /** os-force_detach (admin): terminate the connection, then detach. */
  async forceDetach(ctx: RequestContext, row: VolumeRow, connector: unknown, attachmentId: string | null): Promise<void> {
    await this.terminateConnection(ctx, row, connector);
    const fresh = (await selectVolume(this.d.db, row.id)) ?? row;
    await this.detach(ctx, fresh, attachmentId, 'Error force detaching volume');
  }

  // ---- image metadata ------------------------------------------------------------------------

  async imageMetadata(row: VolumeRow): Promise<Record<string, string>> {
    return (await metadataOf(this.d.db, 'volume_image_metadata', [row.id])).get(row.id) ?? {};
  }

  /** os-set_image_metadata: merges keys into the volume's image metadata; answers all of it. */
  async setImageMetadata(ctx: RequestContext, row: VolumeRow, meta: Record<string, string>): Promise<Record<string, string>> {
    this.d.authz.enforce('volume:update_volume_metadata', ctx, this.volumes.target(row));
    if (['maintenance', 'uploading'].includes(row.status)) throw InvalidVolume(`Updating volume metadata is not allowed for volumes in ${row.status} status.`);
    await writeMetadata(this.d.db, 'volume_image_metadata', row.id, meta, false);
    return this.imageMetadata(row);
  }

  /** os-unset_image_metadata: one key, which must exist. */
  async unsetImageMetadata(ctx: RequestContext, row: VolumeRow, key: string): Promise<void> {
    const meta = await this.imageMetadata(row);
    if (!(key in meta)) throw NotFound(`Glance metadata for volume/snapshot ${row.id} cannot be found.`);
    this.d.authz.enforce('volume:delete_volume_metadata', ctx, this.volumes.target(row));
    if (['maintenance', 'uploading'].includes(row.status)) throw InvalidVolume(`Deleting volume metadata is not allowed for volumes in ${row.status} status.`);
    await deleteMetadataKey(this.d.db, 'volume_image_metadata', row.id, key);
  }

  // ---- used by the dispatcher ----------------------------------------------------------------

  async rowOrThrow(ctx: RequestContext, id: string): Promise<VolumeRow> {
    return this.volumes.getRowOrThrow(ctx, id);
  }

  async forceDelete(ctx: RequestContext, id: string): Promise<void> {
    await this.volumes.delete(ctx, id, { force: true });
  }
}
