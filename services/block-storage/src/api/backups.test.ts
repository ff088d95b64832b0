// Backup routes through the HTTP frame (fastify inject, SQLite, the in-process bus, Cinder's
// default policies, mounted as plugin.ts mounts them) with the real scheduler, volume worker,
// backup worker, file backend and posix driver behind them: a backup made, shown per
// microversion, restored into a new volume byte for byte and deleted with its quota; then
// Cinder's refusals, list filters and pages, updates, and the admin actions per persona.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Database } from '@alto/db';
import { systemClock } from '@alto/kernel';
import { QuotaEngine } from '../domain/quotas.js';
import { VolumesService } from '../domain/volumes.service.js';
import { BackupsService } from '../domain/backups.service.js';
import { FileBackend } from '../drivers/file-backend.js';
import { PosixBackupDriver } from '../drivers/posix-backup.js';
import { insertVolume, selectVolume } from '../store/volume.repo.js';
import type { BackupTable, BlockStorageDB, VolumeTable } from '../store/schema.js';
import { insertBackup } from '../store/backup.repo.js';
import { reportService } from '../store/service.repo.js';
import type { BlockStorageServices } from '../services.js';
import { volumeRow } from '../testing/volume-row.js';
import { fillVolume, volumeHead } from '../testing/volume-data.js';
import { ADMIN_PROJECT, OTHER_PROJECT, OWNER_PROJECT, caller, defaultTypeId, faultMessage, mountForTest, openTestStore, testCore, testPolicy, type Call } from '../testing/route-harness.js';
import { BackupWorker } from '../workers/backup-worker.js';
import { VolumeScheduler } from '../workers/volume-scheduler.js';
import { VolumeWorker } from '../workers/volume-worker.js';
import type { BlockStorageFrame } from './common.js';
import { backupRoutes, type BackupFrame } from './backups.js';

type Json = Record<string, any>;

const VOLUME_HOST = 'host1@file#file';
const MiB = 1024 * 1024;
const noQemu = spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0 ? 'qemu-img is not installed (Debian qemu-utils)' : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Harness {
  app: FastifyInstance;
  database: Database<BlockStorageDB>;
  backend: FileBackend;
  call: Call;
  /** A live volume of the owner on host1, holding `pattern` at offset 0 when given. */
  volume(over?: Partial<VolumeTable>, pattern?: Buffer): Promise<string>;
  close(): Promise<void>;
}

async function startHarness(maxLimit = 1000, opts: { workers?: boolean } = {}): Promise<Harness> {
  const clock = systemClock;
  const store = await openTestStore('alto-bs-backups-', clock);
  const { dir, database, bus, log } = store;
  const { authz, routes: enforcer } = testPolicy();
  const core = testCore(store, clock, authz, { osapiMaxLimit: maxLimit });
  const quotas = new QuotaEngine({ db: database.db, defaults: core.config.quotaDefaults, nowMs: () => clock.nowMs() });
  const volumes = new VolumesService(core, quotas);
  const services = { volumes, backups: new BackupsService(core, quotas, volumes, { pollMs: 20 }), quotas, authz } as unknown as BlockStorageServices & BackupFrame['services'];
  const frame: BackupFrame = { services, maxLimit, publicEndpoint: 'http://cinder.test:8776' } satisfies BlockStorageFrame;

  // the components behind the API, as `alto up` runs them in one process
  const backend = new FileBackend({ name: 'file', directory: join(dir, 'volumes') });
  const driver = new PosixBackupDriver({ path: join(dir, 'backups'), chunkBytes: 4 * MiB });
  const scheduler = new VolumeScheduler({ db: database.db, bus, clock, log, host: 'sched1' });
  const worker = new VolumeWorker({ db: database.db, bus, clock, log, backend, host: VOLUME_HOST, owner: 'vw1' });
  const backupWorker = new BackupWorker({ db: database.db, bus, clock, log, driver, backends: new Map([[VOLUME_HOST, backend]]), host: 'host1', owner: 'bw1', scratchDir: join(dir, 'scratch') });
  await backend.open();
  const components = opts.workers === false ? [] : [worker, scheduler, backupWorker];
  for (const c of components) await c.start();

  const app = await mountForTest(backupRoutes(frame), { log, clock, enforcer, validateResponses: false });
  const defaultType = await defaultTypeId(database);
  return {
    app,
    database,
    backend,
    call: caller(app),
    volume: async (over = {}, pattern) => {
      const row = volumeRow({ project_id: OWNER_PROJECT, user_id: 'u-member', host: VOLUME_HOST, status: 'available', volume_type_id: defaultType, ...over });
      await insertVolume(database.db, row);
      await fillVolume(backend, dir, row.id, Number(row.size), pattern);
      return row.id;
    },
    close: async () => {
      for (const c of components.reverse()) await c.stop();
      await app.close();
      await store.close();
    },
  };
}

describe('backups through the API', { skip: noQemu }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(2);
  });
  after(async () => h?.close());

  const until = async (what: string, probe: () => Promise<boolean>) => {
    for (let i = 0; i < 600; i++) {
      if (await probe()) return;
      await sleep(25);
    }
    assert.fail(`timed out waiting for ${what}`);
  };
  const statusOf = async (id: string) => {
    const r = await h.call('<member>', 'GET', `/v3/${OWNER_PROJECT}/backups/${id}`);
    return r.statusCode === 404 ? 'gone' : (r.json().backup.status as string);
  };
  const usage = async (resource: string) =>
    Number((await h.database.db.selectFrom('quota_usage').select('in_use').where('project_id', '=', OWNER_PROJECT).where('resource', '=', resource).executeTakeFirst())?.in_use ?? 0);

  test('create, show per microversion, restore into a new volume, delete with the quota', async () => {
    const pattern = randomBytes(2 * MiB + 3);
    const vol = await h.volume({ status: 'in-use', attach_status: 'attached' }, pattern);
    const created = await h.call('<member>', 'POST', `/v3/${OWNER_PROJECT}/backups`, { backup: { volume_id: vol, name: ' nightly ', force: 'true', metadata: { k: 'v' } } }, '3.43');
    assert.equal(created.statusCode, 202, created.body);
    const summary = created.json().backup as Json;
    assert.deepEqual(Object.keys(summary).sort(), ['id', 'links', 'name']);
    assert.equal(summary.name, 'nightly');
    assert.deepEqual(summary.links[0], { rel: 'self', href: `http://cinder.test:8776/v3/${OWNER_PROJECT}/backups/${summary.id}` });
    const id = summary.id as string;
    await until('available', async () => (await statusOf(id)) === 'available');
    assert.equal((await selectVolume(h.database.db, vol))!.status, 'in-use', 'the volume is back to in-use');

    const v30 = (await h.call('<member>', 'GET', `/v3/${OWNER_PROJECT}/backups/${id}`)).json().backup as Json;
    assert.deepEqual(Object.keys(v30).sort(), [
      'availability_zone', 'container', 'created_at', 'data_timestamp', 'description', 'fail_reason', 'has_dependent_backups', 'id', 'is_incremental', 'links', 'name',
      'object_count', 'size', 'snapshot_id', 'status', 'updated_at', 'volume_id',
    ]);
    assert.equal(v30.size, 1);
    assert.ok(v30.object_count > 0);
    assert.equal(v30.availability_zone, 'nova');
    assert.equal(v30.is_incremental, false);
    assert.match(v30.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const v356 = (await h.call('<member>', 'GET', `/v3/backups/${id}`, undefined, '3.56')).json().backup as Json;
    assert.deepEqual(v356.metadata, { k: 'v' });
    assert.equal('user_id' in v356, false, 'project attributes are for admins');
    const asAdmin = (await h.call('<admin>', 'GET', `/v3/backups/${id}`, undefined, '3.56')).json().backup as Json;
    assert.equal(asAdmin['os-backup-project-attr:project_id'], OWNER_PROJECT);
    assert.equal(asAdmin.user_id, 'u-member');

    const restored = await h.call('<member>', 'POST', `/v3/${OWNER_PROJECT}/backups/${id}/restore`, { restore: {} });
    assert.equal(restored.statusCode, 202, restored.body);
    const r = restored.json().restore as Json;
    assert.deepEqual([r.backup_id, r.volume_name], [id, `restore_backup_${id}`]);
    await until('restored', async () => (await selectVolume(h.database.db, r.volume_id as string))?.status === 'available');
    const head = await volumeHead(h.backend, tmpdir(), r.volume_id as string, pattern.length);
    assert.ok(head.equals(pattern), 'the new volume holds the backed-up bytes');
    assert.equal(await statusOf(id), 'available');

    assert.equal(await usage('backups'), 1);
    const deleted = await h.call('<member>', 'DELETE', `/v3/${OWNER_PROJECT}/backups/${id}`);
    assert.equal(deleted.statusCode, 202);
    await until('deleted', async () => (await statusOf(id)) === 'gone');
    assert.equal(await usage('backups'), 0);
    assert.equal(await usage('backup_gigabytes'), 0);
  });

  test('Cinder’s refusals: bodies, volume states, personas, microversions', async () => {
    const p = `/v3/${OWNER_PROJECT}/backups`;
    let r = await h.call('<member>', 'POST', p, { backup: {} });
    assert.equal(r.statusCode, 400);
    assert.equal(faultMessage(r), "Invalid input for field/attribute backup. Value: {}. 'volume_id' is a required property");
    r = await h.call('<member>', 'POST', p, { backup: { volume_id: randomUUID(), metadata: { a: 'b' } } }, '3.42');
    assert.equal(r.statusCode, 400, 'metadata only from 3.43');
    r = await h.call('<member>', 'POST', p, { backup: { volume_id: randomUUID() } });
    assert.equal(r.statusCode, 404);
    const inUse = await h.volume({ status: 'in-use' });
    r = await h.call('<member>', 'POST', p, { backup: { volume_id: inUse } });
    assert.equal(r.statusCode, 400);
    assert.deepEqual(r.json(), { badRequest: { code: 400, message: 'Invalid volume: Backing up an in-use volume must use the force flag.' } });
    const vol = await h.volume();
    r = await h.call('<reader>', 'POST', p, { backup: { volume_id: vol } });
    assert.equal(r.statusCode, 403);
    assert.equal(faultMessage(r), "Policy doesn't allow backup:create to be performed.");
    r = await h.call('<other>', 'POST', `/v3/backups`, { backup: { volume_id: vol } });
    assert.equal(r.statusCode, 404, 'another project’s volume is not found');

    r = await h.call('<member>', 'POST', p, { backup: { volume_id: vol, name: 'b' } });
    const id = r.json().backup.id as string;
    await until('available', async () => (await statusOf(id)) === 'available');
    assert.equal((await h.call('<other>', 'GET', `/v3/backups/${id}`)).statusCode, 404);
    assert.equal((await h.call('<member>', 'PUT', `${p}/${id}`, { backup: { name: 'x' } }, '3.8')).statusCode, 404, 'update from 3.9');
    r = await h.call('<member>', 'PUT', `${p}/${id}`, { backup: { name: 'renamed', description: 'd' } }, '3.9');
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().backup.name, 'renamed');
    r = await h.call('<member>', 'PUT', `${p}/${id}`, { backup: { metadata: { a: 'b' } } }, '3.42');
    assert.equal(r.statusCode, 400, 'metadata updates from 3.43');
    r = await h.call('<member>', 'POST', `${p}/${id}/restore`, { restore: { volume_id: inUse } });
    assert.equal(r.statusCode, 400);
    assert.equal(faultMessage(r), 'Invalid volume: Volume to be restored to must be available');

    r = await h.call('<member>', 'POST', `${p}/${id}/action`, { 'os-reset_status': { status: 'error' } });
    assert.equal(r.statusCode, 403);
    assert.equal(faultMessage(r), "Policy doesn't allow volume_extension:backup_admin_actions:reset_status to be performed.");
    r = await h.call('<admin>', 'POST', `/v3/backups/${id}/action`, { 'os-reset_status': { status: 'creating' } });
    assert.equal(r.statusCode, 400);
    assert.equal(faultMessage(r), "Backup status: creating is invalid, valid statuses are: ['available', 'error'].");
    r = await h.call('<admin>', 'POST', `/v3/backups/${id}/action`, { 'os-reset_status': { status: 'error' } });
    assert.equal(r.statusCode, 202, r.body);
    assert.equal(await statusOf(id), 'error');
    r = await h.call('<member>', 'POST', `${p}/${id}/action`, { 'os-force_delete': {} });
    assert.equal(faultMessage(r), "Policy doesn't allow volume_extension:backup_admin_actions:force_delete to be performed.");
    r = await h.call('<admin>', 'POST', `/v3/backups/${id}/action`, { 'os-force_delete': {} });
    assert.equal(r.statusCode, 202, r.body);
    await until('force-deleted', async () => (await statusOf(id)) === 'gone');
  });

  test('lists: members’ filters, pages of osapi_max_limit, sort by name from 3.37, counts, all tenants', async () => {
    const p = `/v3/${OWNER_PROJECT}/backups`;
    const ids: string[] = [];
    for (const name of ['l-a', 'l-b', 'l-c']) {
      const r = await h.call('<member>', 'POST', p, { backup: { volume_id: await h.volume(), name } });
      ids.push(r.json().backup.id as string);
    }
    for (const id of ids) await until('available', async () => (await statusOf(id)) === 'available');
    let r = await h.call('<member>', 'GET', `${p}/detail?sort=name:asc&name=l-b`, undefined, '3.37');
    assert.deepEqual((r.json().backups as Json[]).map((b) => b.name), ['l-b']);
    r = await h.call('<member>', 'GET', `${p}?host=x`, undefined, '3.31');
    assert.equal(r.statusCode, 400);
    assert.equal(faultMessage(r), 'Invalid filters host are found in query options.');
    r = await h.call('<member>', 'GET', `${p}?host=x&all_tenants=1&status=available`, undefined, '3.30');
    assert.equal(r.statusCode, 200, 'before 3.31 members’ other filters are dropped');
    r = await h.call('<member>', 'GET', `${p}?sort=name:asc`, undefined, '3.36');
    assert.equal(r.statusCode, 400);
    r = await h.call('<member>', 'GET', `${p}?name~=l-`, undefined, '3.37');
    assert.equal(faultMessage(r), 'Invalid filters name~ are found in query options.', 'like filters are not configured for members');
    const first = (await h.call('<member>', 'GET', `${p}?sort=name:desc`, undefined, '3.37')).json();
    assert.deepEqual(Object.keys(first.backups[0] as Json).sort(), ['id', 'links', 'name']);
    r = await h.call('<admin>', 'GET', `/v3/backups?sort=name:desc&name~=l-&all_tenants=1`, undefined, '3.37');
    const page1 = r.json();
    assert.deepEqual((page1.backups as Json[]).map((b) => b.name), ['l-c', 'l-b']);
    assert.match(page1.backups_links[0].href as string, new RegExp(`/v3/${ADMIN_PROJECT}/backups\\?sort=name%3Adesc&name%7E=l-&all_tenants=1&marker=${ids[1]}$`));
    const page2 = (await h.call('<admin>', 'GET', `/v3/backups?sort=name:desc&name~=l-&all_tenants=1&marker=${ids[1]}`, undefined, '3.37')).json();
    assert.deepEqual((page2.backups as Json[]).map((b) => b.name), ['l-a']);
    const skipped = (await h.call('<admin>', 'GET', `/v3/backups?sort=name:desc&name~=l-&all_tenants=1&offset=1`, undefined, '3.37')).json();
    assert.deepEqual((skipped.backups as Json[]).map((b) => b.name), ['l-b', 'l-a']);
    assert.equal(faultMessage(await h.call('<member>', 'GET', `${p}?offset=-1`)), 'offset must be >= 0');
    const counted = (await h.call('<member>', 'GET', `${p}/detail?with_count=true&status=available`, undefined, '3.45')).json();
    assert.equal(counted.count, 3);
    assert.equal((counted.backups as Json[]).length, 2, 'a page, counted whole');
    assert.equal((await h.call('<admin>', 'GET', `/v3/backups?all_tenants=maybe`)).statusCode, 400);
    assert.deepEqual((await h.call('<admin>', 'GET', `/v3/backups`)).json().backups, [], 'an admin sees its own project without all_tenants');
  });
});

describe('who may call the backup routes: every persona on both mounts', { skip: noQemu }, () => {
  let h: Harness;
  const ids: Record<string, string> = {};
  const PROJECT_OF: Record<string, string> = { '<admin>': ADMIN_PROJECT, '<member>': OWNER_PROJECT, '<reader>': OWNER_PROJECT, '<other>': OTHER_PROJECT };
  const PERSONA_LIST = ['<admin>', '<member>', '<reader>', '<other>'] as const;
  const backup = async (status: string): Promise<string> => {
    const now = Date.now();
    const row: BackupTable = {
      id: randomUUID(), project_id: OWNER_PROJECT, user_id: 'u-member', volume_id: randomUUID(), snapshot_id: null, name: 'b', description: null, status, fail_reason: null,
      size: 1, object_count: 0, container: null, availability_zone: 'nova', host: 'host1', service: null, is_incremental: 0, parent_id: null, data_timestamp: now,
      restore_volume_id: null, encryption_key_id: null, task_owner: null, task_lease_until: null, created_at: now, updated_at: null, deleted: 0, deleted_at: null,
    };
    await insertBackup(h.database.db, row);
    return row.id;
  };
  before(async () => {
    // no workers: the rows stay as the cases need them
    h = await startHarness(1000, { workers: false });
    await reportService(h.database.db, { host: 'host1', binary: 'cinder-backup', topic: 'cinder-backup', availabilityZone: 'nova', nowMs: Date.now() });
    ids.available = await backup('available');
    ids.creating = await backup('creating');
    ids.volume = await h.volume({ status: 'error' });
  });
  after(async () => h?.close());

  interface Case {
    method: string;
    path: () => string;
    body?: () => unknown;
    version?: string;
    /** Status per persona: admin, member, reader, other. */
    expect: [number, number, number, number];
  }
  const cases: Case[] = [
    { method: 'GET', path: () => '/backups', expect: [200, 200, 200, 200] },
    { method: 'GET', path: () => '/backups/detail', expect: [200, 200, 200, 200] },
    { method: 'GET', path: () => `/backups/${ids.available}`, expect: [200, 200, 200, 404] },
    { method: 'PUT', path: () => `/backups/${ids.available}`, body: () => ({ backup: { name: 'n' } }), version: '3.9', expect: [200, 200, 403, 404] },
    // past policy, each refusal is Cinder's 400 (an error volume; a backup still being made)
    { method: 'POST', path: () => '/backups', body: () => ({ backup: { volume_id: ids.volume } }), expect: [400, 400, 403, 404] },
    { method: 'DELETE', path: () => `/backups/${ids.creating}`, expect: [400, 400, 403, 404] },
    { method: 'POST', path: () => `/backups/${ids.creating}/restore`, body: () => ({ restore: { volume_id: ids.volume } }), expect: [400, 400, 403, 404] },
    { method: 'POST', path: () => `/backups/${ids.creating}/action`, body: () => ({ 'os-reset_status': { status: 'creating' } }), expect: [400, 403, 403, 404] },
    { method: 'POST', path: () => `/backups/${ids.creating}/action`, body: () => ({ 'os-force_delete': {} }), expect: [202, 403, 403, 404] },
  ];
  for (const mount of ['project', 'bare'] as const) {
    test(`each persona’s answer, /v3/${mount === 'project' ? '<own project>/' : ''}...`, async () => {
      for (const c of cases) {
        for (const [i, persona] of PERSONA_LIST.entries()) {
          const url = mount === 'project' ? `/v3/${PROJECT_OF[persona]}${c.path()}` : `/v3${c.path()}`;
          const r = await h.call(persona, c.method, url, c.body?.(), c.version);
          assert.equal(r.statusCode, c.expect[i], `${persona} ${c.method} ${url}: ${r.body}`);
        }
      }
    });
  }
});
