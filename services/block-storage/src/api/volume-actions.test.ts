// Volume actions through the HTTP frame (fastify inject, SQLite, the in-process bus, a real
// file backend answering the worker's connection RPCs): the recorded upstream answers of
// volume-actions.json, then what the recording does not show (quota on extend, 3.42 online
// extend, retype's backend check and quota move, the legacy attach/detach state machine).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { insertVolume, selectVolume } from '../store/volume.repo.js';
import { volumeRow } from '../testing/volume-row.js';
import { startAttachHarness, HOST, OWNER_PROJECT, type AttachHarness } from '../testing/attach-harness.js';

type Json = Record<string, any>;

const noQemu = spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0 ? 'qemu-img is not installed (Debian qemu-utils)' : false;

interface Exchange {
  name: string;
  response?: { status: number; body: unknown };
}
const recorded = JSON.parse(readFileSync(new URL('../../fixtures/upstream/volume-actions.json', import.meta.url), 'utf8')) as Exchange[];
/** The recorded answer of an exchange, with the volume placeholder bound to ours. */
function upstream(name: string, volumeId: string): { status: number; body: unknown } {
  const e = recorded.find((x) => x.name === name);
  assert.ok(e?.response, `no recorded exchange ${name}`);
  return JSON.parse(JSON.stringify(e.response).replaceAll('<volume:act>', volumeId)) as { status: number; body: unknown };
}

describe('volume actions', { skip: noQemu }, () => {
  let h: AttachHarness;
  const url = (id: string) => `/v3/volumes/${id}/action`;
  const act = (as: string, id: string, body: unknown, version?: string) => h.call(as, 'POST', url(id), body, version);
  const status = async (id: string) => (await selectVolume(h.database.db, id))!.status;
  const same = async (res: { statusCode: number; body: string }, name: string, id: string) => {
    const want = upstream(name, id);
    assert.equal(res.statusCode, want.status, res.body);
    if (want.body !== null) assert.deepEqual(JSON.parse(res.body), want.body);
  };

  before(async () => {
    h = await startAttachHarness({}, {
      'os-test_extra': { policy: 'volume:update', status: 200, handler: async ({ volumeId, body }) => ({ seen: volumeId, body: body as Json }) },
      // a contribution cannot take over a built-in action
      'os-reserve': { policy: 'volume:update', handler: async () => ({ hijacked: true }) },
    });
  });
  after(async () => {
    await h.close();
  });

  test('the recorded sequence: reserve, extend, bootable, reset, readonly, image metadata, dispatch errors', async () => {
    const id = await h.volume();
    await same(await act('<member>', id, { 'os-reserve': null }), 'os-reserve', id);
    assert.equal(await status(id), 'attaching');
    await same(await act('<member>', id, { 'os-reserve': null }), 'os-reserve again (400)', id);
    await same(await act('<member>', id, { 'os-unreserve': null }), 'os-unreserve', id);
    assert.equal(await status(id), 'available');

    await same(await act('<member>', id, { 'os-extend': { new_size: 2 } }), 'os-extend to 2', id);
    const extending = (await selectVolume(h.database.db, id))!;
    assert.equal(extending.status, 'extending');
    assert.equal(Number(extending.target_size), 2);
    for (let i = 0; i < 100 && !h.casts.some((c) => c.volumeId === id); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(h.casts.find((c) => c.volumeId === id), { method: 'extend_volume', volumeId: id });
    // the worker's part: it grows the volume and answers available
    await h.database.db.updateTable('volume').set({ status: 'available', size: 2, target_size: null }).where('id', '=', id).execute();

    await same(await act('<member>', id, { 'os-extend': { new_size: 1 } }), 'os-extend smaller (400)', id);
    await same(await act('<member>', id, { 'os-extend': { new_size: 'x' } }), 'os-extend new_size "x" (400)', id);
    await same(await act('<member>', id, { 'os-set_bootable': { bootable: true } }), 'os-set_bootable true', id);
    assert.equal((await selectVolume(h.database.db, id))!.bootable, 1);
    await same(await act('<member>', id, { 'os-set_bootable': { bootable: 'maybe' } }), 'os-set_bootable "maybe" (400)', id);
    await same(await act('<member>', id, { 'os-reset_status': { status: 'error' } }), 'os-reset_status (member: 403)', id);
    await same(await act('<admin>', id, { 'os-reset_status': { status: 'error' } }), 'os-reset_status error (admin)', id);
    assert.equal(await status(id), 'error');
    await same(await act('<admin>', id, { 'os-reset_status': { status: 'banana' } }), 'os-reset_status bad status (400)', id);
    await same(await act('<member>', id, { 'os-extend': { new_size: 3 } }), 'os-extend on error volume (400)', id);
    await same(await act('<admin>', id, { 'os-reset_status': { status: 'available' } }), 'os-reset_status available (admin)', id);
    await same(await act('<member>', id, { 'os-update_readonly_flag': { readonly: true } }), 'os-update_readonly_flag', id);
    assert.equal((await selectVolume(h.database.db, id))!.read_only, 1);
    await same(await act('<member>', id, { 'os-set_image_metadata': { metadata: { image_name: 'x' } } }), 'os-set_image_metadata', id);
    await same(await act('<member>', id, { 'os-show_image_metadata': null }), 'os-show_image_metadata', id);
    await same(await act('<member>', id, { 'os-force_delete': null }), 'os-force_delete (member: 403)', id);
    // a readonly volume attaches read-only or not at all
    await same(await act('<member>', id, { 'os-attach': { instance_uuid: '00000000-0000-4000-8000-00000000a003', mountpoint: '/dev/vdc' } }), 'os-attach (legacy)', id);
    assert.equal(await status(id), 'available');
    await same(await act('<member>', id, { 'os-detach': {} }), 'os-detach', id);
    await same(await act('<member>', id, { 'os-colour': null }), 'unknown action (400)', id);
    await same(await act('<member>', id, { 'os-reserve': null, 'os-unreserve': null }), 'two actions in one body', id);
    const missing = '00000000-0000-4000-8000-000000000404';
    await same(await act('<member>', missing, { 'os-reserve': null }), 'action on unknown volume (404)', missing);
    await same(await act('<admin>', id, { 'os-force_delete': null }), 'os-force_delete (admin)', id);
    assert.equal(await status(id), 'deleting');
  });

  test('extend consumes the gigabytes it adds, per type too, and refuses over quota (413); in-use needs 3.42', async () => {
    const id = await h.volume({ size: 1 });
    const usage = async (resource: string) =>
      Number((await h.database.db.selectFrom('quota_usage').select('in_use').where('project_id', '=', OWNER_PROJECT).where('resource', '=', resource).executeTakeFirst())?.in_use ?? 0);
    const before = await usage('gigabytes');
    const beforeType = await usage('gigabytes___DEFAULT__');
    assert.equal((await act('<member>', id, { 'os-extend': { new_size: '3' } })).statusCode, 202);
    assert.equal(await usage('gigabytes'), before + 2);
    assert.equal(await usage('gigabytes___DEFAULT__'), beforeType + 2);
    await h.database.db.updateTable('volume').set({ status: 'available', size: 3 }).where('id', '=', id).execute();

    await h.database.db.insertInto('quota').values({ project_id: OWNER_PROJECT, resource: 'gigabytes', hard_limit: before + 3, updated_at: Date.now() }).execute();
    const over = await act('<member>', id, { 'os-extend': { new_size: 10 } });
    assert.equal(over.statusCode, 413, over.body);
    assert.match((JSON.parse(over.body) as Json).overLimit.message, /^VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota\. Requested 7G/);
    assert.equal(await status(id), 'available', 'a refused extend leaves the volume as it was');
    await h.database.db.deleteFrom('quota').where('project_id', '=', OWNER_PROJECT).execute();

    await h.database.db.updateTable('volume').set({ status: 'in-use', attach_status: 'attached' }).where('id', '=', id).execute();
    const old = await act('<member>', id, { 'os-extend': { new_size: 4 } });
    assert.equal(old.statusCode, 400);
    assert.equal((JSON.parse(old.body) as Json).badRequest.message, `Invalid volume: Volume ${id} status must be '{'status': 'available'}' to extend, currently in-use.`);
    assert.equal((await act('<member>', id, { 'os-extend': { new_size: 4 } }, '3.42')).statusCode, 202);
    const row = (await selectVolume(h.database.db, id))!;
    assert.equal(row.status, 'extending');
    assert.equal(row.previous_status, 'in-use');
  });

  test('retype: same backend when it passes the new type; never leaves the volume, on-demand is refused; quotas move per type', async () => {
    const id = await h.volume({ size: 2 });
    const now = Date.now();
    const fits = randomUUID();
    const elsewhere = randomUUID();
    await h.database.db
      .insertInto('volume_type')
      .values([
        { id: fits, name: 'retyped', description: null, is_public: 1, qos_specs_id: null, created_at: now, updated_at: null, deleted: 0, deleted_at: null },
        { id: elsewhere, name: 'elsewhere', description: null, is_public: 1, qos_specs_id: null, created_at: now, updated_at: null, deleted: 0, deleted_at: null },
      ])
      .execute();
    await h.database.db.insertInto('volume_type_extra_spec').values([
      { volume_type_id: fits, key: 'volume_backend_name', value: 'file' },
      { volume_type_id: elsewhere, key: 'volume_backend_name', value: 'lvm' },
    ]).execute();

    assert.equal((await act('<member>', id, { 'os-retype': { new_type: 'elsewhere', migration_policy: 'never' } })).statusCode, 202);
    assert.equal((await selectVolume(h.database.db, id))!.volume_type_id, h.defaultTypeId);
    const refused = await act('<member>', id, { 'os-retype': { new_type: 'elsewhere', migration_policy: 'on-demand' } });
    assert.equal(refused.statusCode, 400);
    assert.match((JSON.parse(refused.body) as Json).badRequest.message, /needs a migration to another backend/);

    assert.equal((await act('<member>', id, { 'os-retype': { new_type: 'retyped', migration_policy: 'never' } })).statusCode, 202);
    const row = (await selectVolume(h.database.db, id))!;
    assert.equal(row.volume_type_id, fits);
    assert.equal(row.status, 'available');
    const usage = Object.fromEntries(
      (await h.database.db.selectFrom('quota_usage').select(['resource', 'in_use']).where('project_id', '=', OWNER_PROJECT).execute()).map((r) => [r.resource, Number(r.in_use)]),
    );
    assert.equal(usage.volumes_retyped, 1);
    assert.equal(usage.gigabytes_retyped, 2);

    const again = await act('<member>', id, { 'os-retype': { new_type: fits } });
    assert.equal(again.statusCode, 400, 'the same type again');
    assert.match((JSON.parse(again.body) as Json).badRequest.message, /^Invalid volume: Retype needs volume to be in available or in-use state/);
    const unknown = await act('<member>', id, { 'os-retype': { new_type: 'no-such-type' } });
    assert.equal(unknown.statusCode, 404);
    assert.equal((JSON.parse(unknown.body) as Json).itemNotFound.message, 'Volume type with name no-such-type could not be found.');
    const badPolicy = await act('<member>', id, { 'os-retype': { new_type: 'retyped', migration_policy: 'sometimes' } });
    assert.equal(badPolicy.statusCode, 400);
    assert.equal((JSON.parse(badPolicy.body) as Json).badRequest.message, "Invalid input for field/attribute migration_policy. Value: sometimes. 'sometimes' is not one of ['on-demand', 'never']");
  });

  test('legacy attach: reserve, initialize_connection on the worker, attach, begin/roll detaching, detach, terminate', async () => {
    const id = await h.volume();
    const server = '00000000-0000-4000-8000-00000000b001';
    assert.equal((await act('<member>', id, { 'os-reserve': null })).statusCode, 202);
    const init = await act('<member>', id, { 'os-initialize_connection': { connector: { host: 'compute-1', initiator: 'iqn.x' } } });
    assert.equal(init.statusCode, 200, init.body);
    const info = (JSON.parse(init.body) as Json).connection_info;
    assert.equal(info.driver_volume_type, 'file');
    assert.equal(info.data.access_mode, 'rw');
    assert.equal(info.data.qos_specs, null);
    assert.equal(info.data.encrypted, false);
    assert.equal(info.data.cacheable, false);
    assert.equal(info.data.name, `volume-${id}`);
    assert.match(String(info.data.device_path), new RegExp(`volume-${id}$`));

    assert.equal((await act('<member>', id, { 'os-attach': { instance_uuid: server, mountpoint: '/dev/vdb', mode: 'rw' } })).statusCode, 202);
    let row = (await selectVolume(h.database.db, id))!;
    assert.deepEqual([row.status, row.attach_status], ['in-use', 'attached']);
    const shown = JSON.parse((await h.call('<member>', 'GET', `/v3/${OWNER_PROJECT}/volumes/${id}`)).body) as Json;
    assert.equal(shown.volume.attachments.length, 1);
    assert.equal(shown.volume.attachments[0].server_id, server);
    assert.equal(shown.volume.attachments[0].device, '/dev/vdb');

    // the same server again is not a second attachment; another one needs multiattach
    assert.equal((await act('<member>', id, { 'os-attach': { instance_uuid: server, mountpoint: '/dev/vdb', mode: 'rw' } })).statusCode, 202);
    const second = await act('<member>', id, { 'os-attach': { instance_uuid: '00000000-0000-4000-8000-00000000b002', mountpoint: '/dev/vdc', mode: 'rw' } });
    assert.equal(second.statusCode, 400);
    assert.equal((JSON.parse(second.body) as Json).badRequest.message, 'Error attaching volume - InvalidVolume: Invalid volume: volume is already attached and multiple attachments are not enabled');

    assert.equal((await act('<member>', id, { 'os-begin_detaching': null })).statusCode, 202);
    assert.equal(await status(id), 'detaching');
    const twice = await act('<member>', id, { 'os-begin_detaching': null });
    assert.equal((JSON.parse(twice.body) as Json).badRequest.message, "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.");
    assert.equal((await act('<member>', id, { 'os-roll_detaching': null })).statusCode, 202);
    assert.equal(await status(id), 'in-use');
    assert.equal((await act('<member>', id, { 'os-begin_detaching': null })).statusCode, 202);
    assert.equal((await act('<member>', id, { 'os-terminate_connection': { connector: { host: 'compute-1' } } })).statusCode, 202);
    assert.equal((await act('<member>', id, { 'os-detach': { attachment_id: null } })).statusCode, 202);
    row = (await selectVolume(h.database.db, id))!;
    assert.deepEqual([row.status, row.attach_status], ['available', 'detached']);
    assert.equal((await h.database.db.selectFrom('volume_attachment').select('id').where('volume_id', '=', id).where('deleted', '=', 0).execute()).length, 0);

    const badMode = await act('<member>', id, { 'os-attach': { instance_uuid: server, mountpoint: '/dev/vdb', mode: 'rx' } });
    assert.equal((JSON.parse(badMode.body) as Json).badRequest.message, "Invalid input for field/attribute mode. Value: rx. 'rx' is not one of ['rw', 'ro']");
    const noTarget = await act('<member>', id, { 'os-attach': { mountpoint: '/dev/vdb' } });
    assert.equal(noTarget.statusCode, 400);

    // the backend cannot export what it does not hold: Cinder's 500 and wording
    const ghost = volumeRow({ project_id: OWNER_PROJECT, status: 'available', host: HOST, volume_type_id: h.defaultTypeId });
    await insertVolume(h.database.db, ghost);
    const failed = await act('<member>', ghost.id, { 'os-initialize_connection': { connector: { host: 'compute-1' } } });
    assert.equal(failed.statusCode, 500);
    assert.equal((JSON.parse(failed.body) as Json).computeFault.message, 'Unable to fetch connection information from backend.');
  });

  test('force_detach (admin) ends the connection and the attachment; reset_status detached clears attachments', async () => {
    const id = await h.volume({ multiattach: 1 });
    for (const [i, server] of ['00000000-0000-4000-8000-00000000c001', '00000000-0000-4000-8000-00000000c002'].entries()) {
      assert.equal((await act('<member>', id, { 'os-attach': { instance_uuid: server, mountpoint: `/dev/vd${'bc'[i]!}`, mode: 'rw' } })).statusCode, 202);
    }
    const attachments = await h.database.db.selectFrom('volume_attachment').select('id').where('volume_id', '=', id).where('deleted', '=', 0).orderBy('created_at').execute();
    assert.equal(attachments.length, 2);
    // two attachments and none named: Cinder (bug 2004555) cannot tell which one and leaves it to Nova (409), even for a force detach
    const conflict = `Detach volume from instance  using the Compute API`;
    assert.equal((JSON.parse((await act('<member>', id, { 'os-detach': {} })).body) as Json).conflictingRequest.message, conflict);
    assert.equal((await act('<member>', id, { 'os-force_detach': { attachment_id: attachments[0]!.id } })).statusCode, 403);
    assert.equal((await act('<admin>', id, { 'os-force_detach': { connector: null, attachment_id: attachments[0]!.id } })).statusCode, 409);
    assert.equal((await act('<member>', id, { 'os-detach': { attachment_id: attachments[0]!.id } })).statusCode, 202);
    assert.equal(await status(id), 'in-use');
    assert.equal((await act('<admin>', id, { 'os-force_detach': { connector: null, attachment_id: attachments[1]!.id } })).statusCode, 202);
    let row = (await selectVolume(h.database.db, id))!;
    assert.deepEqual([row.status, row.attach_status], ['available', 'detached']);

    assert.equal((await act('<member>', id, { 'os-attach': { host_name: 'Backup_Host 1', mountpoint: '/mnt/x', mode: 'rw' } })).statusCode, 202);
    const byHost = await h.database.db.selectFrom('volume_attachment').select('attached_host').where('volume_id', '=', id).where('deleted', '=', 0).executeTakeFirstOrThrow();
    assert.equal(byHost.attached_host, 'backup-host-1');
    assert.equal((await act('<admin>', id, { 'os-reset_status': { status: 'error', attach_status: 'detached' } })).statusCode, 202);
    row = (await selectVolume(h.database.db, id))!;
    // volume_detached decides the status once the last attachment is gone
    assert.deepEqual([row.status, row.attach_status], ['available', 'detached']);
    const noAttachments = await act('<admin>', id, { 'os-reset_status': { status: 'in-use' } });
    assert.equal((JSON.parse(noAttachments.body) as Json).badRequest.message, 'Cannot reset-state to in-use because volume does not have any attachments.');
    const none = await act('<admin>', id, { 'os-reset_status': {} });
    assert.equal((JSON.parse(none.body) as Json).badRequest.message, "Must specify 'status', 'attach_status' or 'migration_status' for update.");
  });

  test('image metadata: unset needs the key; another project sees no volume; extra actions are dispatched with their policy', async () => {
    const id = await h.volume();
    assert.equal((await act('<member>', id, { 'os-set_image_metadata': { metadata: { a: '1', b: '2' } } })).statusCode, 200);
    assert.equal((await act('<member>', id, { 'os-unset_image_metadata': { key: 'a' } })).statusCode, 200);
    assert.deepEqual(JSON.parse((await act('<member>', id, { 'os-show_image_metadata': null })).body), { metadata: { b: '2' } });
    const gone = await act('<member>', id, { 'os-unset_image_metadata': { key: 'a' } });
    assert.equal(gone.statusCode, 404);
    assert.equal((JSON.parse(gone.body) as Json).itemNotFound.message, `Glance metadata for volume/snapshot ${id} cannot be found.`);
    assert.equal((await act('<other>', id, { 'os-reserve': null })).statusCode, 404);
    assert.equal((await act('<reader>', id, { 'os-reserve': null })).statusCode, 403);
    assert.equal(await status(id), 'available');
    if (h.mountedHere) {
      const extra = await act('<member>', id, { 'os-test_extra': { x: 1 } });
      assert.equal(extra.statusCode, 200);
      assert.deepEqual(JSON.parse(extra.body), { seen: id, body: { 'os-test_extra': { x: 1 } } });
      assert.equal((await act('<reader>', id, { 'os-test_extra': {} })).statusCode, 403);
      assert.equal((await act('<member>', id, { 'os-reserve': null })).statusCode, 202);
      assert.equal(await status(id), 'attaching');
    }
  });
});
