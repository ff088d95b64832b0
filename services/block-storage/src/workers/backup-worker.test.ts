// The backup worker against the real file backend (qemu-img), the posix driver, SQLite and the
// in-process bus: a cast naming a backup converges it (create, restore, delete, with the volume's
// status and quota following); work a dead worker held is finished by the sweep; refusals show.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, type Bus } from '@alto/bus';
import { migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, type ScratchDatabase } from '@alto/db/testing';
import { systemClock } from '@alto/kernel';
import { createLogger } from '@alto/runtime';
import { FileBackend } from '../drivers/file-backend.js';
import { PosixBackupDriver } from '../drivers/posix-backup.js';
import { insertBackup, selectBackup } from '../store/backup.repo.js';
import { blockStorageMigrations } from '../store/migrations/index.js';
import type { BackupTable, BlockStorageDB, VolumeTable } from '../store/schema.js';
import { insertVolume, selectVolume } from '../store/volume.repo.js';
import { claimTask } from '../store/task-lease.js';
import { volumeRow } from '../testing/volume-row.js';
import { fillVolume, volumeHead } from '../testing/volume-data.js';
import { BACKUP_TOPIC, BackupWorker } from './backup-worker.js';

const MiB = 1024 * 1024;
const VOLUME_HOST = 'host1@file#file';
const BACKUP_HOST = 'host1';
const noQemu = spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0 ? 'qemu-img is not installed (Debian qemu-utils)' : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function backupRow(over: Partial<BackupTable>): BackupTable {
  return {
    id: randomUUID(), project_id: 'p1', user_id: 'u1', volume_id: randomUUID(), snapshot_id: null, name: null, description: null, status: 'creating', fail_reason: null,
    size: 1, object_count: 0, container: null, availability_zone: 'nova', host: BACKUP_HOST, service: null, is_incremental: 0, parent_id: null, data_timestamp: null,
    restore_volume_id: null, encryption_key_id: null, task_owner: null, task_lease_until: null, created_at: Date.now(), updated_at: null, deleted: 0, deleted_at: null, ...over,
  };
}

describe('backup worker', { skip: noQemu }, () => {
  let scratch: ScratchDatabase;
  let database: Database<BlockStorageDB>;
  let bus: Bus;
  let dir: string;
  let backend: FileBackend;
  let driver: PosixBackupDriver;
  const log = createLogger({ level: 'silent' });
  const workers: BackupWorker[] = [];
  const worker = async (owner: string, leaseMs = 60_000) => {
    const w = new BackupWorker({
      db: database.db, bus, clock: systemClock, log, driver, backends: new Map([['host1@file', backend]]), host: BACKUP_HOST, owner, scratchDir: join(dir, 'scratch'), leaseMs, sweepMs: 60_000,
    });
    await w.start();
    workers.push(w);
    return w;
  };
  /** A volume on the backend holding `pattern` at offset 0. */
  const volume = async (over: Partial<VolumeTable>, pattern?: Buffer) => {
    const row = volumeRow({ host: VOLUME_HOST, status: 'available', ...over });
    await insertVolume(database.db, row);
    await fillVolume(backend, dir, row.id, Number(row.size), pattern);
    return row.id;
  };
  const head = (volumeId: string, bytes: number) => volumeHead(backend, dir, volumeId, bytes);
  const until = async (what: string, probe: () => Promise<boolean>) => {
    for (let i = 0; i < 400; i++) {
      if (await probe()) return;
      await sleep(25);
    }
    assert.fail(`timed out waiting for ${what}`);
  };
  const usage = async (resource: string) =>
    Number((await database.db.selectFrom('quota_usage').select('in_use').where('project_id', '=', 'p1').where('resource', '=', resource).executeTakeFirst())?.in_use ?? 0);

  before(async () => {
    scratch = await scratchDatabase('sqlite');
    database = scratch.open<BlockStorageDB>();
    await migrateToLatest(database, blockStorageMigrations);
    bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock: systemClock });
    dir = mkdtempSync(join(tmpdir(), 'alto-backup-worker-'));
    backend = new FileBackend({ name: 'file', directory: join(dir, 'volumes') });
    await backend.open();
    driver = new PosixBackupDriver({ path: join(dir, 'backups'), chunkBytes: 4 * MiB });
  });
  after(async () => {
    for (const w of workers) await w.stop();
    await bus?.close();
    await database?.close();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('create, restore and delete converge from casts; the volume and quota follow', async () => {
    // what a killed worker staged is removed at start
    await mkdir(join(dir, 'scratch'), { recursive: true });
    await writeFile(join(dir, 'scratch', `backup-${randomUUID()}.raw.part`), 'stale');
    const w = await worker('w-main');
    const svc = await database.db.selectFrom('service').selectAll().where('binary', '=', 'cinder-backup').execute();
    assert.deepEqual(svc.map((s) => [s.host, s.topic]), [[BACKUP_HOST, BACKUP_TOPIC]], 'the worker reports itself as cinder-backup');
    const pattern = randomBytes(3 * MiB + 17);
    const vol = await volume({ status: 'backing-up', previous_status: 'in-use', name: 'source', description: 'src', bootable: 1 }, pattern);
    await database.db.insertInto('volume_metadata').values({ volume_id: vol, key: 'vol-meta1', value: 'value1' }).execute();
    await database.db.insertInto('volume_image_metadata').values({ volume_id: vol, key: 'image_id', value: 'img-1' }).execute();
    const b = backupRow({ volume_id: vol });
    await insertBackup(database.db, b);
    await database.db.insertInto('quota_usage').values([
      { project_id: 'p1', resource: 'backups', in_use: 1, reserved: 0, updated_at: 0 },
      { project_id: 'p1', resource: 'backup_gigabytes', in_use: 1, reserved: 0, updated_at: 0 },
    ]).execute();

    await bus.cast({ topic: BACKUP_TOPIC, server: BACKUP_HOST }, 'create_backup', { backup_id: b.id });
    await until('backup available', async () => (await selectBackup(database.db, b.id))?.status === 'available');
    const done = (await selectBackup(database.db, b.id))!;
    assert.equal(done.task_owner, null, 'the lease is released');
    assert.ok(Number(done.object_count) > 0);
    assert.equal(await driver.exists(b.id), true);
    assert.equal((await selectVolume(database.db, vol))!.status, 'in-use', 'the volume is back to its previous status');
    assert.deepEqual(await readdir(join(dir, 'scratch')), [], 'no staged image is left');

    const target = await volume({ status: 'restoring-backup', size: 2, name: `restore_backup_${b.id}` });
    await database.db.insertInto('volume_metadata').values({ volume_id: target, key: 'stale', value: 'x' }).execute();
    await database.db.updateTable('backup').set({ status: 'restoring', restore_volume_id: target }).where('id', '=', b.id).execute();
    await bus.cast({ topic: BACKUP_TOPIC, server: BACKUP_HOST }, 'restore_backup', { backup_id: b.id });
    await until('restored', async () => (await selectVolume(database.db, target))?.status === 'available');
    assert.equal((await selectBackup(database.db, b.id))!.status, 'available');
    assert.ok((await head(target, pattern.length)).equals(pattern), 'the restored volume has the backed-up bytes');
    assert.equal((await backend.inspectVolume(target)).virtualSizeBytes, 2 * 1024 * MiB, 'restored at the target volume’s size');
    // Cinder's backup metadata: name, description, metadata (replaced), image metadata and bootable
    const restored = (await selectVolume(database.db, target))!;
    assert.deepEqual([restored.name, restored.description, restored.bootable], ['source', 'src', 1]);
    const metaOf = async (table: 'volume_metadata' | 'volume_image_metadata') =>
      Object.fromEntries((await database.db.selectFrom(table).select(['key', 'value']).where('volume_id', '=', target).execute()).map((r) => [r.key, r.value]));
    assert.deepEqual(await metaOf('volume_metadata'), { 'vol-meta1': 'value1' });
    assert.deepEqual(await metaOf('volume_image_metadata'), { image_id: 'img-1' });

    await database.db.updateTable('backup').set({ status: 'deleting' }).where('id', '=', b.id).execute();
    w.kick(b.id);
    await w.idle();
    assert.equal(await selectBackup(database.db, b.id), undefined, 'the row is deleted');
    assert.equal(await driver.exists(b.id), false);
    assert.equal(await usage('backups'), 0, 'backups quota released');
    assert.equal(await usage('backup_gigabytes'), 0, 'backup_gigabytes quota released');
  });

  test('a backup left by a dead worker (lease held, half-written data) is finished once the lease lapses', async () => {
    const w = await worker('w-sweeper');
    const pattern = randomBytes(MiB);
    const vol = await volume({ status: 'backing-up', previous_status: 'available' }, pattern);
    const b = backupRow({ volume_id: vol });
    await insertBackup(database.db, b);
    const now = Date.now();
    assert.ok(await claimTask(database.db, 'backup', b.id, ['creating'], 'w-dead', now, now + 300));
    // what the dead worker's driver call left: an uncommitted directory
    const part = driver.backupDir(b.id) + '.part';
    await mkdir(part, { recursive: true });
    await writeFile(join(part, 'chunk-00000'), 'garbage');
    await w.sweep();
    await w.idle();
    assert.equal((await selectBackup(database.db, b.id))!.status, 'creating', 'a live lease is respected');
    await sleep(350);
    await w.sweep();
    await w.idle();
    assert.equal((await selectBackup(database.db, b.id))!.status, 'available');
    assert.equal((await selectVolume(database.db, vol))!.status, 'available');
    const restored = join(dir, 'check.raw');
    await driver.restore(b.id, restored);
    const f = await open(restored, 'r');
    const buf = Buffer.alloc(pattern.length);
    await f.read(buf, 0, buf.length, 0);
    await f.close();
    assert.ok(buf.equals(pattern), 'the retry’s bytes');
  });

  test('a backup of a snapshot has the snapshot’s bytes, gives the snapshot back and leaves no temporary volume', async () => {
    const w = await worker('w-snapshot');
    const pattern = randomBytes(MiB + 9);
    const vol = await volume({ status: 'available' }, pattern);
    const snapId = randomUUID();
    await backend.createSnapshot(vol, snapId);
    await database.db.insertInto('snapshot').values({
      id: snapId, volume_id: vol, project_id: 'p1', user_id: 'u1', name: null, description: null, status: 'backing-up', progress: '100%', volume_size: 1,
      volume_type_id: null, group_snapshot_id: null, provider_location: null, task_owner: null, task_lease_until: null, created_at: Date.now(), updated_at: null,
      deleted: 0, deleted_at: null, use_quota: 1,
    }).execute();
    // the volume changes after the snapshot: the backup must not see it
    const img = join(dir, 'later.raw');
    await writeFile(img, Buffer.alloc(MiB, 0x5a));
    await backend.copyImageToVolume(vol, img, 'raw', 1);
    const b = backupRow({ volume_id: vol, snapshot_id: snapId });
    await insertBackup(database.db, b);
    const before = await backend.listVolumes();
    w.kick(b.id);
    await w.idle();
    assert.equal((await selectBackup(database.db, b.id))!.status, 'available');
    assert.equal((await database.db.selectFrom('snapshot').select('status').where('id', '=', snapId).executeTakeFirstOrThrow()).status, 'available');
    assert.deepEqual(await backend.listVolumes(), before, 'the temporary volume is gone');
    const out = join(dir, 'snap-check.raw');
    await driver.restore(b.id, out);
    const f = await open(out, 'r');
    const buf = Buffer.alloc(pattern.length);
    await f.read(buf, 0, buf.length, 0);
    await f.close();
    await rm(out);
    assert.ok(buf.equals(pattern), 'the snapshot’s bytes');
  });

  test('refusals show: a volume missing on its backend fails the backup; a damaged backup fails its restore', async () => {
    const w = await worker('w-refusals');
    const gone = volumeRow({ host: VOLUME_HOST, status: 'backing-up', previous_status: 'available' });
    await insertVolume(database.db, gone);
    const b1 = backupRow({ volume_id: gone.id });
    await insertBackup(database.db, b1);
    w.kick(b1.id);
    await w.idle();
    const failed = (await selectBackup(database.db, b1.id))!;
    assert.equal(failed.status, 'error');
    assert.match(failed.fail_reason ?? '', /does not exist/);
    assert.equal((await selectVolume(database.db, gone.id))!.status, 'available', 'the volume is given back');

    const vol = await volume({ status: 'backing-up', previous_status: 'available' }, randomBytes(MiB));
    const b2 = backupRow({ volume_id: vol });
    await insertBackup(database.db, b2);
    w.kick(b2.id);
    await w.idle();
    assert.equal((await selectBackup(database.db, b2.id))!.status, 'available');
    const dirB2 = driver.backupDir(b2.id);
    const chunk = (await readdir(dirB2)).find((n) => n.startsWith('chunk-'))!;
    await writeFile(join(dirB2, chunk), 'tampered');
    const target = await volume({ status: 'restoring-backup' });
    await database.db.updateTable('backup').set({ status: 'restoring', restore_volume_id: target }).where('id', '=', b2.id).execute();
    w.kick(b2.id);
    await w.idle();
    assert.equal((await selectVolume(database.db, target))!.status, 'error_restoring');
    const broken = (await selectBackup(database.db, b2.id))!;
    assert.equal(broken.status, 'error');
    assert.match(broken.fail_reason ?? '', /sha256/);
  });
});
