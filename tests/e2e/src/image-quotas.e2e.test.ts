// Image quotas from Keystone unified limits (registered with the openstack CLI), web-download
// refused by default, ranged downloads and changes-since, against `alto up` over HTTP.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HAVE_OPENSTACK, openstack, openstackJson, startCloud, type Cloud } from '@alto/testing';

const KiB = 1024;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: Buffer;
}

describe('image quotas, web-download, ranges', { skip: HAVE_OPENSTACK ? false : 'the openstack CLI is not installed' }, () => {
  let cloud: Cloud;
  let token = '';

  const call = async (method: string, path: string, opts: { body?: unknown; data?: Buffer; headers?: Record<string, string> } = {}): Promise<Reply> => {
    const headers: Record<string, string> = { 'x-auth-token': token, accept: 'application/json', ...opts.headers };
    let body: string | Buffer | undefined;
    if (opts.data) {
      headers['content-type'] = 'application/octet-stream';
      body = opts.data;
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const res = await fetch(`${cloud.imageUrl}${path}`, { method, headers, body });
    const buf = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, text: buf.toString('utf8'), body: buf };
  };
  const create = async (name: string) => {
    const r = await call('POST', '/v2/images', { body: { name, disk_format: 'raw', container_format: 'bare' } });
    assert.equal(r.status, 201, r.text);
    return (JSON.parse(r.text) as { id: string }).id;
  };
  const status = async (id: string) => (JSON.parse((await call('GET', `/v2/images/${id}`)).text) as { status: string }).status;
  const nothingLeft = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f !== '.partial') : []);

  before(async () => {
    cloud = await startCloud('embedded');
    const env = cloud.osEnv;
    // a project with tight limits, and its member
    openstackJson<{ id: string }>(env, ['project', 'create', 'quota-project', '-f', 'json']);
    openstack(env, ['user', 'create', 'quota-user', '--password', 'pw-quota', '-f', 'json']);
    openstack(env, ['role', 'add', '--project', 'quota-project', '--user', 'quota-user', 'member']);
    for (const [resource, limit] of [
      ['image_size_total', '1'],
      ['image_stage_total', '1'],
      ['image_count_total', '4'],
    ] as const) {
      openstack(env, ['registered', 'limit', 'create', '--service', 'glance', '--default-limit', limit, resource]);
    }
    const userEnv = { ...env, OS_CLOUD: '', OS_AUTH_URL: `${cloud.url}/v3`, OS_USERNAME: 'quota-user', OS_PASSWORD: 'pw-quota', OS_PROJECT_NAME: 'quota-project', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3', OS_CLIENT_CONFIG_FILE: '/dev/null' };
    token = openstack(userEnv, ['token', 'issue', '-f', 'value', '-c', 'id']).stdout.trim();
  });
  after(async () => {
    await cloud?.stop();
  });

  test('an upload that would cross image_size_total is a 413 and leaves the image queued with no data', async () => {
    const a = await create('fits');
    assert.equal((await call('PUT', `/v2/images/${a}/file`, { data: randomBytes(600 * KiB) })).status, 204);
    assert.equal(await status(a), 'active');
    const b = await create('too-much');
    const r = await call('PUT', `/v2/images/${b}/file`, { data: randomBytes(600 * KiB) });
    assert.equal(r.status, 413, r.text);
    assert.match(r.text, /image_size_total is over limit of 1/);
    assert.equal(await status(b), 'queued');
    const images = join(cloud.dataDir, 'images');
    assert.deepEqual(nothingLeft(images), [a], 'only the first image has data');
    assert.deepEqual(readdirSync(join(images, '.partial')), []);
    const usage = JSON.parse((await call('GET', '/v2/info/usage')).text) as { usage: Record<string, { limit: number; usage: number }> };
    assert.deepEqual(usage.usage.image_size_total, { limit: 1, usage: 1 });
  });

  test('staging over image_stage_total is a 413 and leaves nothing in staging', async () => {
    const c = await create('stage-too-much');
    const r = await call('PUT', `/v2/images/${c}/stage`, { data: randomBytes(2048 * KiB) });
    assert.equal(r.status, 413, r.text);
    assert.equal(await status(c), 'queued');
    assert.deepEqual(nothingLeft(join(cloud.dataDir, 'staging')), []);
  });

  test('image_count_total refuses the image after the limit, creating nothing', async () => {
    // three images exist (fits, too-much, stage-too-much); the limit is 4
    await create('fourth');
    const r = await call('POST', '/v2/images', { body: { name: 'fifth', disk_format: 'raw', container_format: 'bare' } });
    assert.equal(r.status, 413, r.text);
    assert.match(r.text, /image_count_total is over limit of 4/);
    const list = JSON.parse((await call('GET', '/v2/images?name=fifth')).text) as { images: unknown[] };
    assert.equal(list.images.length, 0);
  });

  test('web-download is not offered and is refused until an operator allows URL patterns', async () => {
    const info = JSON.parse((await call('GET', '/v2/info/import')).text) as { 'import-methods': { value: string[] } };
    assert.ok(info['import-methods'].value.includes('glance-direct'));
    assert.ok(!info['import-methods'].value.includes('web-download'));
    // an admin project has no limits: use the admin token for the rest
    token = openstack(cloud.osEnv, ['token', 'issue', '-f', 'value', '-c', 'id']).stdout.trim();
    const id = await create('from-the-web');
    const r = await call('POST', `/v2/images/${id}/import`, { body: { method: { name: 'web-download', uri: 'http://169.254.169.254/latest/meta-data' } } });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /does not pass filtering/);
    assert.equal(await status(id), 'queued');
  });

  test('Range downloads answer 206 with Content-Range, and 416 past the end', async () => {
    const data = randomBytes(100 * KiB);
    const id = await create('ranged');
    assert.equal((await call('PUT', `/v2/images/${id}/file`, { data })).status, 204);
    const first = await call('GET', `/v2/images/${id}/file`, { headers: { range: 'bytes=0-9' } });
    assert.equal(first.status, 206);
    assert.equal(first.headers.get('content-range'), `bytes 0-9/${data.length}`);
    assert.deepEqual(first.body, data.subarray(0, 10));
    const tail = await call('GET', `/v2/images/${id}/file`, { headers: { range: 'bytes=-5' } });
    assert.equal(tail.status, 206);
    assert.deepEqual(tail.body, data.subarray(data.length - 5));
    const whole = await call('GET', `/v2/images/${id}/file`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-md5'), (JSON.parse((await call('GET', `/v2/images/${id}`)).text) as { checksum: string }).checksum);
    assert.equal((await call('GET', `/v2/images/${id}/file`, { headers: { range: `bytes=${data.length}-` } })).status, 416);
  });

  test('changes-since lists only images updated after the time given', async () => {
    const before = new Date(Date.now() - 1000).toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await create('changed-recently');
    const r = await call('GET', `/v2/images?changes-since=${encodeURIComponent(new Date(Date.now() - 1000).toISOString())}`);
    assert.equal(r.status, 200, r.text);
    const ids = (JSON.parse(r.text) as { images: { id: string }[] }).images.map((i) => i.id);
    assert.ok(ids.includes(fresh));
    const all = (JSON.parse((await call('GET', `/v2/images?changes-since=${encodeURIComponent(before)}`)).text) as { images: unknown[] }).images;
    assert.ok(all.length >= ids.length);
  });
});
