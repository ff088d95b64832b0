// The snapshot task lease on SQLite, PostgreSQL and MariaDB: exactly one of several racing
// workers claims a snapshot's work, a lapsed lease goes to another worker and the old holder can
// no longer finish, and unheld work is found by its volume's host (not for volumes being deleted).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, testEngines, type ScratchDatabase } from '@alto/db/testing';
import { blockStorageMigrations } from './migrations/index.js';
import type { BlockStorageDB } from './schema.js';
import { volumeRow } from '../testing/volume-row.js';
import { snapshotRow } from '../workers/volume-worker.fixtures.js';
import { insertVolume } from './volume.repo.js';
import { insertSnapshot, selectSnapshot, selectSnapshotsOfVolume, selectUnheldSnapshotWork } from './snapshot.repo.js';
import { claimTask, finishTask, renewTask } from './task-lease.js';

for (const engine of testEngines()) {
  describe(`snapshot store on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let scratch: ScratchDatabase;
    let database: Database<BlockStorageDB>;
    const volume = async (host: string, status = 'available') => {
      const v = volumeRow({ host, status });
      await insertVolume(database.db, v);
      return v.id;
    };
    before(async () => {
      scratch = await scratchDatabase(engine.dialect);
      database = scratch.open<BlockStorageDB>();
      await migrateToLatest(database, blockStorageMigrations);
    });
    after(async () => {
      await database?.close();
      await scratch?.drop();
    });

    test('of several workers racing for one snapshot, exactly one claims it', async () => {
      const s = snapshotRow({ volume_id: await volume('h1@file#file') });
      await insertSnapshot(database.db, s);
      const now = Date.now();
      const wins = await Promise.all(['w1', 'w2', 'w3', 'w4'].map((w) => claimTask(database.db, 'snapshot', s.id, ['creating'], w, now, now + 60_000)));
      assert.equal(wins.filter(Boolean).length, 1);
      const owner = (await selectSnapshot(database.db, s.id))!.task_owner!;
      assert.equal(await claimTask(database.db, 'snapshot', s.id, ['creating'], owner, now, now + 60_000), true, 'the holder may claim again');
      assert.equal(await claimTask(database.db, 'snapshot', s.id, ['creating'], owner === 'w1' ? 'w2' : 'w1', now, now + 60_000), false);
      assert.equal(await claimTask(database.db, 'snapshot', s.id, ['deleting'], owner, now, now + 60_000), false, 'only in the statuses asked for');
    });

    test('a lapsed lease goes to another worker; the old holder can neither renew nor finish', async () => {
      const host = 'h2@file#file';
      const s = snapshotRow({ volume_id: await volume(host) });
      await insertSnapshot(database.db, s);
      const t0 = Date.now();
      assert.ok(await claimTask(database.db, 'snapshot', s.id, ['creating'], 'dead', t0, t0 + 1000));
      assert.deepEqual(await selectUnheldSnapshotWork(database.db, host, t0), [], 'held work is not listed');
      const later = t0 + 5000;
      assert.deepEqual((await selectUnheldSnapshotWork(database.db, host, later)).map((r) => r.id), [s.id]);
      assert.ok(await claimTask(database.db, 'snapshot', s.id, ['creating'], 'alive', later, later + 60_000));
      assert.equal(await renewTask(database.db, 'snapshot', s.id, 'dead', later + 60_000), false);
      assert.equal(await finishTask(database.db, 'snapshot', s.id, 'dead', { status: 'error' }), false);
      assert.ok(await renewTask(database.db, 'snapshot', s.id, 'alive', later + 90_000));
      assert.ok(await finishTask(database.db, 'snapshot', s.id, 'alive', { status: 'available', progress: '100%' }));
      const row = (await selectSnapshot(database.db, s.id))!;
      assert.deepEqual([row.status, row.progress, row.task_owner, row.task_lease_until], ['available', '100%', null, null]);
    });

    test("unheld work is listed by its volume's host, without the snapshots of a volume being deleted or deleted rows", async () => {
      const host = 'h3@file#file';
      const mine = await volume(host);
      const doomed = await volume(host, 'deleting');
      const other = await volume('elsewhere@file#file');
      const creating = snapshotRow({ volume_id: mine, created_at: 1 });
      const deleting = snapshotRow({ volume_id: mine, status: 'deleting', created_at: 2 });
      const stable = snapshotRow({ volume_id: mine, status: 'available', created_at: 3 });
      const gone = snapshotRow({ volume_id: mine, status: 'deleting', deleted: 1, created_at: 4 });
      const cascade = snapshotRow({ volume_id: doomed, status: 'deleting' });
      const foreign = snapshotRow({ volume_id: other });
      for (const s of [creating, deleting, stable, gone, cascade, foreign]) await insertSnapshot(database.db, s);
      assert.deepEqual((await selectUnheldSnapshotWork(database.db, host, Date.now())).map((r) => r.id), [creating.id, deleting.id]);
      assert.deepEqual((await selectSnapshotsOfVolume(database.db, mine)).map((r) => r.id), [creating.id, deleting.id, stable.id]);
    });
  });
}
