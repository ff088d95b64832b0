// Effective role resolution on SQLite, PostgreSQL and MariaDB: groups, grants inherited from the
// domain and from ancestor projects (the recursive CTEs), implied roles and domain-specific roles,
// for tokens (effectiveRoleIds), listings and the scopes a user can reach.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testEngines } from '@alto/db/testing';
import { startIdentity, type Harness } from '../testing/harness.js';

for (const engine of testEngines()) {
  describe(`effective roles on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let h: Harness;
    let admin: string;
    const id: Record<string, string> = {};
    const label = (x: string) => Object.entries(id).find(([, v]) => v === x)?.[0] ?? x;

    const mk = async (name: string, url: string, key: string, body: Record<string, unknown>) => {
      const r = await h.req('POST', url, { token: admin, body: { [key]: body } });
      assert.equal(r.statusCode, 201, `${url}: ${r.body}`);
      id[name] = r.json<Record<string, { id: string }>>()[key]!.id;
    };
    const put = async (url: string, status = 204) => {
      const r = await h.req('PUT', url, { token: admin });
      assert.equal(r.statusCode, status, `${url}: ${r.body}`);
    };

    before(async () => {
      h = await startIdentity({ dialect: engine.dialect });
      admin = await h.adminToken();
      await mk('D', '/v3/domains', 'domain', { name: `eff-${engine.dialect}` });
      await mk('P1', '/v3/projects', 'project', { name: 'p1', domain_id: id.D });
      await mk('P2', '/v3/projects', 'project', { name: 'p2', domain_id: id.D, parent_id: id.P1 });
      await mk('P3', '/v3/projects', 'project', { name: 'p3', domain_id: id.D, parent_id: id.P2 });
      await mk('PX', '/v3/projects', 'project', { name: 'px', domain_id: id.D });
      await mk('U', '/v3/users', 'user', { name: 'u', password: 'pw', domain_id: id.D });
      for (const g of ['G1', 'G2', 'G3']) await mk(g, '/v3/groups', 'group', { name: g.toLowerCase(), domain_id: id.D });
      for (const r of ['R1', 'R2', 'R3', 'R4', 'R5']) await mk(r, '/v3/roles', 'role', { name: `eff-${r}` });
      await mk('DR', '/v3/roles', 'role', { name: 'eff-dr', domain_id: id.D });
      for (const g of ['G1', 'G2', 'G3']) await put(`/v3/groups/${id[g]!}/users/${id.U!}`);
      await put(`/v3/roles/${id.R1!}/implies/${id.R2!}`, 201);
      await put(`/v3/roles/${id.R2!}/implies/${id.R1!}`, 201); // a cycle: expansion must end
      await put(`/v3/roles/${id.DR!}/implies/${id.R5!}`, 201);
      await put(`/v3/OS-INHERIT/domains/${id.D!}/groups/${id.G1!}/roles/${id.R1!}/inherited_to_projects`);
      await put(`/v3/OS-INHERIT/projects/${id.P1!}/groups/${id.G2!}/roles/${id.R3!}/inherited_to_projects`);
      await put(`/v3/projects/${id.P3!}/groups/${id.G3!}/roles/${id.DR!}`);
      await put(`/v3/projects/${id.P2!}/users/${id.U!}/roles/${id.R4!}`);
      await put(`/v3/domains/${id.D!}/groups/${id.G3!}/roles/${id.R4!}`);
      await put(`/v3/system/groups/${id.G2!}/roles/${id.R5!}`);
    });
    after(() => h.close());

    const roles = async (scope: { project: string } | { domain: string } | { system: 'all' }, opts?: { keepDomainRoles?: boolean }) =>
      (await h.identity.services.roles.effectiveRoleIds(id.U!, scope, opts)).map(label).sort();

    test('tokens: each scope gets exactly its roles', async () => {
      assert.deepEqual(await roles({ project: id.P1! }), ['R1', 'R2']);
      assert.deepEqual(await roles({ project: id.P2! }), ['R1', 'R2', 'R3', 'R4']);
      assert.deepEqual(await roles({ project: id.P3! }), ['R1', 'R2', 'R3', 'R5']);
      assert.deepEqual(await roles({ project: id.P3! }, { keepDomainRoles: true }), ['DR', 'R1', 'R2', 'R3', 'R5']);
      assert.deepEqual(await roles({ project: id.PX! }), ['R1', 'R2']);
      assert.deepEqual(await roles({ domain: id.D! }), ['R4']);
      assert.deepEqual(await roles({ system: 'all' }), ['R5']);
      assert.deepEqual(await roles({ project: 'unknown' }), []);
      // the domain as if it were a project: inherited grants apply below it, never to it
      assert.deepEqual(await roles({ project: id.D! }), []);
    });

    test('effective listing agrees with the tokens, project by project', async () => {
      const list = await h.identity.services.roles.listAssignments({ userId: id.U!, effective: true });
      for (const p of ['P1', 'P2', 'P3', 'PX']) {
        const onP = [...new Set(list.filter((a) => 'project' in a.scope && a.scope.project === id[p]).map((a) => label(a.roleId)))].sort();
        assert.deepEqual(onP, await roles({ project: id[p]! }), p);
      }
      const onD = [...new Set(list.filter((a) => 'domain' in a.scope).map((a) => label(a.roleId)))].sort();
      assert.deepEqual(onD, ['R4']);
      const sub = await h.identity.services.roles.listAssignments({ projectId: id.P1!, includeSubtree: true, effective: true });
      assert.deepEqual([...new Set(sub.map((a) => label('project' in a.scope ? a.scope.project : '')))].sort(), ['P1', 'P2', 'P3']);
    });

    test('reachable scopes', async () => {
      assert.deepEqual((await h.identity.services.roles.targetsOfUser(id.U!, 'project')).map(label).sort(), ['P1', 'P2', 'P3', 'PX']);
      assert.deepEqual((await h.identity.services.roles.targetsOfUser(id.U!, 'domain')).map(label), ['D']);
    });

    test('leaving a group takes its roles away everywhere', async () => {
      const r = await h.req('DELETE', `/v3/groups/${id.G1!}/users/${id.U!}`, { token: admin });
      assert.equal(r.statusCode, 204);
      assert.deepEqual(await roles({ project: id.P1! }), []);
      assert.deepEqual(await roles({ project: id.P3! }), ['R3', 'R5']);
    });
  });
}
