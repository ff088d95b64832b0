// Application credentials and trusts on every database engine (SQLite always; PostgreSQL and
// MariaDB when their servers are given): the queries, cascades and the optimistic use count.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testEngines } from '@alto/db/testing';
import { startIdentity, addPersonas, type Harness } from '../testing/harness.js';

for (const engine of testEngines()) {
  describe(`delegation on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let h: Harness;
    let admin: string;
    let p: Awaited<ReturnType<typeof addPersonas>>;

    before(async () => {
      h = await startIdentity({ dialect: engine.dialect });
      admin = await h.adminToken();
      p = await addPersonas(h);
    });
    after(() => h.close());

    const json = <T>(r: { json<U>(): U }) => r.json<T>();

    test('application credential with access rules: create, authenticate, list by name, microsecond expiry; deleting the user cascades', async () => {
      const mk = await h.req('POST', '/v3/users', { token: admin, body: { user: { name: `ac-${engine.dialect}`, password: 'ac-pw', domain_id: 'default' } } });
      const uid = json<{ user: { id: string } }>(mk).user.id;
      const member = json<{ roles: { id: string }[] }>(await h.req('GET', '/v3/roles?name=member', { token: admin })).roles[0]!.id;
      await h.req('PUT', `/v3/projects/${p.demoId}/users/${uid}/roles/${member}`, { token: admin });
      const t = await h.token(`ac-${engine.dialect}`, 'ac-pw', { project: 'demo' });
      const body = { name: 'db', expires_at: '2099-01-02T03:04:05.123456', access_rules: [{ service: 'compute', path: '/v2.1/servers', method: 'GET' }] };
      const r = await h.req('POST', `/v3/users/${uid}/application_credentials`, { token: t, body: { application_credential: body } });
      assert.equal(r.statusCode, 201, r.body);
      const cred = json<{ application_credential: { id: string; secret: string; expires_at: string } }>(r).application_credential;
      assert.equal(cred.expires_at, '2099-01-02T03:04:05.123456');
      const dup = await h.req('POST', `/v3/users/${uid}/application_credentials`, { token: t, body: { application_credential: { name: 'db' } } });
      assert.equal(dup.statusCode, 409);
      const listed = json<{ application_credentials: { id: string; expires_at: string }[] }>(await h.req('GET', `/v3/users/${uid}/application_credentials?name=db`, { token: t }));
      assert.deepEqual(listed.application_credentials.map((c) => [c.id, c.expires_at]), [[cred.id, '2099-01-02T03:04:05.123456']]);
      const auth = await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['application_credential'], application_credential: { id: cred.id, secret: cred.secret } } } } });
      assert.equal(auth.statusCode, 201, auth.body);

      assert.equal((await h.req('DELETE', `/v3/users/${uid}`, { token: admin })).statusCode, 204);
      assert.equal((await h.database.db.selectFrom('application_credential').select('id').where('user_id', '=', uid).execute()).length, 0);
      assert.equal((await h.database.db.selectFrom('access_rule').select('id').where('user_id', '=', uid).execute()).length, 0);
    });

    test('trust: create, limited uses counted down to the end, listing without deleted or orphaned trusts', async () => {
      const t = await h.token('demo-member', 'demo-member-pw', { project: 'demo' });
      const r = await h.req('POST', '/v3/OS-TRUST/trusts', {
        token: t,
        body: { trust: { trustor_user_id: p.member, trustee_user_id: p.reader, project_id: p.demoId, impersonation: false, remaining_uses: 2, roles: [{ name: 'member' }] } },
      });
      assert.equal(r.statusCode, 201, r.body);
      const id = json<{ trust: { id: string } }>(r).trust.id;
      const scope = { 'OS-TRUST:trust': { id } };
      const use = () =>
        h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id: p.reader, password: 'demo-reader-pw' } } }, scope } } });
      // two at once: the optimistic update lets both through, one after the other
      const both = await Promise.all([use(), use()]);
      assert.deepEqual(both.map((x) => x.statusCode).sort(), [201, 201]);
      assert.equal((await use()).statusCode, 401);
      const row = await h.database.db.selectFrom('trust').select('remaining_uses').where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.remaining_uses, 0);

      const second = await h.req('POST', '/v3/OS-TRUST/trusts', {
        token: t,
        body: { trust: { trustor_user_id: p.member, trustee_user_id: p.outsider, project_id: p.demoId, impersonation: false, roles: [{ name: 'member' }] } },
      });
      const secondId = json<{ trust: { id: string } }>(second).trust.id;
      assert.equal((await h.req('DELETE', `/v3/OS-TRUST/trusts/${secondId}`, { token: t })).statusCode, 204);
      const ids = json<{ trusts: { id: string }[] }>(await h.req('GET', `/v3/OS-TRUST/trusts?trustor_user_id=${p.member}`, { token: t })).trusts.map((x) => x.id);
      assert.ok(ids.includes(id), 'a used-up trust is still listed');
      assert.ok(!ids.includes(secondId), 'a deleted one is not');
    });
  });
}
