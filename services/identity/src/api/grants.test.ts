// Grants to users and groups on projects, domains and the system, OS-INHERIT grants, the rules
// for domain-specific roles, and the roles tokens then carry (groups, inheritance down the
// project tree, implied roles; domain-specific roles only through what they imply).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { manualClock } from '@alto/kernel';
import { startIdentity, type Harness } from '../testing/harness.js';

const clock = manualClock(Date.UTC(2026, 10, 21, 8, 0, 0));
let h: Harness;
let admin: string;

const json = <T = Record<string, unknown>>(r: { json: () => unknown }) => r.json() as T;

async function mk(url: string, key: string, body: Record<string, unknown>): Promise<{ id: string; name: string }> {
  const r = await h.req('POST', url, { token: admin, body: { [key]: body } });
  assert.equal(r.statusCode, 201, `${url}: ${r.body}`);
  return json<Record<string, { id: string; name: string }>>(r)[key]!;
}

async function call(method: string, url: string, status = 204, token = admin) {
  const r = await h.req(method, url, { token });
  assert.equal(r.statusCode, status, `${method} ${url}: ${r.body}`);
  return r;
}

/** The role names a token of the user on the scope carries, or the status when refused. */
async function tokenRoles(userId: string, scope: unknown): Promise<string[] | number> {
  const r = await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id: userId, password: 'pw' } } }, scope } } });
  if (r.statusCode !== 201) return r.statusCode;
  return json<{ token: { roles: { name: string }[] } }>(r).token.roles.map((x) => x.name).sort();
}

let d: { id: string }, other: { id: string };
let p1: { id: string }, p2: { id: string }, p3: { id: string };
let u: { id: string }, g: { id: string };
const R: Record<string, { id: string; name: string }> = {};

before(async () => {
  h = await startIdentity({ clock });
  admin = await h.adminToken();
  d = await mk('/v3/domains', 'domain', { name: 'grants-d' });
  other = await mk('/v3/domains', 'domain', { name: 'grants-other' });
  p1 = await mk('/v3/projects', 'project', { name: 'p1', domain_id: d.id });
  p2 = await mk('/v3/projects', 'project', { name: 'p2', domain_id: d.id, parent_id: p1.id });
  p3 = await mk('/v3/projects', 'project', { name: 'p3', domain_id: d.id, parent_id: p2.id });
  u = await mk('/v3/users', 'user', { name: 'gu', password: 'pw', domain_id: d.id });
  g = await mk('/v3/groups', 'group', { name: 'gg', domain_id: d.id });
  for (const n of ['r1', 'r2', 'r3', 'r4']) R[n] = await mk('/v3/roles', 'role', { name: `grants-${n}` });
  R.dr = await mk('/v3/roles', 'role', { name: 'grants-dr', domain_id: d.id });
  R.dr2 = await mk('/v3/roles', 'role', { name: 'grants-dr2', domain_id: d.id });
  R.xr = await mk('/v3/roles', 'role', { name: 'grants-xr', domain_id: other.id });
});
after(() => h.close());

describe('group grants', () => {
  for (const [label, base] of [
    ['project', () => `/v3/projects/${p1.id}`],
    ['domain', () => `/v3/domains/${d.id}`],
    ['system', () => '/v3/system'],
  ] as const) {
    test(`on the ${label}: grant, list, check (HEAD and GET), revoke`, async () => {
      const url = `${base()}/groups/${g.id}/roles`;
      await call('PUT', `${url}/${R.r1!.id}`);
      const roles = json<{ roles: { id: string }[]; links: { self: string } }>(await call('GET', url, 200));
      assert.deepEqual(roles.roles.map((r) => r.id), [R.r1!.id]);
      assert.equal(roles.links.self, `http://localhost:80${url}`);
      await call('HEAD', `${url}/${R.r1!.id}`);
      await call('GET', `${url}/${R.r1!.id}`);
      await call('DELETE', `${url}/${R.r1!.id}`);
      const missing = await call('DELETE', `${url}/${R.r1!.id}`, 404);
      const target = label === 'system' ? 'system' : label === 'project' ? p1.id : d.id;
      assert.equal(json<{ error: { message: string } }>(missing).error.message, `Could not find role assignment with role: ${R.r1!.id}, user or group: ${g.id}, project, domain, or system: ${target}.`);
      await call('HEAD', `${url}/${R.r1!.id}`, 404);
    });
  }

  test('unknown group, role or target: 404 before policy, in upstream order', async () => {
    const msg = async (method: string, url: string) => json<{ error: { message: string } }>(await call(method, url, 404)).error.message;
    assert.equal(await msg('PUT', `/v3/projects/${p1.id}/groups/nope/roles/${R.r1!.id}`), 'Could not find group: nope.');
    assert.equal(await msg('PUT', `/v3/projects/nope/groups/nope/roles/nope`), 'Could not find role: nope.');
    assert.equal(await msg('PUT', `/v3/domains/nope/groups/nope/roles/nope`), 'Could not find domain: nope.');
    assert.equal(await msg('GET', `/v3/system/groups/nope/roles`), 'Could not find group: nope.');
    // revoking for a deleted actor is still possible (it just finds nothing here)
    assert.match(await msg('DELETE', `/v3/projects/${p1.id}/groups/nope/roles/${R.r1!.id}`), /^Could not find role assignment/);
  });

  test('domain-specific roles: only within their domain, never on the system', async () => {
    const pOther = await mk('/v3/projects', 'project', { name: 'p-other', domain_id: other.id });
    const r = await call('PUT', `/v3/projects/${pOther.id}/users/${u.id}/roles/${R.dr!.id}`, 403);
    assert.equal(json<{ error: { message: string } }>(r).error.message, `Project ${pOther.id} must be in the same domain as the role ${R.dr!.id} being assigned.`);
    const s = await call('PUT', `/v3/system/groups/${g.id}/roles/${R.dr!.id}`, 400);
    assert.equal(json<{ error: { message: string } }>(s).error.message, `Role ${R.dr!.id} is a domain-specific role. Unable to use a domain-specific role in a system assignment.`);
    // Keystone checks projects only: a domain grant of another domain's role is accepted
    await call('PUT', `/v3/domains/${d.id}/users/${u.id}/roles/${R.xr!.id}`);
    await call('DELETE', `/v3/domains/${d.id}/users/${u.id}/roles/${R.xr!.id}`);
  });

  test('CADF role_assignment events name the group; system grants are not announced', async () => {
    await call('PUT', `/v3/domains/${d.id}/groups/${g.id}/roles/${R.r2!.id}`);
    await call('DELETE', `/v3/domains/${d.id}/groups/${g.id}/roles/${R.r2!.id}`);
    await call('PUT', `/v3/system/groups/${g.id}/roles/${R.r2!.id}`);
    await call('DELETE', `/v3/system/groups/${g.id}/roles/${R.r2!.id}`);
    await h.identity.drain();
    await new Promise((r) => setTimeout(r, 50));
    const mine = h.notifications.filter((n) => n.eventType.startsWith('identity.role_assignment.') && (n.payload as { group?: string }).group === g.id && (n.payload as { role?: string }).role === R.r2!.id);
    assert.deepEqual(mine.map((n) => n.eventType), ['identity.role_assignment.created', 'identity.role_assignment.deleted']);
    assert.equal((mine[0]!.payload as { domain?: string }).domain, d.id);
  });
});

describe('OS-INHERIT', () => {
  test('domain grants inherited to projects: PUT, list, check, revoke, for users and groups', async () => {
    for (const [seg, id] of [
      ['users', u.id],
      ['groups', g.id],
    ] as const) {
      const base = `/v3/OS-INHERIT/domains/${d.id}/${seg}/${id}/roles`;
      await call('PUT', `${base}/${R.r3!.id}/inherited_to_projects`);
      const roles = json<{ roles: { id: string }[] }>(await call('GET', `${base}/inherited_to_projects`, 200)).roles;
      assert.deepEqual(roles.map((r) => r.id), [R.r3!.id]);
      await call('HEAD', `${base}/${R.r3!.id}/inherited_to_projects`);
      await call('GET', `${base}/${R.r3!.id}/inherited_to_projects`);
      // the inherited grant is not a direct one
      await call('HEAD', `/v3/domains/${d.id}/${seg}/${id}/roles/${R.r3!.id}`, 404);
      await call('DELETE', `${base}/${R.r3!.id}/inherited_to_projects`);
      await call('HEAD', `${base}/${R.r3!.id}/inherited_to_projects`, 404);
    }
  });

  test('project grants inherited to the subtree; no list route for projects (as upstream)', async () => {
    for (const [seg, id] of [
      ['users', u.id],
      ['groups', g.id],
    ] as const) {
      const url = `/v3/OS-INHERIT/projects/${p1.id}/${seg}/${id}/roles/${R.r3!.id}/inherited_to_projects`;
      await call('PUT', url);
      await call('HEAD', url);
      await call('DELETE', url);
      await call('GET', url, 404);
    }
    await call('GET', `/v3/OS-INHERIT/projects/${p1.id}/users/${u.id}/roles/inherited_to_projects`, 404);
  });

  test('missing entities: policy first, then Keystone stores a grant to an unknown actor but not on an unknown target', async () => {
    await call('PUT', `/v3/OS-INHERIT/domains/${d.id}/users/ghost/roles/${R.r4!.id}/inherited_to_projects`);
    const roles = json<{ roles: { id: string }[] }>(await call('GET', `/v3/OS-INHERIT/domains/${d.id}/users/ghost/roles/inherited_to_projects`, 200)).roles;
    assert.deepEqual(roles.map((r) => r.id), [R.r4!.id]);
    await call('DELETE', `/v3/OS-INHERIT/domains/${d.id}/users/ghost/roles/${R.r4!.id}/inherited_to_projects`);
    const nd = await call('PUT', `/v3/OS-INHERIT/domains/nope/users/${u.id}/roles/${R.r4!.id}/inherited_to_projects`, 404);
    assert.equal(json<{ error: { message: string } }>(nd).error.message, 'Could not find domain: nope.');
    const nr = await call('PUT', `/v3/OS-INHERIT/domains/${d.id}/users/${u.id}/roles/nope/inherited_to_projects`, 404);
    assert.equal(json<{ error: { message: string } }>(nr).error.message, 'Could not find role: nope.');
  });
});

describe('effective roles in tokens', () => {
  test('user, group, inherited from the domain and from ancestors, implied; domain roles only through what they imply', async () => {
    await call('PUT', `/v3/groups/${g.id}/users/${u.id}`);
    await call('PUT', `/v3/roles/${R.r1!.id}/implies/${R.r2!.id}`, 201);
    await call('PUT', `/v3/roles/${R.dr!.id}/implies/${R.r4!.id}`, 201);
    await call('PUT', `/v3/OS-INHERIT/domains/${d.id}/groups/${g.id}/roles/${R.r1!.id}/inherited_to_projects`);
    await call('PUT', `/v3/OS-INHERIT/projects/${p1.id}/users/${u.id}/roles/${R.r3!.id}/inherited_to_projects`);
    await call('PUT', `/v3/projects/${p2.id}/groups/${g.id}/roles/${R.dr!.id}`);
    await call('PUT', `/v3/domains/${d.id}/groups/${g.id}/roles/${R.r3!.id}`);
    await call('PUT', `/v3/system/groups/${g.id}/roles/${R.r4!.id}`);
    const n = (...names: string[]) => names.map((x) => `grants-${x}`).sort();
    assert.deepEqual(await tokenRoles(u.id, { project: { id: p1.id } }), n('r1', 'r2'), 'p1: the domain-inherited group grant only');
    assert.deepEqual(await tokenRoles(u.id, { project: { id: p2.id } }), n('r1', 'r2', 'r3', 'r4'), 'p2: + inherited from p1 + the domain role\'s implied r4');
    assert.deepEqual(await tokenRoles(u.id, { project: { id: p3.id } }), n('r1', 'r2', 'r3'), 'p3: grants on p2 are not inherited');
    assert.deepEqual(await tokenRoles(u.id, { domain: { id: d.id } }), n('r3'), 'the domain: direct grants only');
    assert.deepEqual(await tokenRoles(u.id, { system: { all: true } }), n('r4'), 'the system: through the group');
  });

  test('a domain role implying only domain roles gives no token', async () => {
    const x = await mk('/v3/users', 'user', { name: 'dr-only', password: 'pw', domain_id: d.id });
    await call('PUT', `/v3/roles/${R.dr2!.id}/implies/${R.dr!.id}`, 201);
    await call('DELETE', `/v3/roles/${R.dr!.id}/implies/${R.r4!.id}`);
    await call('PUT', `/v3/projects/${p1.id}/users/${x.id}/roles/${R.dr2!.id}`);
    assert.equal(await tokenRoles(x.id, { project: { id: p1.id } }), 401);
    await call('PUT', `/v3/roles/${R.dr!.id}/implies/${R.r4!.id}`, 201);
    assert.deepEqual(await tokenRoles(x.id, { project: { id: p1.id } }), ['grants-r4']);
  });

  test('implied-role rules for domain roles: domain to domain (any domain) and domain to global allowed, global to domain refused', async () => {
    await call('PUT', `/v3/roles/${R.dr!.id}/implies/${R.xr!.id}`, 201);
    const r = await call('PUT', `/v3/roles/${R.r1!.id}/implies/${R.dr!.id}`, 403);
    assert.equal(json<{ error: { message: string } }>(r).error.message, `${R.dr!.id} cannot be an implied roles.`);
    await call('DELETE', `/v3/roles/${R.dr!.id}/implies/${R.xr!.id}`);
  });

  test('revoking a grant ends the tokens that depended on it', async () => {
    const x = await mk('/v3/users', 'user', { name: 'revoke-me', password: 'pw', domain_id: d.id });
    await call('PUT', `/v3/domains/${d.id}/users/${x.id}/roles/${R.r1!.id}`);
    const r = await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id: x.id, password: 'pw' } } }, scope: { domain: { id: d.id } } } } });
    const t = String(r.headers['x-subject-token']);
    const check = () => h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t } });
    assert.equal((await check()).statusCode, 200);
    await call('DELETE', `/v3/domains/${d.id}/users/${x.id}/roles/${R.r1!.id}`);
    assert.equal((await check()).statusCode, 404);
  });
});

describe('policy names Keystone picks by the request', () => {
  test('a project member: domain roles are guarded by the *_domain_role rules, a subtree listing by its own rule', async () => {
    const member = await mk('/v3/users', 'user', { name: 'pol-member', password: 'pw', domain_id: d.id });
    const memberRole = json<{ roles: { id: string }[] }>(await h.req('GET', '/v3/roles?name=member', { token: admin })).roles[0]!.id;
    await call('PUT', `/v3/projects/${p1.id}/users/${member.id}/roles/${memberRole}`);
    const r = await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id: member.id, password: 'pw' } } }, scope: { project: { id: p1.id } } } } });
    const t = String(r.headers['x-subject-token']);
    const cases: [string, string, number, string?, unknown?][] = [
      ['GET', '/v3/roles/nope', 404],
      ['GET', `/v3/roles/${R.dr!.id}`, 403, 'identity:get_domain_role'],
      ['GET', `/v3/roles/${R.r1!.id}`, 403, 'identity:get_role'],
      ['GET', `/v3/roles?domain_id=${d.id}`, 403, 'identity:list_domain_roles'],
      ['GET', '/v3/roles', 403, 'identity:list_roles'],
      ['POST', '/v3/roles', 403, 'identity:create_domain_role', { role: { name: 'x', domain_id: d.id } }],
      ['PATCH', `/v3/roles/${R.dr!.id}`, 403, 'identity:update_domain_role', { role: { name: 'x' } }],
      ['PATCH', '/v3/roles/nope', 404, undefined, { role: { name: 'x' } }],
      ['DELETE', `/v3/roles/${R.dr!.id}`, 403, 'identity:delete_domain_role'],
      ['GET', `/v3/role_assignments?scope.project.id=${p1.id}&include_subtree=true`, 403, 'identity:list_role_assignments_for_tree'],
      ['GET', `/v3/role_assignments?scope.project.id=${p1.id}`, 403, 'identity:list_role_assignments'],
    ];
    const diffs: string[] = [];
    for (const [method, url, status, policy, body] of cases) {
      const res = await h.req(method, url, { token: t, ...(body !== undefined ? { body } : {}) });
      const message = res.statusCode === 403 ? json<{ error: { message: string } }>(res).error.message : '';
      if (res.statusCode !== status || (policy && message !== `You are not authorized to perform the requested action: ${policy}.`)) diffs.push(`${method} ${url}: ${res.statusCode} ${message}`);
    }
    assert.deepEqual(diffs, []);
    // an admin may create a domain role in a domain that does not exist, as upstream
    const created = await h.req('POST', '/v3/roles', { token: admin, body: { role: { name: 'orphan-domain-role', domain_id: 'nope' } } });
    assert.equal(created.statusCode, 201);
  });
});
