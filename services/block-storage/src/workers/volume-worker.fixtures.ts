// For the volume worker's tests: a snapshot row as the API would insert it, an image transfer over a directory of image files, and qemu-io data patterns.
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageToVolume, ImageTransfer, VolumeToImage } from '../spi/image-transfer.js';
import { VolumeBackendError, type VolumeBackend } from '../spi/volume-backend.js';
import type { SnapshotTable } from '../store/schema.js';

export function snapshotRow(over: Partial<SnapshotTable> & { volume_id: string }): SnapshotTable {
  return {
    id: randomUUID(),
    project_id: 'p1',
    user_id: 'u1',
    name: null,
    description: null,
    status: 'creating',
    progress: '0%',
    volume_size: 1,
    volume_type_id: null,
    group_snapshot_id: null,
    provider_location: null,
    task_owner: null,
    task_lease_until: null,
    created_at: Date.now(),
    updated_at: null,
    deleted: 0,
    deleted_at: null,
    use_quota: 1,
    ...over,
  };
}

/**
 * A real image transfer whose "image service" is a directory: image `<id>` is the qcow2 file
 * `<dir>/<id>`; an upload writes the volume to `<dir>/<id>` in the asked format. It says no as
 * the Glance transfer does (VolumeBackendError invalid): an image that is not there, a format it
 * cannot write.
 */
export class DirectoryImages implements ImageTransfer {
  readonly dir: string;
  readonly uploads: string[] = [];

  constructor(dir: string) {
    this.dir = dir;
  }

  async copyImageToVolume(backend: VolumeBackend, job: ImageToVolume): Promise<Record<string, string>> {
    const path = join(this.dir, job.imageId);
    if (!existsSync(path)) throw new VolumeBackendError('invalid', `Image ${job.imageId} could not be found.`);
    await backend.copyImageToVolume(job.volumeId, path, 'qcow2', job.sizeGb);
    return { image_id: job.imageId, image_name: `image-${job.imageId.slice(0, 8)}`, disk_format: 'qcow2', container_format: 'bare', min_disk: '0', min_ram: '0' };
  }

  async copyVolumeToImage(backend: VolumeBackend, job: VolumeToImage): Promise<void> {
    if (job.diskFormat !== 'raw' && job.diskFormat !== 'qcow2') throw new VolumeBackendError('invalid', `disk_format ${job.diskFormat} is not supported here`);
    await backend.copyVolumeToFile(job.volumeId, join(this.dir, job.imageId), job.diskFormat);
    this.uploads.push(job.imageId);
  }
}

/** Writes byte `pattern` over the first 64 KiB of an image file (qemu-io, Debian's qemu-utils). */
export function writePattern(path: string, format: string, pattern: number): void {
  const r = spawnSync('qemu-io', ['-f', format, '-c', `write -P ${pattern} 0 64k`, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`qemu-io write failed: ${r.stderr || r.stdout}`);
}

/** Whether the first 64 KiB of an image file hold byte `pattern`. */
export function hasPattern(path: string, pattern: number, format?: string): boolean {
  return spawnSync('qemu-io', ['-r', ...(format ? ['-f', format] : []), '-c', `read -P ${pattern} 0 64k`, path], { encoding: 'utf8' }).status === 0;
}

/** Format and virtual size of an image file (qemu-img info). */
export function imageInfo(path: string): { format: string; virtualSize: number } {
  const r = spawnSync('qemu-img', ['info', '--output=json', '-U', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`qemu-img info ${path}: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { format: string; 'virtual-size': number };
  return { format: j.format, virtualSize: j['virtual-size'] };
}
