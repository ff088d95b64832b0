// os-quota-sets, os-quota-class-sets and /limits through the HTTP frame (SQLite, static tokens):
// the recorded upstream exchanges replayed (usage set directly where the recording created
// volumes), then what the recording does not show (per-type keys, the usage check's quirk,
// class updates and their wording, 3.39's project_id, the personas).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PROJECT, OTHER_PROJECT, OWNER_PROJECT, fixture, startAdminHarness, substitute, faultMessage, type AdminHarness } from '../testing/admin-harness.js';

type Json = Record<string, any>;

const MAP = {
  '<project:quota>': OWNER_PROJECT,
  '<project:admin>': ADMIN_PROJECT,
  '<project:other>': OTHER_PROJECT,
  '<project:owner>': OWNER_PROJECT,
  '<quota>': '<member>',
};

describe('os-quota-sets and limits: the upstream recording', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness();
  });
  after(async () => h?.close());

  test('limits.json replays', async () => {
    for (const ex of substitute(fixture('limits.json'), MAP)) {
      const r = await h.call(ex.request.headers['X-Auth-Token']!, 'GET', ex.request.path, undefined, ex.request.headers['OpenStack-API-Version']?.replace('volume ', ''));
      assert.equal(r.statusCode, 200, ex.name);
      assert.deepEqual(r.json(), ex.response.body, ex.name);
    }
  });
  test('quota-sets.json replays', async () => {
    for (const ex of substitute(fixture('quota-sets.json'), MAP)) {
      if (ex.note) continue;
      if (!/os-quota/.test(ex.request.path)) {
        // the volume and snapshot calls belong to other routes: their effect on usage is set directly
        if (ex.name === 'create 1 (within quota)') for (const r of ['volumes', 'gigabytes', 'volumes___DEFAULT__', 'gigabytes___DEFAULT__']) await h.usage(OWNER_PROJECT, r, 1);
        continue;
      }
      const token = ex.request.headers['X-Auth-Token']!;
      const r = await h.call(token, ex.request.method, ex.request.path, ex.request.body ?? undefined);
      assert.equal(r.statusCode, ex.response.status, `${ex.name}: ${r.body}`);
      if (ex.response.body === null) assert.equal(r.body, '', ex.name);
      else {
        assert.deepEqual(r.json(), ex.response.body, ex.name);
        // Cinder's key order, which `openstack quota show` prints as is
        assert.deepEqual(Object.keys(Object.values(r.json<Json>())[0] as Json), Object.keys(Object.values(ex.response.body as Json)[0] as Json), ex.name);
      }
    }
  });

});

describe('os-quota-sets beyond the recording', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness();
  });
  after(async () => h?.close());

  const put = (project: string, body: unknown, as = '<admin>') => h.call(as, 'PUT', `/v3/os-quota-sets/${project}`, body);

  test('every live type adds its three keys, defaulting to -1; a deleted type takes them away', async () => {
    // after the migration's __DEFAULT__, whenever that was made
    await h.database.db.insertInto('volume_type').values({ id: 't-gold', name: 'gold', description: null, is_public: 0, qos_specs_id: null, created_at: Date.now() + 60_000, updated_at: null, deleted: 0, deleted_at: null }).execute();
    let set = (await h.call('<member>', 'GET', `/v3/os-quota-sets/${OWNER_PROJECT}`)).json().quota_set as Json;
    assert.deepEqual(Object.keys(set).slice(6, 12), ['volumes___DEFAULT__', 'gigabytes___DEFAULT__', 'snapshots___DEFAULT__', 'volumes_gold', 'gigabytes_gold', 'snapshots_gold']);
    assert.equal(set.volumes_gold, -1);
    const r = await put(OWNER_PROJECT, { quota_set: { volumes_gold: 2 } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().quota_set.volumes_gold, 2);
    await h.database.db.updateTable('volume_type').set({ deleted: 1 }).where('id', '=', 't-gold').execute();
    set = (await h.call('<member>', 'GET', `/v3/os-quota-sets/${OWNER_PROJECT}`)).json().quota_set as Json;
    assert.equal('volumes_gold' in set, false);
    assert.equal((await put(OWNER_PROJECT, { quota_set: { volumes_gold: 2 } })).statusCode, 400);
  });

  test('values: strings of digits count, -1 is unlimited, others are refused in oslo wording', async () => {
    assert.equal((await put(OTHER_PROJECT, { quota_set: { volumes: '7', snapshots: -1, id: 'ignored' } })).json().quota_set.volumes, 7);
    const cases: [unknown, string][] = [
      ['x', 'volumes must be an integer'],
      [1.5, 'volumes must be an integer'],
      [true, 'volumes must be an integer'],
      [2147483648, 'volumes must be <= 2147483647'],
    ];
    for (const [v, m] of cases) {
      const r = await put(OTHER_PROJECT, { quota_set: { volumes: v } });
      assert.equal(r.statusCode, 400);
      assert.equal(faultMessage(r), m);
    }
    // bad keys are all named, after every value passed
    assert.equal(faultMessage(await put(OTHER_PROJECT, { quota_set: { colour: 1, volumes: 3, size: 2 } })), 'Invalid input received: Bad key(s) in quota set: colour, size');
    assert.equal(faultMessage(await put(OTHER_PROJECT, { quota_set: {} })), 'Invalid input for field/attribute quota_set. Value: {}. {} does not have enough properties');
    assert.equal(faultMessage(await put(OTHER_PROJECT, { quota: { volumes: 1 } })), "'quota_set' is a required property");
    assert.equal(faultMessage(await put(OTHER_PROJECT, { quota_set: { volumes: 1 }, x: 1 })), "Additional properties are not allowed ('x' was unexpected)");
    // nothing was half written
    assert.equal((await h.call('<admin>', 'GET', `/v3/os-quota-sets/${OTHER_PROJECT}`)).json().quota_set.volumes, 7);
  });

  test('the usage check applies only where the project already has its own limit (Cinder does the same)', async () => {
    const p = 'd3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3';
    await h.usage(p, 'gigabytes', 5, 2);
    assert.equal((await put(p, { quota_set: { gigabytes: 1 } })).statusCode, 200);
    const r = await put(p, { quota_set: { gigabytes: 6 } });
    assert.equal(r.statusCode, 400);
    assert.equal(faultMessage(r), 'Quota gigabytes limit must be equal or greater than existing resources. Current usage is 7 and the requested limit is 6.');
    assert.equal((await put(p, { quota_set: { gigabytes: 7 } })).statusCode, 200);
    assert.equal((await put(p, { quota_set: { gigabytes: -1 } })).statusCode, 200);
    const usage = (await h.call('<admin>', 'GET', `/v3/os-quota-sets/${p}?usage=true`)).json().quota_set as Json;
    assert.deepEqual(usage.gigabytes, { limit: -1, in_use: 5, reserved: 2 });
    assert.equal((await h.call('<admin>', 'GET', `/v3/os-quota-sets/${p}?usage=maybe`)).json().badRequest.message, "Value 'maybe' for 'usage' is not a boolean.");
  });

  test('personas: readers see their own project, nobody else\'s; only admins change or reset', async () => {
    assert.equal((await h.call('<reader>', 'GET', `/v3/os-quota-sets/${OWNER_PROJECT}`)).statusCode, 200);
    assert.equal((await h.call('<reader>', 'GET', `/v3/os-quota-sets/${OWNER_PROJECT}/defaults`)).statusCode, 200);
    assert.equal((await h.call('<other>', 'GET', `/v3/os-quota-sets/${OWNER_PROJECT}/defaults`)).statusCode, 403);
    assert.equal(faultMessage(await h.call('<member>', 'DELETE', `/v3/os-quota-sets/${OWNER_PROJECT}`)), "Policy doesn't allow volume_extension:quotas:delete to be performed.");
    assert.equal(faultMessage(await h.call('<member>', 'GET', '/v3/os-quota-class-sets/default')), "Policy doesn't allow volume_extension:quota_classes:get to be performed.");
    assert.equal((await h.call('<member>', 'PUT', '/v3/os-quota-class-sets/default', { quota_class_set: { volumes: 1 } })).statusCode, 403);
    // the project in the URL must be the token's, for admins too
    assert.equal((await h.call('<admin>', 'GET', `/v3/${OWNER_PROJECT}/os-quota-sets/${OWNER_PROJECT}`)).statusCode, 400);
  });

  test('quota classes: the default class changes every project without its own limits', async () => {
    const p = 'e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4';
    const r = await h.call('<admin>', 'PUT', '/v3/os-quota-class-sets/default', { quota_class_set: { volumes: 20, gigabytes: '500', volumes___DEFAULT__: 4 } });
    assert.equal(r.statusCode, 200, r.body);
    const cls = r.json().quota_class_set as Json;
    assert.equal('id' in cls, false);
    assert.deepEqual([cls.volumes, cls.gigabytes, cls.volumes___DEFAULT__, cls.snapshots], [20, 500, 4, 10]);
    const set = (await h.call('<admin>', 'GET', `/v3/os-quota-sets/${p}`)).json().quota_set as Json;
    assert.deepEqual([set.volumes, set.gigabytes, set.volumes___DEFAULT__], [20, 500, 4]);
    assert.equal((await h.call('<admin>', 'GET', `/v3/os-quota-sets/${p}/defaults`)).json().quota_set.volumes, 20);
    // another class falls back to the default class, then to cinder.conf
    await h.call('<admin>', 'PUT', '/v3/os-quota-class-sets/gold', { quota_class_set: { snapshots: 50 } });
    const gold = (await h.call('<admin>', 'GET', '/v3/os-quota-class-sets/gold')).json().quota_class_set as Json;
    assert.deepEqual([gold.id, gold.snapshots, gold.volumes, gold.backups], ['gold', 50, 20, 10]);
    const bad: [unknown, string][] = [
      [{ colour: 1 }, 'Invalid input received: Bad key(s) in quota class set: colour'],
      [{ volumes: -2 }, 'Invalid input for field/attribute volumes. Value: -2. -2 is less than the minimum of -1'],
      [{ volumes: '-1' }, "Invalid input for field/attribute volumes. Value: -1. '-1' does not match '^[0-9]*$'"],
      [{ volumes: 1.5 }, "Invalid input for field/attribute volumes. Value: 1.5. 1.5 is not of type 'integer', 'string'"],
    ];
    for (const [body, m] of bad) {
      const x = await h.call('<admin>', 'PUT', '/v3/os-quota-class-sets/default', { quota_class_set: body });
      assert.equal(x.statusCode, 400);
      assert.equal(faultMessage(x), m);
    }
  });
});

describe('limits beyond the recording', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness();
  });
  after(async () => h?.close());

  test('usage and limits are the project\'s; from 3.39 an admin may name another project, a member may not', async () => {
    await h.usage(OWNER_PROJECT, 'volumes', 3);
    await h.usage(OWNER_PROJECT, 'backup_gigabytes', 40);
    await h.call('<admin>', 'PUT', `/v3/os-quota-sets/${OWNER_PROJECT}`, { quota_set: { volumes: 4 } });
    const own = (await h.call('<member>', 'GET', '/v3/limits')).json().limits.absolute as Json;
    assert.deepEqual([own.maxTotalVolumes, own.totalVolumesUsed, own.totalBackupGigabytesUsed], [4, 3, 40]);
    const asAdmin = (v: string) => h.call('<admin>', 'GET', `/v3/limits?project_id=${OWNER_PROJECT}`, undefined, v);
    assert.equal((await asAdmin('3.38')).json().limits.absolute.totalVolumesUsed, 0);
    assert.equal((await asAdmin('3.39')).json().limits.absolute.totalVolumesUsed, 3);
    assert.equal((await h.call('<admin>', 'GET', `/v3/limits?tenant_id=${OWNER_PROJECT}`, undefined, '3.39')).json().limits.absolute.maxTotalVolumes, 4);
    assert.equal((await h.call('<other>', 'GET', `/v3/limits?project_id=${OWNER_PROJECT}`, undefined, '3.39')).json().limits.absolute.totalVolumesUsed, 0);
  });
});
