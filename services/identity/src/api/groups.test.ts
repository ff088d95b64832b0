// /v3/groups and membership: CRUD with Keystone's wording, filters, notifications, the token
// revocations membership changes cause, and what a project member and a domain admin may do
// (as recorded from Debian's Keystone: a domain admin passes admin_required, but its lists are
// cut to its domain).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { manualClock } from '@alto/kernel';
import { startIdentity, addPersonas, type Harness } from '../testing/harness.js';

const clock = manualClock(Date.UTC(2026, 10, 21, 8, 0, 0));
let h: Harness;
let admin: string;
let p: Awaited<ReturnType<typeof addPersonas>>;
const roleIds: Record<string, string> = {};

const json = <T = Record<string, unknown>>(r: { json: () => unknown }) => r.json() as T;

async function mk<T = { id: string }>(url: string, key: string, body: Record<string, unknown>): Promise<T> {
  const r = await h.req('POST', url, { token: admin, body: { [key]: body } });
  assert.equal(r.statusCode, 201, `${url}: ${r.body}`);
  return json<Record<string, T>>(r)[key]!;
}

async function ok(method: string, url: string, status = 204, token = admin) {
  const r = await h.req(method, url, { token });
  assert.equal(r.statusCode, status, `${method} ${url}: ${r.body}`);
  return r;
}

/** A password token by user id (any domain). */
async function tokenOf(userId: string, password: string, scope?: unknown): Promise<string> {
  const r = await h.req('POST', '/v3/auth/tokens', {
    body: { auth: { identity: { methods: ['password'], password: { user: { id: userId, password } } }, ...(scope ? { scope } : {}) } },
  });
  assert.equal(r.statusCode, 201, r.body);
  return String(r.headers['x-subject-token']);
}

const validate = (subject: string) => h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': subject } });

before(async () => {
  h = await startIdentity({ clock });
  admin = await h.adminToken();
  p = await addPersonas(h);
  for (const r of json<{ roles: { id: string; name: string }[] }>(await h.req('GET', '/v3/roles', { token: admin })).roles) roleIds[r.name] = r.id;
});
after(() => h.close());

describe('groups', () => {
  test('create, get, list, update and delete with Keystone fields and words', async () => {
    const created = await h.req('POST', '/v3/groups', { token: admin, body: { group: { name: 'g-crud', project_id: 'xyz', 'a-b': 1 } } });
    assert.equal(created.statusCode, 201);
    const g = json<{ group: Record<string, unknown> }>(created).group;
    assert.deepEqual(Object.keys(g), ['project_id', 'a_b', 'id', 'name', 'domain_id', 'description', 'links']);
    assert.equal(g.domain_id, 'default');
    assert.equal(g.description, '');
    assert.deepEqual(g.links, { self: `http://localhost:80/v3/groups/${g.id as string}` });

    const dup = await h.req('POST', '/v3/groups', { token: admin, body: { group: { name: 'g-crud' } } });
    assert.deepEqual(dup.json(), {
      error: { code: 409, message: 'Conflict occurred attempting to store group - Duplicate entry found with name g-crud at domain ID default.', title: 'Conflict' },
    });
    const noDomain = await h.req('POST', '/v3/groups', { token: admin, body: { group: { name: 'g2', domain_id: 'nope' } } });
    assert.equal(noDomain.statusCode, 404);
    assert.equal(json<{ error: { message: string } }>(noDomain).error.message, 'Could not find domain: nope.');
    assert.equal((await h.req('POST', '/v3/groups', { token: admin, body: { group: {} } })).statusCode, 400);

    assert.deepEqual(json<{ group: unknown }>(await ok('GET', `/v3/groups/${g.id as string}`, 200)).group, g);
    const listed = json<{ groups: { id: string }[] }>(await ok('GET', '/v3/groups?name=g-crud', 200)).groups;
    assert.deepEqual(listed.map((x) => x.id), [g.id]);
    assert.equal(json<{ groups: unknown[] }>(await ok('GET', '/v3/groups?domain_id=nope', 200)).groups.length, 0);

    const badId = await h.req('PATCH', `/v3/groups/${g.id as string}`, { token: admin, body: { group: { description: 'x', id: 'other' } } });
    assert.deepEqual(badId.json(), { error: { code: 400, message: 'Cannot change ID', title: 'Bad Request' } });
    const d = await mk('/v3/domains', 'domain', { name: 'groups-crud-domain' });
    const badDomain = await h.req('PATCH', `/v3/groups/${g.id as string}`, { token: admin, body: { group: { domain_id: d.id } } });
    assert.deepEqual(badDomain.json(), { error: { code: 400, message: 'Cannot change Domain ID', title: 'Bad Request' } });
    const patched = await h.req('PATCH', `/v3/groups/${g.id as string}`, { token: admin, body: { group: { name: ' g-renamed ', extra1: null } } });
    assert.equal(patched.statusCode, 200);
    const pg = json<{ group: Record<string, unknown> }>(patched).group;
    assert.equal(pg.name, 'g-renamed');
    assert.equal(pg.extra1, null);
    assert.equal(pg.project_id, 'xyz');

    await ok('DELETE', `/v3/groups/${g.id as string}`);
    const gone = await h.req('GET', `/v3/groups/${g.id as string}`, { token: admin });
    assert.deepEqual(gone.json(), { error: { code: 404, message: `Could not find group: ${g.id as string}.`, title: 'Not Found' } });
    await ok('DELETE', `/v3/groups/${g.id as string}`, 404);
  });

  test('membership: add (twice), check, list both ways, remove, and the not-found words', async () => {
    const g = await mk('/v3/groups', 'group', { name: 'g-members' });
    const u = await mk('/v3/users', 'user', { name: 'u-members', password: 'pw' });
    await ok('PUT', `/v3/groups/${g.id}/users/${u.id}`);
    await ok('PUT', `/v3/groups/${g.id}/users/${u.id}`);
    await ok('HEAD', `/v3/groups/${g.id}/users/${u.id}`);
    await ok('GET', `/v3/groups/${g.id}/users/${u.id}`);
    const users = json<{ users: Record<string, unknown>[] }>(await ok('GET', `/v3/groups/${g.id}/users`, 200)).users;
    assert.deepEqual(users.map((x) => x.id), [u.id]);
    assert.equal(users[0]!.password_expires_at, null);
    const groups = json<{ groups: Record<string, unknown>[] }>(await ok('GET', `/v3/users/${u.id}/groups`, 200)).groups;
    assert.deepEqual(Object.keys(groups[0]!), ['id', 'name', 'domain_id', 'description', 'membership_expires_at', 'links']);
    assert.equal(groups[0]!.membership_expires_at, null);
    assert.equal(json<{ groups: unknown[] }>(await ok('GET', `/v3/users/${u.id}/groups?name=other`, 200)).groups.length, 0);

    const msg = async (method: string, url: string) => json<{ error: { message: string } }>(await ok(method, url, 404)).error.message;
    assert.equal(await msg('PUT', `/v3/groups/${g.id}/users/nope`), 'Could not find user: nope.');
    assert.equal(await msg('PUT', `/v3/groups/nope/users/${u.id}`), 'Could not find group: nope.');
    assert.equal(await msg('DELETE', `/v3/groups/nope/users/${u.id}`), 'Could not find group: nope.');
    assert.equal(await msg('GET', '/v3/groups/nope/users'), 'Could not find group: nope.');
    assert.equal(await msg('GET', '/v3/users/nope/groups'), 'Could not find user: nope.');

    await ok('DELETE', `/v3/groups/${g.id}/users/${u.id}`);
    assert.equal(await msg('DELETE', `/v3/groups/${g.id}/users/${u.id}`), `User '${u.id}' not found in group '${g.id}'`);
    assert.equal(await msg('GET', `/v3/groups/${g.id}/users/${u.id}`), `User '${u.id}' not found in group '${g.id}'`);
    await ok('HEAD', `/v3/groups/${g.id}/users/${u.id}`, 404);
  });

  test('members filtered by name, enabled and password_expires_at (with its operator and time checks)', async () => {
    const g = await mk('/v3/groups', 'group', { name: 'g-filters' });
    const a = await mk('/v3/users', 'user', { name: 'f-a', password: 'pw' });
    const b = await mk('/v3/users', 'user', { name: 'f-b', password: 'pw', enabled: false });
    for (const u of [a, b]) await ok('PUT', `/v3/groups/${g.id}/users/${u.id}`);
    const names = async (q: string) => json<{ users: { name: string }[] }>(await ok('GET', `/v3/groups/${g.id}/users${q}`, 200)).users.map((x) => x.name);
    assert.deepEqual(await names('?name=f-a'), ['f-a']);
    assert.deepEqual(await names('?enabled=false'), ['f-b']);
    // no password expires (no expiry configured): an expiry comparison matches nobody
    assert.deepEqual(await names('?password_expires_at=lt:2030-01-01T00:00:00Z'), []);
    const bad = async (q: string) => json<{ error: { message: string } }>(await ok('GET', `/v3/groups/${g.id}/users${q}`, 400)).error.message;
    assert.equal(await bad('?password_expires_at=xx:2030-01-01T00:00:00Z'), "The given operator xx is not valid. It must be one of the following: 'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'.");
    assert.match(await bad('?password_expires_at=garbage'), /^Timestamp not in expected format\./);
  });

  test('CADF: created, updated (also for membership changes), deleted', async () => {
    const g = await mk('/v3/groups', 'group', { name: 'g-cadf' });
    await ok('PUT', `/v3/groups/${g.id}/users/${p.member}`);
    await ok('DELETE', `/v3/groups/${g.id}/users/${p.member}`);
    await ok('DELETE', `/v3/groups/${g.id}`);
    await h.identity.drain();
    await new Promise((r) => setTimeout(r, 50));
    const events = h.notifications.filter((n) => n.eventType.startsWith('identity.group.') && (n.payload as { resource_info?: string }).resource_info === g.id);
    assert.deepEqual(events.map((n) => n.eventType), ['identity.group.created', 'identity.group.updated', 'identity.group.updated', 'identity.group.deleted']);
    const payload = events[0]!.payload as { target: { typeURI: string; id: string }; resource_info: string };
    assert.deepEqual(payload.target, { typeURI: 'data/security/group', id: g.id });
    assert.equal(payload.resource_info, g.id);
    clock.advance(1000); // membership removal revoked the member's tokens up to this second
  });
});

describe('tokens follow membership', () => {
  test('a role through a group comes and goes with the membership; removal revokes the user tokens', async () => {
    const g = await mk('/v3/groups', 'group', { name: 'g-token' });
    const u = await mk('/v3/users', 'user', { name: 'u-token', password: 'pw' });
    await ok('PUT', `/v3/projects/${p.demoId}/groups/${g.id}/roles/${roleIds.member!}`);
    const scope = { project: { id: p.demoId } };
    assert.equal((await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id: u.id, password: 'pw' } } }, scope } } })).statusCode, 401);
    await ok('PUT', `/v3/groups/${g.id}/users/${u.id}`);
    const t = await tokenOf(u.id, 'pw', scope);
    const roles = json<{ token: { roles: { name: string }[] } }>(await validate(t)).token.roles.map((r) => r.name).sort();
    assert.deepEqual(roles, ['member', 'reader']);
    const unscoped = await tokenOf(u.id, 'pw');
    clock.advance(1000);
    await ok('DELETE', `/v3/groups/${g.id}/users/${u.id}`);
    assert.equal((await validate(t)).statusCode, 404, 'the scoped token is revoked');
    assert.equal((await validate(unscoped)).statusCode, 404, 'every token of the user is revoked, as upstream');
    clock.advance(1000);
    assert.equal((await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id: u.id, password: 'pw' } } }, scope } } })).statusCode, 401);
  });

  test('deleting a group with roles revokes its members; one without roles revokes nobody', async () => {
    const withRoles = await mk('/v3/groups', 'group', { name: 'g-del-roles' });
    const noRoles = await mk('/v3/groups', 'group', { name: 'g-del-none' });
    const u = await mk('/v3/users', 'user', { name: 'u-del', password: 'pw' });
    const v = await mk('/v3/users', 'user', { name: 'v-del', password: 'pw' });
    await ok('PUT', `/v3/groups/${withRoles.id}/users/${u.id}`);
    await ok('PUT', `/v3/groups/${noRoles.id}/users/${v.id}`);
    await ok('PUT', `/v3/projects/${p.otherId}/groups/${withRoles.id}/roles/${roleIds.reader!}`);
    const tu = await tokenOf(u.id, 'pw');
    const tv = await tokenOf(v.id, 'pw');
    clock.advance(1000);
    await ok('DELETE', `/v3/groups/${noRoles.id}`);
    assert.equal((await validate(tv)).statusCode, 200);
    await ok('DELETE', `/v3/groups/${withRoles.id}`);
    assert.equal((await validate(tu)).statusCode, 404);
    const left = json<{ role_assignments: unknown[] }>(await ok('GET', `/v3/role_assignments?group.id=${withRoles.id}`, 200)).role_assignments;
    assert.deepEqual(left, [], 'its assignments went with it');
    clock.advance(1000);
  });
});

describe('policy', () => {
  test('a project member: 403 on group routes, its own groups listed, an unknown group deleted is a 404', async () => {
    const g = await mk('/v3/groups', 'group', { name: 'g-policy' });
    await ok('PUT', `/v3/groups/${g.id}/users/${p.member}`);
    const t = await h.token('demo-member', 'demo-member-pw', { project: 'demo' });
    const cases: [string, string, number, unknown?][] = [
      ['GET', '/v3/groups', 403],
      ['GET', `/v3/groups/${g.id}`, 403],
      ['GET', '/v3/groups/nope', 403],
      ['POST', '/v3/groups', 403, { group: { name: 'x' } }],
      ['PATCH', `/v3/groups/${g.id}`, 403, { group: { name: 'x' } }],
      ['PATCH', '/v3/groups/nope', 403, { group: { name: 'x' } }],
      ['DELETE', `/v3/groups/${g.id}`, 403],
      ['DELETE', '/v3/groups/nope', 404],
      ['GET', `/v3/groups/${g.id}/users`, 403],
      ['GET', '/v3/groups/nope/users', 403],
      ['PUT', `/v3/groups/${g.id}/users/${p.member}`, 403],
      ['HEAD', `/v3/groups/${g.id}/users/${p.member}`, 403],
      ['DELETE', `/v3/groups/${g.id}/users/${p.member}`, 403],
      ['GET', `/v3/users/${p.member}/groups`, 200],
      ['GET', `/v3/users/${p.outsider}/groups`, 403],
      ['PUT', `/v3/projects/${p.demoId}/groups/${g.id}/roles/${roleIds.member!}`, 403],
      ['GET', `/v3/system/groups/${g.id}/roles`, 403],
      ['GET', `/v3/OS-INHERIT/domains/default/groups/${g.id}/roles/inherited_to_projects`, 403],
      ['PUT', '/v3/OS-INHERIT/domains/default/groups/nope/roles/nope/inherited_to_projects', 403],
    ];
    const diffs: string[] = [];
    for (const [method, url, want, body] of cases) {
      const r = await h.req(method, url, { token: t, ...(body !== undefined ? { body } : {}) });
      if (r.statusCode !== want) diffs.push(`${method} ${url}: want ${want}, got ${r.statusCode} ${r.body}`);
    }
    assert.deepEqual(diffs, []);
    const forbidden = await h.req('GET', '/v3/groups', { token: t });
    assert.equal(json<{ error: { message: string } }>(forbidden).error.message, 'You are not authorized to perform the requested action: identity:list_groups.');
    const own = json<{ groups: { id: string }[] }>(await h.req('GET', `/v3/users/${p.member}/groups`, { token: t })).groups;
    assert.deepEqual(own.map((x) => x.id), [g.id]);
  });

  test('a domain admin: lists cut to its domain, groups it creates land in its domain', async () => {
    const d = await mk('/v3/domains', 'domain', { name: 'groups-admin-domain' });
    const da = await mk('/v3/users', 'user', { name: 'dom-admin', password: 'pw', domain_id: d.id });
    await ok('PUT', `/v3/domains/${d.id}/users/${da.id}/roles/${roleIds.admin!}`);
    const gd = await mk('/v3/groups', 'group', { name: 'gd', domain_id: d.id });
    const gx = await mk('/v3/groups', 'group', { name: 'gx' });
    const ud = await mk('/v3/users', 'user', { name: 'ud', password: 'pw', domain_id: d.id });
    for (const g of [gd, gx]) await ok('PUT', `/v3/groups/${g.id}/users/${ud.id}`);
    const t = await tokenOf(da.id, 'pw', { domain: { id: d.id } });

    const ids = async (url: string) => json<{ groups: { id: string }[] }>(await ok('GET', url, 200, t)).groups.map((x) => x.id);
    assert.deepEqual(await ids('/v3/groups'), [gd.id]);
    assert.deepEqual(await ids('/v3/groups?domain_id=default'), []);
    assert.deepEqual(await ids(`/v3/users/${ud.id}/groups`), [gd.id]);
    // admin_required is role:admin whatever the scope (Zed's defaults): other domains are reachable
    await ok('GET', `/v3/groups/${gx.id}`, 200, t);
    const created = json<{ group: { domain_id: string } }>(await h.req('POST', '/v3/groups', { token: t, body: { group: { name: 'made-by-domain-admin' } } })).group;
    assert.equal(created.domain_id, d.id);
    const members = json<{ users: { id: string }[] }>(await ok('GET', `/v3/groups/${gx.id}/users`, 200, t)).users.map((x) => x.id);
    assert.deepEqual(members, [ud.id]);
  });
});
