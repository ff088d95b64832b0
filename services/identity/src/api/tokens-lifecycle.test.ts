// Tokens over time, on a clock the test moves: expiry, the allow_expired window, key rotation
// (old tokens live until their key is purged), and version discovery as upstream recorded it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { manualClock } from '@alto/kernel';
import { rotateKeyRepository } from '../crypto/key-repository.js';
import { startIdentity, type Harness } from '../testing/harness.js';

const clock = manualClock(Date.UTC(2026, 10, 21, 8, 0, 0));
let h: Harness;
before(async () => {
  h = await startIdentity({ clock });
});
after(() => h.close());

const validate = async (subject: string, query = '') => {
  const admin = await h.adminToken();
  return h.req('GET', `/v3/auth/tokens${query}`, { token: admin, headers: { 'x-subject-token': subject } });
};

test('a token expires after [token] expiration; allow_expired lets services finish long work', async () => {
  const t = await h.adminToken();
  const body = (await validate(t)).json<{ token: { issued_at: string; expires_at: string } }>().token;
  assert.equal(body.issued_at, '2026-11-21T08:00:00.000000Z');
  assert.equal(body.expires_at, '2026-11-21T09:00:00.000000Z');
  clock.advance(3599_000);
  assert.equal((await validate(t)).statusCode, 200);
  clock.advance(2_000);
  const expired = await validate(t);
  assert.deepEqual(expired.json(), { error: { code: 404, message: 'Failed to validate token', title: 'Not Found' } });
  assert.equal((await h.req('GET', '/v3/users', { token: t })).statusCode, 401);
  assert.equal((await validate(t, '?allow_expired=1')).statusCode, 200);
  clock.advance(172_800_000);
  assert.equal((await validate(t, '?allow_expired=1')).statusCode, 404, 'past the window');
});

test('key rotation: old tokens validate until their key is purged, new tokens use the new key', async () => {
  const repo = h.config.fernet_tokens.key_repository;
  const old = await h.adminToken();
  await rotateKeyRepository(repo, 3);
  clock.advance(6_000); // the key reader re-reads at most every 5 s
  const fresh = await h.adminToken();
  assert.equal((await validate(old)).statusCode, 200, 'the old primary is still a key');
  assert.equal((await validate(fresh)).statusCode, 200);
  // keys 2 (fresh's), 1 (old's) and the staged 0; one more rotation with 3 active keys drops 1
  await rotateKeyRepository(repo, 3);
  clock.advance(6_000);
  assert.equal((await validate(old)).statusCode, 404, 'its key was purged');
  assert.equal((await validate(fresh)).statusCode, 200);
});

test('version discovery answers as upstream recorded it', async () => {
  const rec = JSON.parse(readFileSync(new URL('../../fixtures/upstream/version-discovery.json', import.meta.url), 'utf8')) as {
    name: string;
    response: { status: number; headers: Record<string, string>; body: unknown };
  }[];
  const local = (v: unknown) => JSON.parse(JSON.stringify(v).replaceAll('http://127.0.0.1:35357', 'http://localhost:80')) as unknown;
  for (const [name, url] of [
    ['GET / (multiple choices)', '/'],
    ['GET /v3', '/v3'],
  ] as const) {
    const want = rec.find((e) => e.name === name)!.response;
    const got = await h.identity.app.inject({ method: 'GET', url, headers: { host: 'localhost:80' } });
    assert.equal(got.statusCode, want.status);
    assert.deepEqual(got.json(), local(want.body));
    if (want.headers.location) assert.equal(got.headers.location, local(want.headers.location));
  }
});
