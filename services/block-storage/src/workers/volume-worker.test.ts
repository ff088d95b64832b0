// The volume worker against the real file backend (qemu-img), SQLite and the in-process bus: a
// cast that names a volume converges it (create, extend, delete); a worker that died holding a
// volume's lease leaves work that the next sweep finishes; two workers racing converge once.
// Then every create source (snapshot, clone, image) with the data checked by qemu-io patterns,
// cascade deletes that leave no files and give every quota back, uploads to an image, snapshot
// create and delete, and the user messages refusals leave.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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
import { insertVolume, metadataOf, selectVolume } from '../store/volume.repo.js';
import { insertSnapshot, selectSnapshot } from '../store/snapshot.repo.js';
import { selectUsage } from '../store/quota.repo.js';
import { claimTask, finishTask } from '../store/task-lease.js';
import { QuotaEngine, snapshotDeltas, volumeDeltas, type Deltas } from '../domain/quotas.js';
import { DirectoryImages, hasPattern, imageInfo, snapshotRow, writePattern } from './volume-worker.fixtures.js';
import { VOLUME_TOPIC, VolumeWorker } from './volume-worker.js';

const GiB = 1024 ** 3;
const HOST = 'host1@file#file';
const noQemu = spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0 ? 'qemu-img is not installed (Debian qemu-utils)' : false;

function virtualSize(path: string): number {
  const r = spawnSync('qemu-img', ['info', '--output=json', '-U', path], { encoding: 'utf8' });
  return (JSON.parse(r.stdout) as { 'virtual-size': number })['virtual-size'];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('volume worker', { skip: noQemu, timeout: 60_000 }, () => {
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
    assert.ok(await claimTask(database.db, 'volume', id, ['creating'], 'w-dead', now, now + 300));
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

describe('volume worker: create sources, cascade delete, upload, snapshots', { skip: noQemu, timeout: 60_000 }, () => {
  const host = 'host2@file#file';
  let scratch: ScratchDatabase;
  let database: Database<BlockStorageDB>;
  let bus: Bus;
  let dir: string;
  let imagesDir: string;
  let backend: FileBackend;
  let quotas: QuotaEngine;
  let images: DirectoryImages;
  let w: VolumeWorker;
  let defaultType: { id: string; name: string };
  const log = createLogger({ level: 'silent' });
  const file = (id: string) => join(dir, `volume-${id}`);
  const filesOf = (id: string) => readdirSync(dir).filter((n) => n.includes(id));
  const volume = async (over: Partial<VolumeTable>) => {
    const row = volumeRow({ host, volume_type_id: defaultType.id, ...over });
    await insertVolume(database.db, row);
    return row.id;
  };
  /** What the API does: usage taken in a transaction (with an engine bound to it: SQLite has one connection). */
  const take = async (projectId: string, deltas: Deltas) => {
    await quotas.prepare(projectId, deltas);
    await database.db.transaction().execute((trx) => new QuotaEngine({ db: trx, defaults: {}, nowMs: () => Date.now() }).consume(trx, projectId, deltas));
  };
  const usage = async (projectId: string) => Object.fromEntries([...(await selectUsage(database.db, projectId))].map(([k, v]) => [k, v.inUse]));
  const converge = async (id: string) => {
    w.kick(id);
    await w.idle();
    return (await selectVolume(database.db, id))!;
  };
  const messagesOf = (id: string) => database.db.selectFrom('message').selectAll().where('resource_uuid', '=', id).execute();
  const until = async (what: string, probe: () => Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await probe()) return;
      await sleep(25);
    }
    assert.fail(`timed out waiting for ${what}`);
  };
  const qemuImg = (...args: string[]) => assert.equal(spawnSync('qemu-img', args).status, 0, `qemu-img ${args.join(' ')}`);

  before(async () => {
    scratch = await scratchDatabase('sqlite');
    database = scratch.open<BlockStorageDB>();
    await migrateToLatest(database, blockStorageMigrations);
    bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock: systemClock });
    dir = mkdtempSync(join(tmpdir(), 'alto-volume-worker2-'));
    imagesDir = join(dir, 'images');
    mkdirSync(imagesDir);
    backend = new FileBackend({ name: 'file', directory: dir });
    quotas = new QuotaEngine({ db: database.db, defaults: {}, nowMs: () => Date.now() });
    images = new DirectoryImages(imagesDir);
    defaultType = await database.db.selectFrom('volume_type').select(['id', 'name']).where('name', '=', '__DEFAULT__').executeTakeFirstOrThrow();
    w = new VolumeWorker({ db: database.db, bus, clock: systemClock, log, backend, host, owner: 'w2', quotas, images, sweepMs: 60_000 });
    await w.start();
  });
  after(async () => {
    await w?.stop();
    await bus?.close();
    await database?.close();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a snapshot (create_snapshot cast) and volumes made from it and cloned from its volume carry the right data', async () => {
    const src = await volume({});
    assert.equal((await converge(src)).status, 'available');
    writePattern(file(src), 'raw', 0xab);
    const snap = snapshotRow({ volume_id: src });
    await insertSnapshot(database.db, snap);
    await bus.cast({ topic: VOLUME_TOPIC, server: host }, 'create_snapshot', { snapshot_id: snap.id });
    await until('snapshot available', async () => (await selectSnapshot(database.db, snap.id))?.status === 'available');
    const s = (await selectSnapshot(database.db, snap.id))!;
    assert.equal(s.progress, '100%');
    assert.equal(s.task_owner, null, 'the lease is released');
    // the volume changes after the snapshot: the snapshot keeps the old data, a clone gets the new
    writePattern(file(src), 'raw', 0xcd);

    const fromSnap = await volume({ size: 2, snapshot_id: snap.id });
    assert.equal((await converge(fromSnap)).status, 'available');
    assert.equal(imageInfo(file(fromSnap)).virtualSize, 2 * GiB);
    assert.ok(hasPattern(file(fromSnap), 0xab, 'raw'), 'the snapshot data');
    const clone = await volume({ source_volid: src });
    assert.equal((await converge(clone)).status, 'available');
    assert.ok(hasPattern(file(clone), 0xcd, 'raw'), 'the source volume data now');
  });

  test('from an image: its data, bootable, its image metadata; an image that is not there: error and a user message', async () => {
    const imageId = randomUUID();
    const image = join(imagesDir, imageId);
    qemuImg('create', '-q', '-f', 'qcow2', image, String(512 * 1024 ** 2));
    writePattern(image, 'qcow2', 0x5a);
    const id = await volume({ image_id: imageId });
    const row = await converge(id);
    assert.equal(row.status, 'available');
    assert.equal(row.bootable, 1);
    assert.deepEqual(imageInfo(file(id)), { format: 'raw', virtualSize: GiB });
    assert.ok(hasPattern(file(id), 0x5a, 'raw'));
    const meta = (await metadataOf(database.db, 'volume_image_metadata', [id])).get(id)!;
    assert.equal(meta.image_id, imageId);
    assert.equal(meta.disk_format, 'qcow2');

    const missing = await volume({ image_id: randomUUID(), project_id: 'p-img' });
    const bad = await converge(missing);
    assert.equal(bad.status, 'error');
    assert.equal(bad.task_owner, null);
    const [m, ...more] = await messagesOf(missing);
    assert.equal(more.length, 0);
    // COPY_IMAGE_TO_VOLUME, UNKNOWN_ERROR (cinder/message/message_field.py)
    assert.deepEqual([m!.project_id, m!.resource_type, m!.action_id, m!.detail_id, m!.event_id, m!.message_level], ['p-img', 'VOLUME', '005', '001', 'VOLUME_VOLUME_005_001', 'ERROR']);
    assert.ok(m!.expires_at! > m!.created_at);
  });

  test('a worker without an image service makes image volumes error with a user message', async () => {
    const bare = new VolumeWorker({ db: database.db, bus, clock: systemClock, log, backend, host: 'host3@file#file', owner: 'w3', sweepMs: 60_000 });
    await bare.start();
    try {
      const id = await volume({ host: 'host3@file#file', image_id: randomUUID() });
      bare.kick(id);
      await bare.idle();
      assert.equal((await selectVolume(database.db, id))!.status, 'error');
      assert.deepEqual((await messagesOf(id)).map((m) => [m.action_id, m.detail_id]), [['005', '001']]);
    } finally {
      await bare.stop();
    }
  });

  test('a blank volume the backend refuses is error with a user message, and can then be deleted', async () => {
    const id = await volume({ project_id: 'p-blank' });
    // a volume file of another size already has this id: the backend refuses to create it
    qemuImg('create', '-q', '-f', 'raw', file(id), String(2 * GiB));
    assert.equal((await converge(id)).status, 'error');
    assert.deepEqual((await messagesOf(id)).map((m) => [m.resource_type, m.action_id, m.detail_id]), [['VOLUME', '008', '012']]);
    await database.db.updateTable('volume').set({ status: 'deleting', previous_status: 'error' }).where('id', '=', id).execute();
    w.kick(id);
    await w.idle();
    assert.equal(await selectVolume(database.db, id), undefined);
    assert.deepEqual(filesOf(id), []);
  });

  test('cascade delete (delete_volume cast): the snapshots, then the volume; no files left and every quota back to zero', async () => {
    const p = 'p-cascade';
    await take(p, volumeDeltas(2, defaultType.name));
    const vol = await volume({ size: 2, project_id: p });
    assert.equal((await converge(vol)).status, 'available');
    const snaps = [snapshotRow({ volume_id: vol, project_id: p, volume_size: 2, volume_type_id: defaultType.id }), snapshotRow({ volume_id: vol, project_id: p, volume_size: 2 })];
    for (const s of snaps) {
      await take(p, snapshotDeltas(2, defaultType.name));
      await insertSnapshot(database.db, s);
      w.kickSnapshot(s.id);
    }
    await w.idle();
    for (const s of snaps) assert.equal((await selectSnapshot(database.db, s.id))!.status, 'available');
    assert.deepEqual(await usage(p), { volumes: 1, gigabytes: 6, volumes___DEFAULT__: 1, gigabytes___DEFAULT__: 6, snapshots: 2, snapshots___DEFAULT__: 2 });
    assert.equal(filesOf(snaps[0]!.id).length, 2, 'the snapshot file and its owner record');

    // what the API does for DELETE /volumes/{id}?cascade=true
    await database.db.transaction().execute(async (trx) => {
      await trx.updateTable('volume').set({ status: 'deleting', previous_status: 'available' }).where('id', '=', vol).execute();
      await trx.updateTable('snapshot').set({ status: 'deleting' }).where('volume_id', '=', vol).execute();
    });
    await bus.cast({ topic: VOLUME_TOPIC, server: host }, 'delete_volume', { volume_id: vol });
    await until('volume deleted', async () => (await selectVolume(database.db, vol)) === undefined);
    const rows = await database.db.selectFrom('snapshot').select(['status', 'deleted', 'deleted_at', 'task_owner']).where('volume_id', '=', vol).execute();
    assert.deepEqual(rows.map((r) => [r.status, r.deleted, r.task_owner]), [['deleted', 1, null], ['deleted', 1, null]]);
    const v = await database.db.selectFrom('volume').selectAll().where('id', '=', vol).executeTakeFirstOrThrow();
    assert.deepEqual([v.status, v.deleted, v.task_owner], ['deleted', 1, null]);
    assert.ok(v.deleted_at && v.terminated_at);
    assert.deepEqual([...filesOf(vol), ...snaps.flatMap((s) => filesOf(s.id))], []);
    assert.deepEqual(await usage(p), { volumes: 0, gigabytes: 0, volumes___DEFAULT__: 0, gigabytes___DEFAULT__: 0, snapshots: 0, snapshots___DEFAULT__: 0 });
  });

  test('a cascade delete waits for a snapshot another worker holds, and goes on once it is free', async () => {
    const vol = await volume({});
    await converge(vol);
    const snap = snapshotRow({ volume_id: vol });
    await insertSnapshot(database.db, snap);
    w.kickSnapshot(snap.id);
    await w.idle();
    await database.db.transaction().execute(async (trx) => {
      await trx.updateTable('volume').set({ status: 'deleting' }).where('id', '=', vol).execute();
      await trx.updateTable('snapshot').set({ status: 'deleting' }).where('id', '=', snap.id).execute();
    });
    const now = Date.now();
    assert.ok(await claimTask(database.db, 'snapshot', snap.id, ['deleting'], 'w-other', now, now + 60_000));
    const waiting = await converge(vol);
    assert.deepEqual([waiting.status, waiting.task_owner], ['deleting', null], 'the volume is given back, not failed');
    assert.ok(existsSync(file(vol)));
    // the other worker lets go without finishing: the sweep finds the volume again
    assert.ok(await finishTask(database.db, 'snapshot', snap.id, 'w-other', {}));
    await w.sweep();
    await w.idle();
    assert.equal(await selectVolume(database.db, vol), undefined);
    assert.deepEqual([...filesOf(vol), ...filesOf(snap.id)], []);
  });

  test('a snapshot deleted alone (delete_snapshot cast) gives its quota back; a refused snapshot create is error with a user message', async () => {
    const p = 'p-snap';
    await take(p, volumeDeltas(1, defaultType.name));
    const vol = await volume({ project_id: p });
    await converge(vol);
    await take(p, snapshotDeltas(1, defaultType.name));
    const snap = snapshotRow({ volume_id: vol, project_id: p });
    await insertSnapshot(database.db, snap);
    w.kickSnapshot(snap.id);
    await w.idle();
    await database.db.updateTable('snapshot').set({ status: 'deleting' }).where('id', '=', snap.id).execute();
    await bus.cast({ topic: VOLUME_TOPIC, server: host }, 'delete_snapshot', { snapshot_id: snap.id });
    await until('snapshot deleted', async () => (await selectSnapshot(database.db, snap.id)) === undefined);
    assert.deepEqual(filesOf(snap.id), []);
    assert.equal(existsSync(file(vol)), true, 'the volume stays');
    assert.deepEqual(await usage(p), { volumes: 1, gigabytes: 1, volumes___DEFAULT__: 1, gigabytes___DEFAULT__: 1, snapshots: 0, snapshots___DEFAULT__: 0 });

    // a volume row whose file the backend does not have: the snapshot cannot be made
    const ghost = await volume({ project_id: p, status: 'available' });
    const bad = snapshotRow({ volume_id: ghost, project_id: p });
    await insertSnapshot(database.db, bad);
    w.kickSnapshot(bad.id);
    await w.idle();
    const row = (await selectSnapshot(database.db, bad.id))!;
    assert.deepEqual([row.status, row.task_owner], ['error', null]);
    // SNAPSHOT_CREATE, SNAPSHOT_CREATE_ERROR
    assert.deepEqual((await messagesOf(bad.id)).map((m) => [m.resource_type, m.action_id, m.detail_id, m.event_id]), [['VOLUME_SNAPSHOT', '009', '013', 'VOLUME_VOLUME_SNAPSHOT_009_013']]);
    assert.deepEqual(filesOf(bad.id), []);
  });

  test('upload (copy_volume_to_image cast): the volume data becomes the image; the volume returns to its status before', async () => {
    const vol = await volume({});
    await converge(vol);
    writePattern(file(vol), 'raw', 0x77);
    const imageId = randomUUID();
    await database.db
      .updateTable('volume')
      .set({ status: 'uploading', previous_status: 'available', task_args: JSON.stringify({ image_id: imageId, disk_format: 'qcow2' }) })
      .where('id', '=', vol)
      .execute();
    await bus.cast({ topic: VOLUME_TOPIC, server: host }, 'copy_volume_to_image', { volume_id: vol });
    await until('uploaded', async () => (await selectVolume(database.db, vol))?.status === 'available');
    const row = (await selectVolume(database.db, vol))!;
    assert.deepEqual([row.task_args, row.task_owner], [null, null]);
    assert.deepEqual(imageInfo(join(imagesDir, imageId)), { format: 'qcow2', virtualSize: GiB });
    assert.ok(hasPattern(join(imagesDir, imageId), 0x77, 'qcow2'));
  });

  test('a refused upload returns an attached volume to in-use with a user message', async () => {
    const vol = await volume({ project_id: 'p-up' });
    await converge(vol);
    await database.db
      .updateTable('volume')
      .set({ status: 'uploading', previous_status: 'in-use', attach_status: 'attached', task_args: JSON.stringify({ image_id: randomUUID(), disk_format: 'vmdk' }) })
      .where('id', '=', vol)
      .execute();
    const row = await converge(vol);
    assert.deepEqual([row.status, row.task_args, row.task_owner], ['in-use', null, null]);
    // COPY_VOLUME_TO_IMAGE, FAILED_TO_UPLOAD_VOLUME
    assert.deepEqual((await messagesOf(vol)).map((m) => [m.project_id, m.action_id, m.detail_id]), [['p-up', '003', '004']]);
  });

  test('extra handlers are served on the worker\'s topic and host; one may not hide a reconciler method', async () => {
    const extra = new VolumeWorker({
      db: database.db, bus, clock: systemClock, log, backend, host: 'host4@file#file', owner: 'w4', sweepMs: 60_000,
      handlers: { initialize_connection: async (args) => ({ volume: args.volume_id ?? null, served_by: 'host4' }) },
    });
    await extra.start();
    try {
      assert.deepEqual(await bus.call({ topic: VOLUME_TOPIC, server: 'host4@file#file' }, 'initialize_connection', { volume_id: 'v1' }), { volume: 'v1', served_by: 'host4' });
    } finally {
      await extra.stop();
    }
    assert.throws(() => new VolumeWorker({ db: database.db, bus, clock: systemClock, log, backend, host: 'host5@file#file', owner: 'w5', handlers: { delete_volume: () => null } }), /delete_volume/);
  });

  test('a refused extension is error_extending with a user message and gives the added gigabytes back', async () => {
    const p = 'p-ext';
    await take(p, volumeDeltas(1, defaultType.name));
    const vol = await volume({ project_id: p });
    await converge(vol);
    // what os-extend does: the added gigabytes taken with the status change
    await take(p, { gigabytes: 2, gigabytes___DEFAULT__: 2 });
    await database.db.updateTable('volume').set({ status: 'extending', target_size: 3 }).where('id', '=', vol).execute();
    rmSync(file(vol));
    const row = await converge(vol);
    assert.deepEqual([row.status, Number(row.size), row.target_size], ['error_extending', 1, null]);
    assert.deepEqual((await messagesOf(vol)).map((m) => [m.action_id, m.detail_id]), [['007', '010']]);
    assert.deepEqual(await usage(p), { volumes: 1, gigabytes: 1, volumes___DEFAULT__: 1, gigabytes___DEFAULT__: 1 });
  });
});
