// The snapshots domain service on SQLite, PostgreSQL and MariaDB: a snapshot and its quota are
// recorded together (a breach leaves nothing, racing creates never exceed the limit), the worker is
// told, the volume-status and delete rules are Cinder's, lists page by keyset without gaps, and
// metadata and the status actions behave as upstream's.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createBus, type Bus } from '@alto/bus';
import { migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, testEngines, type ScratchDatabase } from '@alto/db/testing';
import { manualClock, type RequestContext } from '@alto/kernel';
import { createLogger } from '@alto/runtime';
import { blockStorageMigrations } from '../store/migrations/index.js';
import type { BlockStorageDB, VolumeTable } from '../store/schema.js';
import { insertVolume } from '../store/volume.repo.js';
import { volumeRow } from '../testing/volume-row.js';
import { defaultTypeId, testCore, testPolicy } from '../testing/route-harness.js';
import { VOLUME_TOPIC } from '../workers/topics.js';
import { QuotaEngine } from './quotas.js';
import { SnapshotsService, type SnapshotListQuery } from './snapshots.service.js';

const HOST = 'host1@file#file';
const ctxOf = (projectId: string, roles: string[] = ['member', 'reader']): RequestContext => ({
  requestId: 'req-test',
  projectId,
  userId: `u-${projectId}`,
  roles,
  serviceRoles: [],
  isAdminProject: false,
});

const message = (re: RegExp) => (err: unknown) => err instanceof Error && re.test(err.message);

for (const engine of testEngines()) {
  describe(`snapshots service on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let scratch: ScratchDatabase;
    let database: Database<BlockStorageDB>;
    let bus: Bus;
    let service: SnapshotsService;
    let quotas: QuotaEngine;
    let defaultType: string;
    const casts: { method: string; args: Record<string, unknown> }[] = [];
    const clock = manualClock(Date.UTC(2026, 10, 21, 10, 0, 0));

    const volume = async (over: Partial<VolumeTable> = {}) => {
      const row = volumeRow({ host: HOST, status: 'available', volume_type_id: defaultType, project_id: 'p1', ...over });
      await insertVolume(database.db, row);
      return row;
    };
    const usage = async (project: string) => Object.fromEntries([...(await quotas.usageOf(project))].map(([k, v]) => [k, v.inUse]));
    const listQuery = (over: Partial<SnapshotListQuery> = {}): SnapshotListQuery => ({ projectId: 'p1', eq: {}, like: {}, metadata: {}, sort: [{ key: 'created_at', dir: 'desc' }], limit: 1000, ...over });

    before(async () => {
      scratch = await scratchDatabase(engine.dialect);
      database = scratch.open<BlockStorageDB>();
      await migrateToLatest(database, blockStorageMigrations);
      const log = createLogger({ level: 'silent' });
      bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock });
      await bus.serve({ topic: VOLUME_TOPIC, server: HOST }, {
        create_snapshot: (args) => void casts.push({ method: 'create_snapshot', args }),
        delete_snapshot: (args) => void casts.push({ method: 'delete_snapshot', args }),
      });
      defaultType = await defaultTypeId(database);
      // plugin.ts's authorizer: Cinder's defaults, credentials with is_admin
      const deps = testCore({ database, bus, log }, clock, testPolicy().authz);
      quotas = new QuotaEngine({ db: database.db, defaults: deps.config.quotaDefaults, nowMs: () => clock.nowMs() });
      service = new SnapshotsService(deps, quotas);
    });
    after(async () => {
      await bus?.close();
      await database?.close();
      await scratch?.drop();
    });

    test('create records the snapshot, its quota and tells the volume worker', async () => {
      const v = await volume({ project_id: 'p-create', size: 3 });
      const ctx = ctxOf('p-create');
      const s = await service.create(ctx, { volumeId: v.id, name: 's1', description: 'd1', metadata: { a: 'b' } });
      assert.equal(s.row.status, 'creating');
      assert.equal(s.row.progress, '0%');
      assert.equal(Number(s.row.volume_size), 3);
      assert.equal(s.row.volume_type_id, defaultType);
      assert.equal(s.row.user_id, 'u-p-create');
      assert.equal(s.row.project_id, 'p-create');
      assert.deepEqual(s.metadata, { a: 'b' });
      assert.deepEqual(await usage('p-create'), { snapshots: 1, gigabytes: 3, snapshots___DEFAULT__: 1, gigabytes___DEFAULT__: 3 });
      for (let i = 0; i < 100 && !casts.some((c) => c.args.snapshot_id === s.row.id); i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(casts.find((c) => c.args.snapshot_id === s.row.id), { method: 'create_snapshot', args: { snapshot_id: s.row.id } });
    });

    test("the volume's state decides, in Cinder's words", async () => {
      const ctx = ctxOf('p1');
      const inUse = await volume({ status: 'in-use' });
      await assert.rejects(service.create(ctx, { volumeId: inUse.id }), message(new RegExp(`^Invalid volume: Volume ${inUse.id} status must be available, but current status is: in-use\\.$`)));
      assert.equal((await service.create(ctx, { volumeId: inUse.id, force: true })).row.status, 'creating');
      assert.equal((await service.create(ctx, { volumeId: inUse.id, allowInUse: true })).row.status, 'creating');
      await database.db
        .insertInto('service')
        .values({ id: randomUUID(), host: 'frozen@file', binary: 'cinder-volume', topic: 'cinder-volume', availability_zone: 'nova', disabled: 0, disabled_reason: null, frozen: 1, capabilities: null, created_at: 0, updated_at: 0 })
        .execute();
      const cases: [Partial<VolumeTable>, RegExp][] = [
        [{ host: null }, /^Invalid volume: volume is not assigned to a host$/],
        [{ host: 'frozen@file#file' }, /^Invalid input received: Modification operations are not allowed on frozen storage backends\.$/],
        [{ status: 'maintenance' }, /when the volume is in maintenance mode/],
        [{ migration_status: 'migrating' }, /while volume is migrating/],
        [{ status: 'error' }, /when the volume is in error status/],
        [{ status: 'creating' }, /status must be available, but current status is: creating/],
      ];
      for (const [over, re] of cases) await assert.rejects(service.create(ctx, { volumeId: (await volume(over)).id }), message(re));
      await assert.rejects(service.create(ctxOf('p-other'), { volumeId: inUse.id }), message(/^Volume .* could not be found\.$/));
    });

    test('a quota breach answers 413 and leaves neither a row nor usage behind', async () => {
      const project = 'p-quota';
      await database.db.insertInto('quota').values({ project_id: project, resource: 'snapshots', hard_limit: 1, updated_at: 0 }).execute();
      const v = await volume({ project_id: project, size: 2 });
      await service.create(ctxOf(project), { volumeId: v.id });
      await assert.rejects(service.create(ctxOf(project), { volumeId: v.id, metadata: { k: 'v' } }), message(/^SnapshotLimitExceeded: Maximum number of snapshots allowed \(1\) exceeded$/));
      assert.equal((await service.list(listQuery({ projectId: project }))).length, 1);
      assert.deepEqual(await usage(project), { snapshots: 1, gigabytes: 2, snapshots___DEFAULT__: 1, gigabytes___DEFAULT__: 2 });
    });

    test('racing creates never exceed the limit', async () => {
      const project = 'p-race';
      await database.db.insertInto('quota').values({ project_id: project, resource: 'snapshots', hard_limit: 2, updated_at: 0 }).execute();
      const v = await volume({ project_id: project });
      const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => service.create(ctxOf(project), { volumeId: v.id })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
      assert.equal((await service.list(listQuery({ projectId: project }))).length, 2);
      assert.equal((await usage(project)).snapshots, 2);
    });

    test("delete: available or error only, never in a group; force skips the status, and others' snapshots are not found", async () => {
      const ctx = ctxOf('p1');
      const v = await volume();
      const creating = await service.create(ctx, { volumeId: v.id });
      await assert.rejects(service.delete(ctx, creating.row.id), message(/^Invalid snapshot: Snapshot status must be available or error and must not be part of a group\.$/));
      await assert.rejects(service.delete(ctxOf('p2'), creating.row.id), message(/^Snapshot .* could not be found\.$/));
      await service.delete(ctx, creating.row.id, { force: true });
      assert.equal((await service.getOrThrow(ctx, creating.row.id)).row.status, 'deleting');
      for (let i = 0; i < 100 && !casts.some((c) => c.method === 'delete_snapshot' && c.args.snapshot_id === creating.row.id); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(casts.some((c) => c.method === 'delete_snapshot' && c.args.snapshot_id === creating.row.id));

      const grouped = await service.create(ctx, { volumeId: v.id });
      await database.db.updateTable('snapshot').set({ status: 'available', group_snapshot_id: randomUUID() }).where('id', '=', grouped.row.id).execute();
      await assert.rejects(service.delete(ctx, grouped.row.id, { force: true }), message(/^Invalid snapshot: Snapshot must not be part of a group\.$/));

      const ok = await service.create(ctx, { volumeId: v.id });
      await service.resetStatus(ctxOf('p-admin', ['admin', 'member', 'reader']), ok.row.id, 'ERROR');
      assert.equal((await service.getOrThrow(ctx, ok.row.id)).row.status, 'error');
      await service.delete(ctx, ok.row.id);
      assert.equal((await service.getOrThrow(ctx, ok.row.id)).row.status, 'deleting');
    });

    test('os-update_snapshot_status follows the allowed transitions', async () => {
      const ctx = ctxOf('p1');
      const s = await service.create(ctx, { volumeId: (await volume()).id });
      await service.updateStatus(ctx, s.row.id, 'creating', '50%');
      assert.equal((await service.getOrThrow(ctx, s.row.id)).row.progress, '50%');
      await assert.rejects(service.updateStatus(ctx, s.row.id, 'deleting'), message(/^Provided snapshot status deleting not allowed for snapshot with status creating\.$/));
      await service.updateStatus(ctx, s.row.id, 'available', '100%');
      await assert.rejects(service.updateStatus(ctx, s.row.id, 'error'), message(/^Snapshot status available not allowed for update_snapshot_status$/));
      const row = (await service.getOrThrow(ctx, s.row.id)).row;
      assert.deepEqual([row.status, row.progress], ['available', '100%']);
    });

    test('metadata merges, replaces and deletes keys', async () => {
      const ctx = ctxOf('p1');
      const s = await service.create(ctx, { volumeId: (await volume()).id, metadata: { a: '1', b: '2' } });
      assert.deepEqual(await service.setMetadata(ctx, s.row.id, { b: '3', c: '4' }, false), { a: '1', b: '3', c: '4' });
      assert.deepEqual(await service.setMetadata(ctx, s.row.id, { z: '9' }, true), { z: '9' });
      assert.equal(await service.metadataKey(ctx, s.row.id, 'z'), '9');
      await service.deleteMetadataKey(ctx, s.row.id, 'z');
      await assert.rejects(service.deleteMetadataKey(ctx, s.row.id, 'z'), message(new RegExp(`^Snapshot ${s.row.id} has no metadata with key z\\.$`)));
      await assert.rejects(service.metadataKey(ctx, s.row.id, 'z'), message(/has no metadata with key z/));
      assert.deepEqual(await service.metadata(ctx, s.row.id), {});
    });

    test('lists filter per project and page by keyset without gaps or repeats', async () => {
      const project = 'p-list';
      const ctx = ctxOf(project);
      await database.db.insertInto('quota').values({ project_id: project, resource: 'snapshots', hard_limit: 100, updated_at: 0 }).execute();
      const zoned = await volume({ project_id: project, availability_zone: 'az2' });
      const plain = await volume({ project_id: project });
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        clock.advance(i % 3 === 0 ? 0 : 1000); // ties on created_at, broken by id
        const s = await service.create(ctx, { volumeId: i % 2 ? zoned.id : plain.id, name: i % 2 ? `odd-${i}` : null, metadata: { n: String(i % 3) } });
        ids.push(s.row.id);
      }
      await service.create(ctxOf('p-list-other'), { volumeId: (await volume({ project_id: 'p-list-other' })).id });
      const all = await service.list(listQuery({ projectId: project, sort: [{ key: 'name', dir: 'asc' }, { key: 'created_at', dir: 'desc' }] }));
      assert.deepEqual(new Set(all.map((s) => s.row.id)), new Set(ids));
      const paged: string[] = [];
      let marker: SnapshotListQuery['marker'];
      for (;;) {
        const page = await service.list(listQuery({ projectId: project, sort: [{ key: 'name', dir: 'asc' }, { key: 'created_at', dir: 'desc' }], limit: 2, marker }));
        paged.push(...page.map((s) => s.row.id));
        if (page.length < 2) break;
        marker = page.at(-1)!.row;
      }
      assert.deepEqual(paged, all.map((s) => s.row.id));
      assert.equal((await service.list(listQuery({ projectId: project, availabilityZone: 'az2' }))).length, 3);
      assert.equal((await service.list(listQuery({ projectId: project, like: { name: 'odd' } }))).length, 3);
      assert.equal((await service.list(listQuery({ projectId: project, metadata: { n: '0' } }))).length, 3);
      assert.equal((await service.list(listQuery({ projectId: project, eq: { volume_id: plain.id } }))).length, 4);
      assert.equal(await service.count(listQuery({ projectId: project, limit: 1 })), 7);
      assert.equal(await service.count(listQuery({ projectId: undefined, like: { project_id: 'p-list' } })), 8);
      assert.equal((await service.list(listQuery({ projectId: project, none: true }))).length, 0);
      // LIKE metacharacters in the filter are literal
      for (const name of ['under_score', 'underXscore', '100%', '1000']) await service.create(ctx, { volumeId: plain.id, name });
      assert.deepEqual((await service.list(listQuery({ projectId: project, like: { name: 'under_' } }))).map((s) => s.row.name), ['under_score']);
      assert.deepEqual((await service.list(listQuery({ projectId: project, like: { name: '0%' } }))).map((s) => s.row.name), ['100%']);
      // host filters at Cinder's three levels (the volumes are on host1@file#file)
      for (const [host, n] of [['host1', 11], ['host1@file', 11], ['host1@file#file', 11], ['host1@other', 0], ['host', 0], ['host1@file#f', 0]] as const) {
        assert.equal((await service.list(listQuery({ projectId: project, host }))).length, n, host);
      }
    });
  });
}
