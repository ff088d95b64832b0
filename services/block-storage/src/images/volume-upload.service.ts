// os-volume_upload_image: a new image in Glance, created as the caller, that the volume's worker fills with the volume's data (Cinder's volume/api.py copy_volume_to_image).
import { randomUUID } from 'node:crypto';
import { ServiceUnavailableError, type RequestContext } from '@alto/kernel';
import type { BlockStorageCoreDeps } from '../domain/deps.js';
import { BadRequest, InvalidVolume } from '../domain/errors.js';
import type { VolumesService } from '../domain/volumes.service.js';
import { extraSpecsOf, selectTypeById, type VolumeTypeRow } from '../store/type.repo.js';
import { metadataOf, updateVolumeIf, type VolumeRow } from '../store/volume.repo.js';
import { finishTask } from '../store/task-lease.js';
import { GlanceError, userToken, type GlanceClient, type GlanceImage, type NewImage } from './glance-client.js';

export interface UploadImageInput {
  imageName: string;
  force: boolean;
  diskFormat: string;
  containerFormat: string;
  /** 3.1+: visibility and protected of the new image. */
  visibility?: string | undefined;
  protected?: boolean | undefined;
}

export interface UploadImageResult {
  /** The volume as it was before it became uploading (Cinder answers its updated_at). */
  row: VolumeRow;
  image: GlanceImage;
  type: (VolumeTypeRow & { extraSpecs: Record<string, string> }) | undefined;
}

export interface VolumeUploadOptions {
  /** Cinder's enable_force_upload: without it `force` is ignored and an in-use volume is refused. */
  enableForceUpload?: boolean;
  /** How long the API holds the volume's task while it creates the image (the worker leaves it alone meanwhile). */
  holdMs?: number;
}

/** Cinder's glance_core_properties: volume image metadata that is not copied as a custom property. */
const CORE_PROPERTIES = new Set(['checksum', 'container_format', 'disk_format', 'image_name', 'image_id', 'min_disk', 'min_ram', 'name', 'size']);
/** Glance's reserved namespaces (GLANCE_RESERVED_NAMESPACES): never sent back to it. */
const RESERVED = ['os_glance', 'img_signature'];

/** The bus method that tells a worker a volume is uploading (Cinder's rpcapi name; the worker reads the row). */
export const UPLOAD_METHOD = 'copy_volume_to_image';

export class VolumeUploadService {
  readonly #d: BlockStorageCoreDeps;
  readonly #volumes: VolumesService;
  readonly #glance: GlanceClient;
  readonly #o: VolumeUploadOptions;

  constructor(d: BlockStorageCoreDeps, volumes: VolumesService, glance: GlanceClient, options: VolumeUploadOptions = {}) {
    this.#d = d;
    this.#volumes = volumes;
    this.#glance = glance;
    this.#o = options;
  }

  async uploadImage(ctx: RequestContext, volumeId: string, input: UploadImageInput): Promise<UploadImageResult> {
    const row = await this.#volumes.getRowOrThrow(ctx, volumeId);
    if (row.encryption_key_id && (input.diskFormat !== 'raw' || input.containerFormat !== 'bare')) {
      throw BadRequest("An encrypted volume uploaded as an image must use 'raw' disk_format and 'bare' container_format, which are the defaults for these options.");
    }
    if (input.visibility === 'public') this.#d.authz.enforce('volume_extension:volume_actions:upload_public', ctx);
    if (!ctx.authToken) throw new ServiceUnavailableError('no user token to create the image with', 'volume.no_user_token');

    const force = input.force && !!this.#o.enableForceUpload;
    const expected = force ? ['available', 'in-use'] : ['available'];
    const refused = () => InvalidVolume(`Volume ${row.id} status must be ${expected.join(' or ')}`);
    if (!expected.includes(row.status)) throw refused();
    // The API holds the volume's task while it talks to Glance: a worker's sweep must not take an
    // upload whose image does not exist yet. A crash here leaves the hold to lapse, and the worker
    // then finds no task_args and puts the volume back to its previous status.
    const owner = `volume-api:${randomUUID()}`;
    const now = this.#d.clock.nowMs();
    const held = await updateVolumeIf(this.#d.db, row.id, [row.status], {
      status: 'uploading',
      previous_status: row.status,
      task_owner: owner,
      task_lease_until: now + (this.#o.holdMs ?? 5 * 60_000),
      task_args: null,
      updated_at: now,
    });
    if (!held) throw refused();

    let image: GlanceImage;
    try {
      image = await this.#glance.createImage(userToken(ctx.authToken), await this.#imageBody(row, input));
    } catch (err) {
      // COMPAT(cinder zed): the status goes back when the image cannot be created, and the error is a 400 with its text
      await finishTask(this.#d.db, 'volume', row.id, owner, { status: row.status, previous_status: null, updated_at: this.#d.clock.nowMs() });
      if (err instanceof GlanceError && (err.status === undefined || err.status >= 500)) {
        throw new ServiceUnavailableError(`The image service is unavailable: ${err.reason}`, 'volume.image_service_unavailable', { cause: err });
      }
      throw BadRequest(err instanceof GlanceError ? err.reason : err instanceof Error ? err.message : String(err), 'volume.upload_image_failed');
    }
    await finishTask(this.#d.db, 'volume', row.id, owner, { task_args: JSON.stringify({ image_id: image.id, disk_format: input.diskFormat }) });
    await this.#volumes.kick(row.id, row.host, UPLOAD_METHOD);
    const type = await selectTypeById(this.#d.db, row.volume_type_id);
    return { row, image, type: type ? { ...type, extraSpecs: await extraSpecsOf(this.#d.db, type.id) } : undefined };
  }

  /**
   * The image Cinder asks Glance for: name and formats (visibility and protected at 3.1), plus the
   * volume's image metadata that is no core property (_merge_volume_image_meta), without Glance's
   * reserved namespaces (filter_out_reserved_namespaces_metadata).
   */
  async #imageBody(row: VolumeRow, input: UploadImageInput): Promise<NewImage> {
    const body: NewImage = { container_format: input.containerFormat, disk_format: input.diskFormat, name: input.imageName };
    if (input.visibility !== undefined) body.visibility = input.visibility;
    if (input.protected !== undefined) body.protected = input.protected;
    const volumeImageMeta = (await metadataOf(this.#d.db, 'volume_image_metadata', [row.id])).get(row.id) ?? {};
    for (const [k, v] of Object.entries(volumeImageMeta)) {
      if (CORE_PROPERTIES.has(k) || k in body || RESERVED.some((p) => k.startsWith(p))) continue;
      body[k] = v;
    }
    return body;
  }
}
