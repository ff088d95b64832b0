// os-services, availability zones, scheduler pools and backend capabilities through the HTTP frame
// (SQLite, manual clock, static tokens): the recorded upstream exchanges replayed over service
// rows like the recording's, then states, host matching, zones of disabled services, pool filters.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PROJECT, OWNER_PROJECT, fixture, scrubTimes, startAdminHarness, substitute, faultMessage, type AdminHarness } from '../testing/admin-harness.js';

type Json = Record<string, any>;

const MAP = { '<project:admin>': ADMIN_PROJECT, '<project:owner>': OWNER_PROJECT };
/** The fake driver's report in the recording (the host manager adds pool_name, allocation and timestamp). */
const FAKE_CAPS = {
  total_capacity_gb: 'infinite',
  free_capacity_gb: 'infinite',
  provisioned_capacity_gb: 0,
  reserved_percentage: 100,
  QoS_support: false,
  filter_function: null,
  goodness_function: null,
  consistencygroup_support: false,
  replication_enabled: true,
  group_replication_enabled: true,
  volume_backend_name: 'fake',
  storage_protocol: 'fake',
  vendor_name: 'Open Source',
  driver_version: '3.0.0',
};

async function recordedServices(h: AdminHarness) {
  await h.service({ host: 'cinder-ref', binary: 'cinder-scheduler', topic: 'cinder-scheduler' });
  h.clock.advance(1);
  await h.service({ host: 'cinder-ref@fake', capabilities: JSON.stringify(FAKE_CAPS) });
}

describe('os-services and friends: the upstream recording', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness();
    await recordedServices(h);
  });
  after(async () => h?.close());

  for (const file of ['services.json', 'availability-zones.json']) {
    test(`${file} replays`, async () => {
      for (const ex of substitute(fixture(file), MAP)) {
        const version = ex.request.headers['OpenStack-API-Version']?.replace('volume ', '');
        const r = await h.call(ex.request.headers['X-Auth-Token']!, ex.request.method, ex.request.path, ex.request.body ?? undefined, version);
        assert.equal(r.statusCode, ex.response.status, `${ex.name}: ${r.body}`);
        assert.deepEqual(scrubTimes(r.json()), ex.response.body, ex.name);
      }
    });
  }
});

describe('os-services beyond the recording', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness();
    await recordedServices(h);
    await h.service({ host: 'other@lvm', availability_zone: 'az2', capabilities: JSON.stringify({ volume_backend_name: 'lvm', storage_protocol: ['iSCSI', 'iscsi'], total_capacity_gb: 100, free_capacity_gb: 50, thin_provisioning_support: true }) });
  });
  after(async () => h?.close());

  const list = async (q = '', v?: string) => (await h.call('<admin>', 'GET', `/v3/os-services${q}`, undefined, v)).json().services as Json[];

  test('host filters match as Cinder matches hosts: a host covers its backends, a backend only itself', async () => {
    assert.deepEqual((await list('?host=cinder-ref')).map((s) => s.host), ['cinder-ref', 'cinder-ref@fake']);
    assert.deepEqual((await list('?host=cinder-ref@fake')).map((s) => s.host), ['cinder-ref@fake']);
    assert.deepEqual((await list('?host=cinder')).map((s) => s.host), []);
    assert.deepEqual((await list('?binary=cinder-scheduler&host=cinder-ref')).map((s) => s.binary), ['cinder-scheduler']);
  });

  test('a service not heard from for service_down_time is down, and the scheduler no longer has its backend', async () => {
    h.clock.advance(61_000);
    await h.database.db.updateTable('service').set({ updated_at: h.clock.nowMs() }).where('host', '!=', 'other@lvm').execute();
    const svcs = await list('', '3.49');
    const lvm = svcs.find((s) => s.host === 'other@lvm')!;
    assert.deepEqual([lvm.state, lvm.backend_state], ['down', null]);
    assert.deepEqual(svcs.find((s) => s.host === 'cinder-ref@fake')!.backend_state, 'up');
    assert.equal('backend_state' in svcs.find((s) => s.binary === 'cinder-scheduler')!, false);
    const pools = (await h.call('<admin>', 'GET', '/v3/scheduler-stats/get_pools')).json().pools as Json[];
    assert.deepEqual(pools, [{ name: 'cinder-ref@fake#fake' }]);
    // the zone of a down service is still listed
    assert.deepEqual((await h.call('<member>', 'GET', '/v3/os-availability-zone')).json().availabilityZoneInfo.map((z: Json) => z.zoneName), ['nova', 'az2']);
    await h.database.db.updateTable('service').set({ updated_at: h.clock.nowMs() }).execute();
  });

  test('disabling: the zone of only disabled services is unavailable, the pool leaves, the reason stays until replaced', async () => {
    let r = await h.call('<admin>', 'PUT', '/v3/os-services/disable-log-reason', { host: 'other@lvm', binary: 'cinder-volume', disabled_reason: 'disk swap' });
    assert.equal(r.statusCode, 200);
    const zones = (await h.call('<member>', 'GET', '/v3/os-availability-zone')).json().availabilityZoneInfo as Json[];
    assert.deepEqual(zones, [
      { zoneName: 'nova', zoneState: { available: true } },
      { zoneName: 'az2', zoneState: { available: false } },
    ]);
    assert.deepEqual((await h.call('<admin>', 'GET', '/v3/scheduler-stats/get_pools')).json().pools, [{ name: 'cinder-ref@fake#fake' }]);
    r = await h.call('<admin>', 'PUT', '/v3/os-services/enable', { host: 'other@lvm', service: 'cinder-volume' });
    assert.deepEqual(r.json(), { disabled: false, host: 'other@lvm', service: 'cinder-volume', binary: '', status: 'enabled' });
    const lvm = (await list('?host=other@lvm'))[0]!;
    assert.deepEqual([lvm.status, lvm.disabled_reason], ['enabled', 'disk swap']);
  });

  test('a frozen backend leaves the pools until thawed; freezing twice is refused', async () => {
    assert.equal((await h.call('<admin>', 'PUT', '/v3/os-services/freeze', { host: 'other' })).statusCode, 200);
    assert.equal((await list('?host=other@lvm'))[0]!.frozen, true);
    assert.deepEqual(((await h.call('<admin>', 'GET', '/v3/scheduler-stats/get_pools')).json().pools as Json[]).map((p) => p.name), ['cinder-ref@fake#fake']);
    assert.equal(faultMessage(await h.call('<admin>', 'PUT', '/v3/os-services/freeze', { host: 'other@lvm' })), "Invalid input received: frozen in ['other@lvm'] must be False to failover.");
    assert.equal((await h.call('<admin>', 'PUT', '/v3/os-services/thaw', { host: 'other@lvm' })).statusCode, 200);
    assert.equal((await list('?host=other@lvm'))[0]!.frozen, false);
  });

  test('bad requests and unknown services', async () => {
    const cases: [string, unknown, number, string][] = [
      ['enable', { host: 'nowhere', binary: 'cinder-volume' }, 404, 'Service cinder-volume could not be found on host nowhere.'],
      ['enable', { binary: 'cinder-volume' }, 400, 'Invalid input received: Host field is missing.'],
      ['enable', { host: 'other@lvm' }, 400, "{'host': 'other@lvm'} is not valid under any of the given schemas"],
      ['disable', { host: 'other@lvm', binary: 'cinder-volume', disabled_reason: 'x' }, 400, "Additional properties are not allowed ('disabled_reason' was unexpected)"],
      ['failover_host', { host: 'other@lvm' }, 400, 'Invalid input received: Unknown action'],
      ['freeze', { host: 'invalid_host' }, 400, 'Invalid input received: No service found with host=invalid_host'],
      ['thaw', { host: 'other@lvm' }, 400, "Invalid input received: frozen in ['other@lvm'] must be True to failover."],
      ['freeze', {}, 400, 'Invalid input received: Host field is missing.'],
      ['disable-log-reason', { host: 'other@lvm', binary: 'cinder-volume', disabled_reason: null }, 400, "Invalid input for field/attribute disabled_reason. Value: None. None is not of type 'string'"],
    ];
    for (const [action, body, status, m] of cases) {
      const r = await h.call('<admin>', 'PUT', `/v3/os-services/${action}`, body);
      assert.equal(r.statusCode, status, `${action} ${JSON.stringify(body)}: ${r.body}`);
      assert.equal(faultMessage(r), m);
    }
    assert.equal(faultMessage(await h.call('<member>', 'PUT', '/v3/os-services/enable', { host: 'other@lvm', binary: 'cinder-volume' })), "Policy doesn't allow volume_extension:services:update to be performed.");
  });
});

describe('scheduler pools and capabilities', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness();
    await recordedServices(h);
    await h.service({ host: 'other@lvm', capabilities: JSON.stringify({ volume_backend_name: 'lvm', storage_protocol: ['iSCSI', 'iscsi'], total_capacity_gb: 100, free_capacity_gb: 50, thin_provisioning_support: true }) });
    const now = Date.now() + 60_000;
    await h.database.db.insertInto('volume_type').values({ id: '7b0c1e9e-0f6a-4d4e-9c55-3c3f7f0a0001', name: 'thin', description: null, is_public: 1, qos_specs_id: null, created_at: now, updated_at: null, deleted: 0, deleted_at: null }).execute();
    await h.database.db.insertInto('volume_type_extra_spec').values({ volume_type_id: '7b0c1e9e-0f6a-4d4e-9c55-3c3f7f0a0001', key: 'thin_provisioning_support', value: '<is> True' }).execute();
  });
  after(async () => h?.close());

  const pools = async (q: string, v?: string) => h.call('<admin>', 'GET', `/v3/scheduler-stats/get_pools${q}`, undefined, v);
  const names = async (q: string, v?: string) => ((await pools(q, v)).json().pools as Json[]).map((p) => p.name);

  test('the recorded detail and capabilities answers', async () => {
    for (const ex of substitute(fixture('services.json'), MAP).filter((e) => /get_pools|capabilities/.test(e.request.path))) {
      const r = await h.call('<admin>', 'GET', ex.request.path);
      assert.equal(r.statusCode, 200, r.body);
      const body = scrubTimes(r.json()) as Json;
      if (body.pools) body.pools = (body.pools as Json[]).filter((p) => p.name === 'cinder-ref@fake#fake');
      assert.deepEqual(body, ex.response.body, ex.name);
    }
  });

  test('filters: none before 3.28, any capability from 3.28, only name and volume_type from 3.31, volume_type from 3.35', async () => {
    assert.deepEqual(await names('?name=other@lvm%23lvm'), ['cinder-ref@fake#fake', 'other@lvm#lvm']);
    assert.deepEqual(await names('?name=other@lvm%23lvm', '3.28'), ['other@lvm#lvm']);
    assert.deepEqual(await names('?volume_backend_name=lvm', '3.28'), ['other@lvm#lvm']);
    assert.deepEqual(await names('?replication_enabled=true', '3.28'), ['cinder-ref@fake#fake']);
    assert.deepEqual(await names('?total_capacity_gb=100', '3.30'), ['other@lvm#lvm']);
    const r = await pools('?storage_protocol=iSCSI', '3.31');
    assert.equal(r.statusCode, 400);
    assert.equal(faultMessage(r), 'Invalid filters storage_protocol are found in query options.');
    assert.deepEqual(await names('?volume_type=thin', '3.34'), ['cinder-ref@fake#fake', 'other@lvm#lvm']);
    assert.deepEqual(await names('?volume_type=thin', '3.35'), ['other@lvm#lvm']);
    assert.deepEqual(await names('?volume_type=7b0c1e9e-0f6a-4d4e-9c55-3c3f7f0a0001', '3.35'), ['other@lvm#lvm']);
    assert.equal(faultMessage(await pools('?volume_type=gold', '3.35')), 'Volume type with name gold could not be found.');
    const detail = ((await pools('?detail=true&name=other@lvm%23lvm', '3.28')).json().pools as Json[])[0]!;
    assert.deepEqual([detail.capabilities.storage_protocol, detail.capabilities.pool_name, detail.capabilities.allocated_capacity_gb], ['iSCSI', 'lvm', 0]);
    assert.equal(faultMessage(await pools('?detail=maybe')), "Value 'maybe' for 'detail' is not a boolean.");
  });

  test('capabilities: any host form of a volume service; unknown is 404; admins only', async () => {
    const r = await h.call('<admin>', 'GET', '/v3/capabilities/other');
    assert.equal(r.statusCode, 200);
    assert.deepEqual([r.json().namespace, r.json().storage_protocol, r.json().pool_name], ['OS::Storage::Capabilities::other@lvm', 'iSCSI', null]);
    assert.equal(faultMessage(await h.call('<admin>', 'GET', '/v3/capabilities/nowhere')), "Can't find service: nowhere");
    assert.equal(faultMessage(await h.call('<member>', 'GET', '/v3/capabilities/other@lvm')), "Policy doesn't allow volume_extension:capabilities to be performed.");
    assert.equal((await h.call('<member>', 'GET', '/v3/scheduler-stats/get_pools')).statusCode, 403);
  });
});
