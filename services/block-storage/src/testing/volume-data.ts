// A backend volume's bytes for tests: fill a new volume with a pattern, read its first bytes back
// (through raw image files in a directory of the test's).
import { randomUUID } from 'node:crypto';
import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VolumeBackend } from '../spi/volume-backend.js';

/** Creates the volume on the backend: `pattern` at offset 0 when given, else blank. */
export async function fillVolume(backend: VolumeBackend, dir: string, volumeId: string, sizeGb: number, pattern?: Buffer): Promise<void> {
  if (!pattern) {
    await backend.createVolume({ volumeId, sizeGb });
    return;
  }
  const img = join(dir, `img-${volumeId}.raw`);
  await writeFile(img, pattern);
  await backend.copyImageToVolume(volumeId, img, 'raw', sizeGb);
  await rm(img);
}

/** The volume's first `bytes` bytes. */
export async function volumeHead(backend: VolumeBackend, dir: string, volumeId: string, bytes: number): Promise<Buffer> {
  const out = join(dir, `head-${randomUUID()}.raw`);
  await backend.copyVolumeToFile(volumeId, out, 'raw');
  const f = await open(out, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    await f.read(buf, 0, bytes, 0);
    return buf;
  } finally {
    await f.close();
    await rm(out);
  }
}
