// Runs the volume backend conformance suite on the file backend (raw and qcow2), plus what only files show.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runVolumeBackendConformance } from '../spi/volume-backend.conformance.js';
import { VolumeBackendError } from '../spi/volume-backend.js';
import { FileBackend, type FileBackendOptions } from './file-backend.js';

const GiB = 1024 ** 3;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

function missing(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
}

const noQemuImg = missing('qemu-img') ? 'qemu-img is absent: install Debian qemu-utils' : undefined;
const noQemuIo = missing('qemu-io') ? 'qemu-io is absent: install Debian qemu-utils' : undefined;

async function infoOf(path: string): Promise<{ format: string; 'virtual-size': number }> {
  return JSON.parse(await run('qemu-img', ['info', '--output=json', path])) as { format: string; 'virtual-size': number };
}

for (const format of ['raw', 'qcow2'] as const) {
  runVolumeBackendConformance(`file (${format})`, async () => {
    const root = await mkdtemp(join(tmpdir(), 'alto-file-backend-'));
    const backend = new FileBackend({ name: `file-${format}`, directory: join(root, 'volumes'), defaultFormat: format });
    return {
      backend,
      cleanup: () => rm(root, { recursive: true, force: true }),
      // qemu-io writes through the format layer, as a guest's writes land
      ...(noQemuIo
        ? {}
        : {
            writeVolume: async (volumeId: string, offset: number, data: Buffer) => {
              const path = backend.volumePath(volumeId);
              const fmt = (await infoOf(path)).format;
              // one byte value per write keeps qemu-io's pattern option usable; the cases write uniform blocks
              assert.ok(data.every((b) => b === data[0]), 'the file harness writes uniform blocks');
              await run('qemu-io', ['-f', fmt, '-c', `write -P ${data[0]} ${offset} ${data.length}`, path]);
            },
          }),
    };
  });
}

async function withBackend(fn: (backend: FileBackend, dir: string) => Promise<void>, extra: Partial<FileBackendOptions> = {}): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'alto-file-backend-'));
  try {
    const backend = new FileBackend({ name: 'file', directory: join(root, 'volumes'), ...extra });
    await backend.open();
    await fn(backend, join(root, 'volumes'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function rejectsWith(p: Promise<unknown>, code: VolumeBackendError['code'], message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VolumeBackendError, `expected a VolumeBackendError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('file volume backend', { skip: noQemuImg }, () => {
  it('keeps volume-<id> and snapshot-<id> files in the asked format, sparse', () =>
    withBackend(async (backend, dir) => {
      const [raw, qcow2, snap] = [randomUUID(), randomUUID(), randomUUID()];
      await backend.createVolume({ volumeId: raw, sizeGb: 1 });
      await backend.createVolume({ volumeId: qcow2, sizeGb: 1, format: 'qcow2' });
      await backend.createSnapshot(qcow2, snap);
      assert.deepEqual((await readdir(dir)).sort(), [`snapshot-${snap}`, `snapshot-${snap}.volume`, `volume-${qcow2}`, `volume-${raw}`].sort());
      assert.equal((await infoOf(join(dir, `volume-${raw}`))).format, 'raw');
      assert.equal((await infoOf(join(dir, `volume-${qcow2}`))).format, 'qcow2');
      assert.equal((await infoOf(join(dir, `snapshot-${snap}`))).format, 'qcow2');
      const st = await stat(join(dir, `volume-${raw}`));
      assert.equal(st.size, GiB);
      assert.ok(st.blocks * 512 < 1024 * 1024, `a blank raw volume is sparse (${st.blocks} blocks)`);
      // the same id in the other format is no "already there"
      await rejectsWith(backend.createVolume({ volumeId: raw, sizeGb: 1, format: 'qcow2' }), 'invalid', /already exists as raw/);
    }));

  it('redoes a half-made file a killed qemu-img left, and never lists it', () =>
    withBackend(async (backend, dir) => {
      const id = randomUUID();
      await writeFile(join(dir, `volume-${id}.part`), 'half a qcow2 header');
      assert.deepEqual(await backend.listVolumes(), []);
      assert.deepEqual(await backend.inspectVolume(id), { exists: false });
      await backend.createVolume({ volumeId: id, sizeGb: 1, format: 'qcow2' });
      assert.deepEqual(await readdir(dir), [`volume-${id}`]);
      assert.equal((await infoOf(join(dir, `volume-${id}`)))['virtual-size'], GiB);
      await writeFile(join(dir, `volume-${id}.part`), 'x');
      await backend.deleteVolume(id);
      assert.deepEqual(await readdir(dir), [], 'delete takes the leftover too');
    }));

  it('answers connection info a local QEMU can open: path and format', () =>
    withBackend(async (backend, dir) => {
      const id = randomUUID();
      await backend.createVolume({ volumeId: id, sizeGb: 1, format: 'qcow2' });
      assert.deepEqual(await backend.initializeConnection(id, { host: 'compute-1' }), {
        driverVolumeType: 'file',
        data: { device_path: join(dir, `volume-${id}`), export: dir, name: `volume-${id}`, format: 'qcow2', access_mode: 'rw' },
      });
    }));

  it('refuses a volume whose qcow2 header names a backing file (a guest wrote it into a raw volume)', () =>
    withBackend(async (backend, dir) => {
      const id = randomUUID();
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/hostname', join(dir, `volume-${id}`), String(GiB)]);
      await rejectsWith(backend.inspectVolume(id), 'invalid', /backing file/);
      await rejectsWith(backend.copyVolumeToFile(id, join(dir, 'leak.raw'), 'raw'), 'invalid');
      const image = join(dir, 'image.qcow2');
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/hostname', image, String(GiB)]);
      await rejectsWith(backend.copyImageToVolume(randomUUID(), image, 'qcow2', 1), 'invalid', /backing file/);
    }));

  it('a snapshot belongs to one volume', () =>
    withBackend(async (backend) => {
      const [a, b, snap] = [randomUUID(), randomUUID(), randomUUID()];
      await backend.createVolume({ volumeId: a, sizeGb: 1 });
      await backend.createVolume({ volumeId: b, sizeGb: 1 });
      await backend.createSnapshot(a, snap);
      await rejectsWith(backend.createSnapshot(b, snap), 'invalid');
      await rejectsWith(backend.deleteSnapshot(b, snap), 'invalid');
      await rejectsWith(backend.createVolumeFromSnapshot(snap, b, { volumeId: randomUUID(), sizeGb: 1 }), 'invalid');
      await backend.deleteVolume(b);
    }));

  it('open() says what to fix when the directory or qemu-img is unusable', async () => {
    const root = await mkdtemp(join(tmpdir(), 'alto-file-backend-'));
    try {
      await writeFile(join(root, 'file'), '');
      await rejectsWith(new FileBackend({ name: 'bad', directory: join(root, 'file', 'volumes') }).open(), 'backend', /cannot use .* create it writable/);
      await rejectsWith(new FileBackend({ name: 'bad', directory: join(root, 'ok'), qemuImg: join(root, 'no-qemu-img') }).open(), 'backend', /install qemu-utils/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
