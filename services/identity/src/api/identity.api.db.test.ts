// The Keystone v3 API end to end through inject(), with real tokens, on SQLite always and on
// PostgreSQL and MariaDB when their servers are given (the database matrix).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testEngines } from '@alto/db/testing';
import { startIdentity, addPersonas, ADMIN_PASSWORD, type Harness } from '../testing/harness.js';

for (const engine of testEngines()) {
  describe(`identity API on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let h: Harness;
    let admin: string;
    let p: Awaited<ReturnType<typeof addPersonas>>;

    before(async () => {
      h = await startIdentity({ dialect: engine.dialect });
      admin = await h.adminToken();
      p = await addPersonas(h);
    });
    after(() => h.close());

    const authBody = (name: string, password: string, scope?: unknown) => ({
      auth: { identity: { methods: ['password'], password: { user: { name, domain: { name: 'Default' }, password } } }, ...(scope ? { scope } : {}) },
    });

    describe('version discovery', () => {
      test('GET / is 300 with v3, GET /v3 is 200', async () => {
        const root = await h.req('GET', '/');
        assert.equal(root.statusCode, 300);
        assert.equal(root.json().versions.values[0].id, 'v3.14');
        const v3 = await h.req('GET', '/v3');
        assert.equal(v3.statusCode, 200);
        assert.equal(v3.json().version.status, 'stable');
        assert.match(v3.json().version.links[0].href, /\/v3\/$/);
      });
    });

    describe('tokens', () => {
      test('a project-scoped password token carries user, project, roles (implied included) and the catalog', async () => {
        const r = await h.req('POST', '/v3/auth/tokens', { body: authBody('admin', ADMIN_PASSWORD, { project: { name: 'admin', domain: { id: 'default' } } }) });
        assert.equal(r.statusCode, 201);
        assert.match(String(r.headers['x-subject-token']), /^gAAAAA[A-Za-z0-9_-]+$/);
        const t = r.json().token;
        assert.deepEqual(t.methods, ['password']);
        assert.equal(t.user.name, 'admin');
        assert.deepEqual(t.user.domain, { id: 'default', name: 'Default' });
        assert.equal(t.project.name, 'admin');
        assert.equal(t.is_domain, false);
        assert.deepEqual(t.roles.map((x: { name: string }) => x.name).sort(), ['admin', 'manager', 'member', 'reader']);
        assert.match(t.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
        assert.equal(t.audit_ids.length, 1);
        const identity = t.catalog.find((c: { type: string }) => c.type === 'identity');
        assert.equal(identity.name, 'keystone');
        assert.deepEqual(identity.endpoints.map((e: { interface: string }) => e.interface).sort(), ['admin', 'internal', 'public']);
      });

      test('unscoped, domain-scoped and system-scoped tokens', async () => {
        const un = (await h.req('POST', '/v3/auth/tokens', { body: authBody('admin', ADMIN_PASSWORD) })).json().token;
        assert.equal(un.project, undefined);
        assert.equal(un.roles, undefined);
        assert.equal(un.catalog, undefined);
        const sys = (await h.req('POST', '/v3/auth/tokens', { body: authBody('admin', ADMIN_PASSWORD, { system: { all: true } }) })).json().token;
        assert.deepEqual(sys.system, { all: true });
        assert.ok(sys.roles.length > 0);
        // nobody has a domain role yet: the domain-scoped request is refused like any auth failure
        const dom = await h.req('POST', '/v3/auth/tokens', { body: authBody('admin', ADMIN_PASSWORD, { domain: { id: 'default' } }) });
        assert.equal(dom.statusCode, 401);
        const roles = (await h.req('GET', '/v3/roles?name=admin', { token: admin })).json().roles;
        const admUser = (await h.req('GET', '/v3/users?name=admin', { token: admin })).json().users[0];
        assert.equal((await h.req('PUT', `/v3/domains/default/users/${admUser.id}/roles/${roles[0].id}`, { token: admin })).statusCode, 204);
        const dom2 = await h.req('POST', '/v3/auth/tokens', { body: authBody('admin', ADMIN_PASSWORD, { domain: { id: 'default' } }) });
        assert.equal(dom2.statusCode, 201);
        assert.deepEqual(dom2.json().token.domain, { id: 'default', name: 'Default' });
      });

      test('?nocatalog leaves the catalog out', async () => {
        const r = await h.req('POST', '/v3/auth/tokens?nocatalog', { body: authBody('admin', ADMIN_PASSWORD, { project: { name: 'admin', domain: { id: 'default' } } }) });
        assert.equal(r.json().token.catalog, undefined);
      });

      test('the token method rescopes, keeping the expiry and joining the audit chain', async () => {
        const un = await h.req('POST', '/v3/auth/tokens', { body: authBody('admin', ADMIN_PASSWORD) });
        const id = String(un.headers['x-subject-token']);
        const r = await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id } }, scope: { project: { name: 'admin', domain: { name: 'Default' } } } } } });
        assert.equal(r.statusCode, 201);
        const t = r.json().token;
        assert.equal(t.expires_at, un.json().token.expires_at);
        assert.equal(t.audit_ids[1], un.json().token.audit_ids[0]);
        assert.deepEqual([...t.methods].sort(), ['password', 'token']);
      });

      test('wrong password, unknown user, disabled user and no role on the project all read the same 401', async () => {
        const bodies: string[] = [];
        for (const body of [
          authBody('admin', 'wrong'),
          authBody('nobody-at-all', 'whatever'),
          authBody('demo-member', 'demo-member-pw', { project: { name: 'other', domain: { id: 'default' } } }),
        ]) {
          const r = await h.req('POST', '/v3/auth/tokens', { body });
          assert.equal(r.statusCode, 401);
          assert.match(String(r.headers['www-authenticate']), /^Keystone uri="/);
          bodies.push(r.body);
        }
        assert.equal(new Set(bodies).size, 1, bodies.join('\n'));
        assert.deepEqual(JSON.parse(bodies[0]!), { error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } });
      });

      test('validate, check and revoke; a revoked token is 404 and stops authenticating', async () => {
        const t = await h.token('demo-member', 'demo-member-pw', { project: 'demo' });
        const v = await h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t } });
        assert.equal(v.statusCode, 200);
        assert.equal(v.headers['x-subject-token'], t);
        assert.equal(v.json().token.user.name, 'demo-member');
        assert.equal((await h.req('HEAD', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t } })).statusCode, 200);
        // a user may validate their own token (rule:token_subject)
        assert.equal((await h.req('GET', '/v3/auth/tokens', { token: t, headers: { 'x-subject-token': t } })).statusCode, 200);
        assert.equal((await h.req('DELETE', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t } })).statusCode, 204);
        assert.equal((await h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t } })).statusCode, 404);
        assert.equal((await h.req('GET', `/v3/projects/${p.demoId}`, { token: t })).statusCode, 401);
      });

      test('garbage and missing subject tokens are 404s in upstream words', async () => {
        const garbage = await h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': 'gAAAAAnope' } });
        assert.deepEqual(garbage.json(), { error: { code: 404, message: 'Could not recognize Fernet token', title: 'Not Found' } });
        const missing = await h.req('GET', '/v3/auth/tokens', { token: admin });
        assert.deepEqual(missing.json(), { error: { code: 404, message: 'No token in the request', title: 'Not Found' } });
      });

      test('disabling a user, or taking their last role away, invalidates their tokens', async () => {
        const u = (await h.req('POST', '/v3/users', { token: admin, body: { user: { name: 'short-lived', password: 'pw-1', domain_id: 'default' } } })).json().user;
        const reader = (await h.req('GET', '/v3/roles?name=reader', { token: admin })).json().roles[0];
        await h.req('PUT', `/v3/projects/${p.demoId}/users/${u.id}/roles/${reader.id}`, { token: admin });
        const t = await h.token('short-lived', 'pw-1', { project: 'demo' });
        assert.equal((await h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t } })).statusCode, 200);
        await h.req('DELETE', `/v3/projects/${p.demoId}/users/${u.id}/roles/${reader.id}`, { token: admin });
        assert.equal((await h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t } })).statusCode, 404);
        await h.req('PUT', `/v3/projects/${p.demoId}/users/${u.id}/roles/${reader.id}`, { token: admin });
        const t2 = await h.token('short-lived', 'pw-1', { project: 'demo' });
        assert.equal((await h.req('PATCH', `/v3/users/${u.id}`, { token: admin, body: { user: { enabled: false } } })).statusCode, 200);
        assert.equal((await h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t2 } })).statusCode, 404);
        assert.equal((await h.req('POST', '/v3/auth/tokens', { body: authBody('short-lived', 'pw-1') })).statusCode, 401);
      });

      test('catalog, projects, domains and system a token can reach', async () => {
        const un = (await h.req('POST', '/v3/auth/tokens', { body: authBody('demo-member', 'demo-member-pw') })).headers['x-subject-token'] as string;
        assert.equal((await h.req('GET', '/v3/auth/catalog', { token: un })).statusCode, 403);
        const projects = (await h.req('GET', '/v3/auth/projects', { token: un })).json().projects;
        assert.deepEqual(projects.map((x: { name: string }) => x.name), ['demo']);
        assert.deepEqual((await h.req('GET', '/v3/auth/domains', { token: un })).json().domains, []);
        assert.deepEqual((await h.req('GET', '/v3/auth/system', { token: un })).json().system, []);
        const cat = await h.req('GET', '/v3/auth/catalog', { token: admin });
        assert.equal(cat.statusCode, 200);
        assert.ok(cat.json().catalog.some((c: { type: string }) => c.type === 'identity'));
        assert.deepEqual((await h.req('GET', '/v3/auth/system', { token: admin })).json().system, [{ all: true }]);
      });
    });

    describe('resources', () => {
      test('domains: create, duplicate 409, list filter, update, delete only when disabled', async () => {
        const c = await h.req('POST', '/v3/domains', { token: admin, body: { domain: { name: 'acme', description: 'ACME', colour: 'red' } } });
        assert.equal(c.statusCode, 201);
        const d = c.json().domain;
        assert.equal(d.colour, 'red', 'extra attributes are kept, as Keystone does');
        assert.deepEqual(Object.keys(d.links), ['self']);
        assert.equal((await h.req('POST', '/v3/domains', { token: admin, body: { domain: { name: 'acme' } } })).statusCode, 409);
        assert.deepEqual((await h.req('GET', '/v3/domains?name=acme', { token: admin })).json().domains.map((x: { id: string }) => x.id), [d.id]);
        const del1 = await h.req('DELETE', `/v3/domains/${d.id}`, { token: admin });
        assert.equal(del1.statusCode, 403);
        assert.equal(del1.json().error.message, 'Cannot delete a domain that is enabled, please disable it first.');
        assert.equal((await h.req('PATCH', `/v3/domains/${d.id}`, { token: admin, body: { domain: { enabled: false } } })).json().domain.enabled, false);
        assert.equal((await h.req('DELETE', `/v3/domains/${d.id}`, { token: admin })).statusCode, 204);
        assert.equal((await h.req('GET', `/v3/domains/${d.id}`, { token: admin })).statusCode, 404);
      });

      test('projects: defaults, parent, duplicates, immutable fields, not-leaf delete', async () => {
        const c = (await h.req('POST', '/v3/projects', { token: admin, body: { project: { name: 'parent-p' } } })).json().project;
        assert.equal(c.domain_id, 'default');
        assert.equal(c.parent_id, 'default');
        assert.equal(c.is_domain, false);
        assert.equal(c.enabled, true);
        const child = (await h.req('POST', '/v3/projects', { token: admin, body: { project: { name: 'child-p', parent_id: c.id } } })).json().project;
        assert.equal(child.parent_id, c.id);
        const dup = await h.req('POST', '/v3/projects', { token: admin, body: { project: { name: 'parent-p' } } });
        assert.equal(dup.statusCode, 409);
        assert.match(dup.json().error.message, /^Conflict occurred attempting to store project - it is not permitted to have two projects with either the same name or same id in the same domain: name is parent-p, project id [0-9a-f]{32}\.$/);
        assert.equal((await h.req('PATCH', `/v3/projects/${c.id}`, { token: admin, body: { project: { domain_id: 'other' } } })).statusCode, 400);
        assert.equal((await h.req('DELETE', `/v3/projects/${c.id}`, { token: admin })).statusCode, 403);
        assert.equal((await h.req('DELETE', `/v3/projects/${child.id}`, { token: admin })).statusCode, 204);
        assert.equal((await h.req('DELETE', `/v3/projects/${c.id}`, { token: admin })).statusCode, 204);
        const nf = await h.req('GET', `/v3/projects/${c.id}`, { token: admin });
        assert.deepEqual(nf.json(), { error: { code: 404, message: `Could not find project: ${c.id}.`, title: 'Not Found' } });
      });

      test('users: no password in answers, extra attributes, name unique per domain', async () => {
        const r = await h.req('POST', '/v3/users', { token: admin, body: { user: { name: 'alice', password: 'alice-pw', email: 'alice@example.org', default_project_id: p.demoId } } });
        assert.equal(r.statusCode, 201);
        const u = r.json().user;
        assert.equal(u.password, undefined);
        assert.equal(u.email, 'alice@example.org');
        assert.equal(u.default_project_id, p.demoId);
        assert.equal(u.password_expires_at, null);
        assert.ok(!r.body.includes('alice-pw'));
        assert.equal((await h.req('POST', '/v3/users', { token: admin, body: { user: { name: 'alice' } } })).statusCode, 409);
        // no scope asked for and a default project: Keystone scopes the token to it once the user has a role there
        const member = (await h.req('GET', '/v3/roles?name=member', { token: admin })).json().roles[0];
        await h.req('PUT', `/v3/projects/${p.demoId}/users/${u.id}/roles/${member.id}`, { token: admin });
        const t = (await h.req('POST', '/v3/auth/tokens', { body: authBody('alice', 'alice-pw') })).json().token;
        assert.equal(t.project?.id, p.demoId);
        assert.equal((await h.req('DELETE', `/v3/users/${u.id}`, { token: admin })).statusCode, 204);
      });

      test('roles and implied roles; bootstrap roles are immutable', async () => {
        const inf = (await h.req('GET', '/v3/role_inferences', { token: admin })).json().role_inferences;
        const chain = Object.fromEntries(inf.map((r: { prior_role: { name: string }; implies: { name: string }[] }) => [r.prior_role.name, r.implies.map((i) => i.name)]));
        assert.deepEqual(chain, { admin: ['manager'], manager: ['member'], member: ['reader'] });
        const adminRole = (await h.req('GET', '/v3/roles?name=admin', { token: admin })).json().roles[0];
        assert.deepEqual(adminRole.options, { immutable: true });
        assert.equal((await h.req('DELETE', `/v3/roles/${adminRole.id}`, { token: admin })).statusCode, 403);
        const r1 = (await h.req('POST', '/v3/roles', { token: admin, body: { role: { name: 'auditor' } } })).json().role;
        const r2 = (await h.req('POST', '/v3/roles', { token: admin, body: { role: { name: 'observer' } } })).json().role;
        const put = await h.req('PUT', `/v3/roles/${r1.id}/implies/${r2.id}`, { token: admin });
        assert.equal(put.statusCode, 201);
        assert.equal(put.json().role_inference.implies.name, 'observer');
        assert.equal((await h.req('HEAD', `/v3/roles/${r1.id}/implies/${r2.id}`, { token: admin })).statusCode, 204);
        assert.equal((await h.req('PUT', `/v3/roles/${r1.id}/implies/${r2.id}`, { token: admin })).statusCode, 409, 'a rule exists once');
        // upstream accepts cycles; expansion must still terminate
        assert.equal((await h.req('PUT', `/v3/roles/${r2.id}/implies/${r1.id}`, { token: admin })).statusCode, 201);
        await h.req('PUT', `/v3/projects/${p.demoId}/users/${p.reader}/roles/${r1.id}`, { token: admin });
        const eff = (await h.req('GET', `/v3/role_assignments?effective&user.id=${p.reader}&scope.project.id=${p.demoId}`, { token: admin })).json().role_assignments;
        assert.ok(eff.length >= 3);
        await h.req('DELETE', `/v3/roles/${r2.id}/implies/${r1.id}`, { token: admin });
        await h.req('DELETE', `/v3/projects/${p.demoId}/users/${p.reader}/roles/${r1.id}`, { token: admin });
        assert.equal((await h.req('PUT', `/v3/roles/${r1.id}/implies/${adminRole.id}`, { token: admin })).statusCode, 403, 'admin cannot be implied');
        assert.equal((await h.req('DELETE', `/v3/roles/${r1.id}/implies/${r2.id}`, { token: admin })).statusCode, 204);
        assert.equal((await h.req('GET', `/v3/roles/${r1.id}/implies/${r2.id}`, { token: admin })).statusCode, 404);
      });

      test('role assignments: direct, effective with implied roles, names', async () => {
        const direct = (await h.req('GET', `/v3/role_assignments?scope.project.id=${p.demoId}&user.id=${p.member}`, { token: admin })).json().role_assignments;
        assert.equal(direct.length, 1);
        assert.match(direct[0].links.assignment, new RegExp(`/v3/projects/${p.demoId}/users/${p.member}/roles/`));
        const eff = (await h.req('GET', `/v3/role_assignments?effective&include_names&scope.project.id=${p.demoId}&user.id=${p.member}`, { token: admin })).json().role_assignments;
        assert.deepEqual(eff.map((a: { role: { name: string } }) => a.role.name).sort(), ['member', 'reader']);
        const implied = eff.find((a: { role: { name: string } }) => a.role.name === 'reader');
        assert.ok(implied.links.prior_role);
        assert.deepEqual(implied.user.domain, { id: 'default', name: 'Default' });
        assert.equal(implied.scope.project.name, 'demo');
        assert.equal((await h.req('GET', '/v3/role_assignments?effective&group.id=x', { token: admin })).statusCode, 400);
      });

      test('regions, services and endpoints', async () => {
        const reg = await h.req('PUT', '/v3/regions/RegionTwo', { token: admin, body: { region: { description: 'second' } } });
        assert.equal(reg.statusCode, 201);
        assert.equal((await h.req('PUT', '/v3/regions/RegionTwo', { token: admin, body: { region: {} } })).statusCode, 409);
        assert.equal((await h.req('PATCH', '/v3/regions/RegionOne', { token: admin, body: { region: { parent_region_id: 'RegionTwo' } } })).statusCode, 200);
        assert.equal((await h.req('PATCH', '/v3/regions/RegionTwo', { token: admin, body: { region: { parent_region_id: 'RegionOne' } } })).statusCode, 400, 'no cycles');
        const svc = (await h.req('POST', '/v3/services', { token: admin, body: { service: { type: 'image', name: 'glance', description: 'Images' } } })).json().service;
        assert.equal(svc.name, 'glance');
        const bad = await h.req('POST', '/v3/endpoints', { token: admin, body: { endpoint: { interface: 'sideways', service_id: svc.id, url: 'http://x:9292' } } });
        assert.equal(bad.statusCode, 400);
        const e = await h.req('POST', '/v3/endpoints', { token: admin, body: { endpoint: { interface: 'public', service_id: svc.id, url: 'http://x:9292', region_id: 'RegionTwo' } } });
        assert.equal(e.statusCode, 201);
        assert.equal(e.json().endpoint.region, 'RegionTwo');
        assert.equal((await h.req('GET', `/v3/endpoints?service_id=${svc.id}&interface=public`, { token: admin })).json().endpoints.length, 1);
        // the new service shows up in fresh tokens' catalogs
        const t = (await h.req('POST', '/v3/auth/tokens', { body: authBody('admin', ADMIN_PASSWORD, { project: { name: 'admin', domain: { id: 'default' } } }) })).json().token;
        assert.ok(t.catalog.some((c: { type: string }) => c.type === 'image'));
        assert.equal((await h.req('DELETE', '/v3/regions/RegionTwo', { token: admin })).statusCode, 403, 'in use by an endpoint');
        assert.equal((await h.req('DELETE', `/v3/services/${svc.id}`, { token: admin })).statusCode, 204);
        assert.equal((await h.req('GET', `/v3/endpoints/${e.json().endpoint.id}`, { token: admin })).statusCode, 404);
      });
    });

    describe('personas (secure RBAC)', () => {
      test('a member of demo: sees demo and themself, cannot list users or create projects', async () => {
        const t = await h.token('demo-member', 'demo-member-pw', { project: 'demo' });
        assert.equal((await h.req('GET', '/v3/users', { token: t })).statusCode, 403);
        assert.equal((await h.req('POST', '/v3/projects', { token: t, body: { project: { name: 'mine' } } })).statusCode, 403);
        assert.equal((await h.req('GET', `/v3/projects/${p.demoId}`, { token: t })).statusCode, 200);
        assert.equal((await h.req('GET', `/v3/projects/${p.otherId}`, { token: t })).statusCode, 403);
        assert.equal((await h.req('GET', `/v3/users/${p.member}`, { token: t })).statusCode, 200);
        assert.equal((await h.req('GET', `/v3/users/${p.outsider}`, { token: t })).statusCode, 403);
        const denied = await h.req('GET', '/v3/users', { token: t });
        assert.deepEqual(denied.json(), { error: { code: 403, message: 'You are not authorized to perform the requested action: identity:list_users.', title: 'Forbidden' } });
      });

      test('a reader of demo: may read what upstream lets readers read, may write nothing', async () => {
        const t = await h.token('demo-reader', 'demo-reader-pw', { project: 'demo' });
        assert.equal((await h.req('GET', `/v3/projects/${p.demoId}`, { token: t })).statusCode, 200);
        assert.equal((await h.req('GET', '/v3/auth/catalog', { token: t })).statusCode, 200);
        assert.equal((await h.req('GET', '/v3/regions', { token: t })).statusCode, 200);
        for (const [method, url, body] of [
          ['POST', '/v3/projects', { project: { name: 'r' } }],
          ['POST', '/v3/users', { user: { name: 'r' } }],
          ['POST', '/v3/regions', { region: {} }],
          ['PATCH', `/v3/projects/${p.demoId}`, { project: { description: 'x' } }],
          ['DELETE', `/v3/projects/${p.demoId}`, undefined],
        ] as const) {
          assert.equal((await h.req(method, url, { token: t, ...(body ? { body } : {}) })).statusCode, 403, `${method} ${url}`);
        }
      });
    });

    describe('bad input changes nothing', () => {
      test('malformed JSON, non-objects, wrong content type, wrong types, unknown options, oversize bodies', async () => {
        const count = async () => (await h.req('GET', '/v3/projects', { token: admin })).json().projects.length;
        const before = await count();
        const cases: [string, Record<string, unknown>, number, RegExp][] = [
          ['{"project": ', {}, 400, /^Expecting to find valid JSON in request body/],
          ['[1]', {}, 400, /^Expecting to find valid JSON in request body/],
          ['name=x', { 'content-type': 'application/x-www-form-urlencoded' }, 400, /application\/json in Content-Type header/],
          ['{"project": {"name": "x", "enabled": "yes"}}', {}, 400, /^Invalid input for field 'enabled': 'yes' is not of type 'boolean'$/],
          ['{"project": {"name": null}}', {}, 400, /^Invalid input for field 'name': None is not of type 'string'$/],
          ['{"project": {"name": "x", "description": 123}}', {}, 400, /^Invalid input for field 'description': 123 is not of type 'string', 'null'$/],
          ['{"project": {"name": "x", "tags": ["a", "a"]}}', {}, 400, /^Invalid input for field 'tags': \['a', 'a'\] has non-unique elements$/],
          ['{"name": "no wrapper"}', {}, 400, /^'name' is a required property$/],
          ['{"project": {"name": "x", "options": {"immortal": true}}}', {}, 400, /Additional properties are not allowed \('immortal' was unexpected\)/],
          ['{"project": {"name": ""}}', {}, 400, /is too short/],
          [`{"project": {"name": "x", "description": "${'d'.repeat(200_000)}"}}`, {}, 413, /.+/],
        ];
        for (const [raw, headers, status, message] of cases) {
          const r = await h.identity.app.inject({ method: 'POST', url: '/v3/projects', headers: { 'x-auth-token': admin, 'content-type': 'application/json', ...headers }, payload: raw });
          assert.equal(r.statusCode, status, raw.slice(0, 60));
          assert.equal(r.json().error.code, status);
          assert.match(r.json().error.message, message, raw.slice(0, 60));
        }
        assert.equal(await count(), before);
      });

      test('bad and absurd ids are plain 404s; unknown paths 404; wrong methods 405', async () => {
        assert.equal((await h.req('GET', '/v3/projects/not%20an%20id!', { token: admin })).json().error.message, 'Could not find project: not an id!.');
        const long = await h.req('GET', `/v3/users/${'x'.repeat(300)}`, { token: admin });
        assert.deepEqual(long.json(), { error: { code: 404, message: `Could not find user: ${'x'.repeat(300)}.`, title: 'Not Found' } });
        assert.equal((await h.req('GET', '/v3/nothing-here', { token: admin })).statusCode, 404);
        assert.equal((await h.req('PATCH', '/v3/auth/tokens', { token: admin })).statusCode, 405);
      });
    });

    describe('notifications', () => {
      test('CADF events for resources and authentication', async () => {
        await h.req('POST', '/v3/projects', { token: admin, body: { project: { name: 'audited' } } });
        await h.req('POST', '/v3/auth/tokens', { body: authBody('admin', 'wrong') });
        await new Promise((r) => setTimeout(r, 50));
        const created = h.notifications.find((n) => n.eventType === 'identity.project.created');
        assert.ok(created, 'identity.project.created was published');
        const payload = created.payload as Record<string, unknown>;
        assert.equal(payload.action, 'created.project');
        assert.equal(payload.typeURI, 'http://schemas.dmtf.org/cloud/audit/1.0/event');
        assert.equal((payload.target as Record<string, unknown>).typeURI, 'data/security/project');
        assert.ok(h.notifications.some((n) => n.eventType === 'identity.authenticate' && (n.payload as Record<string, unknown>).outcome === 'failure'));
        assert.ok(h.notifications.every((n) => n.publisherId.startsWith('identity.')));
      });
    });
  });
}
