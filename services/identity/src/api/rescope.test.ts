// Exchanging a token for another (the token method): what Keystone's token plugin refuses.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startIdentity, ADMIN_PASSWORD, type Harness } from '../testing/harness.js';

const exchange = (h: Harness, token: string, scope?: unknown) =>
  h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: token } }, ...(scope ? { scope } : {}) } } });
const adminProject = { project: { name: 'admin', domain: { id: 'default' } } };

describe('rescoping with the default [token] allow_rescope_scoped_token = true', () => {
  let h: Harness;
  before(async () => {
    h = await startIdentity();
  });
  after(() => h.close());

  test('a system-scoped token cannot become a project- or domain-scoped one (403), but can be renewed as system', async () => {
    const system = await h.token('admin', ADMIN_PASSWORD, 'system');
    for (const scope of [adminProject, { domain: { id: 'default' } }]) {
      const r = await exchange(h, system, scope);
      assert.equal(r.statusCode, 403, r.body);
      assert.equal(r.json<{ error: { message: string } }>().error.message, 'You are not authorized to perform the requested action: Using a system-scoped token to create a project-scoped or domain-scoped token is not allowed..');
    }
    assert.equal((await exchange(h, system, { system: { all: true } })).statusCode, 201);
  });

  test('a project-scoped token can be exchanged for another scope', async () => {
    const project = await h.adminToken();
    assert.equal((await exchange(h, project, { system: { all: true } })).statusCode, 201);
    assert.equal((await exchange(h, project, adminProject)).statusCode, 201);
  });
});

describe('[token] allow_rescope_scoped_token = false', () => {
  let h: Harness;
  before(async () => {
    h = await startIdentity({ config: { token: { allow_rescope_scoped_token: false } } });
  });
  after(() => h.close());

  test('only an unscoped token may be exchanged for a scoped one', async () => {
    const scoped = await h.adminToken();
    const r = await exchange(h, scoped, adminProject);
    assert.equal(r.statusCode, 403, r.body);
    assert.match(r.json<{ error: { message: string } }>().error.message, /rescope a scoped token/);
    const unscoped = await h.token('admin', ADMIN_PASSWORD);
    assert.equal((await exchange(h, unscoped, adminProject)).statusCode, 201);
  });
});
