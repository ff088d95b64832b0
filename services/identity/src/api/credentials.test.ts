// /v3/credentials, OS-EC2 and /v3/ec2tokens end to end through the HTTP frame: encryption at rest,
// key rotation, who may see which credential, and EC2 signature authentication.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@alto/kernel';
import { startIdentity, addPersonas, type Harness } from '../testing/harness.js';
import { rotateKeyRepository, setupKeyRepository } from '../crypto/key-repository.js';
import { ec2Signature } from '../domain/ec2.js';

/** The system clock, movable forward so the credential key reader re-reads the repository. */
let skewMs = 0;
const clock: Clock = { nowMs: () => Date.now() + skewMs, now: () => new Date(Date.now() + skewMs) };

let h: Harness;
let p: Awaited<ReturnType<typeof addPersonas>>;
let admin: string;
let member: string;
let outsider: string;
const keyDir = mkdtempSync(join(tmpdir(), 'alto-credential-keys-'));

before(async () => {
  await setupKeyRepository(keyDir);
  h = await startIdentity({ clock, config: { credential: { key_repository: keyDir, user_limit: 6 } } });
  p = await addPersonas(h);
  admin = await h.adminToken();
  member = await h.token('demo-member', 'demo-member-pw', { project: 'demo' });
  outsider = await h.token('other-member', 'other-member-pw', { project: 'other' });
});
after(async () => {
  await h.close();
  rmSync(keyDir, { recursive: true, force: true });
});

const primaryKeyHash = () => {
  const highest = readdirSync(keyDir)
    .filter((f) => /^\d+$/.test(f))
    .map(Number)
    .sort((a, b) => b - a)[0]!;
  return createHash('sha1').update(readFileSync(join(keyDir, String(highest)), 'utf8')).digest('hex');
};
const row = (id: string) => h.database.db.selectFrom('credential').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const ec2Blob = (access: string, secret: string) => JSON.stringify({ access, secret });
type Cred = { id: string; user_id: string; project_id: string | null; type: string; blob: string; links: { self: string } };

describe('credentials', () => {
  test('an EC2 credential: id is the sha256 of the access key, the blob is encrypted at rest with the primary key', async () => {
    const r = await h.req('POST', '/v3/credentials', { token: admin, body: { credential: { type: 'ec2', user_id: p.member, project_id: p.demoId, blob: ec2Blob('AK-rest', 'very-secret-value'), note: 'x' } } });
    assert.equal(r.statusCode, 201, r.body);
    const c = r.json<{ credential: Cred & { note: string } }>().credential;
    assert.equal(c.id, createHash('sha256').update('AK-rest').digest('hex'));
    assert.deepEqual({ user: c.user_id, project: c.project_id, type: c.type, blob: c.blob, note: c.note }, { user: p.member, project: p.demoId, type: 'ec2', blob: ec2Blob('AK-rest', 'very-secret-value'), note: 'x' });
    assert.equal(c.links.self, `http://localhost:80/v3/credentials/${c.id}`);
    const stored = await row(c.id);
    assert.ok(!stored.encrypted_blob.includes('very-secret-value') && !stored.encrypted_blob.includes('AK-rest'), 'blob stored in clear');
    assert.match(stored.encrypted_blob, /^gAAAAA/);
    assert.equal(stored.key_hash, primaryKeyHash());
    const dup = await h.req('POST', '/v3/credentials', { token: admin, body: { credential: { type: 'ec2', user_id: p.member, project_id: p.demoId, blob: ec2Blob('AK-rest', 'other') } } });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json<{ error: { message: string } }>().error.message, `Conflict occurred attempting to store credential - Duplicate entry found with ID ${c.id}.`);
  });

  test('upstream validation: ec2 needs a project and a JSON blob with an access key', async () => {
    const post = (credential: unknown) => h.req('POST', '/v3/credentials', { token: admin, body: { credential } });
    const msg = async (credential: unknown) => {
      const r = await post(credential);
      assert.equal(r.statusCode, 400);
      return r.json<{ error: { message: string } }>().error.message;
    };
    assert.equal(await msg({ type: 'ec2', user_id: p.member, blob: '{}' }), "'project_id' is a required property");
    assert.equal(await msg({ type: 'ec2', user_id: p.member, project_id: p.demoId, blob: 'xx' }), 'Invalid blob in credential');
    assert.match(await msg({ type: 'ec2', user_id: p.member, project_id: p.demoId, blob: '{"secret": 1}' }), /^Expecting to find access in credential\./);
    assert.equal(await msg({ type: 'cert', user_id: p.member, blob: 5 }), "Invalid input for field 'blob': 5 is not of type 'string'");
    assert.equal(await msg({ type: 'cert', blob: 'x' }), "'user_id' is a required property");
  });

  test('a member manages their own credentials and sees no one else’s', async () => {
    const mine = await h.req('POST', '/v3/credentials', { token: member, body: { credential: { type: 'cert', user_id: p.member, blob: 'member-cert' } } });
    assert.equal(mine.statusCode, 201, mine.body);
    const id = mine.json<{ credential: Cred }>().credential.id;
    assert.match(id, /^[0-9a-f]{32}$/);
    const theirs = await h.req('POST', '/v3/credentials', { token: outsider, body: { credential: { type: 'cert', user_id: p.outsider, blob: 'outsider-cert' } } });
    const theirsId = theirs.json<{ credential: Cred }>().credential.id;
    // for someone else: refused by policy
    assert.equal((await h.req('POST', '/v3/credentials', { token: member, body: { credential: { type: 'cert', user_id: p.outsider, blob: 'x' } } })).statusCode, 403);

    const listed = (await h.req('GET', '/v3/credentials', { token: member })).json<{ credentials: Cred[] }>().credentials;
    assert.ok(listed.length >= 2 && listed.every((c) => c.user_id === p.member), 'member sees only their own');
    assert.equal((await h.req('GET', `/v3/credentials?user_id=${p.outsider}`, { token: member })).json<{ credentials: Cred[] }>().credentials.length, 0);
    assert.equal((await h.req('GET', `/v3/credentials/${theirsId}`, { token: member })).statusCode, 403);
    assert.equal((await h.req('PATCH', `/v3/credentials/${theirsId}`, { token: member, body: { credential: { blob: 'stolen' } } })).statusCode, 403);
    assert.equal((await h.req('DELETE', `/v3/credentials/${theirsId}`, { token: member })).statusCode, 403);
    const all = (await h.req('GET', '/v3/credentials?type=cert', { token: admin })).json<{ credentials: Cred[] }>().credentials;
    assert.deepEqual(new Set(all.map((c) => c.id)), new Set([id, theirsId]));
    assert.equal((await h.req('GET', `/v3/credentials/${id}`, { token: member })).json<{ credential: Cred }>().credential.blob, 'member-cert');
  });

  test('PATCH changes blob, type and project as documented; an owner cannot give a credential away', async () => {
    const c = (await h.req('POST', '/v3/credentials', { token: member, body: { credential: { type: 'ec2', user_id: p.member, project_id: p.demoId, blob: ec2Blob('AK-patch', 's1') } } })).json<{ credential: Cred }>().credential;
    const r = await h.req('PATCH', `/v3/credentials/${c.id}`, { token: member, body: { credential: { blob: ec2Blob('AK-patch2', 's2'), project_id: p.otherId, type: 'ec2' } } });
    assert.equal(r.statusCode, 200, r.body);
    const u = r.json<{ credential: Cred }>().credential;
    assert.deepEqual([u.id, u.project_id, u.user_id, JSON.parse(u.blob)], [c.id, p.otherId, p.member, { access: 'AK-patch2', secret: 's2' }]);
    assert.equal((await h.req('GET', `/v3/credentials/${c.id}`, { token: member })).json<{ credential: Cred }>().credential.blob, ec2Blob('AK-patch2', 's2'));
    assert.equal((await h.req('PATCH', `/v3/credentials/${c.id}`, { token: member, body: { credential: { user_id: p.outsider } } })).statusCode, 403);
    const trust = await h.req('PATCH', `/v3/credentials/${c.id}`, { token: member, body: { credential: { blob: JSON.stringify({ access: 'a', trust_id: 't' }) } } });
    assert.equal(trust.json<{ error: { message: string } }>().error.message, 'trust_id can not be updated for credential');
    assert.equal((await h.req('PATCH', `/v3/credentials/${c.id}`, { token: member, body: { credential: { id: 'other' } } })).json<{ error: { message: string } }>().error.message, 'Cannot change ID');
    assert.equal((await h.req('DELETE', `/v3/credentials/${c.id}`, { token: member })).statusCode, 204);
    const gone = await h.req('GET', `/v3/credentials/${c.id}`, { token: admin });
    assert.deepEqual([gone.statusCode, gone.json<{ error: { message: string } }>().error.message], [404, `Could not find credential: ${c.id}.`]);
    // a member asking for a missing credential learns nothing: policy has no owner to match, 403 as upstream
    assert.equal((await h.req('GET', `/v3/credentials/${c.id}`, { token: member })).statusCode, 403);
  });

  test('[credential] user_limit, with upstream’s 403', async () => {
    const count = (await h.req('GET', `/v3/credentials?user_id=${p.reader}`, { token: admin })).json<{ credentials: Cred[] }>().credentials.length;
    for (let i = count; i < 6; i++) assert.equal((await h.req('POST', '/v3/credentials', { token: admin, body: { credential: { type: 'cert', user_id: p.reader, blob: `c${i}` } } })).statusCode, 201);
    const r = await h.req('POST', '/v3/credentials', { token: admin, body: { credential: { type: 'cert', user_id: p.reader, blob: 'one too many' } } });
    assert.deepEqual([r.statusCode, r.json<{ error: { message: string } }>().error.message], [403, 'Unable to create additional credentials, maximum of 6 already exceeded for user.']);
  });

  test('key rotation keeps every credential readable; re-encryption moves them to the new primary', async () => {
    const before = (await h.req('POST', '/v3/credentials', { token: admin, body: { credential: { type: 'cert', user_id: p.outsider, blob: 'before rotation' } } })).json<{ credential: Cred }>().credential;
    const oldHash = (await row(before.id)).key_hash;
    for (let round = 0; round < 3; round++) {
      // what `alto credential rotate` does: re-encrypt with the primary, then rotate
      await h.identity.services.credentials.migrateToPrimaryKey();
      await rotateKeyRepository(keyDir, 3);
      skewMs += 10_000; // past the reader's refresh interval
      const r = await h.req('GET', `/v3/credentials/${before.id}`, { token: admin });
      assert.equal(r.json<{ credential: Cred }>().credential.blob, 'before rotation', `round ${round}`);
    }
    const after = (await h.req('POST', '/v3/credentials', { token: admin, body: { credential: { type: 'cert', user_id: p.outsider, blob: 'after rotation' } } })).json<{ credential: Cred }>().credential;
    assert.equal((await row(after.id)).key_hash, primaryKeyHash());
    assert.notEqual((await row(after.id)).key_hash, oldHash);
    const { reencrypted } = await h.identity.services.credentials.migrateToPrimaryKey();
    assert.ok(reencrypted >= 1);
    const all = (await h.req('GET', '/v3/credentials', { token: admin })).json<{ credentials: Cred[] }>().credentials;
    assert.ok(all.some((c) => c.blob === 'before rotation') && all.some((c) => c.blob === 'after rotation'));
    const hashes = await h.database.db.selectFrom('credential').select('key_hash').distinct().execute();
    assert.deepEqual(hashes.map((x) => x.key_hash), [primaryKeyHash()]);
  });
});

describe('credentials go with their user and project', () => {
  test('deleting a user deletes their credentials; deleting a project deletes those bound to it', async () => {
    const mk = async (url: string, body: unknown) => (await h.req('POST', url, { token: admin, body })).json<Record<string, { id: string }>>();
    const user = (await mk('/v3/users', { user: { name: 'leaving', domain_id: 'default' } })).user!.id;
    const project = (await mk('/v3/projects', { project: { name: 'closing', domain_id: 'default' } })).project!.id;
    const ofUser = (await mk('/v3/credentials', { credential: { type: 'cert', user_id: user, blob: 'x' } })).credential!.id;
    const onProject = (await mk('/v3/credentials', { credential: { type: 'ec2', user_id: p.outsider, project_id: project, blob: ec2Blob('AK-closing', 's') } })).credential!.id;
    const kept = (await mk('/v3/credentials', { credential: { type: 'ec2', user_id: p.outsider, project_id: p.otherId, blob: ec2Blob('AK-kept', 's') } })).credential!.id;
    assert.equal((await h.req('DELETE', `/v3/users/${user}`, { token: admin })).statusCode, 204);
    assert.equal((await h.req('DELETE', `/v3/projects/${project}`, { token: admin })).statusCode, 204);
    assert.equal((await h.req('GET', `/v3/credentials/${ofUser}`, { token: admin })).statusCode, 404);
    assert.equal((await h.req('GET', `/v3/credentials/${onProject}`, { token: admin })).statusCode, 404);
    assert.equal((await h.req('GET', `/v3/credentials/${kept}`, { token: admin })).statusCode, 200);
  });
});

type Ec2 = { user_id: string; tenant_id: string; access: string; secret: string; trust_id: string | null; links: { self: string } };

describe('OS-EC2', () => {
  test('a member creates, lists, shows and deletes their EC2 key pairs', async () => {
    const r = await h.req('POST', `/v3/users/${p.member}/credentials/OS-EC2`, { token: member, body: { tenant_id: p.demoId } });
    assert.equal(r.statusCode, 201, r.body);
    const c = r.json<{ credential: Ec2 }>().credential;
    assert.match(c.access, /^[0-9a-f]{32}$/);
    assert.match(c.secret, /^[0-9a-f]{32}$/);
    assert.deepEqual([c.user_id, c.tenant_id, c.trust_id], [p.member, p.demoId, null]);
    assert.equal(c.links.self, `http://localhost:80/v3/users/${p.member}/credentials/OS-EC2/${c.access}`);
    // stored as an ec2 credential of the same table
    const v3 = (await h.req('GET', `/v3/credentials/${createHash('sha256').update(c.access).digest('hex')}`, { token: member })).json<{ credential: Cred }>().credential;
    assert.deepEqual([v3.type, JSON.parse(v3.blob)], ['ec2', { access: c.access, secret: c.secret, trust_id: null }]);

    const listed = (await h.req('GET', `/v3/users/${p.member}/credentials/OS-EC2`, { token: member })).json<{ credentials: Ec2[] }>().credentials;
    assert.ok(listed.some((x) => x.access === c.access && x.secret === c.secret));
    assert.deepEqual((await h.req('GET', `/v3/users/${p.member}/credentials/OS-EC2/${c.access}`, { token: member })).json<{ credential: Ec2 }>().credential, c);
    // someone else's: 403, as upstream's owner check on the stored credential
    assert.equal((await h.req('GET', `/v3/users/${p.member}/credentials/OS-EC2/${c.access}`, { token: outsider })).statusCode, 403);
    assert.equal((await h.req('GET', `/v3/users/${p.member}/credentials/OS-EC2`, { token: outsider })).statusCode, 403);
    assert.equal((await h.req('POST', `/v3/users/${p.member}/credentials/OS-EC2`, { token: outsider, body: { tenant_id: p.otherId } })).statusCode, 403);
    assert.equal((await h.req('DELETE', `/v3/users/${p.member}/credentials/OS-EC2/${c.access}`, { token: member })).statusCode, 204);
    assert.equal((await h.req('GET', `/v3/users/${p.member}/credentials/OS-EC2/${c.access}`, { token: member })).statusCode, 404);
  });

  test('unknown project or user: 404 as upstream', async () => {
    const r = await h.req('POST', `/v3/users/${p.member}/credentials/OS-EC2`, { token: admin, body: {} });
    assert.deepEqual([r.statusCode, r.json<{ error: { message: string } }>().error.message], [404, 'Could not find project: None.']);
    assert.equal((await h.req('GET', '/v3/users/nobody/credentials/OS-EC2', { token: admin })).statusCode, 404);
  });
});

describe('/v3/ec2tokens', () => {
  let access: string;
  let secret: string;
  before(async () => {
    const c = (await h.req('POST', `/v3/users/${p.member}/credentials/OS-EC2`, { token: member, body: { tenant_id: p.demoId } })).json<{ credential: Ec2 }>().credential;
    ({ access, secret } = c);
  });
  const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const signedV4 = (atMs: number, key = secret) => {
    const date = amzDate(atMs);
    const body_hash = createHash('sha256').update('').digest('hex');
    const creds = {
      access,
      host: 'swift.example.com:8080',
      verb: 'GET',
      path: '/v1/AUTH_x/bucket',
      params: {},
      headers: { Host: 'swift.example.com:8080', 'X-Amz-Date': date, Authorization: `AWS4-HMAC-SHA256 Credential=${access}/${date.slice(0, 8)}/RegionOne/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=x` },
      body_hash,
    };
    return { ...creds, signature: ec2Signature(key, creds) };
  };

  test('a correct v4 signature gives a project-scoped token with the ec2credential method', async () => {
    const r = await h.req('POST', '/v3/ec2tokens', { token: admin, body: { credentials: signedV4(clock.nowMs()) } });
    assert.equal(r.statusCode, 200, r.body);
    const t = r.json<{ token: { methods: string[]; user: { id: string }; project: { id: string }; roles: { name: string }[]; catalog: unknown[] } }>().token;
    assert.deepEqual([t.methods, t.user.id, t.project.id], [['ec2credential'], p.member, p.demoId]);
    assert.ok(t.roles.some((x) => x.name === 'member') && Array.isArray(t.catalog));
    const subject = String(r.headers['x-subject-token']);
    const v = await h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': subject } });
    assert.equal(v.statusCode, 200);
    assert.deepEqual(v.json<{ token: { methods: string[] } }>().token.methods, ['ec2credential']);
    // "ec2Credentials" and "credential" are accepted names too
    assert.equal((await h.req('POST', '/v3/ec2tokens', { token: admin, body: { ec2Credentials: signedV4(clock.nowMs()) } })).statusCode, 200);
  });

  test('a wrong signature, an old timestamp or a missing signature: 401', async () => {
    const status = async (credentials: unknown) => {
      const r = await h.req('POST', '/v3/ec2tokens', { token: admin, body: { credentials } });
      return [r.statusCode, r.json<{ error: { message: string } }>().error.message];
    };
    const denied = [401, 'The request you have made requires authentication.'];
    assert.deepEqual(await status(signedV4(clock.nowMs(), 'not-the-secret')), denied);
    assert.deepEqual(await status({ ...signedV4(clock.nowMs()), signature: 'f'.repeat(64) }), denied);
    assert.deepEqual(await status(signedV4(clock.nowMs() - 16 * 60_000)), denied);
    const { signature: _s, ...unsigned } = signedV4(clock.nowMs());
    assert.deepEqual(await status(unsigned), denied);
    assert.deepEqual(await status({ signature: 'x' }), denied);
    const unknown = await status({ ...signedV4(clock.nowMs()), access: 'nope' });
    assert.equal(unknown[0], 404);
  });

  test('only admins and services may ask; an empty body is a 400', async () => {
    assert.equal((await h.req('POST', '/v3/ec2tokens', { token: member, body: { credentials: signedV4(clock.nowMs()) } })).statusCode, 403);
    assert.equal((await h.req('POST', '/v3/ec2tokens', { body: { credentials: signedV4(clock.nowMs()) } })).statusCode, 401);
    const r = await h.req('POST', '/v3/ec2tokens', { token: admin, body: {} });
    assert.deepEqual([r.statusCode, r.json<{ error: { message: string } }>().error.message], [400, 'request must include a request body']);
  });

  test('a token from an EC2 signature cannot reach the credentials of its user', async () => {
    const t = String((await h.req('POST', '/v3/ec2tokens', { token: admin, body: { credentials: signedV4(clock.nowMs()) } })).headers['x-subject-token']);
    assert.deepEqual((await h.req('GET', '/v3/credentials', { token: t })).json<{ credentials: unknown[] }>().credentials, []);
    const r = await h.req('POST', `/v3/users/${p.member}/credentials/OS-EC2`, { token: t, body: { tenant_id: p.demoId } });
    assert.deepEqual([r.statusCode, r.json<{ error: { message: string } }>().error.message], [403, 'You are not authorized to perform the requested action: Delegated tokens cannot access credentials directly.']);
  });
});
