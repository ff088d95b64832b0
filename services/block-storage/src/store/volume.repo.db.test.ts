// The block storage schema and the volume task lease on SQLite, PostgreSQL and MariaDB: the
// migration applies, exactly one of several racing workers claims a volume's work, a lapsed lease
// is claimable again and the old holder can no longer finish, and unheld work is found by host.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { migrateToLatest, migrationStatus, type Database } from '@alto/db';
import { scratchDatabase, testEngines, type ScratchDatabase } from '@alto/db/testing';
import { blockStorageMigrations } from './migrations/index.js';
import type { BlockStorageDB, VolumeTable } from './schema.js';
import { volumeRow } from '../testing/volume-row.js';
import { insertVolume, selectUnheldWork, selectVolume } from './volume.repo.js';
import { claimTask, finishTask, renewTask } from './task-lease.js';

const volume = (over: Partial<VolumeTable> = {}): VolumeTable => volumeRow({ host: 'host1@file#file', ...over });

for (const engine of testEngines()) {
  describe(`volume store on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let scratch: ScratchDatabase;
    let database: Database<BlockStorageDB>;
    before(async () => {
      scratch = await scratchDatabase(engine.dialect);
      database = scratch.open<BlockStorageDB>();
      await migrateToLatest(database, blockStorageMigrations);
    });
    after(async () => {
      await database?.close();
      await scratch?.drop();
    });

    test('the migration applies once and then has nothing to do', async () => {
      const s = await migrationStatus(database, blockStorageMigrations);
      assert.deepEqual(s.pending, []);
      assert.deepEqual(await migrateToLatest(database, blockStorageMigrations), []);
    });

    test('of several workers racing for one volume, exactly one claims it', async () => {
      const v = volume();
      await insertVolume(database.db, v);
      const now = Date.now();
      const wins = await Promise.all(['w1', 'w2', 'w3', 'w4'].map((w) => claimTask(database.db, 'volume', v.id, ['creating'], w, now, now + 60_000)));
      assert.equal(wins.filter(Boolean).length, 1);
      const owner = (await selectVolume(database.db, v.id))!.task_owner;
      assert.ok(owner && ['w1', 'w2', 'w3', 'w4'].includes(owner));
      // the holder may claim again (a retry), the others may not
      assert.equal(await claimTask(database.db, 'volume', v.id, ['creating'], owner, now, now + 60_000), true);
      assert.equal(await claimTask(database.db, 'volume', v.id, ['creating'], owner === 'w1' ? 'w2' : 'w1', now, now + 60_000), false);
    });

    test('a lapsed lease goes to another worker; the old holder can neither renew nor finish', async () => {
      const v = volume();
      await insertVolume(database.db, v);
      const t0 = Date.now();
      assert.ok(await claimTask(database.db, 'volume', v.id, ['creating'], 'dead', t0, t0 + 1000));
      assert.deepEqual((await selectUnheldWork(database.db, v.host!, t0)).map((r) => r.id).filter((id) => id === v.id), [], 'held work is not listed');
      const later = t0 + 5000;
      assert.ok((await selectUnheldWork(database.db, v.host!, later)).some((r) => r.id === v.id), 'lapsed work is listed');
      assert.ok(await claimTask(database.db, 'volume', v.id, ['creating'], 'alive', later, later + 60_000));
      assert.equal(await renewTask(database.db, 'volume', v.id, 'dead', later + 60_000), false);
      assert.equal(await finishTask(database.db, 'volume', v.id, 'dead', { status: 'error' }), false);
      assert.ok(await finishTask(database.db, 'volume', v.id, 'alive', { status: 'available', launched_at: later }));
      const row = (await selectVolume(database.db, v.id))!;
      assert.equal(row.status, 'available');
      assert.equal(row.task_owner, null);
      assert.equal(Number(row.launched_at), later);
      // no longer transitional: nobody can claim create work on it
      assert.equal(await claimTask(database.db, 'volume', v.id, ['creating'], 'alive', later, later + 1), false);
    });

    test('unheld work is found per host, in creation order, and deleted rows are not', async () => {
      const host = `h-${randomUUID()}`;
      const a = volume({ host, created_at: 1000, status: 'creating' });
      const b = volume({ host, created_at: 2000, status: 'deleting' });
      const c = volume({ host, created_at: 3000, status: 'available' });
      const d = volume({ host, created_at: 4000, status: 'extending', deleted: 1, deleted_at: 5000 });
      const e = volume({ host: `${host}-other`, created_at: 500, status: 'creating' });
      for (const v of [a, b, c, d, e]) await insertVolume(database.db, v);
      assert.deepEqual((await selectUnheldWork(database.db, host, Date.now())).map((r) => r.id), [a.id, b.id]);
    });
  });
}
