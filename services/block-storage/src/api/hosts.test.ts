// os-hosts and /extensions through plugin.ts: the services as hosts (admin only), a volume host's
// usage per project counting every pool, and the served extensions with Cinder's names.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Value from 'typebox/value';
import { manualClock } from '@alto/kernel';
import { createMetricsRegistry } from '@alto/runtime';
import { BlockStorageSection, type BlockStorageConfig } from '../config.js';
import { createBlockStorage, type BlockStorageApi } from '../plugin.js';
import { reportService } from '../store/service.repo.js';
import { insertVolume } from '../store/volume.repo.js';
import { volumeRow } from '../testing/volume-row.js';
import { ADMIN_PROJECT as ADMIN, OWNER_PROJECT as OWNER, caller, faultMessage as fault, openTestStore, personaValidator as validator, type Call, type TestStore } from '../testing/route-harness.js';

describe('os-hosts and extensions', () => {
  let store: TestStore;
  let api: BlockStorageApi;
  let call: Call;
  const clock = manualClock(Date.UTC(2026, 10, 21, 10, 0, 0));

  before(async () => {
    const config = Value.Default(BlockStorageSection, {}) as BlockStorageConfig;
    store = await openTestStore('alto-hosts-', clock);
    api = await createBlockStorage({ config, database: store.database, bus: store.bus, validator, clock, log: store.log, metrics: createMetricsRegistry('hosts-test'), validateResponses: true });
    await api.app.ready();
    call = caller(api.app);
    const db = store.database.db;
    await reportService(db, { host: 'node1@file', binary: 'cinder-volume', topic: 'cinder-volume', availabilityZone: 'nova', nowMs: clock.nowMs() });
    await reportService(db, { host: 'node1', binary: 'cinder-scheduler', topic: 'cinder-scheduler', availabilityZone: 'nova', nowMs: clock.nowMs() - 120_000 });
    await insertVolume(db, volumeRow({ project_id: OWNER, host: 'node1@file#file', size: 2, status: 'available' }));
    await insertVolume(db, volumeRow({ project_id: OWNER, host: 'node1@file#file', size: 3, status: 'available' }));
    await insertVolume(db, volumeRow({ project_id: ADMIN, host: 'node1@file', size: 1, status: 'available' }));
    await insertVolume(db, volumeRow({ project_id: OWNER, host: 'node2@file#file', size: 7, status: 'available' }));
  });
  after(async () => {
    await api?.app.close();
    await store?.close();
  });

  test('lists every enabled service as a host, up or down by its last report; admin only', async () => {
    const r = await call('<admin>', 'GET', `/v3/${ADMIN}/os-hosts`);
    assert.equal(r.statusCode, 200, r.body);
    const hosts = r.json<{ hosts: Record<string, unknown>[] }>().hosts;
    assert.deepEqual(
      hosts.map((h) => [h.host_name, h.service, h['service-status'], h['service-state']]),
      [
        ['node1', 'cinder-scheduler', 'unavailable', 'enabled'],
        ['node1@file', 'cinder-volume', 'available', 'enabled'],
      ],
    );
    assert.equal(hosts[1]!['last-update'], '2026-11-21T10:00:00.000000');
    const member = await call('<member>', 'GET', `/v3/${OWNER}/os-hosts`);
    assert.equal(member.statusCode, 403);
    assert.equal(fault(member), "Policy doesn't allow volume_extension:hosts to be performed.");
  });

  test("a volume host's usage: the total, then each project, over all its pools", async () => {
    const r = await call('<admin>', 'GET', `/v3/${ADMIN}/os-hosts/node1@file`);
    assert.equal(r.statusCode, 200, r.body);
    const rows = r.json<{ host: { resource: Record<string, string> }[] }>().host.map((x) => x.resource);
    assert.deepEqual(rows[0], { host: 'node1@file', project: '(total)', volume_count: '3', total_volume_gb: '6', snapshot_count: '0', total_snapshot_gb: '0' });
    assert.deepEqual(rows.slice(1).map((x) => [x.project, x.volume_count, x.total_volume_gb]).sort(), [
      [ADMIN, '1', '1'],
      [OWNER, '2', '5'],
    ]);
    const missing = await call('<admin>', 'GET', `/v3/${ADMIN}/os-hosts/node9@file`);
    assert.equal(missing.statusCode, 404);
    assert.equal(fault(missing), 'Host node9@file could not be found.');
  });

  test('the extensions list names Hosts and what else is served; one by alias', async () => {
    const r = await call('<member>', 'GET', `/v3/${OWNER}/extensions`);
    assert.equal(r.statusCode, 200);
    const names = r.json<{ extensions: { name: string; alias: string }[] }>().extensions.map((e) => e.name);
    assert.ok(names.includes('Hosts') && names.includes('VolumeTransfer') && names.includes('Backups'), names.join(' '));
    const one = await call('<member>', 'GET', `/v3/${OWNER}/extensions/os-hosts`);
    assert.equal(one.json<{ extension: { name: string } }>().extension.name, 'Hosts');
    assert.equal((await call('<member>', 'GET', `/v3/${OWNER}/extensions/nope`)).statusCode, 404);
  });
});
