// The `file` volume backend: volumes and snapshots as raw or qcow2 files in one directory, made with qemu-img.
import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readFile, readdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  VolumeBackendError,
  type BackendStats,
  type ConnectionInfo,
  type CreateVolumeSpec,
  type VolumeBackend,
} from '../spi/volume-backend.js';

export interface FileBackendOptions {
  /** volume_backend_name. */
  name: string;
  /** Where volume and snapshot files live; made absolute against the working directory. */
  directory: string;
  /** Format of volumes whose spec names none (Cinder's nfs_qcow2_volumes: false means raw). */
  defaultFormat?: 'raw' | 'qcow2';
  /** The qemu-img binary (Debian's qemu-utils). */
  qemuImg?: string;
}

type Format = 'raw' | 'qcow2';

const GiB = 1024 ** 3;
// Ids become file names: nothing that could climb out of the directory or hide a second field.
const ID = /^[A-Za-z0-9-]+$/;
const VOLUME_FILE = /^volume-([A-Za-z0-9-]+)$/;
// Only a completed file ever carries a final name (made under PART, then renamed), so a name
// that exists is whole, and a PART left by a killed qemu-img is simply made again.
const PART = '.part';
// Which volume a snapshot belongs to: the snapshot file alone does not say, and deleteVolume
// must know whether a volume still has snapshots.
const OWNER = '.volume';
// qemu-img convert and info of images with hostile headers are bounded (Cinder runs them under prlimit).
const QEMU_TIMEOUT_MS = 10 * 60_000;

function checkId(what: string, id: string): void {
  if (!ID.test(id)) throw new VolumeBackendError('invalid', `${what} ${JSON.stringify(id)} may hold only letters, digits and "-"`);
}

function checkSize(sizeGb: number): void {
  if (!Number.isSafeInteger(sizeGb) || sizeGb < 1) throw new VolumeBackendError('invalid', `size ${sizeGb} GiB must be a whole number of at least 1`);
}

function errnoOf(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

const FULL = /No space left|Disk quota exceeded|File too large/i;

function backendErrorOf(err: unknown, doing: string): VolumeBackendError {
  if (err instanceof VolumeBackendError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = errnoOf(err);
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG' || FULL.test(message)) return new VolumeBackendError('no_space', `${doing}: ${message}`, { cause: err });
  return new VolumeBackendError('backend', `${doing}: ${message}`, { cause: err });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw err;
  }
}

async function syncFile(path: string, flags = 'r'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a file's new name survive power loss: the file's bytes, then the directory entry. */
async function commit(part: string, final: string): Promise<void> {
  await syncFile(part);
  await rename(part, final);
  await syncFile(dirname(final));
}

export class FileBackend implements VolumeBackend {
  readonly name: string;
  readonly directory: string;
  readonly defaultFormat: Format;
  readonly #qemuImg: string;

  constructor(options: FileBackendOptions) {
    this.name = options.name;
    this.directory = resolve(options.directory);
    this.defaultFormat = options.defaultFormat ?? 'raw';
    this.#qemuImg = options.qemuImg ?? 'qemu-img';
  }

  async open(): Promise<void> {
    try {
      await mkdir(this.directory, { recursive: true });
      await access(this.directory, fsConstants.W_OK | fsConstants.X_OK);
    } catch (err) {
      throw new VolumeBackendError('backend', `volume backend "${this.name}": cannot use ${this.directory} for volumes: ${err instanceof Error ? err.message : String(err)}; create it writable by this service`, {
        cause: err,
      });
    }
    try {
      await this.#run(['--version']);
    } catch (err) {
      throw new VolumeBackendError('backend', `volume backend "${this.name}": cannot run ${this.#qemuImg} (${err instanceof Error ? err.message : String(err)}); install qemu-utils`, { cause: err });
    }
  }

  volumePath(volumeId: string): string {
    checkId('volume id', volumeId);
    return join(this.directory, `volume-${volumeId}`);
  }

  snapshotPath(snapshotId: string): string {
    checkId('snapshot id', snapshotId);
    return join(this.directory, `snapshot-${snapshotId}`);
  }

  async stats(): Promise<BackendStats> {
    const fs = await statfs(this.directory);
    // COMPAT(cinder zed): capacities are GiB floats with two decimals, as RemoteFS drivers report them.
    const gb = (blocks: number): number => Math.round(((blocks * fs.bsize) / GiB) * 100) / 100;
    return {
      backendName: this.name,
      vendorName: 'Altostratus',
      driverVersion: '1.0.0',
      storageProtocol: 'file',
      totalCapacityGb: gb(fs.blocks),
      freeCapacityGb: gb(fs.bavail),
      capabilities: {
        thin_provisioning_support: true,
        thick_provisioning_support: false,
        sparse_copy_volume: true,
        multiattach: false,
        QoS_support: false,
        reserved_percentage: 0,
      },
    };
  }

  async createVolume(spec: CreateVolumeSpec): Promise<void> {
    checkSize(spec.sizeGb);
    const path = this.volumePath(spec.volumeId);
    const format = spec.format ?? this.defaultFormat;
    const found = await this.#info(path);
    if (found) {
      if (found.virtualSize === spec.sizeGb * GiB && found.format === format) return;
      throw new VolumeBackendError('invalid', `volume ${spec.volumeId} already exists as ${found.format} of ${found.virtualSize} bytes, not ${format} of ${spec.sizeGb} GiB`);
    }
    await this.#make(path, `create volume ${spec.volumeId}`, (part) => ['create', '-q', '-f', format, part, String(spec.sizeGb * GiB)]);
  }

  async deleteVolume(volumeId: string): Promise<void> {
    const path = this.volumePath(volumeId);
    const snapshots = await this.#snapshotsOf(volumeId);
    // COMPAT(cinder zed): a volume with snapshots is not deleted ("Volume still has N dependent
    // snapshots"); the service asks for cascade by deleting the snapshots first.
    if (snapshots.length > 0) throw new VolumeBackendError('invalid', `volume ${volumeId} still has ${snapshots.length} dependent snapshot(s): ${snapshots.join(', ')}`);
    try {
      await rm(path + PART, { force: true });
      await rm(path, { force: true });
    } catch (err) {
      throw backendErrorOf(err, `delete volume ${volumeId}`);
    }
  }

  async extendVolume(volumeId: string, newSizeGb: number): Promise<void> {
    checkSize(newSizeGb);
    const path = this.volumePath(volumeId);
    const found = await this.#infoOrThrow(path, `volume ${volumeId}`);
    const target = newSizeGb * GiB;
    if (found.virtualSize === target) return;
    if (found.virtualSize > target) throw new VolumeBackendError('invalid', `volume ${volumeId} is ${found.virtualSize} bytes; it can grow, not shrink to ${newSizeGb} GiB`);
    // a resize killed halfway leaves the old or the new size (raw: one ftruncate; qcow2: one header update), so a rerun converges
    await this.#run(['resize', '-q', '-f', found.format, path, String(target)]).catch((err: unknown) => {
      throw backendErrorOf(err, `extend volume ${volumeId}`);
    });
  }

  async inspectVolume(volumeId: string): Promise<{ exists: boolean; virtualSizeBytes?: number }> {
    const found = await this.#info(this.volumePath(volumeId));
    return found ? { exists: true, virtualSizeBytes: found.virtualSize } : { exists: false };
  }

  async createSnapshot(volumeId: string, snapshotId: string): Promise<void> {
    const volume = this.volumePath(volumeId);
    const snapshot = this.snapshotPath(snapshotId);
    const owner = await this.#ownerOf(snapshotId);
    if (owner !== undefined && owner !== volumeId) throw new VolumeBackendError('invalid', `snapshot ${snapshotId} already belongs to volume ${owner}`);
    if (owner === volumeId && (await exists(snapshot))) return;
    const found = await this.#infoOrThrow(volume, `volume ${volumeId}`);
    // the owner record first: a snapshot file never exists without it, so deleteVolume never misses one
    await this.#writeOwner(snapshotId, volumeId);
    // A full copy in the volume's format, not Cinder RemoteFS's overlay chain: the snapshot then stays
    // independent of the volume (either can be deleted alone) and creating it is one rename-committed file.
    await this.#make(snapshot, `snapshot volume ${volumeId}`, (part) => ['convert', '-q', '-f', found.format, '-O', found.format, volume, part]);
  }

  async deleteSnapshot(volumeId: string, snapshotId: string): Promise<void> {
    checkId('volume id', volumeId);
    const snapshot = this.snapshotPath(snapshotId);
    const owner = await this.#ownerOf(snapshotId);
    if (owner !== undefined && owner !== volumeId) throw new VolumeBackendError('invalid', `snapshot ${snapshotId} belongs to volume ${owner}, not ${volumeId}`);
    try {
      await rm(snapshot + PART, { force: true });
      await rm(snapshot, { force: true });
      // the owner record last, so a snapshot file never outlives it
      await rm(snapshot + OWNER, { force: true });
    } catch (err) {
      throw backendErrorOf(err, `delete snapshot ${snapshotId}`);
    }
  }

  async createVolumeFromSnapshot(snapshotId: string, sourceVolumeId: string, spec: CreateVolumeSpec): Promise<void> {
    const snapshot = this.snapshotPath(snapshotId);
    const owner = await this.#ownerOf(snapshotId);
    if (owner !== undefined && owner !== sourceVolumeId) throw new VolumeBackendError('invalid', `snapshot ${snapshotId} belongs to volume ${owner}, not ${sourceVolumeId}`);
    await this.#copyInto(snapshot, `snapshot ${snapshotId}`, spec);
  }

  async cloneVolume(sourceVolumeId: string, spec: CreateVolumeSpec): Promise<void> {
    await this.#copyInto(this.volumePath(sourceVolumeId), `volume ${sourceVolumeId}`, spec);
  }

  async copyImageToVolume(volumeId: string, imagePath: string, imageFormat: string, sizeGb: number, format?: Format): Promise<void> {
    checkSize(sizeGb);
    const path = this.volumePath(volumeId);
    const image = await this.#probe(imagePath, imageFormat);
    if (!image) throw new VolumeBackendError('not_found', `image file ${imagePath} does not exist`);
    if (image.backing !== undefined) throw new VolumeBackendError('invalid', `image file ${imagePath} names a backing file; refusing to read through it`);
    if (image.virtualSize > sizeGb * GiB) throw new VolumeBackendError('invalid', `image of ${image.virtualSize} bytes does not fit in a volume of ${sizeGb} GiB`);
    // always written again (never "already there"): the volume may be the blank that createVolume made
    await this.#make(path, `copy image into volume ${volumeId}`, (part) => ['convert', '-q', '-f', image.format, '-O', format ?? this.defaultFormat, imagePath, part], async (part) => {
      await this.#resizePart(part, format ?? this.defaultFormat, image.virtualSize, sizeGb);
    }, { overwrite: true });
  }

  async copyVolumeToFile(volumeId: string, destPath: string, format: Format): Promise<void> {
    const path = this.volumePath(volumeId);
    const found = await this.#infoOrThrow(path, `volume ${volumeId}`);
    const part = destPath + PART;
    try {
      await this.#run(['convert', '-q', '-f', found.format, '-O', format, path, part]);
      await commit(part, destPath);
    } catch (err) {
      await rm(part, { force: true });
      throw backendErrorOf(err, `copy volume ${volumeId} to ${destPath}`);
    }
  }

  async initializeConnection(volumeId: string, _connector: Record<string, unknown>): Promise<ConnectionInfo> {
    const path = this.volumePath(volumeId);
    const found = await this.#infoOrThrow(path, `volume ${volumeId}`);
    // COMPAT(cinder zed): shaped like RemoteFS/NFS connection info ({export, name, format}) with the
    // local path added, so a compute agent on a host that sees the directory opens it directly.
    return {
      driverVolumeType: 'file',
      data: {
        device_path: path,
        export: this.directory,
        name: `volume-${volumeId}`,
        format: found.format,
        access_mode: 'rw',
      },
    };
  }

  async terminateConnection(volumeId: string, _connector: Record<string, unknown>): Promise<void> {
    // nothing is exported per connection: the file stays where it is
    checkId('volume id', volumeId);
  }

  async listVolumes(): Promise<string[]> {
    const names = await readdir(this.directory);
    return names.flatMap((n) => VOLUME_FILE.exec(n)?.[1] ?? []).sort();
  }

  /** Snapshot ids whose owner record names this volume. */
  async #snapshotsOf(volumeId: string): Promise<string[]> {
    checkId('volume id', volumeId);
    const out: string[] = [];
    for (const n of await readdir(this.directory)) {
      const id = /^snapshot-([A-Za-z0-9-]+)\.volume$/.exec(n)?.[1];
      if (id !== undefined && (await this.#ownerOf(id)) === volumeId) out.push(id);
    }
    return out.sort();
  }

  async #ownerOf(snapshotId: string): Promise<string | undefined> {
    try {
      return (await readFile(this.snapshotPath(snapshotId) + OWNER, 'utf8')).trim();
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw backendErrorOf(err, `read the owner of snapshot ${snapshotId}`);
    }
  }

  async #writeOwner(snapshotId: string, volumeId: string): Promise<void> {
    const final = this.snapshotPath(snapshotId) + OWNER;
    const part = final + PART;
    try {
      await writeFile(part, volumeId);
      await commit(part, final);
    } catch (err) {
      throw backendErrorOf(err, `record the owner of snapshot ${snapshotId}`);
    }
  }

  /** A new volume with the contents of a file this backend holds, grown to spec.sizeGb. */
  async #copyInto(source: string, what: string, spec: CreateVolumeSpec): Promise<void> {
    checkSize(spec.sizeGb);
    const path = this.volumePath(spec.volumeId);
    const format = spec.format ?? this.defaultFormat;
    const from = await this.#infoOrThrow(source, what);
    if (from.virtualSize > spec.sizeGb * GiB) throw new VolumeBackendError('invalid', `${what} has ${from.virtualSize} bytes, more than the ${spec.sizeGb} GiB asked for volume ${spec.volumeId}`);
    const found = await this.#info(path);
    if (found) {
      // made before and committed by rename: whole
      if (found.virtualSize === spec.sizeGb * GiB && found.format === format) return;
      throw new VolumeBackendError('invalid', `volume ${spec.volumeId} already exists as ${found.format} of ${found.virtualSize} bytes, not ${format} of ${spec.sizeGb} GiB`);
    }
    await this.#make(path, `copy ${what} into volume ${spec.volumeId}`, (part) => ['convert', '-q', '-f', from.format, '-O', format, source, part], (part) =>
      this.#resizePart(part, format, from.virtualSize, spec.sizeGb),
    );
  }

  async #resizePart(part: string, format: Format, size: number, sizeGb: number): Promise<void> {
    if (size < sizeGb * GiB) await this.#run(['resize', '-q', '-f', format, part, String(sizeGb * GiB)]);
  }

  /** Makes `final` under a temporary name with qemu-img, then commits it by rename. */
  async #make(final: string, doing: string, args: (part: string) => string[], after?: (part: string) => Promise<void>, opts: { overwrite?: boolean } = {}): Promise<void> {
    const part = final + PART;
    try {
      // a PART of a killed run is redone from scratch, never continued
      await rm(part, { force: true });
      await this.#run(args(part));
      await after?.(part);
      if (!opts.overwrite && (await exists(final))) {
        // a concurrent call committed first: its file is as good as ours
        await rm(part, { force: true });
        return;
      }
      await commit(part, final);
    } catch (err) {
      await rm(part, { force: true }).catch(() => undefined);
      throw backendErrorOf(err, doing);
    }
  }

  /** Format, virtual size and backing file of an image file, or undefined when there is no file. */
  async #probe(path: string, format?: string): Promise<{ format: string; virtualSize: number; backing?: string } | undefined> {
    if (!(await exists(path).catch((err: unknown) => Promise.reject(backendErrorOf(err, `stat ${path}`))))) return undefined;
    let out: string;
    try {
      out = await this.#run(['info', '--output=json', ...(format ? ['-f', format] : []), path], { forceShare: true });
    } catch (err) {
      throw backendErrorOf(err, `inspect ${path}`);
    }
    const info = JSON.parse(out) as { format?: unknown; 'virtual-size'?: unknown; 'backing-filename'?: unknown };
    const size = info['virtual-size'];
    if (typeof info.format !== 'string' || typeof size !== 'number') throw new VolumeBackendError('backend', `qemu-img info gave no format or virtual size for ${path}`);
    return { format: info.format, virtualSize: size, ...(typeof info['backing-filename'] === 'string' ? { backing: info['backing-filename'] } : {}) };
  }

  /** Format and virtual size of a file this backend made, or undefined when there is none. */
  async #info(path: string): Promise<{ format: Format; virtualSize: number } | undefined> {
    const found = await this.#probe(path);
    if (!found) return undefined;
    // Our files' format is probed (the name does not carry it). This backend never makes backing
    // chains, so a backing file means a guest wrote a qcow2 header into a raw volume: reading
    // through it could expose any file on the host (Cinder's remotefs refuses the same).
    if (found.backing !== undefined) throw new VolumeBackendError('invalid', `${path} names a backing file ${JSON.stringify(found.backing)}; refusing to use it`);
    if (found.format !== 'raw' && found.format !== 'qcow2') throw new VolumeBackendError('invalid', `${path} is in format ${found.format}; only raw and qcow2 are supported`);
    return { format: found.format, virtualSize: found.virtualSize };
  }

  async #infoOrThrow(path: string, what: string): Promise<{ format: Format; virtualSize: number }> {
    const found = await this.#info(path);
    if (!found) throw new VolumeBackendError('not_found', `${what} does not exist on backend "${this.name}"`);
    return found;
  }

  #run(args: string[], opts: { forceShare?: boolean } = {}): Promise<string> {
    // -U: an attached volume is locked by its QEMU; reading its header must still work
    const full = opts.forceShare ? [args[0]!, '-U', ...args.slice(1)] : args;
    return new Promise((resolvePromise, reject) => {
      execFile(this.#qemuImg, full, { timeout: QEMU_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${this.#qemuImg} ${full.join(' ')} failed: ${stderr.trim() || err.message}`, { cause: err }));
        else resolvePromise(stdout);
      });
    });
  }
}
