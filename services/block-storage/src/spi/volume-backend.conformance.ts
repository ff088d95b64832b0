// The volume backend conformance suite: node:test cases every VolumeBackend's test runs.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VolumeBackendError, type VolumeBackend } from './volume-backend.js';

/** One backend made for one test; every call to `make` must give a backend of its own (own directory, pool, prefix). */
export interface VolumeBackendHarness {
  /** The backend under test, not yet opened. */
  backend: VolumeBackend;
  /** Removes the backend and everything in it. */
  cleanup(): Promise<void>;
  /**
   * Writes bytes into a volume as a guest would (qemu-io for files, rbd for Ceph). The cases that
   * change a volume after a snapshot or clone need it; a harness without it skips those checks.
   */
  writeVolume?(volumeId: string, offset: number, data: Buffer): Promise<void>;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const newId = (): string => randomUUID();

function qemuImg(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', args, (err, stdout, stderr) => (err ? reject(new Error(`qemu-img ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

/** Why the suite cannot run here, or undefined when it can: it builds and checks image files with qemu-img. */
function missingTools(): string | undefined {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'qemu-img is absent: install Debian qemu-utils to run the volume backend conformance suite';
  }
}

async function infoOf(path: string): Promise<{ format: string; virtualSize: number }> {
  const info = JSON.parse(await qemuImg(['info', '--output=json', path])) as { format: string; 'virtual-size': number };
  return { format: info.format, virtualSize: info['virtual-size'] };
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await file.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Rejects with a VolumeBackendError of this code (and says what it got otherwise). */
async function rejectsWith(p: Promise<unknown>, code: VolumeBackendError['code']): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VolumeBackendError, `expected a VolumeBackendError, got ${String(err)}`);
    assert.equal(err.code, code, `VolumeBackendError code (message: ${err.message})`);
    return true;
  });
}

export function runVolumeBackendConformance(name: string, make: () => Promise<VolumeBackendHarness>): void {
  const skip = missingTools();
  // a backend that hangs fails its case instead of the whole run
  const opts = { timeout: 30_000 };

  interface Ctx {
    backend: VolumeBackend;
    harness: VolumeBackendHarness;
    /** A scratch directory for image files and copies, removed afterwards. */
    scratch: string;
    /** The first `bytes` of a volume, read through copyVolumeToFile (raw). */
    head: (volumeId: string, bytes: number) => Promise<Buffer>;
    /** A raw image file of sizeBytes whose first pattern.length bytes are pattern. */
    rawImage: (pattern: Buffer, sizeBytes: number) => Promise<string>;
  }

  async function withBackend(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
    const harness = await make();
    const scratch = await mkdtemp(join(tmpdir(), 'alto-volume-conformance-'));
    try {
      await harness.backend.open();
      let n = 0;
      await fn({
        backend: harness.backend,
        harness,
        scratch,
        head: async (volumeId, bytes) => {
          const out = join(scratch, `head-${n++}.raw`);
          await harness.backend.copyVolumeToFile(volumeId, out, 'raw');
          const head = await readHead(out, bytes);
          await rm(out, { force: true });
          return head;
        },
        rawImage: async (pattern, sizeBytes) => {
          const path = join(scratch, `image-${n++}.raw`);
          await writeFile(path, pattern);
          const file = await open(path, 'r+');
          await file.truncate(sizeBytes);
          await file.close();
          return path;
        },
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
      await harness.cleanup();
    }
  }

  describe(`volume backend conformance: ${name}`, { skip }, () => {
    it('creates a blank volume of the asked size, idempotently, and lists it', opts, () =>
      withBackend(async ({ backend, scratch, head }) => {
        const id = newId();
        await backend.createVolume({ volumeId: id, sizeGb: 1 });
        assert.deepEqual(await backend.inspectVolume(id), { exists: true, virtualSizeBytes: GiB });
        await backend.createVolume({ volumeId: id, sizeGb: 1 });
        assert.deepEqual(await backend.inspectVolume(id), { exists: true, virtualSizeBytes: GiB });
        await rejectsWith(backend.createVolume({ volumeId: id, sizeGb: 2 }), 'invalid');
        assert.deepEqual(await backend.listVolumes(), [id]);
        assert.ok((await head(id, MiB)).equals(Buffer.alloc(MiB)), 'a blank volume reads zeros');
        const copy = join(scratch, 'blank.qcow2');
        await backend.copyVolumeToFile(id, copy, 'qcow2');
        assert.deepEqual(await infoOf(copy), { format: 'qcow2', virtualSize: GiB });
      }),
    );

    it('deletes volumes idempotently; absent volumes are not found', opts, () =>
      withBackend(async ({ backend, scratch }) => {
        const [a, b] = [newId(), newId()];
        await backend.deleteVolume(a);
        await backend.createVolume({ volumeId: a, sizeGb: 1 });
        await backend.createVolume({ volumeId: b, sizeGb: 1 });
        assert.deepEqual(await backend.listVolumes(), [a, b].sort());
        await backend.deleteVolume(a);
        await backend.deleteVolume(a);
        assert.deepEqual(await backend.inspectVolume(a), { exists: false });
        assert.deepEqual(await backend.listVolumes(), [b]);
        await rejectsWith(backend.extendVolume(a, 2), 'not_found');
        await rejectsWith(backend.createSnapshot(a, newId()), 'not_found');
        await rejectsWith(backend.cloneVolume(a, { volumeId: newId(), sizeGb: 1 }), 'not_found');
        await rejectsWith(backend.createVolumeFromSnapshot(newId(), a, { volumeId: newId(), sizeGb: 1 }), 'not_found');
        await rejectsWith(backend.copyVolumeToFile(a, join(scratch, 'x.raw'), 'raw'), 'not_found');
        await rejectsWith(backend.initializeConnection(a, {}), 'not_found');
        assert.deepEqual(await backend.listVolumes(), [b], 'failed calls leave no volume behind');
      }),
    );

    it('rejects ids that could name something else with invalid', opts, () =>
      withBackend(async ({ backend }) => {
        for (const bad of ['', '../x', 'a/b', 'a b', '.', 'x\n']) {
          await rejectsWith(backend.createVolume({ volumeId: bad, sizeGb: 1 }), 'invalid');
          await rejectsWith(backend.deleteVolume(bad), 'invalid');
          await rejectsWith(backend.deleteSnapshot(newId(), bad), 'invalid');
        }
        await rejectsWith(backend.createVolume({ volumeId: newId(), sizeGb: 0 }), 'invalid');
        await rejectsWith(backend.createVolume({ volumeId: newId(), sizeGb: 1.5 }), 'invalid');
      }),
    );

    it('extends and keeps data; the same size is success; smaller is invalid', opts, () =>
      withBackend(async ({ backend, head, rawImage }) => {
        const id = newId();
        const pattern = randomBytes(MiB + 3);
        await backend.copyImageToVolume(id, await rawImage(pattern, MiB * 4), 'raw', 1);
        await backend.extendVolume(id, 2);
        assert.deepEqual(await backend.inspectVolume(id), { exists: true, virtualSizeBytes: 2 * GiB });
        await backend.extendVolume(id, 2);
        await rejectsWith(backend.extendVolume(id, 1), 'invalid');
        assert.deepEqual(await backend.inspectVolume(id), { exists: true, virtualSizeBytes: 2 * GiB });
        assert.ok((await head(id, pattern.length)).equals(pattern), 'extending keeps the bytes');
      }),
    );

    it('a volume from a snapshot has the snapshot’s bytes, not later writes', opts, () =>
      withBackend(async ({ backend, harness, head, rawImage }) => {
        const [vol, snap, fromSnap] = [newId(), newId(), newId()];
        const pattern = randomBytes(2 * MiB);
        await backend.copyImageToVolume(vol, await rawImage(pattern, 2 * MiB), 'raw', 1);
        await backend.createSnapshot(vol, snap);
        await backend.createSnapshot(vol, snap);
        if (harness.writeVolume) {
          await harness.writeVolume(vol, 0, Buffer.alloc(MiB, 0x5a));
          assert.ok((await head(vol, MiB)).equals(Buffer.alloc(MiB, 0x5a)), 'the harness wrote into the volume');
        }
        await rejectsWith(backend.createVolumeFromSnapshot(snap, vol, { volumeId: newId(), sizeGb: 0 }), 'invalid');
        await backend.createVolumeFromSnapshot(snap, vol, { volumeId: fromSnap, sizeGb: 2 });
        await backend.createVolumeFromSnapshot(snap, vol, { volumeId: fromSnap, sizeGb: 2 });
        assert.deepEqual(await backend.inspectVolume(fromSnap), { exists: true, virtualSizeBytes: 2 * GiB }, 'grown to the asked size');
        assert.ok((await head(fromSnap, pattern.length)).equals(pattern), 'the snapshot’s bytes');
        await rejectsWith(backend.createVolumeFromSnapshot(newId(), vol, { volumeId: newId(), sizeGb: 1 }), 'not_found');

        // the new volume does not depend on the snapshot or its volume
        await backend.deleteSnapshot(vol, snap);
        await backend.deleteSnapshot(vol, snap);
        await backend.deleteVolume(vol);
        assert.ok((await head(fromSnap, pattern.length)).equals(pattern), 'still there after its source went');
        if (harness.writeVolume) {
          await harness.writeVolume(fromSnap, MiB, Buffer.alloc(MiB, 0x11));
          assert.ok((await head(fromSnap, 2 * MiB)).equals(Buffer.concat([pattern.subarray(0, MiB), Buffer.alloc(MiB, 0x11)])));
        }
      }),
    );

    it('refuses to delete a volume that has snapshots (invalid) until they are gone', opts, () =>
      withBackend(async ({ backend }) => {
        const [vol, s1, s2, other] = [newId(), newId(), newId(), newId()];
        await backend.createVolume({ volumeId: vol, sizeGb: 1 });
        await backend.createVolume({ volumeId: other, sizeGb: 1 });
        await backend.createSnapshot(vol, s1);
        await backend.createSnapshot(vol, s2);
        await backend.createSnapshot(other, newId());
        await rejectsWith(backend.deleteVolume(vol), 'invalid');
        await backend.deleteSnapshot(vol, s1);
        await rejectsWith(backend.deleteVolume(vol), 'invalid');
        await backend.deleteSnapshot(vol, s2);
        await backend.deleteVolume(vol);
        assert.deepEqual(await backend.listVolumes(), [other], 'snapshots are no volumes');
      }),
    );

    it('clones a volume’s bytes into an independent volume of at least its size', opts, () =>
      withBackend(async ({ backend, harness, head, rawImage }) => {
        const [src, clone] = [newId(), newId()];
        const pattern = randomBytes(MiB + 5);
        await backend.copyImageToVolume(src, await rawImage(pattern, 2 * MiB), 'raw', 2);
        await rejectsWith(backend.cloneVolume(src, { volumeId: newId(), sizeGb: 1 }), 'invalid');
        await backend.cloneVolume(src, { volumeId: clone, sizeGb: 2 });
        await backend.cloneVolume(src, { volumeId: clone, sizeGb: 2 });
        assert.deepEqual(await backend.inspectVolume(clone), { exists: true, virtualSizeBytes: 2 * GiB });
        assert.ok((await head(clone, pattern.length)).equals(pattern));
        if (harness.writeVolume) await harness.writeVolume(src, 0, Buffer.alloc(4096, 0x77));
        await backend.deleteVolume(src);
        assert.ok((await head(clone, pattern.length)).equals(pattern), 'the clone is its own');
      }),
    );

    it('copies raw and qcow2 images into volumes, converted and grown; too big is invalid', opts, () =>
      withBackend(async ({ backend, scratch, head, rawImage }) => {
        const pattern = randomBytes(3 * MiB + 1);
        const raw = await rawImage(pattern, 8 * MiB);
        const qcow2 = join(scratch, 'image.qcow2');
        await qemuImg(['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
        for (const [path, format] of [[raw, 'raw'], [qcow2, 'qcow2']] as const) {
          const id = newId();
          await backend.copyImageToVolume(id, path, format, 1);
          assert.deepEqual(await backend.inspectVolume(id), { exists: true, virtualSizeBytes: GiB }, `from ${format}`);
          assert.ok((await head(id, pattern.length)).equals(pattern), `bytes from ${format}`);
          // again: the same result, over what is there (a blank that createVolume made included)
          await backend.copyImageToVolume(id, path, format, 1);
          assert.ok((await head(id, pattern.length)).equals(pattern), `bytes from ${format}, again`);
        }
        const blank = newId();
        await backend.createVolume({ volumeId: blank, sizeGb: 1 });
        await backend.copyImageToVolume(blank, qcow2, 'qcow2', 1);
        assert.ok((await head(blank, pattern.length)).equals(pattern), 'written over a blank volume');

        const big = join(scratch, 'big.qcow2');
        await qemuImg(['create', '-f', 'qcow2', big, String(2 * GiB)]);
        await rejectsWith(backend.copyImageToVolume(newId(), big, 'qcow2', 1), 'invalid');
        await rejectsWith(backend.copyImageToVolume(newId(), join(scratch, 'absent.raw'), 'raw', 1), 'not_found');
        assert.equal((await backend.listVolumes()).length, 3, 'failed copies leave no volume');
      }),
    );

    it('copies a volume to a raw or qcow2 file with its bytes', opts, () =>
      withBackend(async ({ backend, scratch, rawImage }) => {
        const id = newId();
        const pattern = randomBytes(MiB);
        await backend.copyImageToVolume(id, await rawImage(pattern, MiB), 'raw', 1);
        for (const format of ['raw', 'qcow2'] as const) {
          const out = join(scratch, `out.${format}`);
          await backend.copyVolumeToFile(id, out, format);
          await backend.copyVolumeToFile(id, out, format);
          assert.deepEqual(await infoOf(out), { format, virtualSize: GiB });
          const back = join(scratch, `back-${format}.raw`);
          await qemuImg(['convert', '-f', format, '-O', 'raw', out, back]);
          assert.ok((await readHead(back, pattern.length)).equals(pattern), `bytes through ${format}`);
        }
      }),
    );

    it('reports sane stats', opts, () =>
      withBackend(async ({ backend }) => {
        const s = await backend.stats();
        assert.equal(s.backendName, backend.name);
        for (const k of ['vendorName', 'driverVersion', 'storageProtocol'] as const) assert.ok(typeof s[k] === 'string' && s[k].length > 0, k);
        assert.ok(Number.isFinite(s.totalCapacityGb) && s.totalCapacityGb > 0, `totalCapacityGb ${s.totalCapacityGb}`);
        assert.ok(Number.isFinite(s.freeCapacityGb) && s.freeCapacityGb >= 0 && s.freeCapacityGb <= s.totalCapacityGb, `freeCapacityGb ${s.freeCapacityGb}`);
        assert.equal(typeof s.capabilities, 'object');
      }),
    );

    it('answers connection info for a volume, repeatably, and terminates idempotently', opts, () =>
      withBackend(async ({ backend }) => {
        const id = newId();
        await backend.createVolume({ volumeId: id, sizeGb: 1 });
        const connector = { host: 'compute-1', initiator: 'iqn.1993-08.org.debian:01:abc' };
        const info = await backend.initializeConnection(id, connector);
        assert.ok(typeof info.driverVolumeType === 'string' && info.driverVolumeType.length > 0);
        assert.equal(typeof info.data, 'object');
        assert.deepEqual(await backend.initializeConnection(id, connector), info);
        await backend.terminateConnection(id, connector);
        await backend.terminateConnection(id, connector);
      }),
    );
  });
}
