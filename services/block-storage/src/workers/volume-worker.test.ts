// The volume worker against the real file backend (qemu-img), SQLite and the in-process bus: a
// cast that names a volume converges it (create, extend, delete); a worker that died holding a
// volume's lease leaves work that the next sweep finishes; two workers racing converge once.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, type Bus } from '@alto/bus';
import { migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, type ScratchDatabase } from '@alto/db/testing';
import { systemClock } from '@alto/kernel';
import { createLogger } from '@alto/runtime';
import { FileBackend } from '../drivers/file-backend.js';
import { blockStorageMigrations } from '../store/migrations/index.js';
import type { BlockStorageDB, VolumeTable } from '../store/schema.js';
import { volumeRow } from '../testing/volume-row.js';
import { claimVolumeTask, insertVolume, selectVolume } from '../store/volume.repo.js';
import { VOLUME_TOPIC, VolumeWorker } from './volume-worker.js';

const GiB = 1024 ** 3;
const HOST = 'host1@file#file';
const noQemu = spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0 ? 'qemu-img is not installed (Debian qemu-utils)' : false;

function virtualSize(path: string): number {
  const r = spawnSync('qemu-img', ['info', '--output=json', '-U', path], { encoding: 'utf8' });
  return (JSON.parse(r.stdout) as { 'virtual-size': number })['virtual-size'];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('volume worker', { skip: noQemu }, () => {
  let scratch: ScratchDatabase;
  let database: Database<BlockStorageDB>;
  let bus: Bus;
  let dir: string;
  let backend: FileBackend;
  const log = createLogger({ level: 'silent' });
  const workers: VolumeWorker[] = [];
  const worker = async (owner: string, leaseMs = 60_000) => {
    const w = new VolumeWorker({ db: database.db, bus, clock: systemClock, log, backend, host: HOST, owner, leaseMs, sweepMs: 60_000 });
    await w.start();
    workers.push(w);
    return w;
  };
  const volume = async (over: Partial<VolumeTable>) => {
    const row = volumeRow({ host: HOST, ...over });
    await insertVolume(database.db, row);
    return row.id;
  };
  const file = (id: string) => join(dir, `volume-${id}`);
  const until = async (what: string, probe: () => Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await probe()) return;
      await sleep(25);
    }
    assert.fail(`timed out waiting for ${what}`);
  };

  before(async () => {
    scratch = await scratchDatabase('sqlite');
    database = scratch.open<BlockStorageDB>();
    await migrateToLatest(database, blockStorageMigrations);
    bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock: systemClock });
    dir = mkdtempSync(join(tmpdir(), 'alto-volume-worker-'));
    backend = new FileBackend({ name: 'file', directory: dir });
  });
  after(async () => {
    for (const w of workers) await w.stop();
    await bus?.close();
    await database?.close();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a cast naming a volume converges it: created, extended, deleted', async () => {
    await worker('w-main');
    const id = await volume({});
    await bus.cast({ topic: VOLUME_TOPIC, server: HOST }, 'create_volume', { volume_id: id });
    await until('available', async () => (await selectVolume(database.db, id))?.status === 'available');
    assert.equal(virtualSize(file(id)), GiB);
    const row = (await selectVolume(database.db, id))!;
    assert.equal(row.task_owner, null, 'the lease is released');
    assert.ok(row.launched_at);

    await database.db.updateTable('volume').set({ status: 'extending', target_size: 2 }).where('id', '=', id).execute();
    await bus.cast({ topic: VOLUME_TOPIC, server: HOST }, 'extend_volume', { volume_id: id });
    await until('extended', async () => (await selectVolume(database.db, id))?.status === 'available');
    assert.equal(Number((await selectVolume(database.db, id))!.size), 2);
    assert.equal(virtualSize(file(id)), 2 * GiB);

    await database.db.updateTable('volume').set({ status: 'deleting' }).where('id', '=', id).execute();
    await bus.cast({ topic: VOLUME_TOPIC, server: HOST }, 'delete_volume', { volume_id: id });
    await until('deleted', async () => (await selectVolume(database.db, id)) === undefined);
    assert.equal(existsSync(file(id)), false);
  });

  test('work left by a dead worker is finished by the next sweep once its lease lapses', async () => {
    const w = await worker('w-sweeper');
    const id = await volume({});
    const now = Date.now();
    assert.ok(await claimVolumeTask(database.db, id, ['creating'], 'w-dead', now, now + 300));
    await w.sweep();
    await w.idle();
    assert.equal((await selectVolume(database.db, id))!.status, 'creating', 'a live lease is respected');
    await sleep(350);
    await w.sweep();
    await w.idle();
    const row = (await selectVolume(database.db, id))!;
    assert.equal(row.status, 'available');
    assert.equal(virtualSize(file(id)), GiB);
  });

  test('two workers kicked for the same volume converge it once', async () => {
    const [a, b] = [await worker('w-a'), await worker('w-b')];
    const id = await volume({ size: 3 });
    a.kick(id);
    b.kick(id);
    await Promise.all([a.idle(), b.idle()]);
    await until('available', async () => (await selectVolume(database.db, id))?.status === 'available');
    assert.equal(virtualSize(file(id)), 3 * GiB);
  });

  test('a refusal from the backend shows on the volume (shrinking is refused: error_extending)', async () => {
    const w = await worker('w-refusal');
    const id = await volume({ size: 2 });
    w.kick(id);
    await w.idle();
    assert.equal((await selectVolume(database.db, id))!.status, 'available');
    await database.db.updateTable('volume').set({ status: 'extending', target_size: 1 }).where('id', '=', id).execute();
    w.kick(id);
    await w.idle();
    const row = (await selectVolume(database.db, id))!;
    assert.equal(row.status, 'error_extending');
    assert.equal(Number(row.size), 2);
    assert.equal(virtualSize(file(id)), 2 * GiB);
  });
});
