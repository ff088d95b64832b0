// kill -9 in the middle of a volume worker's work: a worker in a child process (SQLite file, real
// qemu-img files) is killed while creating, extending, cloning, snapshotting and cascade-deleting;
// a new worker takes the lapsed leases and finishes everything: nothing stays transitional, the
// deleted volume and snapshots leave no files, and quota usage is what the surviving objects hold.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createBus, type Bus } from '@alto/bus';
import { migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, type ScratchDatabase } from '@alto/db/testing';
import { systemClock } from '@alto/kernel';
import { createLogger } from '@alto/runtime';
import { FileBackend } from '../drivers/file-backend.js';
import { QuotaEngine, snapshotDeltas, volumeDeltas, type Deltas } from '../domain/quotas.js';
import { blockStorageMigrations } from '../store/migrations/index.js';
import { selectUsage } from '../store/quota.repo.js';
import type { BlockStorageDB, VolumeTable } from '../store/schema.js';
import { insertSnapshot } from '../store/snapshot.repo.js';
import { insertVolume, TRANSITIONAL } from '../store/volume.repo.js';
import { volumeRow } from '../testing/volume-row.js';
import { imageInfo, snapshotRow } from './volume-worker.fixtures.js';
import { VolumeWorker } from './volume-worker.js';

const GiB = 1024 ** 3;
const HOST = 'crash@file#file';
const P = 'p-crash';
const CHILD = fileURLToPath(new URL('./volume-worker.crash-child.js', import.meta.url));
const noQemu = spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0 ? 'qemu-img is not installed (Debian qemu-utils)' : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('volume worker killed with SIGKILL mid-work', { skip: noQemu, timeout: 60_000 }, () => {
  let scratch: ScratchDatabase;
  let database: Database<BlockStorageDB>;
  let bus: Bus;
  let dir: string;
  let child: ChildProcess | undefined;
  let survivor: VolumeWorker | undefined;
  let typeId: string;
  let typeName: string;
  const log = createLogger({ level: 'silent' });

  before(async () => {
    scratch = await scratchDatabase('sqlite');
    database = scratch.open<BlockStorageDB>();
    await migrateToLatest(database, blockStorageMigrations);
    bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock: systemClock });
    dir = mkdtempSync(join(tmpdir(), 'alto-volume-crash-'));
    ({ id: typeId, name: typeName } = await database.db.selectFrom('volume_type').select(['id', 'name']).where('name', '=', '__DEFAULT__').executeTakeFirstOrThrow());
  });
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await survivor?.stop();
    await bus?.close();
    await database?.close();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a new worker finishes what the killed one was doing, once', async () => {
    const backend = new FileBackend({ name: 'file', directory: dir });
    await backend.open();
    const quotas = new QuotaEngine({ db: database.db, defaults: {}, nowMs: () => Date.now() });
    const take = async (deltas: Deltas) => {
      await quotas.prepare(P, deltas);
      await database.db.transaction().execute((trx) => new QuotaEngine({ db: trx, defaults: {}, nowMs: () => Date.now() }).consume(trx, P, deltas));
    };
    const volume = async (over: Partial<VolumeTable>) => {
      const row = volumeRow({ host: HOST, project_id: P, volume_type_id: typeId, ...over });
      await take(volumeDeltas(Number(row.size), typeName));
      await insertVolume(database.db, row);
      if (row.status !== 'creating') await backend.createVolume({ volumeId: row.id, sizeGb: Number(row.size) });
      return row.id;
    };
    const snapshot = async (volumeId: string, status: string) => {
      const row = snapshotRow({ volume_id: volumeId, project_id: P, status, volume_type_id: typeId });
      await take(snapshotDeltas(1, typeName));
      await insertSnapshot(database.db, row);
      if (status !== 'creating') await backend.createSnapshot(volumeId, row.id);
      return row.id;
    };

    // what the API left for the worker
    const created = await volume({});
    const extended = await volume({ status: 'available' });
    await take({ gigabytes: 1, [`gigabytes_${typeName}`]: 1 });
    await database.db.updateTable('volume').set({ status: 'extending', previous_status: 'available', target_size: 2 }).where('id', '=', extended).execute();
    const doomed = await volume({ status: 'available' });
    const doomedSnaps = [await snapshot(doomed, 'available'), await snapshot(doomed, 'available')];
    await database.db.transaction().execute(async (trx) => {
      await trx.updateTable('volume').set({ status: 'deleting', previous_status: 'available' }).where('id', '=', doomed).execute();
      await trx.updateTable('snapshot').set({ status: 'deleting' }).where('volume_id', '=', doomed).execute();
    });
    const snapped = await volume({ status: 'available' });
    const newSnap = await snapshot(snapped, 'creating');
    const source = await volume({ status: 'available' });
    const clone = await volume({ source_volid: source });

    // the first worker: leases of 1.5 s, every backend call stalls for a minute
    child = spawn(process.execPath, [CHILD, scratch.connection, dir, HOST, 'w-killed', '1500', '60000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const seen = new Set<string>();
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (l) => {
      const m = JSON.parse(l) as { op: string; id: string };
      seen.add(`${m.op} ${m.id}`);
    });
    const expected = [`createVolume ${created}`, `extendVolume ${extended}`, `createSnapshot ${newSnap}`, `cloneVolume ${clone}`];
    for (let i = 0; i < 600 && !(expected.every((e) => seen.has(e)) && [...seen].some((s) => s.startsWith('deleteSnapshot '))); i++) {
      if (child.exitCode !== null) assert.fail(`the child worker exited (${child.exitCode}): ${stderr}`);
      await sleep(25);
    }
    assert.ok(expected.every((e) => seen.has(e)), `the child reached every call: ${[...seen].join(', ')} ${stderr}`);
    const half = [...seen].find((s) => s.startsWith('deleteSnapshot '))!.split(' ')[1]!;
    assert.ok(doomedSnaps.includes(half));

    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    // killed: the backend did the work (one doomed snapshot is gone already), the rows do not know
    const held = await database.db.selectFrom('volume').select(['id', 'status', 'task_owner']).where('deleted', '=', 0).where('status', 'in', [...TRANSITIONAL]).execute();
    assert.deepEqual(new Set(held.map((r) => r.id)), new Set([created, extended, doomed, clone]));
    assert.ok(held.every((r) => r.task_owner === 'w-killed'));
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes(half)), [], 'the snapshot the killed worker deleted');

    survivor = new VolumeWorker({ db: database.db, bus, clock: systemClock, log, backend, host: HOST, owner: 'w-survivor', quotas, leaseMs: 60_000, sweepMs: 200 });
    await survivor.start();
    const pending = async () => {
      const v = await database.db.selectFrom('volume').select('id').where('deleted', '=', 0).where('status', 'in', [...TRANSITIONAL, 'error', 'error_deleting', 'error_extending']).execute();
      const s = await database.db.selectFrom('snapshot').select('id').where('deleted', '=', 0).where('status', 'in', ['creating', 'deleting', 'error', 'error_deleting']).execute();
      return v.length + s.length;
    };
    for (let i = 0; i < 400 && (await pending()) > 0; i++) await sleep(25);
    await survivor.idle();
    assert.equal(await pending(), 0, 'nothing stays creating, deleting or extending');

    const volumes = new Map((await database.db.selectFrom('volume').selectAll().execute()).map((r) => [r.id, r]));
    assert.deepEqual([volumes.get(created)!.status, volumes.get(clone)!.status, volumes.get(extended)!.status], ['available', 'available', 'available']);
    assert.equal(Number(volumes.get(extended)!.size), 2);
    assert.equal(imageInfo(join(dir, `volume-${extended}`)).virtualSize, 2 * GiB);
    assert.equal(imageInfo(join(dir, `volume-${clone}`)).virtualSize, GiB);
    assert.deepEqual([volumes.get(doomed)!.status, volumes.get(doomed)!.deleted], ['deleted', 1]);
    const snaps = new Map((await database.db.selectFrom('snapshot').selectAll().execute()).map((r) => [r.id, r]));
    assert.deepEqual([snaps.get(newSnap)!.status, snaps.get(newSnap)!.progress], ['available', '100%']);
    for (const s of doomedSnaps) assert.deepEqual([snaps.get(s)!.status, snaps.get(s)!.deleted], ['deleted', 1]);
    assert.ok([...volumes.values(), ...snaps.values()].every((r) => r.task_owner === null), 'every lease released');

    const files = readdirSync(dir);
    assert.deepEqual(files.filter((n) => [doomed, ...doomedSnaps].some((id) => n.includes(id))), [], 'no files of the deleted volume and snapshots');
    assert.deepEqual(files.filter((n) => n.endsWith('.part')), [], 'no half-made files');
    // created, extended (2 GiB), snapped, source and clone, and the new snapshot: each counted once
    const usage = Object.fromEntries([...(await selectUsage(database.db, P))].map(([k, v]) => [k, v.inUse]));
    assert.deepEqual(usage, { volumes: 5, gigabytes: 7, [`volumes_${typeName}`]: 5, [`gigabytes_${typeName}`]: 7, snapshots: 1, [`snapshots_${typeName}`]: 1 });
  });
});
