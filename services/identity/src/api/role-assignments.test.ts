// GET /v3/role_assignments as Keystone renders it (direct, effective, with names, subtree, the
// domain-scoped caller's view, the filter checks) and the scopes a user can reach through groups
// and inherited grants (/v3/auth/projects, /v3/auth/domains, /v3/users/{id}/projects).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startIdentity, type Harness } from '../testing/harness.js';

let h: Harness;
let admin: string;
const B = 'http://localhost:80/v3';

const json = <T = Record<string, unknown>>(r: { json: () => unknown }) => r.json() as T;

async function mk(url: string, key: string, body: Record<string, unknown>): Promise<{ id: string }> {
  const r = await h.req('POST', url, { token: admin, body: { [key]: body } });
  assert.equal(r.statusCode, 201, `${url}: ${r.body}`);
  return json<Record<string, { id: string }>>(r)[key]!;
}

async function put(url: string, status = 204) {
  const r = await h.req('PUT', url, { token: admin });
  assert.equal(r.statusCode, status, `${url}: ${r.body}`);
}

type Entry = { links: Record<string, string>; scope: Record<string, unknown>; user?: Record<string, unknown>; group?: Record<string, unknown>; role: Record<string, unknown> };

async function list(query: string, token = admin): Promise<Entry[]> {
  const r = await h.req('GET', `/v3/role_assignments?${query}`, { token });
  assert.equal(r.statusCode, 200, `${query}: ${r.body}`);
  return json<{ role_assignments: Entry[] }>(r).role_assignments;
}

/** Entries as comparable one-liners: actor@scope:role. */
function brief(entries: Entry[], names: Record<string, string>): string[] {
  const n = (id: unknown) => names[id as string] ?? String(id);
  return entries
    .map((e) => {
      const actor = e.user ? `u:${n(e.user.id)}` : `g:${n(e.group!.id)}`;
      const s = e.scope;
      const where = s.project ? `p:${n((s.project as { id: string }).id)}` : s.domain ? `d:${n((s.domain as { id: string }).id)}` : 'system';
      return `${actor}@${where}${s['OS-INHERIT:inherited_to'] ? '+inh' : ''}:${n(e.role.id)}`;
    })
    .sort();
}

let d: { id: string }, p1: { id: string }, p2: { id: string }, px: { id: string };
let u: { id: string }, v: { id: string }, g1: { id: string }, g2: { id: string };
const R: Record<string, { id: string }> = {};
const names: Record<string, string> = {};

before(async () => {
  h = await startIdentity();
  admin = await h.adminToken();
  d = await mk('/v3/domains', 'domain', { name: 'ra-d' });
  p1 = await mk('/v3/projects', 'project', { name: 'ra-p1', domain_id: d.id });
  p2 = await mk('/v3/projects', 'project', { name: 'ra-p2', domain_id: d.id, parent_id: p1.id });
  px = await mk('/v3/projects', 'project', { name: 'ra-px', domain_id: d.id });
  u = await mk('/v3/users', 'user', { name: 'ra-u', password: 'pw', domain_id: d.id });
  v = await mk('/v3/users', 'user', { name: 'ra-v', password: 'pw', domain_id: d.id });
  g1 = await mk('/v3/groups', 'group', { name: 'ra-g1', domain_id: d.id });
  g2 = await mk('/v3/groups', 'group', { name: 'ra-g2', domain_id: d.id });
  for (const r of ['r1', 'r2', 'r3']) R[r] = await mk('/v3/roles', 'role', { name: `ra-${r}` });
  R.dr = await mk('/v3/roles', 'role', { name: 'ra-dr', domain_id: d.id });
  Object.assign(names, { [d.id]: 'D', [p1.id]: 'P1', [p2.id]: 'P2', [px.id]: 'PX', [u.id]: 'U', [v.id]: 'V', [g1.id]: 'G1', [g2.id]: 'G2' });
  for (const [k, r] of Object.entries(R)) names[r.id] = k;
  await put(`/v3/roles/${R.r1!.id}/implies/${R.r2!.id}`, 201);
  await put(`/v3/roles/${R.dr.id}/implies/${R.r3!.id}`, 201);
  await put(`/v3/groups/${g1.id}/users/${u.id}`);
  await put(`/v3/groups/${g1.id}/users/${v.id}`);
  await put(`/v3/groups/${g2.id}/users/${u.id}`);
  await put(`/v3/OS-INHERIT/domains/${d.id}/groups/${g1.id}/roles/${R.r1!.id}/inherited_to_projects`);
  await put(`/v3/OS-INHERIT/projects/${p1.id}/users/${u.id}/roles/${R.r3!.id}/inherited_to_projects`);
  await put(`/v3/projects/${p2.id}/groups/${g2.id}/roles/${R.dr.id}`);
  await put(`/v3/domains/${d.id}/groups/${g2.id}/roles/${R.r3!.id}`);
  await put(`/v3/system/groups/${g2.id}/roles/${R.r3!.id}`);
  await put(`/v3/projects/${px.id}/users/${v.id}/roles/${R.r3!.id}`);
});
after(() => h.close());

describe('direct listings', () => {
  test('a group grant, an inherited grant and a system grant as Keystone renders them', async () => {
    const byGroup = await list(`group.id=${g2.id}`);
    assert.deepEqual(brief(byGroup, names), ['g:G2@d:D:r3', 'g:G2@p:P2:dr', 'g:G2@system:r3']);
    const onP2 = byGroup.find((e) => (e.scope.project as { id: string } | undefined)?.id === p2.id)!;
    assert.deepEqual(onP2, {
      links: { assignment: `${B}/projects/${p2.id}/groups/${g2.id}/roles/${R.dr!.id}` },
      scope: { project: { id: p2.id } },
      group: { id: g2.id },
      role: { id: R.dr!.id },
    });
    const inh = (await list(`user.id=${u.id}`)).find((e) => e.scope['OS-INHERIT:inherited_to'])!;
    assert.deepEqual(inh, {
      links: { assignment: `${B}/OS-INHERIT/projects/${p1.id}/users/${u.id}/roles/${R.r3!.id}/inherited_to_projects` },
      scope: { project: { id: p1.id }, 'OS-INHERIT:inherited_to': 'projects' },
      user: { id: u.id },
      role: { id: R.r3!.id },
    });
  });

  test('filters: role, domain, system, inherited (which, as upstream, keeps system grants in)', async () => {
    assert.deepEqual(brief(await list(`role.id=${R.r1!.id}`), names), ['g:G1@d:D+inh:r1']);
    assert.deepEqual(brief(await list(`scope.domain.id=${d.id}`), names), ['g:G1@d:D+inh:r1', 'g:G2@d:D:r3']);
    assert.deepEqual(brief(await list(`scope.system=all&group.id=${g2.id}`), names), ['g:G2@system:r3']);
    assert.deepEqual(brief(await list(`scope.OS-INHERIT:inherited_to=projects&group.id=${g2.id}`), names), ['g:G2@system:r3']);
    assert.deepEqual(brief(await list(`scope.OS-INHERIT:inherited_to=projects&user.id=${u.id}`), names), ['u:U@p:P1+inh:r3']);
  });

  test('include_names: user, group, project, domain and role names (a domain role with its domain)', async () => {
    const e = await list(`group.id=${g2.id}&include_names`);
    const onP2 = e.find((x) => (x.scope.project as { id: string } | undefined)?.id === p2.id)!;
    assert.deepEqual(onP2.group, { id: g2.id, name: 'ra-g2', domain: { id: d.id, name: 'ra-d' } });
    assert.deepEqual(onP2.scope, { project: { id: p2.id, name: 'ra-p2', domain: { id: d.id, name: 'ra-d' } } });
    assert.deepEqual(onP2.role, { id: R.dr!.id, name: 'ra-dr', domain: { id: d.id, name: 'ra-d' } });
    const onD = e.find((x) => x.scope.domain)!;
    assert.deepEqual(onD.scope, { domain: { id: d.id, name: 'ra-d' } });
  });

  test('include_subtree lists the project and the projects below it; it needs scope.project.id', async () => {
    assert.deepEqual(brief(await list(`scope.project.id=${p1.id}&include_subtree=true`), names), ['g:G2@p:P2:dr', 'u:U@p:P1+inh:r3']);
    const r = await h.req('GET', '/v3/role_assignments?include_subtree=true', { token: admin });
    assert.deepEqual(r.json(), { error: { code: 400, message: 'scope.project.id must be specified if include_subtree is also specified', title: 'Bad Request' } });
    assert.equal((await h.req('GET', '/v3/role_assignments?include_subtree=true&scope.project.id=nope', { token: admin })).statusCode, 404);
  });

  test('combinations Keystone refuses', async () => {
    const cases: [string, string][] = [
      [`scope.project.id=${p1.id}&scope.domain.id=${d.id}`, 'Specify a domain or project, not both'],
      [`scope.system=all&scope.domain.id=${d.id}`, 'Specify system or domain, not both'],
      [`scope.system=all&scope.project.id=${p1.id}`, 'Specify system or project, not both'],
      [`user.id=${u.id}&group.id=${g1.id}`, 'Specify a user or group, not both'],
      [`effective&group.id=${g1.id}`, 'Combining effective and group filter will always result in an empty list.'],
      [`effective&scope.domain.id=${d.id}&scope.OS-INHERIT:inherited_to=projects`, 'Combining effective, domain and inherited filters will always result in an empty list.'],
    ];
    for (const [q, message] of cases) {
      const r = await h.req('GET', `/v3/role_assignments?${q}`, { token: admin });
      assert.deepEqual(r.json(), { error: { code: 400, message, title: 'Bad Request' } }, q);
    }
  });
});

describe('effective listings', () => {
  test('groups become members, inherited grants land on their projects, implied roles follow, domain roles and system grants drop', async () => {
    assert.deepEqual(brief(await list(`user.id=${u.id}&effective`), names), [
      'u:U@d:D:r3',
      'u:U@p:P1+inh:r1',
      'u:U@p:P1+inh:r2',
      'u:U@p:P2+inh:r1',
      'u:U@p:P2+inh:r2',
      'u:U@p:P2+inh:r3',
      'u:U@p:P2:r3',
      'u:U@p:PX+inh:r1',
      'u:U@p:PX+inh:r2',
    ]);
  });

  test('the links say where each entry comes from (Keystone\'s prior_role link, argument order and all)', async () => {
    const e = await list(`user.id=${u.id}&effective&scope.project.id=${p2.id}`);
    const viaGroupInherited = e.find((x) => x.role.id === R.r1!.id)!;
    assert.deepEqual(viaGroupInherited, {
      links: { membership: `${B}/groups/${g1.id}/users/${u.id}`, assignment: `${B}/OS-INHERIT/domains/${d.id}/groups/${g1.id}/roles/${R.r1!.id}/inherited_to_projects` },
      scope: { project: { id: p2.id }, 'OS-INHERIT:inherited_to': 'projects' },
      user: { id: u.id },
      role: { id: R.r1!.id },
    });
    const implied = e.find((x) => x.role.id === R.r2!.id)!;
    assert.equal(implied.links.assignment, `${B}/OS-INHERIT/domains/${d.id}/groups/${g1.id}/roles/${R.r1!.id}/inherited_to_projects`);
    assert.equal(implied.links.prior_role, `${B}/prior_role/${R.r2!.id}/implies/${R.r1!.id}`);
    const fromDomainRole = e.find((x) => x.role.id === R.r3!.id && !x.scope['OS-INHERIT:inherited_to'])!;
    assert.deepEqual(fromDomainRole.links, {
      membership: `${B}/groups/${g2.id}/users/${u.id}`,
      assignment: `${B}/projects/${p2.id}/groups/${g2.id}/roles/${R.dr!.id}`,
      prior_role: `${B}/prior_role/${R.r3!.id}/implies/${R.dr!.id}`,
    });
  });

  test('by project (every user), by role, and with names', async () => {
    assert.deepEqual(brief(await list(`scope.project.id=${p1.id}&effective`), names), ['u:U@p:P1+inh:r1', 'u:U@p:P1+inh:r2', 'u:V@p:P1+inh:r1', 'u:V@p:P1+inh:r2']);
    assert.deepEqual(brief(await list(`role.id=${R.r2!.id}&effective&scope.project.id=${px.id}`), names), ['u:U@p:PX+inh:r2', 'u:V@p:PX+inh:r2']);
    const named = await list(`user.id=${v.id}&effective&include_names&scope.project.id=${px.id}`);
    const direct = named.find((x) => x.role.id === R.r3!.id)!;
    assert.deepEqual(direct.user, { id: v.id, name: 'ra-v', domain: { id: d.id, name: 'ra-d' } });
    assert.deepEqual(direct.role, { id: R.r3!.id, name: 'ra-r3' });
    assert.deepEqual(await list(`user.id=nope&effective`), []);
  });

  test('a domain-scoped caller sees its own domain only', async () => {
    const other = await mk('/v3/domains', 'domain', { name: 'ra-other' });
    const da = await mk('/v3/users', 'user', { name: 'ra-dom-admin', password: 'pw', domain_id: other.id });
    const adminRole = json<{ roles: { id: string }[] }>(await h.req('GET', '/v3/roles?name=admin', { token: admin })).roles[0]!.id;
    await put(`/v3/domains/${other.id}/users/${da.id}/roles/${adminRole}`);
    const r = await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id: da.id, password: 'pw' } } }, scope: { domain: { id: other.id } } } } });
    const t = String(r.headers['x-subject-token']);
    const seen = await list('', t);
    assert.deepEqual(seen.map((e) => (e.scope.domain as { id: string }).id), [other.id]);
    assert.deepEqual(await list(`scope.project.id=${p1.id}`, t), []);
  });
});

describe('scopes a user can reach', () => {
  test('projects and domains through groups and inherited grants; the system through own grants only (as upstream)', async () => {
    const r = await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id: u.id, password: 'pw' } } } } } });
    const t = String(r.headers['x-subject-token']);
    const ids = async (url: string, key: string) => json<Record<string, { id: string }[]>>(await h.req('GET', url, { token: t }))[key]!.map((x) => names[x.id] ?? x.id).sort();
    assert.deepEqual(await ids('/v3/auth/projects', 'projects'), ['P1', 'P2', 'PX']);
    assert.deepEqual(await ids('/v3/auth/domains', 'domains'), ['D']);
    assert.deepEqual(json<{ system: unknown[] }>(await h.req('GET', '/v3/auth/system', { token: t })).system, []);
    const vp = json<{ projects: { id: string }[] }>(await h.req('GET', `/v3/users/${v.id}/projects`, { token: admin })).projects.map((x) => names[x.id]).sort();
    assert.deepEqual(vp, ['P1', 'P2', 'PX']);
  });
});
