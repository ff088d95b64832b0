// Every route is guarded: its policy name is one Keystone registers, it refuses a caller without
// a token, and the project member and reader get exactly what upstream Keystone gave them
// (services/identity/fixtures/upstream/personas.json, recorded from Debian's Keystone).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Enforcer } from '@alto/policy';
import { identityPolicies } from '../policies.js';
import { identityRoutes } from '../plugin.js';
import { startIdentity, addPersonas, type Harness } from '../testing/harness.js';

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/upstream/personas.json', import.meta.url), 'utf8')) as { name: string; response: { status: number } }[];
const upstream = (name: string) => {
  const e = fixture.find((x) => x.name === name);
  if (!e) throw new Error(`no recorded exchange named "${name}"`);
  return e.response.status;
};

let h: Harness;
let p: Awaited<ReturnType<typeof addPersonas>>;
before(async () => {
  h = await startIdentity();
  p = await addPersonas(h);
});
after(() => h.close());

describe('every route', () => {
  test('names a policy Keystone registers, or is one upstream leaves open', () => {
    const enforcer = new Enforcer(identityPolicies);
    const routes = identityRoutes(h.identity.services, {});
    assert.ok(routes.length > 50);
    const open = routes.filter((r) => r.policy === null).map((r) => `${String(r.method)} ${r.url}`);
    // OS-OAUTH1's request and access token routes are signed by the consumer instead
    assert.deepEqual(open.sort(), ['GET /', 'GET /v3', 'GET /v3/auth/tokens/OS-PKI/revoked', 'POST /v3/OS-OAUTH1/access_token', 'POST /v3/OS-OAUTH1/request_token', 'POST /v3/auth/tokens', 'POST /v3/users/:user_id/password']);
    for (const r of routes) if (r.policy) assert.ok(enforcer.registered(r.policy), `${String(r.method)} ${r.url}: ${r.policy} is not registered`);
  });

  test('refuses a caller without a token (401), unless upstream serves it to anyone', async () => {
    for (const r of identityRoutes(h.identity.services, {})) {
      if (r.auth === 'none') continue;
      const url = r.url.replace(/:[a-z_]+/g, 'x');
      for (const method of Array.isArray(r.method) ? r.method : [r.method]) {
        const res = await h.req(method, url, method === 'GET' || method === 'HEAD' || method === 'DELETE' ? {} : { body: {} });
        assert.equal(res.statusCode, 401, `${method} ${url}`);
      }
    }
  });
});

describe('personas answer as upstream did', () => {
  for (const persona of ['member-of-demo', 'reader-of-demo'] as const) {
    test(persona, async () => {
      const [user, pw] = persona === 'member-of-demo' ? ['demo-member', 'demo-member-pw'] : ['demo-reader', 'demo-reader-pw'];
      const self = persona === 'member-of-demo' ? p.member : p.reader;
      const t = await h.token(user, pw, { project: 'demo' });
      const admin = await h.adminToken();
      const adminProject = (await h.req('GET', '/v3/projects?name=admin', { token: admin })).json<{ projects: { id: string }[] }>().projects[0]!.id;
      const memberRole = (await h.req('GET', '/v3/roles?name=member', { token: admin })).json<{ roles: { id: string }[] }>().roles[0]!.id;
      const unknown = '0123456789abcdef0123456789abcdef';
      const cases: [string, string, string, unknown?, Record<string, string>?][] = [
        ['list users', 'GET', '/v3/users'],
        ['get self', 'GET', `/v3/users/${self}`],
        ['get another user', 'GET', `/v3/users/${p.outsider}`],
        ['update self', 'PATCH', `/v3/users/${self}`, { user: { description: 'x' } }],
        ['list own projects', 'GET', `/v3/users/${self}/projects`],
        ["list another user's projects", 'GET', `/v3/users/${p.outsider}/projects`],
        ['list projects', 'GET', '/v3/projects'],
        ['get demo', 'GET', `/v3/projects/${p.demoId}`],
        ['get admin project', 'GET', `/v3/projects/${adminProject}`],
        ['get unknown project', 'GET', `/v3/projects/${unknown}`],
        ['create project', 'POST', '/v3/projects', { project: { name: `p-${persona}` } }],
        ['update demo', 'PATCH', `/v3/projects/${p.demoId}`, { project: { description: 'x' } }],
        ['list roles', 'GET', '/v3/roles'],
        ['get role member', 'GET', `/v3/roles/${memberRole}`],
        ['list role assignments for demo', 'GET', `/v3/role_assignments?scope.project.id=${p.demoId}`],
        ['list own role assignments (user.id=self)', 'GET', `/v3/role_assignments?user.id=${self}`],
        ['list own roles on demo', 'GET', `/v3/projects/${p.demoId}/users/${self}/roles`],
        ['grant a role on demo', 'PUT', `/v3/projects/${p.demoId}/users/${self}/roles/${memberRole}`],
        ['list regions', 'GET', '/v3/regions'],
        ['list services', 'GET', '/v3/services'],
        ['list endpoints', 'GET', '/v3/endpoints'],
        ['create region', 'POST', '/v3/regions', { region: {} }],
        ['list domains', 'GET', '/v3/domains'],
        ['get Default domain', 'GET', '/v3/domains/default'],
        ['list role inferences', 'GET', '/v3/role_inferences'],
        ['validate own token', 'GET', '/v3/auth/tokens', undefined, { 'x-subject-token': t }],
        ['validate admin token', 'GET', '/v3/auth/tokens', undefined, { 'x-subject-token': admin }],
        ['get unknown user', 'GET', `/v3/users/${unknown}`],
        ['delete demo', 'DELETE', `/v3/projects/${p.demoId}`],
      ];
      const diffs: string[] = [];
      for (const [name, method, url, body, headers] of cases) {
        const want = upstream(`${persona}: ${name}`);
        const got = (await h.req(method, url, { token: t, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) })).statusCode;
        if (got !== want) diffs.push(`${name}: upstream ${want}, we ${got}`);
      }
      assert.deepEqual(diffs, []);
    });
  }
});
