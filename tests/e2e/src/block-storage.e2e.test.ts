// The block storage issue's checks as a new operator runs them, with the real openstack CLI:
// under `alto up`, and with volume-api, volume-scheduler and volume-worker as separate processes
// on RabbitMQ and PostgreSQL. Each step also looks at the files it should leave (qemu-img info).
// Needs qemu-utils.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAVE_OPENSTACK, openstack, openstackJson, startCloud, startSplitCloud } from '@alto/testing';

interface Row {
  [k: string]: unknown;
}

const haveQemuImg = spawnSync('sh', ['-c', 'command -v qemu-img']).status === 0;
const skip = !HAVE_OPENSTACK ? 'the openstack CLI is not installed (scripts/test installs python3-openstackclient)' : !haveQemuImg ? 'qemu-img not installed (qemu-utils)' : false;
const GiB = 1024 ** 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The virtual size qemu-img reports for a file. */
function virtualSize(path: string): number {
  const r = spawnSync('qemu-img', ['info', '--output=json', '-U', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { 'virtual-size': number })['virtual-size'];
}

interface Target {
  dataDir: string;
  volumeUrl: string;
  osEnv: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

const splitSkip = !process.env.ALTO_TEST_POSTGRES_URL || !process.env.ALTO_TEST_AMQP_URL ? 'ALTO_TEST_POSTGRES_URL and ALTO_TEST_AMQP_URL not set (scripts/test starts the servers)' : false;

for (const mode of ['embedded', 'split on postgres+rabbitmq'] as const) {
  describe(`block storage walk-through (${mode})`, { skip: skip || (mode !== 'embedded' && splitSkip) }, () => {
    let t: Target;
    let scratch: string;
    const os = (args: string[]) => openstack(t.osEnv, args);
    const osj = <T = Row>(args: string[]) => openstackJson<T>(t.osEnv, args);
    const files = (dir: string) => (existsSync(join(t.dataDir, dir)) ? readdirSync(join(t.dataDir, dir)) : []);

    async function waitStatus(kind: 'volume' | 'volume snapshot' | 'volume backup', id: string, want: string, timeoutMs = 60_000): Promise<Row> {
      const end = Date.now() + timeoutMs;
      let row: Row = {};
      while (Date.now() < end) {
        row = osj([...kind.split(' '), 'show', id]);
        if (row.status === want) return row;
        if (String(row.status).startsWith('error')) break;
        await sleep(300);
      }
      throw new Error(`${kind} ${id} is ${String(row.status)}, not ${want}`);
    }

    async function waitGone(kind: 'volume' | 'volume snapshot' | 'volume backup', id: string): Promise<void> {
      for (let i = 0; i < 200; i++) {
        if (openstack(t.osEnv, [...kind.split(' '), 'show', id], { allowFailure: true }).status !== 0) return;
        await sleep(300);
      }
      throw new Error(`${kind} ${id} was not deleted`);
    }

    before(async () => {
      scratch = mkdtempSync(join(tmpdir(), 'alto-bs-e2e-'));
      t = mode === 'embedded' ? await startCloud('embedded') : await startSplitCloud('postgres');
    });
    after(async () => {
      await t?.stop();
      rmSync(scratch, { recursive: true, force: true });
    });

    test('create, inspect, snapshot, clone, extend, image in and out, backup and restore, transfer, quotas, bad input, delete', async () => {
      // 1. the first volume: available, listed, and a 1 GiB file behind it
      const vol = osj(['volume', 'create', '--size', '1', 'lab-volume-1']);
      await waitStatus('volume', String(vol.id), 'available');
      assert.ok(osj<Row[]>(['volume', 'list']).some((v) => v.Name === 'lab-volume-1'));
      const shown = osj(['volume', 'show', 'lab-volume-1']);
      assert.equal(shown.size, 1);
      const volFile = join(t.dataDir, 'volumes', `volume-${String(vol.id)}`);
      assert.equal(virtualSize(volFile), GiB);

      // 2. snapshot: its own file
      const snap = osj(['volume', 'snapshot', 'create', '--volume', 'lab-volume-1', 'lab-snap-1']);
      await waitStatus('volume snapshot', String(snap.id), 'available');
      assert.ok(files('volumes').includes(`snapshot-${String(snap.id)}`), files('volumes').join(' '));

      // 3. clone and 4. from the snapshot
      const clone = osj(['volume', 'create', '--source', 'lab-volume-1', '--size', '1', 'lab-clone']);
      const fromSnap = osj(['volume', 'create', '--snapshot', 'lab-snap-1', '--size', '1', 'lab-from-snap']);
      await waitStatus('volume', String(clone.id), 'available');
      await waitStatus('volume', String(fromSnap.id), 'available');
      assert.equal(virtualSize(join(t.dataDir, 'volumes', `volume-${String(clone.id)}`)), GiB);

      // 5. backup (of the 1 GiB volume) and restore into the clone
      const backup = osj(['volume', 'backup', 'create', '--name', 'lab-backup', 'lab-volume-1']);
      await waitStatus('volume backup', String(backup.id), 'available', 120_000);
      await waitStatus('volume', String(vol.id), 'available');
      const restore = openstack(t.osEnv, ['volume', 'backup', 'restore', '--force', 'lab-backup', 'lab-clone'], { allowFailure: true });
      // python3-openstackclient 6.0 (Debian 12) sends the restore, then fails printing the answer (fixed upstream in 6.1)
      if (restore.status !== 0) assert.match(restore.stderr, /cannot unpack non-iterable VolumeBackupsRestore object/);
      await waitStatus('volume', String(clone.id), 'restoring-backup', 10_000).catch(() => undefined);
      await waitStatus('volume backup', String(backup.id), 'available', 120_000);
      await waitStatus('volume', String(clone.id), 'available', 120_000);

      // 6. extend to 2 GiB: the file grows
      os(['volume', 'set', '--size', '2', 'lab-volume-1']);
      for (let i = 0; i < 100 && osj(['volume', 'show', 'lab-volume-1']).size !== 2; i++) await sleep(300);
      await waitStatus('volume', String(vol.id), 'available');
      assert.equal(virtualSize(volFile), 2 * GiB);

      // 7. a volume from an image made in the image service, and 8. a volume uploaded as an image
      const qcow = join(scratch, 'lab.qcow2');
      assert.equal(spawnSync('qemu-img', ['create', '-f', 'qcow2', qcow, '64M']).status, 0);
      os(['image', 'create', '--disk-format', 'qcow2', '--container-format', 'bare', '--file', qcow, 'lab-image']);
      const fromImage = osj(['volume', 'create', '--image', 'lab-image', '--size', '1', 'lab-from-image']);
      const fromImageRow = await waitStatus('volume', String(fromImage.id), 'available', 120_000);
      assert.equal(String(fromImageRow.bootable), 'true');
      os(['image', 'create', '--volume', 'lab-from-image', '--disk-format', 'qcow2', 'lab-uploaded']);
      await waitStatus('volume', String(fromImage.id), 'available', 120_000);
      let uploaded: Row = {};
      for (let i = 0; i < 200; i++) {
        uploaded = osj(['image', 'show', 'lab-uploaded']);
        if (uploaded.status === 'active') break;
        await sleep(300);
      }
      assert.equal(uploaded.status, 'active');
      assert.ok(Number(uploaded.size) > 0);

      // 9. transfer to another project; 10. that project's user sees only what it owns
      os(['project', 'create', 'lab-demo']);
      os(['user', 'create', '--project', 'lab-demo', '--password', 'Lab-demo-pw1', 'lab-demo-user']);
      os(['role', 'add', '--project', 'lab-demo', '--user', 'lab-demo-user', 'member']);
      const demoEnv = {
        ...t.osEnv,
        OS_CLOUD: '',
        OS_AUTH_URL: String(osj<Row[]>(['endpoint', 'list', '--service', 'identity', '--interface', 'public'])[0]!.URL),
        OS_USERNAME: 'lab-demo-user',
        OS_PASSWORD: 'Lab-demo-pw1',
        OS_PROJECT_NAME: 'lab-demo',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_DOMAIN_NAME: 'Default',
        OS_IDENTITY_API_VERSION: '3',
        OS_REGION_NAME: 'RegionOne',
      };
      const demo = (args: string[], allowFailure = false) => openstack(demoEnv, args, { allowFailure });
      assert.notEqual(demo(['volume', 'show', String(vol.id)], true).status, 0, 'another project must not see the volume');
      const tr = osj(['volume', 'transfer', 'request', 'create', '--name', 'lab-transfer', 'lab-from-snap']);
      demo(['volume', 'transfer', 'request', 'accept', '--auth-key', String(tr.auth_key), String(tr.id)]);
      assert.equal(JSON.parse(demo(['volume', 'show', String(fromSnap.id), '-f', 'json']).stdout).status, 'available');
      assert.ok(!osj<Row[]>(['volume', 'list']).some((v) => v.ID === fromSnap.id), 'the volume left the admin project');

      // 11. quota: a breach is a 413 and leaves nothing behind (OSC's `quota set` needs a compute
      // endpoint, so the limit is set the way cinderclient does: PUT os-quota-sets)
      const token = String(osj(['token', 'issue']).id);
      const project = String(osj(['token', 'issue']).project_id);
      const call = async (method: string, path: string, body?: unknown) => {
        const r = await fetch(`${t.volumeUrl}/v3/${project}${path}`, { method, headers: { 'x-auth-token': token, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
        return { status: r.status, body: (await r.text()) || '{}' };
      };
      const demoProject = String(osj(['project', 'show', 'lab-demo']).id);
      assert.equal((await call('PUT', `/os-quota-sets/${demoProject}`, { quota_set: { volumes: 1 } })).status, 200);
      const before = JSON.parse(demo(['volume', 'list', '-f', 'json']).stdout) as Row[];
      const over = demo(['volume', 'create', '--size', '1', 'over-quota'], true);
      assert.notEqual(over.status, 0);
      assert.match(over.stderr, /VolumeLimitExceeded|413/);
      assert.equal((JSON.parse(demo(['volume', 'list', '-f', 'json']).stdout) as Row[]).length, before.length);

      // 12. bad input is a clean 4xx in Cinder's envelope
      const size0 = await call('POST', '/volumes', { volume: { size: 0 } });
      assert.equal(size0.status, 400);
      assert.match(size0.body, /"badRequest".*less than the minimum of 1/);
      assert.equal((await call('POST', '/volumes', { volume: { size: 1, volume_type: 'no-such-type' } })).status, 404);
      const smaller = await call('POST', `/volumes/${String(vol.id)}/action`, { 'os-extend': { new_size: 1 } });
      assert.equal(smaller.status, 400, smaller.body);
      assert.equal((await call('POST', `/volumes/${String(vol.id)}/action`, { 'os-reserve': null })).status, 202);
      assert.equal((await call('POST', `/volumes/${String(vol.id)}/action`, { 'os-attach': { instance_uuid: '8f4b1c1e-5d0a-4e1c-9b1a-2f3e4d5c6b7a', mountpoint: '/dev/vdb' } })).status, 202);
      const inUse = await call('DELETE', `/volumes/${String(vol.id)}`);
      assert.equal(inUse.status, 400, inUse.body);
      const attachments = osj(['volume', 'show', String(vol.id)]).attachments as { attachment_id?: string; id?: string }[] | string;
      assert.ok(attachments && attachments.length > 0, 'the volume shows its attachment');
      assert.equal((await call('POST', `/volumes/${String(vol.id)}/action`, { 'os-detach': {} })).status, 202);
      await waitStatus('volume', String(vol.id), 'available');

      // 13. delete everything: no file left behind
      os(['volume', 'backup', 'delete', 'lab-backup']);
      await waitGone('volume backup', String(backup.id));
      os(['volume', 'snapshot', 'delete', 'lab-snap-1']);
      await waitGone('volume snapshot', String(snap.id));
      for (const v of [vol.id, clone.id, fromImage.id]) os(['volume', 'delete', String(v)]);
      demo(['volume', 'delete', String(fromSnap.id)]);
      for (const v of [vol.id, clone.id, fromImage.id]) await waitGone('volume', String(v));
      for (let i = 0; i < 100 && files('volumes').length; i++) await sleep(300);
      assert.deepEqual(files('volumes'), []);
      assert.deepEqual(files('backups').filter((f) => !f.startsWith('.')), []);
    });
  });
}
