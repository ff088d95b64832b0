// Volumes: create (blank, from a snapshot, a volume or an image), list, show, update, delete and
// metadata; the invariants Cinder's volume/api.py keeps, quota in the same transaction as the
// row, and a bus message that only names the volume (the scheduler or worker converges it).
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '@alto/kernel';
import { SCHEDULER_TOPIC, VOLUME_TOPIC } from '../workers/topics.js';
import { attachmentsOf, type AttachmentRow } from '../store/attachment.repo.js';
import { selectProjectDefaultType, selectTypeById, selectTypeByName, typeAccessible, typeNamesOf, type VolumeTypeRow } from '../store/type.repo.js';
import {
  countVolumes,
  deleteMetadataKey,
  insertVolume,
  listVolumeRows,
  metadataOf,
  selectVolume,
  updateVolumeIf,
  writeMetadata,
  type Db,
  type VolumeListQuery,
  type VolumeRow,
} from '../store/volume.repo.js';
import type { VolumeTable } from '../store/schema.js';
import { isAdmin, ownerTarget, type BlockStorageCoreDeps } from './deps.js';
import { InvalidInput, InvalidSnapshot, InvalidVolume, SnapshotNotFound, VolumeMetadataNotFound, VolumeNotFound, VolumeTypeNotFound, VolumeTypeNotFoundByName } from './errors.js';
import { volumeDeltas, type QuotaEngine } from './quotas.js';
import { userToken, type GlanceClient } from '../images/glance-client.js';
import { checkImageForVolume } from '../images/image-checks.js';

/** A volume with what its views show besides the row. */
export interface VolumeDetail {
  row: VolumeRow;
  metadata: Record<string, string>;
  imageMetadata: Record<string, string>;
  typeName: string | null;
  attachments: AttachmentRow[];
  /** The id of the worker service hosting the volume (3.48 service_uuid). */
  serviceUuid: string | null;
}

export interface CreateVolumeInput {
  size?: number | undefined;
  name?: string | null | undefined;
  description?: string | null | undefined;
  volumeType?: string | null | undefined;
  availabilityZone?: string | null | undefined;
  metadata?: Record<string, string> | undefined;
  snapshotId?: string | null | undefined;
  sourceVolid?: string | null | undefined;
  imageId?: string | null | undefined;
  backupId?: string | null | undefined;
  multiattach?: boolean | undefined;
}

export interface UpdateVolumeInput {
  name?: string | null | undefined;
  description?: string | null | undefined;
  metadata?: Record<string, string> | undefined;
}

/** Statuses a volume may be deleted from (Cinder's volume/api.py delete). */
const DELETABLE = ['available', 'error', 'error_restoring', 'error_extending', 'error_managing'];
const CANNOT_DELETE =
  'Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.';

export const looksLikeUuid = (s: string) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(s);

export class VolumesService {
  private readonly d: BlockStorageCoreDeps;
  private readonly quotas: QuotaEngine;

  private readonly glance: GlanceClient | undefined;

  /** glance: the image service, for volumes created from images (refused without it). */
  constructor(d: BlockStorageCoreDeps, quotas: QuotaEngine, glance?: GlanceClient) {
    this.d = d;
    this.quotas = quotas;
    this.glance = glance;
  }

  /** A live volume the caller may see (its project's; any for admins), or VolumeNotFound. */
  async getRowOrThrow(ctx: RequestContext, id: string, db: Db = this.d.db): Promise<VolumeRow> {
    const row = await selectVolume(db, id);
    if (!row || (!isAdmin(ctx) && row.project_id !== ctx.projectId)) throw VolumeNotFound(id);
    return row;
  }

  /** The policy target Cinder passes for a volume (its fields, owner's project and user). */
  target(row: VolumeRow): Record<string, unknown> {
    return { ...row, project_id: row.project_id, user_id: row.user_id };
  }

  async getOrThrow(ctx: RequestContext, id: string): Promise<VolumeDetail> {
    const [detail] = await this.hydrate([await this.getRowOrThrow(ctx, id)]);
    return detail!;
  }

  async hydrate(rows: VolumeRow[]): Promise<VolumeDetail[]> {
    const ids = rows.map((r) => r.id);
    const [meta, image, types, attachments, services] = await Promise.all([
      metadataOf(this.d.db, 'volume_metadata', ids),
      metadataOf(this.d.db, 'volume_image_metadata', ids),
      typeNamesOf(this.d.db, rows.map((r) => r.volume_type_id)),
      attachmentsOf(this.d.db, ids),
      this.d.db.selectFrom('service').select(['id', 'host']).where('binary', '=', 'cinder-volume').execute(),
    ]);
    const serviceOf = new Map(services.map((s) => [s.host, s.id]));
    return rows.map((row) => ({
      row,
      metadata: meta.get(row.id) ?? {},
      imageMetadata: image.get(row.id) ?? {},
      typeName: types.get(row.volume_type_id) ?? null,
      attachments: attachments.get(row.id) ?? [],
      serviceUuid: row.host ? (serviceOf.get(row.host) ?? serviceOf.get(row.host.split('#')[0]!) ?? null) : null,
    }));
  }

  async list(q: VolumeListQuery): Promise<VolumeDetail[]> {
    return this.hydrate(await listVolumeRows(this.d.db, q));
  }

  async count(q: VolumeListQuery): Promise<{ count: number; size: number }> {
    return countVolumes(this.d.db, q);
  }

  async markerOrThrow(ctx: RequestContext, id: string): Promise<VolumeRow> {
    return this.getRowOrThrow(ctx, id);
  }

  /** Resolves a type given by id or name (Cinder tries both), honouring private types' access. */
  async resolveType(ctx: RequestContext, ref: string): Promise<VolumeTypeRow> {
    const t = (looksLikeUuid(ref) ? await selectTypeById(this.d.db, ref) : undefined) ?? (await selectTypeByName(this.d.db, ref));
    if (!t || !(await this.mayUseType(ctx, t))) throw looksLikeUuid(ref) ? VolumeTypeNotFound(ref) : VolumeTypeNotFoundByName(ref);
    return t;
  }

  private async mayUseType(ctx: RequestContext, t: VolumeTypeRow): Promise<boolean> {
    return !!t.is_public || isAdmin(ctx) || (!!ctx.projectId && (await typeAccessible(this.d.db, t.id, ctx.projectId)));
  }

  /** The type of volumes created without one: the project's default (3.62), else cinder.conf's. */
  async defaultType(projectId: string | undefined): Promise<VolumeTypeRow> {
    const own = projectId ? await selectProjectDefaultType(this.d.db, projectId) : undefined;
    const t = (own ? await selectTypeById(this.d.db, own) : undefined) ?? (await selectTypeByName(this.d.db, this.d.config.defaultVolumeType));
    if (!t) throw VolumeTypeNotFoundByName(this.d.config.defaultVolumeType);
    return t;
  }

  /** The availability zones volumes can be in: every worker's, and this deployment's default. */
  async availabilityZones(): Promise<Set<string>> {
    const rows = await this.d.db.selectFrom('service').select('availability_zone').where('binary', '=', 'cinder-volume').execute();
    return new Set([this.d.config.storageAvailabilityZone, ...rows.map((r) => r.availability_zone)]);
  }

  async create(ctx: RequestContext, input: CreateVolumeInput): Promise<VolumeDetail> {
    const projectId = ctx.projectId;
    if (!projectId) throw InvalidInput('a project-scoped token is required to create a volume');
    let size = input.size;
    let host: string | null = null;
    let az = input.availabilityZone ?? undefined;
    let inheritedType: string | undefined;
    let bootable = 0;
    let imageMeta: Record<string, string> = {};

    if (input.snapshotId) {
      const snap = await this.d.db.selectFrom('snapshot').selectAll().where('id', '=', input.snapshotId).where('deleted', '=', 0).executeTakeFirst();
      if (!snap || (!isAdmin(ctx) && snap.project_id !== projectId)) throw SnapshotNotFound(input.snapshotId);
      if (snap.status !== 'available') throw InvalidSnapshot("Originating snapshot status must be one of 'available' values");
      const source = await selectVolume(this.d.db, snap.volume_id);
      if (!source) throw VolumeNotFound(snap.volume_id);
      size ??= Number(snap.volume_size);
      if (size < Number(snap.volume_size)) {
        throw InvalidInput(`Volume size '${size}'GB cannot be smaller than the snapshot size ${snap.volume_size}GB. They must be >= original snapshot size.`);
      }
      if (az && az !== source.availability_zone) throw InvalidInput('Volume must be in the same availability zone as the snapshot');
      az = source.availability_zone;
      host = source.host;
      inheritedType = source.volume_type_id;
      bootable = source.bootable;
      imageMeta = (await metadataOf(this.d.db, 'volume_image_metadata', [source.id])).get(source.id) ?? {};
    } else if (input.sourceVolid) {
      const source = await selectVolume(this.d.db, input.sourceVolid);
      if (!source || (!isAdmin(ctx) && source.project_id !== projectId)) throw VolumeNotFound(input.sourceVolid);
      if (!['available', 'in-use'].includes(source.status)) throw InvalidVolume(`Unable to clone volumes that are in an error state`);
      size ??= Number(source.size);
      if (size < Number(source.size)) {
        throw InvalidInput(`Volume size '${size}'GB cannot be smaller than original volume size ${source.size}GB. They must be >= original volume size.`);
      }
      if (az && az !== source.availability_zone) throw InvalidInput('Volume must be in the same availability zone as the source volume');
      az = source.availability_zone;
      host = source.host;
      inheritedType = source.volume_type_id;
      bootable = source.bootable;
      imageMeta = (await metadataOf(this.d.db, 'volume_image_metadata', [source.id])).get(source.id) ?? {};
    }
    if (size === undefined) throw InvalidInput('Size must be specified');
    let imageId = input.imageId ?? null;
    if (imageId) {
      if (!this.glance || !ctx.authToken) throw InvalidInput('volumes cannot be created from images: the image service is not configured');
      // as the caller: an image it cannot see is "Invalid image identifier ..." (Cinder shows it with the user's context)
      const image = await checkImageForVolume(this.glance, userToken(ctx.authToken), imageId, size);
      imageId = image.id;
      const typeProp = (image as Record<string, unknown>).cinder_img_volume_type;
      if (!input.volumeType && typeof typeProp === 'string' && typeProp) inheritedType = (await this.resolveType(ctx, typeProp)).id;
    }

    const type = input.volumeType ? await this.resolveType(ctx, input.volumeType) : inheritedType ? ((await selectTypeById(this.d.db, inheritedType)) ?? (await this.defaultType(projectId))) : await this.defaultType(projectId);
    if (input.volumeType && inheritedType && type.id !== inheritedType && input.sourceVolid) {
      throw InvalidInput('Invalid volume_type provided: ' + input.volumeType + ' (requested type is not compatible; recommend omitting the type argument).');
    }
    az ??= this.d.config.defaultAvailabilityZone ?? this.d.config.storageAvailabilityZone;
    if (!(await this.availabilityZones()).has(az)) throw InvalidInput(`Availability zone '${az}' is invalid.`);
    await this.quotas.checkPerVolumeSize(projectId, size);

    const now = this.d.clock.nowMs();
    const row: VolumeTable = {
      id: randomUUID(),
      project_id: projectId,
      user_id: ctx.userId ?? '',
      name: input.name ?? null,
      description: input.description ?? null,
      size,
      status: 'creating',
      attach_status: 'detached',
      migration_status: null,
      availability_zone: az,
      volume_type_id: type.id,
      host,
      bootable,
      multiattach: input.multiattach ? 1 : 0,
      read_only: 0,
      snapshot_id: input.snapshotId ?? null,
      source_volid: input.sourceVolid ?? null,
      image_id: imageId,
      encryption_key_id: null,
      replication_status: null,
      consistencygroup_id: null,
      group_id: null,
      provider_location: null,
      target_size: null,
      task_owner: null,
      task_lease_until: null,
      created_at: now,
      updated_at: null,
      launched_at: null,
      terminated_at: null,
      deleted: 0,
      deleted_at: null,
      previous_status: null,
      use_quota: 1,
      task_args: null,
    };
    const deltas = volumeDeltas(size, type.name);
    await this.quotas.prepare(projectId, deltas);
    await this.d.db.transaction().execute(async (trx) => {
      await this.quotas.consume(trx, projectId, deltas);
      await insertVolume(trx, row);
      await writeMetadata(trx, 'volume_metadata', row.id, input.metadata ?? {}, true);
      if (Object.keys(imageMeta).length) await writeMetadata(trx, 'volume_image_metadata', row.id, imageMeta, true);
    });
    await this.kick(row.id, host, 'create_volume', ctx.requestId);
    return this.getOrThrow(ctx, row.id);
  }

  /**
   * Tells the scheduler (unplaced) or the volume's worker to look at it; a lost message is found by
   * their sweeps. The request id travels along so a user message names the request that failed.
   */
  async kick(volumeId: string, host: string | null, method: string, requestId?: string): Promise<void> {
    const target = host ? { topic: VOLUME_TOPIC, server: host } : { topic: SCHEDULER_TOPIC };
    await this.d.bus.cast(target, host ? method : 'create_volume', { volume_id: volumeId, ...(requestId ? { request_id: requestId } : {}) }).catch((err: unknown) => {
      this.d.log.warn({ volume_id: volumeId, err: err instanceof Error ? err.message : String(err) }, 'could not send the volume to be worked on; a sweep will find it');
    });
  }

  async update(ctx: RequestContext, id: string, input: UpdateVolumeInput): Promise<VolumeDetail> {
    const row = await this.getRowOrThrow(ctx, id);
    const set: Partial<VolumeTable> = { updated_at: this.d.clock.nowMs() };
    if (input.name !== undefined) set.name = input.name;
    if (input.description !== undefined) set.description = input.description;
    await this.d.db.transaction().execute(async (trx) => {
      await updateVolumeIf(trx, row.id, undefined, set);
      if (input.metadata !== undefined) await writeMetadata(trx, 'volume_metadata', row.id, input.metadata, true);
    });
    return this.getOrThrow(ctx, id);
  }

  /**
   * Marks a volume deleting (and its snapshots, with cascade) and tells its worker; a volume never
   * placed on a backend is removed at once. force (os-force_delete) skips the status checks.
   */
  async delete(ctx: RequestContext, id: string, opts: { cascade?: boolean; force?: boolean } = {}): Promise<void> {
    const row = await this.getRowOrThrow(ctx, id);
    const now = this.d.clock.nowMs();
    // COMPAT(cinder volume/api.py delete): checked before any status check
    if (!row.host) {
      // never placed on a backend (no valid host): nothing to converge, so it goes at once with
      // its quota, as Cinder's API destroys such a volume itself
      const typeName = (await typeNamesOf(this.d.db, [row.volume_type_id])).get(row.volume_type_id);
      const gone = await this.d.db.transaction().execute(async (trx) => {
        const r = await trx.updateTable('volume').set({ status: 'deleted', deleted: 1, deleted_at: now, terminated_at: now, updated_at: now }).where('id', '=', id).where('deleted', '=', 0).where('host', 'is', null).executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false;
        if (row.use_quota) await this.quotas.release(trx, row.project_id, typeName ? volumeDeltas(Number(row.size), typeName) : { volumes: 1, gigabytes: Number(row.size) });
        return true;
      });
      if (!gone) throw InvalidVolume(CANNOT_DELETE);
      return;
    }
    const snapshots = await this.d.db.selectFrom('snapshot').select(['id', 'status']).where('volume_id', '=', id).where('deleted', '=', 0).execute();
    // force (os-force_delete) skips only the status check, as Cinder's: attached volumes, ones with
    // snapshots (without cascade), migrating or grouped ones are refused either way
    const attached = row.attach_status === 'attached' || (await attachmentsOf(this.d.db, [id])).get(id)!.some((a) => a.attach_status !== 'detached');
    if ((!opts.force && !DELETABLE.includes(row.status)) || attached || row.migration_status || row.group_id || (snapshots.length && !opts.cascade)) throw InvalidVolume(CANNOT_DELETE);
    if (opts.cascade && snapshots.some((s) => !['available', 'error', 'deleting', 'error_deleting'].includes(s.status))) {
      throw InvalidVolume('Snapshot ' + snapshots.find((s) => !['available', 'error'].includes(s.status))!.id + ' must not be part of a group or in an in-progress state.');
    }
    const from = opts.force ? undefined : DELETABLE;
    const marked = await this.d.db.transaction().execute(async (trx) => {
      if (!(await updateVolumeIf(trx, id, from, { status: 'deleting', previous_status: row.status, updated_at: now, task_owner: null, task_lease_until: null }))) return false;
      if (snapshots.length) await trx.updateTable('snapshot').set({ status: 'deleting', updated_at: now }).where('volume_id', '=', id).where('deleted', '=', 0).execute();
      return true;
    });
    if (!marked) throw InvalidVolume(CANNOT_DELETE);
    await this.kick(id, row.host, 'delete_volume', ctx.requestId);
  }

  // ---- metadata ------------------------------------------------------------------------------

  async metadata(ctx: RequestContext, id: string): Promise<Record<string, string>> {
    const row = await this.getRowOrThrow(ctx, id);
    return (await metadataOf(this.d.db, 'volume_metadata', [row.id])).get(row.id) ?? {};
  }

  async metadataKey(ctx: RequestContext, id: string, key: string): Promise<string> {
    const meta = await this.metadata(ctx, id);
    if (!(key in meta)) throw VolumeMetadataNotFound(id, key);
    return meta[key]!;
  }

  /** Merges (POST, PUT of one key) or replaces (PUT) a volume's metadata; answers the result. */
  async setMetadata(ctx: RequestContext, id: string, meta: Record<string, string>, replace: boolean): Promise<Record<string, string>> {
    const row = await this.getRowOrThrow(ctx, id);
    if (row.status === 'maintenance') throw InvalidVolume("Volume status must be in 'available', 'in-use', or 'error' (maintenance)");
    await this.d.db.transaction().execute(async (trx) => {
      await writeMetadata(trx, 'volume_metadata', row.id, meta, replace);
      await updateVolumeIf(trx, row.id, undefined, { updated_at: this.d.clock.nowMs() });
    });
    return this.metadata(ctx, id);
  }

  async deleteMetadataKey(ctx: RequestContext, id: string, key: string): Promise<void> {
    const row = await this.getRowOrThrow(ctx, id);
    if (!(await deleteMetadataKey(this.d.db, 'volume_metadata', row.id, key))) throw VolumeMetadataNotFound(id, key);
  }

  /** Policy decisions shaping a volume's view (Cinder's fatal=False checks). */
  viewRights(ctx: RequestContext, row: VolumeRow): { host: boolean; migration: boolean; tenant: boolean; imageMetadata: boolean } {
    const t = ownerTarget(ctx, row);
    return {
      host: this.d.authz.check('volume_extension:volume_host_attribute', ctx, t),
      migration: this.d.authz.check('volume_extension:volume_mig_status_attribute', ctx, t),
      tenant: this.d.authz.check('volume_extension:volume_tenant_attribute', ctx, t),
      imageMetadata: this.d.authz.check('volume_extension:volume_image_metadata:show', ctx, t),
    };
  }
}
