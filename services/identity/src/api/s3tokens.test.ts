// POST /v3/s3tokens (what swift's s3token middleware calls): S3 signatures v1 and v4 as Keystone
// computes them (vectors printed by Debian's keystone.api.s3tokens), and the token it answers with.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { s3SignatureMatches } from '../domain/ec2.js';
import { startIdentity, addPersonas, type Harness } from '../testing/harness.js';

const V1 = { token: 'R0VUCgoKVHVlLCAxMSBNYXIgMjAyNSAxMjowMDowMCBHTVQKL2J1Y2tldC9rZXk=', signature: 'DPFYBmokrNbXnDXT3O3Vl7FmID0=' };
const V4 = {
  token: 'QVdTNC1ITUFDLVNIQTI1NgoyMDI1MDMxMVQxMjAwMDBaCjIwMjUwMzExL1JlZ2lvbk9uZS9zMy9hd3M0X3JlcXVlc3QKYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYQ==',
  signature: 'a20c6a9f5206e07cafd822ca6a00b94741c70ed8b97167107c3f0881be21e939',
};

test('v1 (HMAC-SHA1) and v4 (AWS4-HMAC-SHA256 over s3/iam/sts) signatures match upstream, and only with the right secret', () => {
  for (const v of [V1, V4]) {
    assert.equal(s3SignatureMatches('s3cr3t', v), true);
    assert.equal(s3SignatureMatches('other', v), false);
    assert.equal(s3SignatureMatches('s3cr3t', { ...v, signature: `${v.signature.slice(0, -2)}xx` }), false);
  }
  // a v4 string whose scope names another service is refused, as upstream
  const ec2Scope = Buffer.from(Buffer.from(V4.token, 'base64url').toString('latin1').replace('/s3/', '/ec2/'), 'latin1').toString('base64url');
  assert.equal(s3SignatureMatches('s3cr3t', { ...V4, token: ec2Scope }), false);
});

let h: Harness;
let admin: string;
let member: string;
before(async () => {
  h = await startIdentity();
  const p = await addPersonas(h);
  admin = await h.adminToken();
  member = await h.token('demo-member', 'demo-member-pw', { project: 'demo' });
  const blob = JSON.stringify({ access: 's3-access', secret: 's3cr3t' });
  const r = await h.req('POST', '/v3/credentials', { token: admin, body: { credential: { type: 'ec2', user_id: p.member, project_id: p.demoId, blob } } });
  assert.equal(r.statusCode, 201, r.body);
});
after(() => h.close());

test('a service (or admin) exchanges a signed S3 request for the user\'s project token; a bad signature is 401, a plain member 403', async () => {
  const ok = await h.req('POST', '/v3/s3tokens', { token: admin, body: { credentials: { access: 's3-access', ...V4 } } });
  assert.equal(ok.statusCode, 200, ok.body);
  const t = ok.json<{ token: { user: { name: string }; project: { name: string }; methods: string[]; roles: { name: string }[] } }>().token;
  assert.equal(t.user.name, 'demo-member');
  assert.equal(t.project.name, 'demo');
  assert.deepEqual(t.methods, ['ec2credential']);
  assert.ok(t.roles.some((r) => r.name === 'member'));
  assert.equal((await h.req('POST', '/v3/s3tokens', { token: admin, body: { credentials: { access: 's3-access', ...V1 } } })).statusCode, 200);
  assert.equal((await h.req('POST', '/v3/s3tokens', { token: admin, body: { credentials: { access: 's3-access', token: V1.token, signature: 'wrong' } } })).statusCode, 401);
  assert.equal((await h.req('POST', '/v3/s3tokens', { token: member, body: { credentials: { access: 's3-access', ...V1 } } })).statusCode, 403);
  assert.equal((await h.req('POST', '/v3/s3tokens', { token: admin, body: {} })).statusCode, 400);
});
