// The ImageTransfer over Glance v2: image data through a scratch file in image_conversion_dir, checked with qemu-img info before a backend reads it, and volume contents converted and uploaded into an image the API created.
import { execFile } from 'node:child_process';
import { mkdir, open, rm, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ImageToVolume, ImageTransfer, VolumeToImage } from '../spi/image-transfer.js';
import { VolumeBackendError, type VolumeBackend } from '../spi/volume-backend.js';
import { GLANCE_BASE_PROPERTIES, GlanceError, type GlanceClient, type GlanceImage, type TokenSource } from './glance-client.js';

export interface GlanceTransferOptions {
  glance: GlanceClient;
  /** The volume service's own token: workers act long after the user's request (and its token) is gone. */
  tokens: TokenSource;
  /** Scratch space for downloads and conversions (image_conversion_dir). */
  conversionDir: string;
  /** The largest virtual size (GiB) an image may have to be written into a volume (image_conversion_max_gb). */
  maxImageGb?: number;
  /** VMDK create-types accepted (Cinder's vmdk_allowed_types): the ones that reference no other file. */
  vmdkAllowedTypes?: string[];
  qemuImg?: string;
}

const GiB = 1024 ** 3;
const ID = /^[A-Za-z0-9-]+$/;
// qemu-img on hostile headers is bounded in time and output (Cinder runs it under prlimit).
const QEMU_TIMEOUT_MS = 10 * 60_000;

/** Glance disk_format -> qemu-img format name (Cinder's QEMU_IMG_FORMAT_MAP). */
const QEMU_FORMAT: Record<string, string> = { iso: 'raw', vhd: 'vpc', ploop: 'parallels' };
export const qemuFormatOf = (diskFormat: string) => QEMU_FORMAT[diskFormat] ?? diskFormat;

/** What qemu-img info --output=json says about a file (the fields these checks read). */
export interface QemuInfo {
  format?: string;
  'virtual-size'?: number;
  'backing-filename'?: string;
  'format-specific'?: { type?: string; data?: Record<string, unknown> };
}

/** Cinder's ImageUnacceptable, as a refusal the worker records (the volume goes to error). */
const unacceptable = (imageId: string, reason: string) => new VolumeBackendError('invalid', `Image ${imageId} is unacceptable: ${reason}`);

/**
 * The checks Cinder makes on a downloaded image before converting it (image_utils
 * check_image_format, check_qcow2_image, check_vmdk_image, the backing-file refusal of
 * fetch_to_volume_format and check_virtual_size). Throws the refusal; answers the qemu format.
 */
export function checkImageFile(image: Pick<GlanceImage, 'id' | 'disk_format'>, info: QemuInfo, sizeGb: number, opts: { maxImageGb?: number; vmdkAllowedTypes?: string[] } = {}): string {
  const fmt = info.format;
  if (!fmt) throw unacceptable(image.id, "'qemu-img info' parsing failed.");
  const claimed = image.disk_format ? qemuFormatOf(image.disk_format) : undefined;
  // COMPAT(cinder zed, bug 1996188): data in another format than the image claims is refused; ami is raw that qemu-img cannot name
  if (claimed !== undefined && claimed !== 'ami' && claimed !== fmt) throw unacceptable(image.id, `The image format was claimed to be '${claimed}' but the image data appears to be in a different format.`);
  if (info['backing-filename'] !== undefined) throw unacceptable(image.id, `fmt=${fmt} backed by:${info['backing-filename']}`);
  const specific = info['format-specific']?.data;
  if (fmt === 'qcow2') {
    if (!specific) throw unacceptable(image.id, 'Cannot determine format-specific information');
    if (specific['data-file']) throw unacceptable(image.id, 'A qcow2 format image is not allowed to have a data file');
  }
  if (fmt === 'vmdk') {
    const allowed = opts.vmdkAllowedTypes ?? ['streamOptimized', 'monolithicSparse'];
    if (!allowed.length) throw unacceptable(image.id, 'Image is a VMDK, but no VMDK createType is allowed');
    const createType = specific?.['create-type'];
    if (typeof createType !== 'string') throw unacceptable(image.id, 'Unable to determine VMDK createType');
    if (!allowed.includes(createType)) throw unacceptable(image.id, 'Invalid VMDK create-type specified');
  }
  const virtual = info['virtual-size'];
  if (typeof virtual !== 'number') throw unacceptable(image.id, "'qemu-img info' parsing failed.");
  const virtualGb = Math.ceil(virtual / GiB);
  if (virtualGb > sizeGb) throw unacceptable(image.id, `Image virtual size is ${virtualGb}GB and doesn't fit in a volume of size ${sizeGb}GB.`);
  if (opts.maxImageGb !== undefined && virtualGb > opts.maxImageGb) throw unacceptable(image.id, `Image virtual size is ${virtualGb}GB, more than image_conversion_max_gb (${opts.maxImageGb}GB).`);
  return fmt;
}

/**
 * Refusals read from the file's first bytes, before qemu-img opens it: qemu-img info follows a
 * qcow2 external data file and a VMDK's extents, which is how hostile images read host files
 * (OSSA-2024-001; Cinder runs its format_inspector first for the same reason). A qcow2 naming a
 * backing file or a data file, a VMDK descriptor file, and a sparse VMDK whose embedded
 * descriptor has a create-type outside `allowed` are refused here.
 */
export async function preflightImageFile(imageId: string, path: string, vmdkAllowedTypes: string[] = ['streamOptimized', 'monolithicSparse']): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    if (bytesRead >= 104 && head.readUInt32BE(0) === 0x514649fb) {
      const version = head.readUInt32BE(4);
      if (head.readBigUInt64BE(8) !== 0n) throw unacceptable(imageId, 'fmt=qcow2 backed by a file named in its header');
      // incompatible feature bit 2: an external data file (qcow2 v3)
      if (version >= 3 && (head.readBigUInt64BE(72) & 4n) !== 0n) throw unacceptable(imageId, 'A qcow2 format image is not allowed to have a data file');
      return;
    }
    if (head.subarray(0, 21).toString('latin1') === '# Disk DescriptorFile') throw unacceptable(imageId, 'Invalid VMDK create-type specified');
    if (bytesRead >= 44 && head.readUInt32LE(0) === 0x564d444b) {
      const offset = Number(head.readBigUInt64LE(28)) * 512;
      const size = Math.min(Number(head.readBigUInt64LE(36)) * 512, 1 << 20);
      if (offset === 0 || size === 0) return;
      const desc = Buffer.alloc(size);
      const got = await fh.read(desc, 0, size, offset);
      const createType = /createType\s*=\s*"([^"]*)"/.exec(desc.subarray(0, got.bytesRead).toString('latin1'))?.[1];
      if (createType === undefined || !vmdkAllowedTypes.includes(createType)) throw unacceptable(imageId, 'Invalid VMDK create-type specified');
    }
  } finally {
    await fh.close();
  }
}

/**
 * The volume_image_metadata Cinder records for a volume made from an image
 * (volume_utils.get_volume_image_metadata): the image's custom properties, then image_id,
 * image_name, checksum, container_format, disk_format, min_disk, min_ram and size; values as strings.
 */
export function volumeImageMetadataOf(image: GlanceImage): Record<string, string> {
  const out: Record<string, string> = {};
  const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'boolean' ? (v ? 'True' : 'False') : JSON.stringify(v));
  for (const [k, v] of Object.entries(image)) if (!GLANCE_BASE_PROPERTIES.has(k) && v !== null && v !== undefined) out[k] = str(v);
  out.image_id = image.id;
  if (image.name) out.image_name = image.name;
  for (const k of ['checksum', 'container_format', 'disk_format', 'min_disk', 'min_ram', 'size'] as const) {
    const v = image[k];
    if (v !== null && v !== undefined) out[k] = str(v);
  }
  // COMPAT(cinder zed): verify_glance_signatures=enabled records whether a signature was checked;
  // images without img_signature* are recorded unverified, as here (no key manager to verify with)
  out.signature_verified = 'False';
  return out;
}

export class GlanceImageTransfer implements ImageTransfer {
  readonly #o: GlanceTransferOptions;
  readonly #dir: string;

  constructor(options: GlanceTransferOptions) {
    this.#o = options;
    this.#dir = resolve(options.conversionDir);
  }

  async copyImageToVolume(backend: VolumeBackend, job: ImageToVolume): Promise<Record<string, string>> {
    checkId('volume id', job.volumeId);
    checkId('image id', job.imageId);
    const image = await this.#image(job.imageId);
    if (image.status !== 'active') throw new VolumeBackendError('invalid', `Image ${image.id} is not active.`);
    await this.#scratchDir();
    // Names from ids: a rerun after a kill finds (and replaces) the same file instead of leaking one.
    const scratch = join(this.#dir, `image-${job.imageId}-volume-${job.volumeId}`);
    try {
      // what a killed run left is not free space we lack
      await rm(scratch, { force: true });
      await rm(`${scratch}.part`, { force: true });
      await this.#checkSpace(image);
      await this.#o.glance.downloadFile(this.#o.tokens, image, scratch).catch((err: unknown) => {
        throw refusalOf(err, `download image ${image.id}`);
      });
      await preflightImageFile(image.id, scratch, this.#o.vmdkAllowedTypes);
      const info = await this.#info(scratch);
      const format = checkImageFile(image, info, job.sizeGb, this.#o);
      await backend.copyImageToVolume(job.volumeId, scratch, format, job.sizeGb);
    } finally {
      await rm(scratch, { force: true });
      await rm(`${scratch}.part`, { force: true });
    }
    return volumeImageMetadataOf(image);
  }

  async copyVolumeToImage(backend: VolumeBackend, job: VolumeToImage): Promise<void> {
    checkId('volume id', job.volumeId);
    checkId('image id', job.imageId);
    const image = await this.#image(job.imageId);
    // a worker killed after the upload finished runs this again: the image already has the data
    if (image.status === 'active') return;
    // another upload holds it; Glance puts an abandoned one back to queued, so later is enough
    if (image.status === 'saving' || image.status === 'importing' || image.status === 'uploading') {
      throw new Error(`image ${image.id} is ${image.status}: its data is being written; trying again later`);
    }
    if (image.status !== 'queued') throw new VolumeBackendError('invalid', `image ${image.id} is ${image.status}; only a queued image takes data`);
    const diskFormat = job.diskFormat;
    const target = qemuFormatOf(diskFormat);
    await this.#scratchDir();
    const file = join(this.#dir, `volume-${job.volumeId}-image-${job.imageId}`);
    const raw = `${file}.raw`;
    try {
      if (target === 'raw' || target === 'qcow2') {
        await backend.copyVolumeToFile(job.volumeId, file, target);
      } else {
        // the backend writes raw or qcow2; the other formats Cinder uploads are qemu-img's to make
        await backend.copyVolumeToFile(job.volumeId, raw, 'raw');
        await this.#qemu(['convert', '-q', '-f', 'raw', '-O', target, raw, file]).catch((err: unknown) => {
          throw new VolumeBackendError(/No space left/i.test(String(err)) ? 'no_space' : 'backend', `convert volume ${job.volumeId} to ${diskFormat}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        });
        await rm(raw, { force: true });
      }
      await this.#o.glance.uploadFile(this.#o.tokens, image.id, file).catch((err: unknown) => {
        throw refusalOf(err, `upload volume ${job.volumeId} into image ${image.id}`);
      });
    } catch (err) {
      // COMPAT(cinder zed): a failed upload deletes the image it was filling if still queued or saving (manager._delete_image)
      if (err instanceof VolumeBackendError && (err.code === 'invalid' || err.code === 'no_space' || err.code === 'not_found')) await this.#discard(image.id);
      throw err;
    } finally {
      await rm(file, { force: true });
      await rm(raw, { force: true });
    }
  }

  async #discard(imageId: string): Promise<void> {
    try {
      const now = await this.#o.glance.getImage(this.#o.tokens, imageId);
      if (now.status === 'queued' || now.status === 'saving') await this.#o.glance.deleteImage(this.#o.tokens, imageId);
    } catch {
      // best effort, as upstream: the image stays queued for its owner to delete
    }
  }

  async #image(imageId: string): Promise<GlanceImage> {
    try {
      return await this.#o.glance.getImage(this.#o.tokens, imageId);
    } catch (err) {
      throw refusalOf(err, `show image ${imageId}`);
    }
  }

  async #scratchDir(): Promise<void> {
    try {
      await mkdir(this.#dir, { recursive: true });
    } catch (err) {
      throw new VolumeBackendError('backend', `cannot use image_conversion_dir ${this.#dir}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** Cinder's check_available_space: refuse a download that cannot fit in image_conversion_dir. */
  async #checkSpace(image: GlanceImage): Promise<void> {
    if (typeof image.size !== 'number') return;
    const fs = await statfs(this.#dir);
    const free = fs.bavail * fs.bsize;
    if (free <= image.size) {
      throw new VolumeBackendError('no_space', `Image ${image.id} is too big: There is no space on ${this.#dir} to convert image. Requested: ${image.size}, available: ${free}.`);
    }
  }

  async #info(path: string): Promise<QemuInfo> {
    let out: string;
    try {
      out = await this.#qemu(['info', '--output=json', path]);
    } catch (err) {
      throw new VolumeBackendError('invalid', `Image/Volume ${path} failed safety check: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return JSON.parse(out) as QemuInfo;
  }

  #qemu(args: string[]): Promise<string> {
    const bin = this.#o.qemuImg ?? 'qemu-img';
    return new Promise((res, rej) => {
      execFile(bin, args, { timeout: QEMU_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
        if (err) rej(new Error(`${bin} ${args.join(' ')} failed: ${stderr.trim() || err.message}`, { cause: err }));
        else res(stdout);
      });
    });
  }
}

function checkId(what: string, id: string): void {
  if (!ID.test(id)) throw new VolumeBackendError('invalid', `${what} ${JSON.stringify(id)} may hold only letters, digits and "-"`);
}

/**
 * Glance's answers that will not change when asked again (the image is gone, refused to us, not
 * the data it claims, over quota) become refusals; anything else (unreachable, 5xx, a 409 of a
 * concurrent upload, a 401 after a fresh service token: credentials an operator can fix) stays a
 * plain error, so the worker tries again later.
 */
function refusalOf(err: unknown, doing: string): Error {
  if (err instanceof VolumeBackendError) return err;
  if (err instanceof GlanceError) {
    const s = err.status;
    if (s === 404 || s === 403) return new VolumeBackendError('invalid', `${doing}: ${err.message}`, { cause: err });
    if (s === 413) return new VolumeBackendError('no_space', `${doing}: ${err.message}`, { cause: err });
    // 2xx here: the data did not match the image's size or hash, or there was none
    if (s !== undefined && s < 300) return new VolumeBackendError('invalid', `${doing}: ${err.message}`, { cause: err });
    if (s === 400 || s === 415) return new VolumeBackendError('invalid', `${doing}: ${err.message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/No space left|ENOSPC/i.test(message)) return new VolumeBackendError('no_space', `${doing}: ${message}`, { cause: err });
  return err instanceof Error ? err : new Error(message);
}
