// The attachments API through the HTTP frame (fastify inject, SQLite, the in-process bus, a real
// file backend answering initialize/terminate_connection): the recorded exchanges of
// attachments.json, then what they do not show (create with a connector, 3.54 mode, multiattach,
// list filters, other projects, the compute check before a connected attachment is deleted).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { selectVolume } from '../store/volume.repo.js';
import { contextOf, startAttachHarness, type AttachHarness } from '../testing/attach-harness.js';

type Json = Record<string, any>;

const noQemu = spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0 ? 'qemu-img is not installed (Debian qemu-utils)' : false;

interface Exchange {
  name: string;
  request?: { body: unknown };
  response?: { status: number; body: unknown };
}
const recorded = JSON.parse(readFileSync(new URL('../../fixtures/upstream/attachments.json', import.meta.url), 'utf8')) as Exchange[];
const exchange = (name: string) => {
  const e = recorded.find((x) => x.name === name);
  assert.ok(e?.response, `no recorded exchange ${name}`);
  return e;
};

const SERVER = '00000000-0000-4000-8000-00000000a001';
const CONNECTOR = { initiator: 'iqn.1993-08.org.debian:01:cirec', ip: '127.0.0.1', platform: 'x86_64', host: 'cirec-host', os_type: 'linux', multipath: false, mountpoint: '/dev/vdb' };

describe('attachments', { skip: noQemu }, () => {
  let h: AttachHarness;
  const call = (as: string, method: string, path: string, body?: unknown, version = '3.27') => h.call(as, method, `/v3/${path}`, body, version);
  const json = (r: { body: string }) => JSON.parse(r.body) as Json;
  const volumeStatus = async (id: string) => {
    const v = (await selectVolume(h.database.db, id))!;
    return [v.status, v.attach_status];
  };

  before(async () => {
    h = await startAttachHarness();
  });
  after(async () => {
    await h.close();
  });

  test('the recorded sequence: reserve, list, show, connect, complete, refusals, delete', async () => {
    const vol = await h.volume();
    const bind = (v: unknown, ids: Record<string, string>) => {
      let s = JSON.stringify(v);
      for (const [k, x] of Object.entries(ids)) s = s.replaceAll(k, x);
      return JSON.parse(s) as unknown;
    };

    const created = await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: vol, instance_uuid: SERVER } });
    assert.equal(created.statusCode, 200, created.body);
    const att = json(created).attachment.id as string;
    const ids = { '<volume:att>': vol, '<attachment:1>': att };
    assert.deepEqual(json(created), bind(exchange('attachments at 3.27: create without connector (reserved)').response!.body, ids));
    assert.deepEqual(await volumeStatus(vol), ['reserved', 'detached']);
    assert.deepEqual(json(await call('<member>', 'GET', 'attachments')), bind(exchange('list attachments').response!.body, ids));
    assert.deepEqual(json(await call('<member>', 'GET', 'attachments/detail')), bind(exchange('list attachments detail').response!.body, ids));
    assert.deepEqual(json(await call('<member>', 'GET', `attachments/${att}`)), bind(exchange('show attachment').response!.body, ids));

    const updated = await call('<member>', 'PUT', `attachments/${att}`, { attachment: { connector: CONNECTOR } });
    assert.equal(updated.statusCode, 200, updated.body);
    const want = bind(exchange('update with connector').response!.body, ids) as Json;
    const got = json(updated);
    // the answer is the attachment as read before the worker connected it, plus the connection info
    assert.deepEqual({ ...got.attachment, connection_info: undefined }, { ...want.attachment, connection_info: undefined });
    const info = got.attachment.connection_info as Json;
    assert.deepEqual({ ...info, driver_volume_type: 'iscsi' }, { ...want.attachment.connection_info, device_path: info.device_path, export: info.export, name: `volume-${vol}`, format: 'raw' });
    assert.equal(info.driver_volume_type, 'file');
    assert.deepEqual(await volumeStatus(vol), ['attaching', 'attaching']);
    const shown = json(await call('<member>', 'GET', `attachments/${att}`)).attachment;
    assert.equal(shown.status, 'attaching');
    assert.equal(shown.attach_mode, 'rw');
    assert.match(shown.attached_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);

    assert.equal((await call('<member>', 'POST', `attachments/${att}/action`, { 'os-complete': null })).statusCode, 404, 'os-complete is 3.44');
    const completed = await call('<member>', 'POST', `attachments/${att}/action`, { 'os-complete': null }, '3.44');
    assert.equal(completed.statusCode, exchange('complete at 3.44').response!.status);
    assert.deepEqual(await volumeStatus(vol), ['in-use', 'attached']);
    const volume = json(await h.call('<member>', 'GET', `/v3/volumes/${vol}`)).volume;
    assert.equal(volume.status, 'in-use');
    assert.deepEqual(
      volume.attachments.map((a: Json) => [a.attachment_id, a.server_id, a.device]),
      [[att, SERVER, '/dev/vdb']],
    );
    assert.equal((await h.call('<member>', 'DELETE', `/v3/volumes/${vol}`)).statusCode, 400);

    const second = await call('<member>', 'POST', 'attachments', exchange('second attachment, not multiattach (400)').request!.body && { attachment: { volume_uuid: vol, instance_uuid: '00000000-0000-4000-8000-00000000a002' } });
    assert.equal(second.statusCode, 400);
    assert.deepEqual(json(second), bind(exchange('second attachment, not multiattach (400)').response!.body, ids));
    const unknown = await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: '00000000-0000-4000-8000-000000000404', instance_uuid: SERVER } });
    assert.deepEqual([unknown.statusCode, json(unknown)], [404, exchange('create for unknown volume (404)').response!.body]);

    // no compute service to ask here: the attachment is deleted as one Nova does not know
    const deleted = await call('<member>', 'DELETE', `attachments/${att}`);
    assert.deepEqual([deleted.statusCode, json(deleted)], [200, { attachments: [] }]);
    assert.deepEqual(await volumeStatus(vol), ['available', 'detached']);

    const vol2 = await h.volume();
    const reserved = await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: vol2 } });
    const att2 = json(reserved).attachment.id as string;
    assert.deepEqual(json(reserved), bind(exchange('create without instance_uuid').response!.body, { '<volume:att2>': vol2, '<attachment:2>': att2 }));
    assert.deepEqual(await volumeStatus(vol2), ['reserved', 'detached']);
    const gone = await call('<member>', 'DELETE', `attachments/${att2}`);
    assert.deepEqual(json(gone), exchange('delete attachment without instance').response!.body);
    assert.deepEqual(await volumeStatus(vol2), ['available', 'detached']);
    const missing = await call('<member>', 'GET', `attachments/${att2}`);
    assert.deepEqual([missing.statusCode, json(missing)], [404, bind(exchange('show deleted attachment').response!.body, { '<attachment:2>': att2 })]);
  });

  test('create with a connector connects at once; 3.54 mode; a readonly volume attaches ro; errors of update are 500', async () => {
    const vol = await h.volume();
    const r = await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: vol, instance_uuid: SERVER, connector: CONNECTOR } });
    assert.equal(r.statusCode, 200, r.body);
    const a = json(r).attachment;
    assert.equal(a.status, 'reserved');
    assert.equal(a.attach_mode, 'null');
    assert.equal(a.connection_info.driver_volume_type, 'file');
    assert.equal(a.connection_info.attachment_id, a.id);
    assert.deepEqual(await volumeStatus(vol), ['attaching', 'attaching']);

    const early = await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: vol, mode: 'ro' } });
    assert.equal(json(early).badRequest.message, "Invalid input for field/attribute attachment. Value: {'volume_uuid': '" + vol + "', 'mode': 'ro'}. Additional properties are not allowed ('mode' was unexpected)");
    const ro = await h.volume();
    const withMode = json(await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: ro, mode: 'ro' } }, '3.54')).attachment;
    assert.equal(withMode.attach_mode, 'ro');
    const flagged = await h.volume({ read_only: 1 });
    const fromFlag = json(await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: flagged, connector: CONNECTOR } }, '3.54')).attachment;
    assert.equal(fromFlag.attach_mode, 'ro');
    assert.equal(fromFlag.connection_info.access_mode, 'ro');

    const broken = await h.volume({ status: 'error' });
    const refused = await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: broken } });
    assert.equal(json(refused).badRequest.message, `Invalid volume: Volume attachments can not be created if the volume is in an error state. The Volume ${broken} currently has a status of: error `);
    // the same server may reserve again (a move to another host), but a second connected host on a volume that is not multiattach is refused
    const moving = await h.volume();
    const first = json(await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: moving, instance_uuid: SERVER } })).attachment;
    const other = json(await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: moving, instance_uuid: SERVER } })).attachment;
    assert.equal((await call('<member>', 'PUT', `attachments/${first.id as string}`, { attachment: { connector: CONNECTOR } })).statusCode, 200);
    const dup = await call('<member>', 'PUT', `attachments/${other.id as string}`, { attachment: { connector: { ...CONNECTOR, host: 'other-host' } } });
    assert.equal(dup.statusCode, 500);
    assert.equal(json(dup).computeFault.message, `Unable to update attachment.(Invalid volume: duplicate connectors detected on volume ${moving}).`);
    // the backend fails to connect: Cinder's 500, and the reservation stays
    const ghost = await h.volume({}, false);
    const failed = await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: ghost, connector: CONNECTOR } });
    assert.equal(failed.statusCode, 500);
    assert.match(json(failed).computeFault.message, /^Unable to create attachment for volume \(Bad or unexpected response from the storage volume backend API: Driver initialize connection failed/);
    assert.deepEqual(await volumeStatus(ghost), ['reserved', 'detached']);

    const empty = await call('<member>', 'PUT', `attachments/${other.id as string}`, { attachment: { connector: {} } });
    assert.equal(json(empty).badRequest.message, 'Invalid input for field/attribute connector. Value: {}. {} does not have enough properties');
  });

  test('multiattach volumes take several servers; lists filter and page; other projects see nothing; reader may not create', async () => {
    const vol = await h.volume({ multiattach: 1 });
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const r = await call('<member>', 'POST', 'attachments', { attachment: { volume_uuid: vol, instance_uuid: `00000000-0000-4000-8000-00000000d00${n}`, connector: { ...CONNECTOR, host: `h${n}` } } });
      assert.equal(r.statusCode, 200, r.body);
      ids.push(json(r).attachment.id as string);
      await call('<member>', 'POST', `attachments/${json(r).attachment.id as string}/action`, { 'os-complete': null }, '3.44');
    }
    assert.deepEqual(await volumeStatus(vol), ['in-use', 'attached']);
    const byVolume = json(await call('<member>', 'GET', `attachments?volume_id=${vol}&sort=created_at:asc`)).attachments.map((a: Json) => a.id);
    assert.deepEqual(byVolume, ids);
    const page = json(await call('<member>', 'GET', `attachments?volume_id=${vol}&sort=created_at:asc&limit=1&marker=${ids[0]!}`)).attachments.map((a: Json) => a.id);
    assert.deepEqual(page, [ids[1]]);
    assert.deepEqual(json(await call('<member>', 'GET', 'attachments?instance_id=00000000-0000-4000-8000-00000000d002')).attachments.map((a: Json) => a.id), [ids[1]]);
    assert.deepEqual(json(await call('<other>', 'GET', 'attachments')).attachments, []);
    assert.equal((await call('<other>', 'GET', `attachments/${ids[0]!}`)).statusCode, 404);
    assert.equal((await call('<other>', 'DELETE', `attachments/${ids[0]!}`)).statusCode, 404);
    assert.equal(json(await call('<admin>', 'GET', 'attachments?all_tenants=1')).attachments.length >= 3, true);
    assert.equal((await call('<reader>', 'POST', 'attachments', { attachment: { volume_uuid: vol } })).statusCode, 403);

    // deleting one of three leaves the volume in-use and answers the others
    const left = json(await call('<member>', 'DELETE', `attachments/${ids[0]!}`)).attachments.map((a: Json) => a.id);
    assert.deepEqual(left.sort(), [ids[1], ids[2]].sort());
    assert.deepEqual(await volumeStatus(vol), ['in-use', 'attached']);
    await call('<member>', 'DELETE', `attachments/${ids[1]!}`);
    await call('<member>', 'DELETE', `attachments/${ids[2]!}`);
    assert.deepEqual(await volumeStatus(vol), ['available', 'detached']);
  });
});

describe('attachments with a compute service to ask', { skip: noQemu }, () => {
  let h: AttachHarness;
  let using: string | null = null;
  before(async () => {
    h = await startAttachHarness({ serverAttachment: async () => using });
  });
  after(async () => {
    await h.close();
  });

  test('a user may not delete a connected attachment its server uses (409); a service may; unknown to Nova is deleted', async () => {
    const vol = await h.volume();
    const create = await h.call('<member>', 'POST', '/v3/attachments', { attachment: { volume_uuid: vol, instance_uuid: SERVER, connector: CONNECTOR } }, '3.27');
    const att = (JSON.parse(create.body) as Json).attachment.id as string;
    using = att;
    const row = await h.attachments.getOrThrow(contextOf('<member>'), att);
    await assert.rejects(h.attachments.delete(contextOf('<member>'), row), (err: unknown) => {
      assert.equal((err as Error).message, `Detach volume from instance ${SERVER} using the Compute API`);
      assert.equal((err as { kind?: string }).kind, 'conflict');
      return true;
    });
    if (h.mountedHere) {
      const refused = await h.call('<member>', 'DELETE', `/v3/attachments/${att}`, undefined, '3.27');
      assert.equal(refused.statusCode, 409);
      assert.equal((JSON.parse(refused.body) as Json).conflictingRequest.message, `Detach volume from instance ${SERVER} using the Compute API`);
    }
    // a service (Nova with its service token) may
    await h.attachments.deletionAllowed(contextOf('<member>', true), row);
    using = null;
    assert.deepEqual(await h.attachments.delete(contextOf('<member>'), row), []);
    assert.equal((await selectVolume(h.database.db, vol))!.status, 'available');
  });
});
