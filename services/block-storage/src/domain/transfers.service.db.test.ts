// Volume transfers on SQLite, PostgreSQL and MariaDB: the key is kept only as a salted scrypt
// hash, accept moves the volume, its snapshots and their quota usage in one transaction (a breach
// or a lost race changes nothing), delete gives the volume back, and lists page by keyset
// over the volume join without gaps.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createBus, type Bus } from '@alto/bus';
import { migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, testEngines, type ScratchDatabase } from '@alto/db/testing';
import { QuotaExceededError, manualClock, type RequestContext } from '@alto/kernel';
import { createLogger } from '@alto/runtime';
import { blockStorageMigrations } from '../store/migrations/index.js';
import type { BlockStorageDB, SnapshotTable, VolumeTable } from '../store/schema.js';
import { insertVolume, selectVolume } from '../store/volume.repo.js';
import { listTransferRows, selectTransfer } from '../store/transfer.repo.js';
import { volumeRow } from '../testing/volume-row.js';
import { defaultTypeId, testCore } from '../testing/route-harness.js';
import type { Authorizer } from './deps.js';
import { QuotaEngine, snapshotDeltas, volumeDeltas } from './quotas.js';
import { TransfersService, authKeyMatches } from './transfers.service.js';

const ctxOf = (projectId: string, roles: string[] = ['member', 'reader']): RequestContext => ({
  requestId: 'req-test',
  projectId,
  userId: `u-${projectId}`,
  roles,
  serviceRoles: [],
  isAdminProject: false,
});
const allow: Authorizer = { enforce: () => undefined, check: () => true };
const message = (re: RegExp) => (err: unknown) => err instanceof Error && re.test(err.message);

for (const engine of testEngines()) {
  describe(`volume transfers on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let scratch: ScratchDatabase;
    let database: Database<BlockStorageDB>;
    let bus: Bus;
    let service: TransfersService;
    let quotas: QuotaEngine;
    let defaultType: string;
    const clock = manualClock(Date.UTC(2026, 10, 21, 10, 0, 0));

    /** An available volume of `project` with its quota usage consumed, as the volume API leaves it. */
    const volume = async (project: string, over: Partial<VolumeTable> = {}) => {
      const row = volumeRow({ host: 'h@file#file', status: 'available', volume_type_id: defaultType, project_id: project, user_id: `u-${project}`, ...over });
      await insertVolume(database.db, row);
      const deltas = volumeDeltas(Number(row.size), '__DEFAULT__');
      await quotas.prepare(project, deltas);
      await database.db.transaction().execute((trx) => quotas.consume(trx, project, deltas));
      return row;
    };
    const snapshot = async (v: VolumeTable, over: Partial<SnapshotTable> = {}) => {
      const row: SnapshotTable = {
        id: randomUUID(), volume_id: v.id, project_id: v.project_id, user_id: v.user_id, name: null, description: null, status: 'available', progress: '100%',
        volume_size: Number(v.size), volume_type_id: v.volume_type_id, group_snapshot_id: null, provider_location: null, task_owner: null, task_lease_until: null,
        created_at: clock.nowMs(), updated_at: null, deleted: 0, deleted_at: null, use_quota: 1, ...over,
      };
      await database.db.insertInto('snapshot').values(row).execute();
      const deltas = snapshotDeltas(Number(v.size), '__DEFAULT__');
      await quotas.prepare(v.project_id, deltas);
      await database.db.transaction().execute((trx) => quotas.consume(trx, v.project_id, deltas));
      return row;
    };
    const usage = async (project: string) => Object.fromEntries([...(await quotas.usageOf(project))].map(([k, v]) => [k, v.inUse]));
    /** What a project holds (prepare() may leave empty usage rows behind, which change nothing). */
    const held = async (project: string) => Object.fromEntries(Object.entries(await usage(project)).filter(([, v]) => v !== 0));
    const volumeOf = async (id: string) => (await selectVolume(database.db, id))!;

    before(async () => {
      scratch = await scratchDatabase(engine.dialect);
      database = scratch.open<BlockStorageDB>();
      await migrateToLatest(database, blockStorageMigrations);
      const log = createLogger({ level: 'silent' });
      bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock });
      defaultType = await defaultTypeId(database);
      const deps = testCore({ database, bus, log }, clock, allow);
      quotas = new QuotaEngine({ db: database.db, defaults: deps.config.quotaDefaults, nowMs: () => clock.nowMs() });
      service = new TransfersService(deps, quotas);
    });
    after(async () => {
      await bus?.close();
      await database?.close();
      await scratch?.drop();
    });

    test('create keeps only a salted hash of the key and puts the volume awaiting-transfer', async () => {
      const v = await volume('p-create');
      const { row, authKey } = await service.create(ctxOf('p-create'), { volumeId: v.id, name: 'gift', noSnapshots: false, allowEncrypted: false });
      assert.match(authKey, /^[0-9a-f]{16}$/);
      const stored = (await selectTransfer(database.db, row.id))!;
      assert.equal(stored.source_project_id, 'p-create');
      assert.equal(stored.display_name, 'gift');
      assert.ok(!stored.crypt_hash.includes(authKey) && !stored.salt.includes(authKey));
      assert.match(stored.crypt_hash, /^scrypt:16384:8:1:[0-9a-f]{64}$/);
      assert.equal(await authKeyMatches(stored.salt, stored.crypt_hash, authKey), true);
      assert.equal(await authKeyMatches(stored.salt, stored.crypt_hash, authKey.replace(/.$/, (c) => (c === '0' ? '1' : '0'))), false);
      const after = await volumeOf(v.id);
      assert.equal(after.status, 'awaiting-transfer');
      assert.equal(after.previous_status, 'available');
      // a second transfer of the same volume is refused: it is no longer available
      await assert.rejects(service.create(ctxOf('p-create'), { volumeId: v.id, name: null, noSnapshots: false, allowEncrypted: false }), message(/^Invalid volume: status must be available$/));
    });

    test('create refuses busy snapshots unless they stay behind, and encrypted volumes before 3.70', async () => {
      const v = await volume('p-refuse');
      const s = await snapshot(v, { status: 'creating' });
      await assert.rejects(service.create(ctxOf('p-refuse'), { volumeId: v.id, name: null, noSnapshots: false, allowEncrypted: false }), message(new RegExp(`^Invalid snapshot: snapshot: ${s.id} status must be available$`)));
      const e = await volume('p-refuse', { encryption_key_id: randomUUID() });
      await assert.rejects(service.create(ctxOf('p-refuse'), { volumeId: e.id, name: null, noSnapshots: false, allowEncrypted: false }), message(/transferring encrypted volume is not supported/));
      await assert.rejects(service.create(ctxOf('p-refuse'), { volumeId: e.id, name: null, noSnapshots: true, allowEncrypted: true }), message(/without its snapshots is not supported/));
      assert.equal((await volumeOf(v.id)).status, 'available');
      const ok = await service.create(ctxOf('p-refuse'), { volumeId: v.id, name: null, noSnapshots: true, allowEncrypted: false });
      assert.equal(ok.row.no_snapshots, 1);
      // another project cannot offer it (the volume is not theirs to see)
      const mine = await volume('p-refuse');
      await assert.rejects(service.create(ctxOf('p-stranger'), { volumeId: mine.id, name: null, noSnapshots: false, allowEncrypted: false }), message(/^Volume .* could not be found\.$/));
    });

    test('accept moves the volume, its snapshots and their quota to the receiver in one go', async () => {
      const v = await volume('p-donor', { size: 3 });
      const s1 = await snapshot(v);
      const s2 = await snapshot(v);
      const { row, authKey } = await service.create(ctxOf('p-donor'), { volumeId: v.id, name: 'x', noSnapshots: false, allowEncrypted: false });
      await assert.rejects(service.accept(ctxOf('p-taker'), row.id, 'not-the-key'), message(new RegExp(`^Invalid auth key: Attempt to transfer ${row.id} with invalid auth key\\.$`)));
      assert.equal((await volumeOf(v.id)).project_id, 'p-donor');
      const before = await usage('p-donor');
      assert.deepEqual([before.volumes, before.snapshots, before.gigabytes], [1, 2, 9]);

      const accepted = await service.accept(ctxOf('p-taker'), row.id, authKey);
      assert.deepEqual(accepted, { id: row.id, display_name: 'x', volume_id: v.id });
      const moved = await volumeOf(v.id);
      assert.deepEqual([moved.status, moved.project_id, moved.user_id], ['available', 'p-taker', 'u-p-taker']);
      for (const s of [s1, s2]) {
        const r = await database.db.selectFrom('snapshot').select(['project_id', 'user_id']).where('id', '=', s.id).executeTakeFirstOrThrow();
        assert.deepEqual(r, { project_id: 'p-taker', user_id: 'u-p-taker' });
      }
      const donor = await usage('p-donor');
      const taker = await usage('p-taker');
      assert.deepEqual([donor.volumes, donor.snapshots, donor.gigabytes, donor.volumes___DEFAULT__, donor.snapshots___DEFAULT__], [0, 0, 0, 0, 0]);
      assert.deepEqual([taker.volumes, taker.snapshots, taker.gigabytes, taker.volumes___DEFAULT__, taker.gigabytes___DEFAULT__], [1, 2, 9, 1, 9]);
      // the transfer is over: gone from show, recorded as accepted by the taker
      assert.equal(await selectTransfer(database.db, row.id), undefined);
      const ended = await database.db.selectFrom('transfer').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
      assert.deepEqual([ended.deleted, ended.accepted, ended.destination_project_id], [1, 1, 'p-taker']);
      await assert.rejects(service.accept(ctxOf('p-other'), row.id, authKey), message(/^Transfer .* could not be found\.$/));
    });

    test('no_snapshots leaves the snapshots and their quota with the donor', async () => {
      const v = await volume('p-keep', { size: 2 });
      const s = await snapshot(v);
      const { row, authKey } = await service.create(ctxOf('p-keep'), { volumeId: v.id, name: null, noSnapshots: true, allowEncrypted: false });
      await service.accept(ctxOf('p-keep-taker'), row.id, authKey);
      assert.equal((await database.db.selectFrom('snapshot').select('project_id').where('id', '=', s.id).executeTakeFirstOrThrow()).project_id, 'p-keep');
      const donor = await usage('p-keep');
      const taker = await usage('p-keep-taker');
      assert.deepEqual([donor.volumes, donor.snapshots, donor.gigabytes], [0, 1, 2]);
      assert.deepEqual([taker.volumes, taker.snapshots ?? 0, taker.gigabytes], [1, 0, 2]);
    });

    test('a receiver over quota gets 413 and nothing changes anywhere', async () => {
      const v = await volume('p-give', { size: 5 });
      await snapshot(v);
      const { row, authKey } = await service.create(ctxOf('p-give'), { volumeId: v.id, name: null, noSnapshots: false, allowEncrypted: false });
      await volume('p-full', { size: 1 });
      // the volume fits, its snapshot does not
      await database.db.insertInto('quota').values({ project_id: 'p-full', resource: 'snapshots', hard_limit: 0, updated_at: clock.nowMs() }).execute();
      const donorBefore = await held('p-give');
      const takerBefore = await held('p-full');
      await assert.rejects(service.accept(ctxOf('p-full'), row.id, authKey), (err: unknown) => err instanceof Error && /^SnapshotLimitExceeded: Maximum number of snapshots allowed \(0\) exceeded$/.test(err.message) && err instanceof QuotaExceededError);
      await database.db.updateTable('quota').set({ hard_limit: 10 }).where('project_id', '=', 'p-full').where('resource', '=', 'snapshots').execute();
      await database.db.insertInto('quota').values({ project_id: 'p-full', resource: 'gigabytes', hard_limit: 6, updated_at: clock.nowMs() }).execute();
      // the volume's 5G went in first (Cinder reserves it before the snapshots'), so 6G count as consumed
      await assert.rejects(service.accept(ctxOf('p-full'), row.id, authKey), message(/^VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota\. Requested 5G, quota is 6G and 6G has been consumed\.$/));
      assert.deepEqual(await held('p-give'), donorBefore);
      assert.deepEqual(await held('p-full'), takerBefore);
      const still = await volumeOf(v.id);
      assert.deepEqual([still.status, still.project_id], ['awaiting-transfer', 'p-give']);
      assert.ok(await selectTransfer(database.db, row.id), 'the transfer is still open');
      // per_volume_gigabytes is Cinder's separate check (VolumeSizeExceedsLimit)
      await database.db.insertInto('quota').values({ project_id: 'p-full', resource: 'per_volume_gigabytes', hard_limit: 4, updated_at: clock.nowMs() }).execute();
      await assert.rejects(service.accept(ctxOf('p-full'), row.id, authKey), message(/^VolumeSizeExceedsLimit: Requested volume size 5G is larger than maximum allowed limit 4G\.$/));
    });

    test('of racing accepts exactly one wins and the quota moves once', async () => {
      const v = await volume('p-race', { size: 2 });
      const { row, authKey } = await service.create(ctxOf('p-race'), { volumeId: v.id, name: null, noSnapshots: false, allowEncrypted: false });
      const takers = ['p-race-a', 'p-race-b', 'p-race-c'];
      const results = await Promise.allSettled(takers.map((p) => service.accept(ctxOf(p), row.id, authKey)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const owner = (await volumeOf(v.id)).project_id;
      assert.ok(takers.includes(owner));
      for (const p of takers) assert.equal((await usage(p)).volumes ?? 0, p === owner ? 1 : 0, p);
      assert.equal((await usage('p-race')).volumes, 0);
    });

    test('delete withdraws the transfer and the volume is available again', async () => {
      const v = await volume('p-del');
      const { row } = await service.create(ctxOf('p-del'), { volumeId: v.id, name: null, noSnapshots: false, allowEncrypted: false });
      await assert.rejects(service.delete(ctxOf('p-not-owner'), row.id), message(/^Transfer .* could not be found\.$/));
      await service.delete(ctxOf('p-del'), row.id);
      assert.equal((await volumeOf(v.id)).status, 'available');
      assert.equal(await selectTransfer(database.db, row.id), undefined);
      await assert.rejects(service.delete(ctxOf('p-del'), row.id), message(/could not be found/));
      assert.equal((await usage('p-del')).volumes, 1);
      // a force-deleted volume takes its open transfer with it (Cinder's volume_destroy)
      const gone = await service.create(ctxOf('p-del'), { volumeId: v.id, name: null, noSnapshots: false, allowEncrypted: false });
      await database.db.updateTable('volume').set({ deleted: 1, deleted_at: clock.nowMs() }).where('id', '=', v.id).execute();
      assert.equal(await selectTransfer(database.db, gone.row.id), undefined);
      assert.deepEqual((await listTransferRows(database.db, { eq: { id: gone.row.id }, sort: [{ key: 'created_at', dir: 'asc' }] })).length, 0);
    });

    test('lists see the project of the volume, filter, and page by keyset across the join', async () => {
      const project = `p-list-${engine.dialect}`;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        clock.advance(1000 * (i % 2)); // equal created_at in pairs: the id breaks ties
        const v = await volume(project);
        ids.push((await service.create(ctxOf(project), { volumeId: v.id, name: i === 2 ? 'third' : null, noSnapshots: i === 4, allowEncrypted: false })).row.id);
      }
      const other = await volume('p-list-other');
      await service.create(ctxOf('p-list-other'), { volumeId: other.id, name: null, noSnapshots: false, allowEncrypted: false });

      const all = await listTransferRows(database.db, { projectId: project, eq: {}, sort: [{ key: 'created_at', dir: 'asc' }] });
      assert.deepEqual(new Set(all.map((t) => t.id)), new Set(ids));
      const pages: string[] = [];
      let marker;
      for (;;) {
        const page = await listTransferRows(database.db, { projectId: project, eq: {}, sort: [{ key: 'created_at', dir: 'desc' }], marker, limit: 2 });
        pages.push(...page.map((t) => t.id));
        if (page.length < 2) break;
        marker = page.at(-1);
      }
      assert.deepEqual(pages, [...all].reverse().map((t) => t.id));
      assert.deepEqual((await listTransferRows(database.db, { projectId: project, eq: { display_name: 'third' }, sort: [{ key: 'created_at', dir: 'asc' }] })).map((t) => t.id), [ids[2]]);
      assert.deepEqual((await listTransferRows(database.db, { projectId: project, eq: { no_snapshots: 1 }, sort: [{ key: 'created_at', dir: 'asc' }] })).map((t) => t.id), [ids[4]]);
      assert.equal((await listTransferRows(database.db, { projectId: project, eq: {}, sort: [{ key: 'created_at', dir: 'asc' }], offset: 3 })).length, 2);
      assert.deepEqual(await listTransferRows(database.db, { projectId: project, eq: {}, none: true, sort: [{ key: 'created_at', dir: 'asc' }] }), []);
      // undefined project: every project's (admins with all_tenants)
      const everyone = await listTransferRows(database.db, { eq: {}, sort: [{ key: 'created_at', dir: 'asc' }] });
      assert.ok(everyone.some((t) => t.source_project_id === 'p-list-other') && ids.every((id) => everyone.some((t) => t.id === id)));
    });
  });
}
