// The volume worker's row work on SQLite, PostgreSQL and MariaDB (real qemu-img files, in-process
// bus): snapshots made, then a cascade delete that soft-deletes every row and gives every quota
// back in the rows' transactions, and a refusal that leaves its user message.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, type Bus } from '@alto/bus';
import { migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, testEngines, type ScratchDatabase } from '@alto/db/testing';
import { systemClock } from '@alto/kernel';
import { createLogger } from '@alto/runtime';
import { FileBackend } from '../drivers/file-backend.js';
import { QuotaEngine, snapshotDeltas, volumeDeltas, type Deltas } from '../domain/quotas.js';
import { blockStorageMigrations } from '../store/migrations/index.js';
import { selectUsage } from '../store/quota.repo.js';
import type { BlockStorageDB } from '../store/schema.js';
import { insertSnapshot, selectSnapshot } from '../store/snapshot.repo.js';
import { insertVolume, selectVolume } from '../store/volume.repo.js';
import { volumeRow } from '../testing/volume-row.js';
import { snapshotRow } from './volume-worker.fixtures.js';
import { VolumeWorker } from './volume-worker.js';

const noQemu = spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0 ? 'qemu-img is not installed (Debian qemu-utils)' : undefined;

for (const engine of testEngines()) {
  describe(`volume worker on ${engine.dialect}`, { skip: engine.unavailable ?? noQemu, timeout: 60_000 }, () => {
    const host = `db-${engine.dialect}@file#file`;
    let scratch: ScratchDatabase;
    let database: Database<BlockStorageDB>;
    let bus: Bus;
    let dir: string;
    let w: VolumeWorker;
    const log = createLogger({ level: 'silent' });

    before(async () => {
      scratch = await scratchDatabase(engine.dialect);
      database = scratch.open<BlockStorageDB>();
      await migrateToLatest(database, blockStorageMigrations);
      bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock: systemClock });
      dir = mkdtempSync(join(tmpdir(), 'alto-volume-worker-db-'));
      w = new VolumeWorker({ db: database.db, bus, clock: systemClock, log, backend: new FileBackend({ name: 'file', directory: dir }), host, owner: 'w-db', sweepMs: 60_000 });
      await w.start();
    });
    after(async () => {
      await w?.stop();
      await bus?.close();
      await database?.close();
      await scratch?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('snapshots, then a cascade delete: every row soft-deleted, every quota back to zero, no files', async () => {
      const type = await database.db.selectFrom('volume_type').select(['id', 'name']).where('name', '=', '__DEFAULT__').executeTakeFirstOrThrow();
      const p = 'p-db';
      const quotas = (db: typeof database.db) => new QuotaEngine({ db, defaults: {}, nowMs: () => Date.now() });
      const take = async (deltas: Deltas) => {
        await quotas(database.db).prepare(p, deltas);
        await database.db.transaction().execute((trx) => quotas(trx).consume(trx, p, deltas));
      };
      await take(volumeDeltas(2, type.name));
      const v = volumeRow({ host, project_id: p, size: 2, volume_type_id: type.id });
      await insertVolume(database.db, v);
      w.kick(v.id);
      await w.idle();
      assert.equal((await selectVolume(database.db, v.id))!.status, 'available');
      const snaps = [snapshotRow({ volume_id: v.id, project_id: p, volume_size: 2 }), snapshotRow({ volume_id: v.id, project_id: p, volume_size: 2 })];
      for (const s of snaps) {
        await take(snapshotDeltas(2, type.name));
        await insertSnapshot(database.db, s);
        w.kickSnapshot(s.id);
      }
      await w.idle();
      for (const s of snaps) assert.deepEqual([(await selectSnapshot(database.db, s.id))!.status, (await selectSnapshot(database.db, s.id))!.progress], ['available', '100%']);

      await database.db.transaction().execute(async (trx) => {
        await trx.updateTable('volume').set({ status: 'deleting' }).where('id', '=', v.id).execute();
        await trx.updateTable('snapshot').set({ status: 'deleting' }).where('volume_id', '=', v.id).execute();
      });
      w.kick(v.id);
      await w.idle();
      const rows = await database.db.selectFrom('snapshot').select(['status', 'deleted']).where('volume_id', '=', v.id).execute();
      assert.deepEqual(rows.map((r) => [r.status, Number(r.deleted)]), [['deleted', 1], ['deleted', 1]]);
      const gone = await database.db.selectFrom('volume').select(['status', 'deleted', 'task_owner']).where('id', '=', v.id).executeTakeFirstOrThrow();
      assert.deepEqual([gone.status, Number(gone.deleted), gone.task_owner], ['deleted', 1, null]);
      assert.deepEqual(readdirSync(dir), []);
      const usage = Object.fromEntries([...(await selectUsage(database.db, p))].map(([k, u]) => [k, u.inUse]));
      assert.deepEqual(usage, { volumes: 0, gigabytes: 0, volumes___DEFAULT__: 0, gigabytes___DEFAULT__: 0, snapshots: 0, snapshots___DEFAULT__: 0 });
    });

    test('a refused snapshot delete is error_deleting with its user message, in one transaction', async () => {
      const v = volumeRow({ host, status: 'available' });
      await insertVolume(database.db, v);
      const other = volumeRow({ host, status: 'available' });
      await insertVolume(database.db, other);
      const s = snapshotRow({ volume_id: v.id, status: 'available' });
      await insertSnapshot(database.db, s);
      // the backend's record says the snapshot belongs to another volume: it refuses to delete it
      await new FileBackend({ name: 'file', directory: dir }).createVolume({ volumeId: other.id, sizeGb: 1 });
      await new FileBackend({ name: 'file', directory: dir }).createSnapshot(other.id, s.id);
      await database.db.updateTable('snapshot').set({ status: 'deleting' }).where('id', '=', s.id).execute();
      w.kickSnapshot(s.id);
      await w.idle();
      const row = (await selectSnapshot(database.db, s.id))!;
      assert.deepEqual([row.status, row.task_owner], ['error_deleting', null]);
      const m = await database.db.selectFrom('message').selectAll().where('resource_uuid', '=', s.id).execute();
      // SNAPSHOT_DELETE, SNAPSHOT_DELETE_ERROR
      assert.deepEqual(m.map((x) => [x.resource_type, x.action_id, x.detail_id, x.event_id]), [['VOLUME_SNAPSHOT', '010', '016', 'VOLUME_VOLUME_SNAPSHOT_010_016']]);
    });
  });
}
