// Snapshot routes through the HTTP frame (fastify inject, SQLite, the in-process bus, Cinder's
// default policies, mounted as plugin.ts mounts them): the recorded upstream exchanges of
// snapshots.json replayed, then what the recording does not show (microversion rules of force,
// filters per microversion, pages and counts, metadata errors, the actions, persona decisions).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Database } from '@alto/db';
import { manualClock, type ManualClock } from '@alto/kernel';
import { QuotaEngine } from '../domain/quotas.js';
import { SnapshotsService } from '../domain/snapshots.service.js';
import { insertVolume } from '../store/volume.repo.js';
import type { BlockStorageDB, VolumeTable } from '../store/schema.js';
import type { BlockStorageServices } from '../services.js';
import { volumeRow } from '../testing/volume-row.js';
import { ADMIN_PROJECT, OTHER_PROJECT, OWNER_PROJECT, caller, defaultTypeId, faultMessage, mountForTest, openTestStore, scrubTimes, testCore, testPolicy, type Call } from '../testing/route-harness.js';
import { VOLUME_TOPIC } from '../workers/topics.js';
import type { BlockStorageFrame } from './common.js';
import { snapshotRoutes } from './snapshots.js';

type Json = Record<string, any>;

const HOST = 'cinder-ref@fake#fake';

interface Harness {
  app: FastifyInstance;
  database: Database<BlockStorageDB>;
  clock: ManualClock;
  casts: { method: string; snapshotId: unknown }[];
  call: Call;
  volume(over?: Partial<VolumeTable>): Promise<string>;
  close(): Promise<void>;
}

async function startHarness(maxLimit = 1000): Promise<Harness> {
  const clock = manualClock(Date.UTC(2026, 10, 21, 10, 0, 0));
  const store = await openTestStore('alto-bs-snapshots-', clock);
  const { database, bus } = store;
  const casts: Harness['casts'] = [];
  await bus.serve({ topic: VOLUME_TOPIC, server: HOST }, {
    create_snapshot: (args) => void casts.push({ method: 'create_snapshot', snapshotId: args.snapshot_id }),
    delete_snapshot: (args) => void casts.push({ method: 'delete_snapshot', snapshotId: args.snapshot_id }),
  });
  const { authz, routes: enforcer } = testPolicy();
  const core = testCore(store, clock, authz, { osapiMaxLimit: maxLimit });
  const quotas = new QuotaEngine({ db: database.db, defaults: core.config.quotaDefaults, nowMs: () => clock.nowMs() });
  // only what these routes read
  const services = { snapshots: new SnapshotsService(core, quotas), quotas, authz } as unknown as BlockStorageServices;
  const frame: BlockStorageFrame = { services, maxLimit, publicEndpoint: 'http://cinder.test:8776' };
  const app = await mountForTest(snapshotRoutes(frame), { log: store.log, clock, enforcer });
  const defaultType = await defaultTypeId(database);
  return {
    app,
    database,
    clock,
    casts,
    call: caller(app),
    volume: async (over = {}) => {
      const row = volumeRow({ project_id: OWNER_PROJECT, user_id: 'u-member', host: HOST, status: 'available', volume_type_id: defaultType, created_at: clock.nowMs(), ...over });
      await insertVolume(database.db, row);
      return row.id;
    },
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

interface Exchange {
  name: string;
  request?: { method: string; path: string; headers: Record<string, string>; body: unknown };
  response?: { status: number; body: unknown };
}
const recorded = JSON.parse(readFileSync(new URL('../../fixtures/upstream/snapshots.json', import.meta.url), 'utf8')) as Exchange[];
const body = (r: LightMyRequestResponse): Json => JSON.parse(r.body) as Json;

describe('snapshot routes', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  test('the recorded exchanges, replayed', async () => {
    const volumeId = await h.volume();
    const bind = new Map<string, string>([
      ['<project:owner>', OWNER_PROJECT],
      ['<project:admin>', ADMIN_PROJECT],
      ['<volume:sv>', volumeId],
      ['<user:owner-member>', 'u-member'],
    ]);
    const fill = (s: string) => [...bind].reduce((acc, [k, v]) => acc.replaceAll(k, v), s);
    const volumeExchange = (e: Exchange) => /volume/.test(e.request!.path.replace(/volume_id=/, '')) && !/\/snapshots/.test(e.request!.path);
    let replayed = 0;
    for (const e of recorded) {
      if (e.name === 'note') {
        // the worker's part: the snapshot becomes available
        if (/^s1: status after polling: available/.test((e as unknown as { note: string }).note)) {
          h.clock.advance(1000);
          await h.database.db.updateTable('snapshot').set({ status: 'available', progress: '100%', updated_at: h.clock.nowMs() }).where('id', '=', bind.get('<snapshot:s1>')!).execute();
        }
        if (/^s1 after delete: <404>/.test((e as unknown as { note: string }).note)) {
          await h.database.db.updateTable('snapshot').set({ deleted: 1, deleted_at: h.clock.nowMs(), status: 'deleted' }).where('id', '=', bind.get('<snapshot:s1>')!).execute();
        }
        continue;
      }
      // the volume exchanges (create from snapshot, cascade delete) belong to the volume routes
      if (volumeExchange(e)) continue;
      const req = e.request!;
      const res = await h.call(req.headers['X-Auth-Token']!, req.method, fill(req.path), req.body === null ? undefined : JSON.parse(fill(JSON.stringify(req.body))), req.headers['OpenStack-API-Version']?.replace('volume ', ''));
      assert.equal(res.statusCode, e.response!.status, `${e.name}: ${res.body}`);
      if (e.response!.body === null) continue;
      const ours = body(res);
      if (e.name === 'create snapshot (member)') bind.set('<snapshot:s1>', (ours.snapshot as Json).id as string);
      assert.deepEqual(scrubTimes(ours), JSON.parse(fill(JSON.stringify(e.response!.body))), e.name);
      replayed++;
    }
    assert.ok(replayed >= 12, `replayed ${replayed}`);
    for (let i = 0; i < 100 && h.casts.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(h.casts.filter((c) => c.snapshotId === bind.get('<snapshot:s1>')).map((c) => c.method), ['create_snapshot', 'delete_snapshot']);
  });

  test('force: in-use needs it below 3.66, from 3.66 false is refused and true ignored', async () => {
    const v = await h.volume({ status: 'in-use', attach_status: 'attached' });
    const create = (snapshot: Json, version?: string) => h.call('<member>', 'POST', '/v3/snapshots', { snapshot: { volume_id: v, ...snapshot } }, version);
    const plain = await create({});
    assert.equal(plain.statusCode, 400);
    assert.equal(faultMessage(plain), `Invalid volume: Volume ${v} status must be available, but current status is: in-use.`);
    assert.equal((await create({ force: 'true' })).statusCode, 202);
    assert.equal((await create({ force: 'maybe' })).statusCode, 400);
    assert.equal((await create({}, '3.66')).statusCode, 202);
    assert.equal((await create({ force: true }, '3.66')).statusCode, 202);
    const refused = await create({ force: false }, '3.66');
    assert.equal(refused.statusCode, 400);
    assert.match(faultMessage(refused), /^Since microversion 3\.66 the 'force' flag is invalid for this request\./);
    // the schema comes before the volume: a bad name on an unknown volume is a 400
    const bad = await h.call('<member>', 'POST', '/v3/snapshots', { snapshot: { volume_id: '00000000-0000-4000-8000-000000000404', colour: 'red' } });
    assert.equal(bad.statusCode, 400);
    assert.equal(faultMessage(bad), "Invalid input for field/attribute snapshot. Value: {'volume_id': '00000000-0000-4000-8000-000000000404', 'colour': 'red'}. Additional properties are not allowed ('colour' was unexpected)");
    const badId = await h.call('<member>', 'POST', '/v3/snapshots', { snapshot: { volume_id: 'abc' } });
    assert.equal(faultMessage(badId), "Invalid input for field/attribute volume_id. Value: abc. 'abc' is not valid under any of the given schemas");
    assert.equal(faultMessage(await h.call('<member>', 'POST', '/v3/snapshots', { snapshot: { volume_id: 5 } })), 'Invalid input for field/attribute volume_id. Value: 5. 5 is not valid under any of the given schemas');
    const badKeys = await create({ metadata: { 'b!': 'b', 'a!': 'x', ok: 'y' } });
    assert.equal(faultMessage(badKeys), "Invalid input for field/attribute metadata. Value: {'b!': 'b', 'a!': 'x', 'ok': 'y'}. 'a!', 'b!' do not match any of the regexes: '^[a-zA-Z0-9-_:. /]{1,255}$'");
    const nullVolume = await h.call('<member>', 'POST', '/v3/snapshots', { snapshot: { volume_id: null } });
    assert.equal(nullVolume.statusCode, 404, "Tempest's test_create_snapshot_without_passing_volume_id");
    assert.equal(faultMessage(nullVolume), 'Volume None could not be found.');
    const created = body(await create({ name: '  padded  ', metadata: { k: 'v' } }, '3.70')).snapshot as Json;
    assert.equal(created.name, 'padded');
    assert.deepEqual(created.metadata, { k: 'v' });
    assert.equal(created.consumes_quota, true);
    assert.equal(created['os-extended-snapshot-attributes:project_id'], undefined, 'the extension adds to show and detail only');
  });

  test('lists: pages with links, counts at 3.45, filters per microversion, all_tenants for admins', async () => {
    const p = await startHarness(6);
    try {
      const v1 = await p.volume();
      const v2 = await p.volume({ availability_zone: 'az2' });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        p.clock.advance(1000);
        const r = await p.call('<member>', 'POST', '/v3/snapshots', { snapshot: { volume_id: i < 2 ? v2 : v1, name: `snap-${i}`, metadata: { i: String(i % 2) } } });
        ids.push((body(r).snapshot as Json).id as string);
      }
      await p.call('<other>', 'POST', '/v3/snapshots', { snapshot: { volume_id: await p.volume({ project_id: OTHER_PROJECT, user_id: 'u-other' }) } });
      const first = body(await p.call('<member>', 'GET', `/v3/${OWNER_PROJECT}/snapshots?limit=2`));
      assert.deepEqual((first.snapshots as Json[]).map((s) => s.id), [ids[4], ids[3]]);
      assert.deepEqual(first.snapshots_links, [{ rel: 'next', href: `http://cinder.test:8776/v3/${OWNER_PROJECT}/snapshots?limit=2&marker=${ids[3]}` }]);
      const second = body(await p.call('<member>', 'GET', `/v3/${OWNER_PROJECT}/snapshots?limit=2&marker=${ids[3]}`));
      assert.deepEqual((second.snapshots as Json[]).map((s) => s.id), [ids[2], ids[1]]);
      // Tempest's test_snapshot_list_param_offset: offset counts from the first item (after the marker)
      assert.deepEqual((body(await p.call('<member>', 'GET', '/v3/snapshots?offset=2&limit=3')).snapshots as Json[]).map((s) => s.id), [ids[2], ids[1], ids[0]]);
      assert.deepEqual((body(await p.call('<member>', 'GET', `/v3/snapshots?offset=1&marker=${ids[3]}`)).snapshots as Json[]).map((s) => s.id), [ids[1], ids[0]]);
      assert.equal(faultMessage(await p.call('<member>', 'GET', '/v3/snapshots?offset=x')), 'offset must be an integer');
      assert.equal(faultMessage(await p.call('<member>', 'GET', '/v3/snapshots?offset=-1')), 'offset must be >= 0');
      assert.deepEqual(body(await p.call('<member>', 'GET', '/v3/snapshots?limit=0')), { snapshots: [] });
      // Cinder's wording is the bare 'limit param must be an integer' (api/common.ts parseLimit adds a prefix)
      assert.match(faultMessage(await p.call('<member>', 'GET', '/v3/snapshots?limit=x')), /limit param must be an integer$/);
      assert.deepEqual((body(await p.call('<member>', 'GET', '/v3/snapshots?sort_key=display_name&sort_dir=asc')).snapshots as Json[]).map((s) => s.name), ['snap-0', 'snap-1', 'snap-2', 'snap-3', 'snap-4']);
      const capped = body(await p.call('<member>', 'GET', '/v3/snapshots/detail?sort=display_name:asc&limit=3'));
      assert.deepEqual((capped.snapshots as Json[]).map((s) => s.name), ['snap-0', 'snap-1', 'snap-2']);
      assert.match((capped.snapshots_links as Json[])[0]!.href as string, /\/snapshots\/detail\?sort=display_name%3Aasc&limit=3&marker=/);
      const counted = body(await p.call('<member>', 'GET', '/v3/snapshots?with_count=true&limit=10', undefined, '3.45'));
      assert.equal(counted.count, 5);
      assert.equal((counted.snapshots as Json[]).length, 5, 'the limit is capped at osapi_max_limit (6)');
      assert.equal(counted.snapshots_links, undefined);
      assert.equal(body(await p.call('<member>', 'GET', '/v3/snapshots?with_count=true&limit=3', undefined, '3.44')).count, undefined);
      const last = body(await p.call('<member>', 'GET', `/v3/snapshots?with_count=true&limit=2&marker=${ids[1]}`, undefined, '3.45'));
      assert.equal((last.snapshots as Json[]).length, 1);
      assert.ok(last.snapshots_links, 'Cinder links onward when the count exceeds the limit, even from the last page');

      const names = async (q: string, version?: string, as = '<member>') => {
        const r = await p.call(as, 'GET', `/v3/snapshots?${q}`, undefined, version);
        assert.equal(r.statusCode, 200, r.body);
        return ((body(r).snapshots as Json[]).map((s) => s.name as string)).sort();
      };
      assert.deepEqual(await names(`volume_id=${v2}`), ['snap-0', 'snap-1']);
      assert.deepEqual(await names('name=snap-3'), ['snap-3']);
      assert.deepEqual(await names('status=creating&colour=red'), ['snap-0', 'snap-1', 'snap-2', 'snap-3', 'snap-4'], 'before 3.31 unknown keys are dropped');
      assert.deepEqual(await names('metadata={"i":"1"}'), ['snap-0', 'snap-1', 'snap-2', 'snap-3', 'snap-4'], 'metadata filters from 3.22');
      assert.deepEqual(await names("metadata={'i':'1'}", '3.22'), ['snap-1', 'snap-3']);
      assert.deepEqual(await names('availability_zone=az2', '3.31'), ['snap-0', 'snap-1']);
      const invalid = await p.call('<member>', 'GET', '/v3/snapshots?colour=red&size=1', undefined, '3.31');
      assert.equal(invalid.statusCode, 400);
      assert.equal(faultMessage(invalid), 'Invalid filters colour,size are found in query options.');
      assert.deepEqual(await names('all_tenants=1', '3.31'), ['snap-0', 'snap-1', 'snap-2', 'snap-3', 'snap-4'], "a member's all_tenants is ignored");
      assert.equal((await names('all_tenants=1', '3.31', '<admin>')).length, 6);
      assert.deepEqual(await names('all_tenants=1&name~=snap-4', '3.34', '<admin>'), ['snap-4']);
      assert.deepEqual(await names('all_tenants=1&colour=red', '3.31', '<admin>'), [], "an admin's unknown filter matches nothing");
      assert.deepEqual(await names('', undefined, '<admin>'), [], 'admins see their own project without all_tenants');
      const marker = await p.call('<member>', 'GET', '/v3/snapshots?marker=00000000-0000-4000-8000-000000000404');
      assert.equal(marker.statusCode, 404);
      assert.equal(faultMessage(marker), 'Snapshot 00000000-0000-4000-8000-000000000404 could not be found.');
      assert.equal(faultMessage(await p.call('<member>', 'GET', '/v3/snapshots?sort=colour:asc')), 'Invalid input received: Invalid sort key');
      // sort keys are model attributes: display_name always, name from 3.30, never description
      assert.equal(faultMessage(await p.call('<member>', 'GET', '/v3/snapshots?sort=name')), 'Invalid input received: Invalid sort key');
      assert.equal(faultMessage(await p.call('<member>', 'GET', '/v3/snapshots?sort=description', undefined, '3.30')), 'Invalid input received: Invalid sort key');
      assert.deepEqual(await names('sort=name:desc&limit=2', '3.30'), ['snap-3', 'snap-4']);
      assert.equal((await names('sort=display_description&limit=1')).length, 1);
      assert.equal(faultMessage(await p.call('<member>', 'GET', '/v3/snapshots?with_count=maybe', undefined, '3.45')), "Value 'maybe' for 'with_count' is not a boolean.");
      assert.equal(faultMessage(await p.call('<member>', 'GET', '/v3/snapshots?consumes_quota=maybe', undefined, '3.65')), "Value 'maybe' for 'use_quota' is not a boolean.");
      assert.deepEqual(await names('consumes_quota=false', '3.65'), []);
      assert.equal((await names('consumes_quota=true', '3.65')).length, 5);
      assert.deepEqual(await names('metadata=abc', '3.22'), [], 'a metadata filter that is not a dict matches nothing');
      assert.equal(faultMessage(await p.call('<member>', 'GET', '/v3/snapshots?with_count=true', undefined, '3.31')), 'Invalid filters with_count are found in query options.');
    } finally {
      await p.close();
    }
  });

  test('metadata: merge, replace, one key, and the errors upstream words', async () => {
    const v = await h.volume();
    const id = (body(await h.call('<member>', 'POST', '/v3/snapshots', { snapshot: { volume_id: v, metadata: { a: '1' } } })).snapshot as Json).id as string;
    const url = `/v3/snapshots/${id}/metadata`;
    assert.deepEqual(body(await h.call('<member>', 'POST', url, { metadata: { b: '2' } })), { metadata: { a: '1', b: '2' } });
    assert.deepEqual(body(await h.call('<member>', 'PUT', url, { metadata: { c: '3' } })), { metadata: { c: '3' } });
    assert.deepEqual(body(await h.call('<member>', 'PUT', `${url}/d`, { meta: { d: '4' } })), { meta: { d: '4' } });
    assert.deepEqual(body(await h.call('<member>', 'GET', `${url}/d`)), { meta: { d: '4' } });
    const del = await h.call('<member>', 'DELETE', `${url}/d`);
    assert.equal(del.statusCode, 200);
    const gone = await h.call('<member>', 'GET', `${url}/d`);
    assert.equal(gone.statusCode, 404);
    assert.equal(faultMessage(gone), `Snapshot ${id} has no metadata with key d.`);
    assert.equal(faultMessage(await h.call('<member>', 'DELETE', `${url}/d`)), `Snapshot ${id} has no metadata with key d.`);
    assert.equal(faultMessage(await h.call('<member>', 'PUT', `${url}/d`, { meta: { e: '5' } })), 'Request body and URI mismatch');
    assert.equal(faultMessage(await h.call('<member>', 'PUT', `${url}/d`, { meta: { d: '4', e: '5' } })), 'Request body contains too many items');
    assert.equal(faultMessage(await h.call('<member>', 'POST', url, { meta: { a: 'b' } })), "Missing required element 'metadata' in request body.");
    assert.equal(faultMessage(await h.call('<member>', 'POST', url, { metadata: { a: 1 } })), 'Invalid metadata: Invalid input received: Value for metadata key: a is not a string or unicode');
    const long = await h.call('<member>', 'POST', url, { metadata: { a: 'x'.repeat(256) } });
    assert.equal(long.statusCode, 413);
    assert.equal(faultMessage(long), 'Invalid metadata size: Metadata property key a value greater than 255 characters.');
    assert.deepEqual(body(await h.call('<member>', 'GET', url)), { metadata: { c: '3' } });
  });

  test('actions: reset status and force delete for admins, update_snapshot_status by the rules, dispatch errors first', async () => {
    const v = await h.volume();
    const id = (body(await h.call('<member>', 'POST', '/v3/snapshots', { snapshot: { volume_id: v } })).snapshot as Json).id as string;
    const act = (as: string, b: unknown, sid = id) => h.call(as, 'POST', `/v3/snapshots/${sid}/action`, b);
    const status = async () => (await h.database.db.selectFrom('snapshot').select(['status', 'progress']).where('id', '=', id).executeTakeFirstOrThrow());

    const colour = await act('<member>', { 'os-colour': null }, '00000000-0000-4000-8000-000000000404');
    assert.equal(colour.statusCode, 400, 'an unknown action is refused before the snapshot is looked up');
    assert.equal(faultMessage(colour), 'There is no such action: os-colour. Verify the request body and Content-Type header and try again.');
    assert.equal(faultMessage(await act('<member>', { 'os-reset_status': { status: 'error' }, 'os-force_delete': null })), 'Malformed request body');
    assert.equal(faultMessage(await act('<member>', { 'os-force_delete': null }, '00000000-0000-4000-8000-000000000404')), 'Snapshot 00000000-0000-4000-8000-000000000404 could not be found.');

    const denied = await act('<member>', { 'os-reset_status': { status: 'error' } });
    assert.equal(denied.statusCode, 403);
    assert.equal(faultMessage(denied), "Policy doesn't allow volume_extension:snapshot_admin_actions:reset_status to be performed.");
    assert.equal(faultMessage(await act('<member>', { 'os-force_delete': {} })), "Policy doesn't allow volume_extension:snapshot_admin_actions:force_delete to be performed.");
    const banana = await act('<admin>', { 'os-reset_status': { status: 'banana' } });
    assert.equal(banana.statusCode, 400);
    assert.equal(
      faultMessage(banana),
      "Snapshot status: banana is invalid, valid statuses are: ('error', 'available', 'creating', 'deleting', 'deleted', 'updating', 'error_deleting', 'unmanaging', 'backing-up', 'restoring').",
    );
    assert.equal(faultMessage(await act('<admin>', { 'os-reset_status': {} })), "Invalid input for field/attribute os-reset_status. Value: {}. 'status' is a required property");

    assert.equal((await act('<member>', { 'os-update_snapshot_status': { status: 'creating', progress: '40%' } })).statusCode, 202);
    assert.deepEqual(await status(), { status: 'creating', progress: '40%' });
    assert.equal(faultMessage(await act('<member>', { 'os-update_snapshot_status': { status: 'creating', progress: '140%' } })), 'Invalid input received: progress must be an integer percentage between 0 and 100');
    assert.equal(faultMessage(await act('<member>', { 'os-update_snapshot_status': { status: 'creating', progress: 'lots' } })), 'Invalid input received: progress must be an integer percentage');
    assert.equal(faultMessage(await act('<member>', { 'os-update_snapshot_status': { status: 'deleting' } })), 'Provided snapshot status deleting not allowed for snapshot with status creating.');
    assert.equal((await act('<admin>', { 'os-reset_status': { status: 'AVAILABLE' } })).statusCode, 202);
    assert.equal((await status()).status, 'available');
    assert.equal(faultMessage(await act('<member>', { 'os-update_snapshot_status': { status: 'error' } })), 'Snapshot status available not allowed for update_snapshot_status');

    assert.equal((await act('<admin>', { 'os-reset_status': { status: 'creating' } })).statusCode, 202);
    const stuck = await h.call('<member>', 'DELETE', `/v3/snapshots/${id}`);
    assert.equal(stuck.statusCode, 400);
    assert.equal(faultMessage(stuck), 'Invalid snapshot: Snapshot status must be available or error and must not be part of a group.');
    assert.equal((await act('<admin>', { 'os-force_delete': {} })).statusCode, 202);
    assert.equal((await status()).status, 'deleting');
  });

  test('personas: readers read, members of other projects see nothing, policy names in refusals', async () => {
    const v = await h.volume();
    const create = await h.call('<reader>', 'POST', '/v3/snapshots', { snapshot: { volume_id: v } });
    assert.equal(create.statusCode, 403);
    assert.equal(faultMessage(create), "Policy doesn't allow volume:create_snapshot to be performed.");
    assert.equal(faultMessage(await h.call('<other>', 'POST', '/v3/snapshots', { snapshot: { volume_id: v } })), `Volume ${v} could not be found.`);
    const id = (body(await h.call('<member>', 'POST', '/v3/snapshots', { snapshot: { volume_id: v, name: 'p' } })).snapshot as Json).id as string;
    const shown = body(await h.call('<reader>', 'GET', `/v3/${OWNER_PROJECT}/snapshots/${id}`)).snapshot as Json;
    assert.equal(shown['os-extended-snapshot-attributes:project_id'], OWNER_PROJECT);
    assert.equal((await h.call('<reader>', 'GET', `/v3/snapshots/${id}/metadata`)).statusCode, 200);
    assert.equal(faultMessage(await h.call('<reader>', 'PUT', `/v3/snapshots/${id}`, { snapshot: { name: 'x' } })), "Policy doesn't allow volume:update_snapshot to be performed.");
    assert.equal(faultMessage(await h.call('<reader>', 'DELETE', `/v3/snapshots/${id}`)), "Policy doesn't allow volume:delete_snapshot to be performed.");
    assert.equal(faultMessage(await h.call('<reader>', 'POST', `/v3/snapshots/${id}/metadata`, { metadata: {} })), "Policy doesn't allow volume:update_snapshot_metadata to be performed.");
    assert.equal(faultMessage(await h.call('<reader>', 'DELETE', `/v3/snapshots/${id}/metadata/k`)), "Policy doesn't allow volume:delete_snapshot_metadata to be performed.");
    for (const [method, url] of [['GET', `/v3/snapshots/${id}`], ['PUT', `/v3/snapshots/${id}`], ['DELETE', `/v3/snapshots/${id}`], ['GET', `/v3/snapshots/${id}/metadata`]] as const) {
      const r = await h.call('<other>', method, url, method === 'PUT' ? { snapshot: { name: 'x' } } : undefined);
      assert.equal(r.statusCode, 404, `${method} ${url}`);
      assert.equal(faultMessage(r), `Snapshot ${id} could not be found.`);
    }
    assert.equal(faultMessage(await h.call('<member>', 'GET', `/v3/${OTHER_PROJECT}/snapshots/${id}`)), 'Malformed request url');
    const admin = body(await h.call('<admin>', 'GET', `/v3/${ADMIN_PROJECT}/snapshots/${id}`, undefined, '3.41')).snapshot as Json;
    assert.equal(admin.user_id, 'u-member');
    const update = await h.call('<member>', 'PUT', `/v3/snapshots/${id}`, { snapshot: {} });
    assert.equal(update.statusCode, 400);
    assert.equal(faultMessage(update), 'Invalid input for field/attribute snapshot. Value: {}. {} is not valid under any of the given schemas');
    h.clock.advance(5000);
    const renamed = body(await h.call('<member>', 'PUT', `/v3/snapshots/${id}`, { snapshot: { display_name: 'q', display_description: 'dd' } })).snapshot as Json;
    assert.deepEqual([renamed.name, renamed.description, renamed.updated_at], ['q', 'dd', null], 'the answer shows updated_at as it was');
    assert.ok((body(await h.call('<member>', 'GET', `/v3/snapshots/${id}`)).snapshot as Json).updated_at);
  });
});
