// The backups service on SQLite, PostgreSQL and MariaDB: create with Cinder's checks, quota and the
// volume's status in one transaction; list pages and filters; update; delete and its refusals;
// incremental parents; restore to a volume or a new one; reset status.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createBus, type Bus } from '@alto/bus';
import { migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, testEngines, type ScratchDatabase } from '@alto/db/testing';
import { systemClock, type RequestContext } from '@alto/kernel';
import { createLogger } from '@alto/runtime';
import { blockStorageMigrations } from '../store/migrations/index.js';
import type { BlockStorageDB, VolumeTable } from '../store/schema.js';
import { reportService } from '../store/service.repo.js';
import { insertVolume, selectVolume } from '../store/volume.repo.js';
import { selectBackup } from '../store/backup.repo.js';
import { volumeRow } from '../testing/volume-row.js';
import { BACKUP_TOPIC, SCHEDULER_TOPIC } from '../workers/topics.js';
import type { BlockStorageCoreDeps } from './deps.js';
import { QuotaEngine } from './quotas.js';
import { VolumesService } from './volumes.service.js';
import { BackupsService } from './backups.service.js';

const VOLUME_HOST = 'host1@file#file';
const log = createLogger({ level: 'silent' });

const ctxOf = (projectId: string, roles = ['member', 'reader']): RequestContext => ({
  requestId: 'req-1', userId: `user-${projectId}`, projectId, roles, isAdminProject: false, serviceRoles: [],
});

const KIND: Record<number, string> = { 400: 'bad_request', 404: 'not_found', 413: 'quota_exceeded', 503: 'service_unavailable' };

/** Rejects with an error of the kind Cinder's status maps to, worded as Cinder's. */
async function rejects(p: Promise<unknown>, status: number, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    const e = err as { kind?: string; message: string };
    assert.equal(e.kind, KIND[status], `kind of: ${e.message}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

for (const engine of testEngines()) {
  describe(`backups service on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let scratch: ScratchDatabase;
    let database: Database<BlockStorageDB>;
    let bus: Bus;
    let backups: BackupsService;
    const casts: { method: string; backup_id: unknown }[] = [];
    const p1 = ctxOf(`p1-${randomUUID()}`);
    const admin = ctxOf(`adm-${randomUUID()}`, ['admin', 'member', 'reader']);

    const volume = async (over: Partial<VolumeTable> = {}) => {
      const row = volumeRow({ host: VOLUME_HOST, status: 'available', project_id: p1.projectId!, ...over });
      await insertVolume(database.db, row);
      return row;
    };
    const usage = async (projectId: string, resource: string) =>
      Number((await database.db.selectFrom('quota_usage').select('in_use').where('project_id', '=', projectId).where('resource', '=', resource).executeTakeFirst())?.in_use ?? 0);

    before(async () => {
      scratch = await scratchDatabase(engine.dialect);
      database = scratch.open<BlockStorageDB>();
      await migrateToLatest(database, blockStorageMigrations);
      bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock: systemClock });
      await bus.serve({ topic: BACKUP_TOPIC, server: 'host1' }, {
        create_backup: async (a: { backup_id?: unknown }) => (casts.push({ method: 'create_backup', backup_id: a.backup_id }), null),
        delete_backup: async (a: { backup_id?: unknown }) => (casts.push({ method: 'delete_backup', backup_id: a.backup_id }), null),
        restore_backup: async (a: { backup_id?: unknown }) => (casts.push({ method: 'restore_backup', backup_id: a.backup_id }), null),
      });
      // the scheduler and volume worker's part, for restores to a new volume: placed and created
      await bus.serve({ topic: SCHEDULER_TOPIC, server: 'scheduler-1' }, {
        create_volume: async (a: { volume_id?: unknown }) => {
          await database.db.updateTable('volume').set({ status: 'available', host: VOLUME_HOST }).where('id', '=', String(a.volume_id)).execute();
          return null;
        },
      });
      await reportService(database.db, { host: 'host1', binary: 'cinder-backup', topic: BACKUP_TOPIC, availabilityZone: 'nova', nowMs: Date.now() });
      const deps: BlockStorageCoreDeps = {
        db: database.db,
        bus,
        clock: systemClock,
        log,
        authz: { enforce: () => undefined, check: (_rule, ctx) => ctx.roles.includes('admin') },
        config: {
          osapiMaxLimit: 1000, defaultVolumeType: '__DEFAULT__', storageAvailabilityZone: 'nova', quotaDefaults: { backups: 10, backup_gigabytes: 1000, volumes: 10, gigabytes: 1000 },
          messageTtlSeconds: 1000, serviceDownSeconds: 60,
        },
      };
      const quotas = new QuotaEngine({ db: database.db, defaults: deps.config.quotaDefaults, nowMs: () => Date.now() });
      backups = new BackupsService(deps, quotas, new VolumesService(deps, quotas), { pollMs: 10, restoreCreateWaitMs: 5000 });
    });
    after(async () => {
      await bus?.close();
      await database?.close();
      await scratch?.drop();
    });

    const settle = () => new Promise((r) => setTimeout(r, 30));
    /** Casts travel through the bus asynchronously: wait for one (a loaded CI machine can take more than the settle). */
    const castSeen = async (method: string, backupId: string) => {
      for (const deadline = Date.now() + 5000; !casts.some((c) => c.method === method && c.backup_id === backupId); ) {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 10));
      }
      return true;
    };

    test('create: the volume goes backing-up with its previous status, quota is taken, the worker is told', async () => {
      const v = await volume({ size: 3 });
      const b = await backups.create(p1, { volumeId: v.id, name: 'b1', metadata: { k: 'v' } });
      await settle();
      assert.equal(b.row.status, 'creating');
      assert.equal(b.row.host, 'host1');
      assert.equal(b.row.availability_zone, 'nova');
      assert.equal(Number(b.row.size), 3);
      assert.equal(b.row.container, `${b.row.id.slice(0, 2)}/${b.row.id.slice(2, 4)}/${b.row.id}`);
      assert.equal(Number(b.row.data_timestamp), Number(b.row.created_at));
      assert.deepEqual(b.metadata, { k: 'v' });
      const after = (await selectVolume(database.db, v.id))!;
      assert.deepEqual([after.status, after.previous_status], ['backing-up', 'available']);
      assert.equal(await usage(p1.projectId!, 'backups'), 1);
      assert.equal(await usage(p1.projectId!, 'backup_gigabytes'), 3);
      assert.ok(await castSeen('create_backup', b.row.id));
    });

    test('create refuses what Cinder refuses, and leaves nothing behind', async () => {
      const busy = await volume({ status: 'creating' });
      await rejects(backups.create(p1, { volumeId: busy.id }), 400, 'Invalid volume: Volume to be backed up must be available or in-use, but the current status is "creating".');
      const inUse = await volume({ status: 'in-use' });
      await rejects(backups.create(p1, { volumeId: inUse.id }), 400, 'Invalid volume: Backing up an in-use volume must use the force flag.');
      const forced = await backups.create(p1, { volumeId: inUse.id, force: true });
      assert.equal((await selectVolume(database.db, inUse.id))!.previous_status, 'in-use');
      assert.ok(forced.row.id);
      await rejects(backups.create(p1, { volumeId: randomUUID() }), 404, /^Volume .* could not be found\.$/);
      const other = await volume({ project_id: 'someone-else' });
      await rejects(backups.create(p1, { volumeId: other.id }), 404, `Volume ${other.id} could not be found.`);
      const elsewhere = await volume({ host: 'host9@file#file' });
      await rejects(backups.create(p1, { volumeId: elsewhere.id }), 503, 'Service cinder-backup could not be found.');
      await rejects(backups.create(p1, { volumeId: (await volume()).id, availabilityZone: 'az9' }), 503, 'Service cinder-backup could not be found.');
      await rejects(backups.create(p1, { volumeId: (await volume()).id, incremental: true }), 400, 'Invalid backup: No backups available to do an incremental backup.');
    });

    test('over quota: 413 with Cinder’s words; the volume and usage are untouched', async () => {
      const q = ctxOf(`pq-${randomUUID()}`);
      await database.db.insertInto('quota').values({ project_id: q.projectId!, resource: 'backups', hard_limit: 1, updated_at: 0 }).execute();
      await database.db.insertInto('quota').values({ project_id: q.projectId!, resource: 'backup_gigabytes', hard_limit: 5, updated_at: 0 }).execute();
      const big = await volume({ project_id: q.projectId!, size: 6 });
      await rejects(
        backups.create(q, { volumeId: big.id }),
        413,
        'VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed Backup gigabytes quota. Requested 6G, quota is 5G and 0G has been consumed.',
      );
      assert.equal((await selectVolume(database.db, big.id))!.status, 'available');
      await backups.create(q, { volumeId: (await volume({ project_id: q.projectId! })).id });
      const v = await volume({ project_id: q.projectId! });
      await rejects(backups.create(q, { volumeId: v.id }), 413, 'BackupLimitExceeded: Maximum number of backups allowed (1) exceeded');
      assert.equal((await selectVolume(database.db, v.id))!.status, 'available');
      assert.equal(await usage(q.projectId!, 'backups'), 1);
      assert.equal(await usage(q.projectId!, 'backup_gigabytes'), 1);
    });

    test('list: own project, filters, sorted keyset pages, all tenants for admins, count', async () => {
      const c = ctxOf(`pl-${randomUUID()}`);
      const ids: string[] = [];
      for (const name of ['a', 'b', 'c', 'd']) {
        const b = await backups.create(c, { volumeId: (await volume({ project_id: c.projectId! })).id, name });
        ids.push(b.row.id);
      }
      await database.db.updateTable('backup').set({ status: 'available' }).where('id', 'in', ids.slice(0, 2)).execute();
      const base = { projectId: c.projectId, eq: {}, like: {}, metadata: {}, limit: 1000 };
      const byName = await backups.list({ ...base, sort: [{ key: 'name', dir: 'asc' }] });
      assert.deepEqual(byName.map((b) => b.row.name), ['a', 'b', 'c', 'd']);
      const page1 = await backups.list({ ...base, sort: [{ key: 'name', dir: 'desc' }], limit: 2 });
      assert.deepEqual(page1.map((b) => b.row.name), ['d', 'c']);
      const page2 = await backups.list({ ...base, sort: [{ key: 'name', dir: 'desc' }], limit: 2, marker: page1[1]!.row });
      assert.deepEqual(page2.map((b) => b.row.name), ['b', 'a']);
      assert.deepEqual((await backups.list({ ...base, sort: [{ key: 'name', dir: 'asc' }], limit: 2, offset: 1 })).map((b) => b.row.name), ['b', 'c']);
      assert.deepEqual((await backups.list({ ...base, eq: { status: 'available' }, sort: [{ key: 'name', dir: 'asc' }] })).map((b) => b.row.name), ['a', 'b']);
      assert.equal(await backups.count({ ...base, eq: { status: 'creating' }, sort: [] }), 2);
      const all = await backups.list({ ...base, projectId: undefined, sort: [{ key: 'created_at', dir: 'desc' }] });
      assert.ok(all.some((b) => b.row.project_id !== c.projectId), 'every project’s');
      await rejects(backups.getOrThrow(p1, ids[0]!), 404, `Backup ${ids[0]} could not be found.`);
      assert.equal((await backups.getOrThrow(admin, ids[0]!)).row.id, ids[0]);
    });

    test('update: name, description and metadata (replaced)', async () => {
      const b = await backups.create(p1, { volumeId: (await volume()).id, name: 'old', metadata: { a: '1', b: '2' } });
      const u = await backups.update(p1, b.row.id, { name: 'new', description: 'd', metadata: { c: '3' } });
      assert.deepEqual([u.row.name, u.row.description, u.metadata], ['new', 'd', { c: '3' }]);
    });

    test('delete: only available or error (unless forced), never with dependent incrementals', async () => {
      const v = await volume();
      const full = await backups.create(p1, { volumeId: v.id });
      await rejects(backups.delete(p1, full.row.id), 400, 'Invalid backup: Backup status must be available or error');
      await database.db.updateTable('backup').set({ status: 'available', data_timestamp: 1 }).where('id', '=', full.row.id).execute();
      await database.db.updateTable('volume').set({ status: 'available' }).where('id', '=', v.id).execute();
      const inc = await backups.create(p1, { volumeId: v.id, incremental: true });
      assert.equal(inc.row.parent_id, full.row.id);
      assert.equal(inc.row.is_incremental, 1);
      assert.equal((await backups.getOrThrow(p1, full.row.id)).hasDependentBackups, true);
      await rejects(backups.delete(p1, full.row.id), 400, 'Invalid backup: Incremental backups exist for this backup.');
      await backups.delete(p1, inc.row.id, { force: true });
      await settle();
      assert.equal((await selectBackup(database.db, inc.row.id))!.status, 'deleting');
      assert.ok(await castSeen('delete_backup', inc.row.id));
    });

    test('restore: checks, then backup restoring and volume restoring-backup; or to a new volume', async () => {
      const b = await backups.create(p1, { volumeId: (await volume({ size: 2 })).id });
      const small = await volume({ size: 1 });
      await rejects(backups.restore(p1, b.row.id, { volumeId: small.id }), 400, 'Invalid backup: Backup status must be available');
      await database.db.updateTable('backup').set({ status: 'available' }).where('id', '=', b.row.id).execute();
      await rejects(backups.restore(p1, b.row.id, { volumeId: small.id }), 400, 'Invalid volume: volume size 1 is too small to restore backup of size 2.');
      const busy = await volume({ size: 2, status: 'in-use' });
      await rejects(backups.restore(p1, b.row.id, { volumeId: busy.id }), 400, 'Invalid volume: Volume to be restored to must be available');
      const target = await volume({ size: 2, name: 'tgt' });
      assert.deepEqual(await backups.restore(p1, b.row.id, { volumeId: target.id }), { backupId: b.row.id, volumeId: target.id, volumeName: 'tgt' });
      const row = (await selectBackup(database.db, b.row.id))!;
      assert.deepEqual([row.status, row.restore_volume_id, row.host], ['restoring', target.id, 'host1']);
      assert.equal((await selectVolume(database.db, target.id))!.status, 'restoring-backup');
      await settle();
      assert.ok(await castSeen('restore_backup', b.row.id));

      await database.db.updateTable('backup').set({ status: 'available' }).where('id', '=', b.row.id).execute();
      const r = await backups.restore(p1, b.row.id, {});
      assert.equal(r.volumeName, `restore_backup_${b.row.id}`);
      const made = (await selectVolume(database.db, r.volumeId))!;
      assert.deepEqual([made.status, Number(made.size), made.description], ['restoring-backup', 2, 'auto-created_from_restore_from_backup']);
    });

    test('reset status takes the work from a worker holding it', async () => {
      const b = await backups.create(p1, { volumeId: (await volume()).id });
      await database.db.updateTable('backup').set({ task_owner: 'w1', task_lease_until: Date.now() + 60_000 }).where('id', '=', b.row.id).execute();
      await backups.resetStatus(admin, b.row.id, 'error');
      const row = (await selectBackup(database.db, b.row.id))!;
      assert.deepEqual([row.status, row.task_owner], ['error', null]);
    });
  });
}
