// Projects and domains beyond the basics: the hierarchy, tags and their filters, resource
// options, the domain delete cascade, and token revocation on delete and disable.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startIdentity, roleIdOf, type Harness } from '../testing/harness.js';

type Json = Record<string, unknown>;

describe('projects and domains', () => {
  let h: Harness;
  let admin: string;
  let memberRole: string;
  let adminUserId: string;

  before(async () => {
    h = await startIdentity();
    admin = await h.adminToken();
    memberRole = (await roleIdOf(h, admin))('member');
    adminUserId = (await h.req('GET', '/v3/users?name=admin', { token: admin })).json<{ users: { id: string }[] }>().users[0]!.id;
  });
  after(() => h.close());

  const call = (method: string, url: string, body?: unknown, token = admin) => h.req(method, url, { token, ...(body !== undefined ? { body } : {}) });
  const project = async (body: Json): Promise<Json> => {
    const r = await call('POST', '/v3/projects', { project: body });
    assert.equal(r.statusCode, 201, r.body);
    return r.json<{ project: Json }>().project;
  };
  const domain = async (body: Json): Promise<Json> => {
    const r = await call('POST', '/v3/domains', { domain: body });
    assert.equal(r.statusCode, 201, r.body);
    return r.json<{ domain: Json }>().domain;
  };
  const error = (r: { json<T>(): T }) => r.json<{ error: { code: number; message: string } }>().error;

  describe('hierarchy', () => {
    test('a child lands under its parent, in its domain; parent and domain must agree', async () => {
      const a = await project({ name: 'h-a', domain_id: 'default' });
      const b = await project({ name: 'h-b', parent_id: a.id });
      assert.equal(b.parent_id, a.id);
      assert.equal(b.domain_id, 'default');
      const other = await domain({ name: 'h-other' });
      const mismatch = await call('POST', '/v3/projects', { project: { name: 'h-x', parent_id: a.id, domain_id: other.id } });
      assert.equal(mismatch.statusCode, 400);
      assert.equal(error(mismatch).message, `Cannot create project, since it specifies its domain_id ${String(other.id)}, but specifies a parent in a different domain (default).`);
      const domainParent = await call('POST', '/v3/projects', { project: { name: 'h-x', parent_id: 'default', domain_id: other.id } });
      assert.equal(
        error(domainParent).message,
        `Cannot create project, the parent (default) is acting as a domain, but this project's domain id (${String(other.id)}) does not match the parent's id.`,
      );
      const missing = await call('POST', '/v3/projects', { project: { name: 'h-x', parent_id: 'nope' } });
      assert.equal(missing.statusCode, 400);
      assert.equal(error(missing).message, 'Could not find project: nope.');
      const noDomain = await call('POST', '/v3/projects', { project: { name: 'h-x', domain_id: 'nope' } });
      assert.equal(error(noDomain).message, 'Could not find domain: nope.');
    });

    test('at most max_project_tree_depth (5) levels of projects below a domain', async () => {
      let parent = await project({ name: 'd-1', domain_id: 'default' });
      for (let level = 2; level <= 5; level++) parent = await project({ name: `d-${level}`, parent_id: parent.id });
      const r = await call('POST', '/v3/projects', { project: { name: 'd-6', parent_id: parent.id } });
      assert.equal(r.statusCode, 403);
      assert.equal(error(r).message, `Max hierarchy depth reached for ${String(parent.id)} branch.`);
    });

    test('enabled flags follow the tree: no disabled parent above an enabled child, no enabled child below a disabled parent', async () => {
      const a = await project({ name: 'e-a', domain_id: 'default' });
      const b = await project({ name: 'e-b', parent_id: a.id });
      const disableA = await call('PATCH', `/v3/projects/${String(a.id)}`, { project: { enabled: false } });
      assert.equal(disableA.statusCode, 403);
      assert.equal(error(disableA).message, `Cannot disable project ${String(a.id)} since its subtree contains enabled projects.`);
      assert.equal((await call('PATCH', `/v3/projects/${String(b.id)}`, { project: { enabled: false } })).statusCode, 200);
      assert.equal((await call('PATCH', `/v3/projects/${String(a.id)}`, { project: { enabled: false } })).statusCode, 200);
      const enableB = await call('PATCH', `/v3/projects/${String(b.id)}`, { project: { enabled: true } });
      assert.equal(enableB.statusCode, 403);
      assert.equal(error(enableB).message, `Cannot enable project ${String(b.id)} since it has disabled parents`);
      const under = await call('POST', '/v3/projects', { project: { name: 'e-c', parent_id: b.id, enabled: false } });
      assert.equal(under.statusCode, 400);
      assert.equal(error(under).message, `cannot create a project in a branch containing a disabled project: ${String(a.id)}`);
    });

    test('parent_id, domain_id, is_domain and id do not change; a parent is not deleted before its children', async () => {
      const a = await project({ name: 'i-a', domain_id: 'default' });
      const b = await project({ name: 'i-b', parent_id: a.id });
      const url = `/v3/projects/${String(b.id)}`;
      const parent = await call('PATCH', url, { project: { parent_id: 'default' } });
      assert.deepEqual([parent.statusCode, error(parent).message], [403, 'Update of `parent_id` is not allowed.']);
      const dom = await call('PATCH', url, { project: { domain_id: 'other' } });
      assert.deepEqual([dom.statusCode, error(dom).message], [400, 'Cannot change Domain ID']);
      const isDomain = await call('PATCH', url, { project: { is_domain: true } });
      assert.deepEqual([isDomain.statusCode, error(isDomain).message], [400, 'Update of `is_domain` is not allowed.']);
      const id = await call('PATCH', url, { project: { id: 'x' } });
      assert.deepEqual([id.statusCode, error(id).message], [400, 'Cannot change ID']);
      // naming the current values is fine
      assert.equal((await call('PATCH', url, { project: { parent_id: a.id, domain_id: 'default', is_domain: false, description: 'same' } })).statusCode, 200);
      const del = await call('DELETE', `/v3/projects/${String(a.id)}`);
      assert.equal(del.statusCode, 403);
      assert.match(error(del).message, /since it is not a leaf in the hierarchy/);
    });

    test('?parents_as_ids and ?subtree_as_ids render nested ids; the _as_list forms keep the caller\'s projects', async () => {
      const a = await project({ name: 't-a', domain_id: 'default' });
      const b = await project({ name: 't-b', parent_id: a.id });
      const c = await project({ name: 't-c', parent_id: b.id });
      const d = await project({ name: 't-d', parent_id: b.id });
      const ids = (await call('GET', `/v3/projects/${String(b.id)}?parents_as_ids&subtree_as_ids`)).json<{ project: Json }>().project;
      assert.deepEqual(ids.parents, { [String(a.id)]: { default: null } });
      assert.deepEqual(ids.subtree, { [String(c.id)]: null, [String(d.id)]: null });
      const leaf = (await call('GET', `/v3/projects/${String(c.id)}?subtree_as_ids=1&parents_as_ids=0`)).json<{ project: Json }>().project;
      assert.equal(leaf.subtree, null);
      assert.equal('parents' in leaf, false);
      // admin has a role on a and d only
      assert.equal((await call('PUT', `/v3/projects/${String(a.id)}/users/${adminUserId}/roles/${memberRole}`)).statusCode, 204);
      assert.equal((await call('PUT', `/v3/projects/${String(d.id)}/users/${adminUserId}/roles/${memberRole}`)).statusCode, 204);
      const lists = (await call('GET', `/v3/projects/${String(b.id)}?parents_as_list&subtree_as_list`)).json<{ project: Json & { parents: { project: Json }[]; subtree: { project: Json }[] } }>().project;
      assert.deepEqual(lists.parents.map((p) => p.project.id), [a.id]);
      assert.deepEqual(lists.subtree.map((p) => p.project.id), [d.id]);
      assert.ok(Object.keys(lists).indexOf('links') > Object.keys(lists).indexOf('subtree'), 'links come last');
      const both = await call('GET', `/v3/projects/${String(b.id)}?parents_as_list&parents_as_ids`);
      assert.deepEqual([both.statusCode, error(both).message], [400, 'Cannot use parents_as_list and parents_as_ids query params at the same time.']);
      const children = (await call('GET', `/v3/projects?parent_id=${String(b.id)}`)).json<{ projects: Json[] }>().projects;
      assert.deepEqual(children.map((p) => p.name), ['t-c', 't-d']);
    });

    test('?include_limits puts each listed project\'s limits in it', async () => {
      const a = await project({ name: 'l-a', domain_id: 'default' });
      const b = await project({ name: 'l-b', parent_id: a.id });
      assert.equal((await call('PUT', `/v3/projects/${String(a.id)}/users/${adminUserId}/roles/${memberRole}`)).statusCode, 204);
      const service = (await call('GET', '/v3/services')).json<{ services: Json[] }>().services[0]!.id;
      assert.equal((await call('POST', '/v3/registered_limits', { registered_limits: [{ service_id: service, resource_name: 'l-cores', default_limit: 5 }] })).statusCode, 201);
      const limit = await call('POST', '/v3/limits', { limits: [{ service_id: service, project_id: a.id, resource_name: 'l-cores', resource_limit: 7 }] });
      assert.equal(limit.statusCode, 201, limit.body);
      const shown = (await call('GET', `/v3/projects/${String(b.id)}?parents_as_list&include_limits`)).json<{ project: { parents: { project: Json & { limits: Json[] } }[] } }>().project;
      const parent = shown.parents[0]!.project;
      assert.deepEqual(parent.limits.map((l) => [l.project_id, l.resource_name, l.resource_limit, 'links' in l]), [[a.id, 'l-cores', 7, false]]);
      assert.deepEqual(Object.keys(parent).slice(-2), ['limits', 'links']);
      const plain = (await call('GET', `/v3/projects/${String(b.id)}?parents_as_list`)).json<{ project: { parents: { project: Json }[] } }>().project;
      assert.equal('limits' in plain.parents[0]!.project, false);
    });

    test('is_domain=true makes a domain; ?is_domain=true lists domains as projects', async () => {
      const p = await project({ name: 'as-domain', is_domain: true, tags: ['x'] });
      assert.equal(p.is_domain, true);
      assert.equal(p.domain_id, null);
      assert.equal(p.parent_id, null);
      assert.equal((await call('GET', `/v3/domains/${String(p.id)}`)).json<{ domain: Json }>().domain.name, 'as-domain');
      const listed = (await call('GET', '/v3/projects?is_domain=true')).json<{ projects: Json[] }>().projects;
      assert.ok(listed.some((x) => x.id === 'default' && x.is_domain === true && x.domain_id === null));
      assert.ok(listed.some((x) => x.id === p.id));
      assert.ok((await call('GET', '/v3/projects')).json<{ projects: Json[] }>().projects.every((x) => x.is_domain === false));
      const child = await call('POST', '/v3/projects', { project: { name: 'x', is_domain: true, domain_id: 'default' } });
      assert.deepEqual([child.statusCode, error(child).message], [400, 'only root projects are allowed to act as domains.']);
    });

    test('name, enabled, domain_id filters, inexact name filters and truncation', async () => {
      const dom = await domain({ name: 'f-dom' });
      await project({ name: 'f-Alpha', domain_id: dom.id });
      await project({ name: 'f-beta', domain_id: dom.id, enabled: false });
      const names = async (q: string) => (await call('GET', `/v3/projects?domain_id=${String(dom.id)}&${q}`)).json<{ projects: Json[] }>().projects.map((p) => p.name);
      assert.deepEqual(await names('enabled=false'), ['f-beta']);
      assert.deepEqual(await names('name=f-Alpha'), ['f-Alpha']);
      assert.deepEqual(await names('name__icontains=ALPHA'), ['f-Alpha']);
      assert.deepEqual(await names('name__contains=ALPHA'), []);
      assert.deepEqual(await names('name__startswith=f-'), ['f-Alpha', 'f-beta']);
      const small = await startIdentity({ config: { default: { list_limit: 2 } } });
      try {
        const t = await small.adminToken();
        await small.req('POST', '/v3/projects', { token: t, body: { project: { name: 'third' } } });
        const r = (await small.req('GET', '/v3/projects', { token: t })).json<{ projects: Json[]; truncated?: boolean }>();
        assert.equal(r.projects.length, 2);
        assert.equal(r.truncated, true);
      } finally {
        await small.close();
      }
    });
  });

  describe('tags', () => {
    test('show equals list, tags included (Tempest test_project_get_equals_list)', async () => {
      const p = await project({ name: 'g-eq', domain_id: 'default', tags: ['a', 'c', 'b', 'd'] });
      const shown = (await call('GET', `/v3/projects/${String(p.id)}`)).json<{ project: Json }>().project;
      const listed = (await call('GET', '/v3/projects')).json<{ projects: Json[] }>().projects.find((x) => x.id === p.id)!;
      assert.deepEqual(new Set(shown.tags as string[]), new Set(['a', 'b', 'c', 'd']));
      assert.deepEqual(shown, listed);
    });

    test('the tag routes', async () => {
      const p = await project({ name: 'g-routes', domain_id: 'default', tags: ['a'] });
      const url = `/v3/projects/${String(p.id)}/tags`;
      const list = (await call('GET', url)).json<Json>();
      assert.deepEqual(list, { links: { self: 'http://localhost:80/v3' }, tags: ['a'] });
      const put = await call('PUT', url, { tags: ['x', 'y'] });
      assert.equal(put.statusCode, 200);
      assert.deepEqual(put.json<Json>().tags, ['x', 'y']);
      const dup = await call('PUT', url, { tags: ['x', 'x'] });
      assert.deepEqual([dup.statusCode, error(dup).message], [400, "['x', 'x'] has non-unique elements"]);
      assert.equal((await call('PUT', url, {})).statusCode, 400);
      const add = await call('PUT', `${url}/z`);
      assert.equal(add.statusCode, 201);
      assert.equal(add.body, '');
      assert.equal(add.headers.location, `http://localhost:80/v3/${String(p.id)}/tags/z`);
      assert.equal((await call('PUT', `${url}/z`)).statusCode, 400);
      assert.equal((await call('PUT', `${url}/a,b`)).statusCode, 400);
      const unicode = await call('PUT', `${url}/${encodeURIComponent('日本 語')}`);
      assert.equal(unicode.statusCode, 201);
      assert.equal(unicode.headers.location, `http://localhost:80/v3/${String(p.id)}/tags/%E6%97%A5%E6%9C%AC%20%E8%AA%9E`);
      assert.equal((await call('GET', `${url}/${encodeURIComponent('日本 語')}`)).statusCode, 204);
      assert.equal((await call('DELETE', `${url}/${encodeURIComponent('日本 語')}`)).statusCode, 204);
      assert.equal((await call('GET', `${url}/z`)).statusCode, 204);
      assert.equal((await call('HEAD', `${url}/z`)).statusCode, 204);
      const missing = await call('GET', `${url}/nope`);
      assert.deepEqual([missing.statusCode, error(missing).message], [404, 'Could not find project tag: nope.']);
      assert.equal((await call('DELETE', `${url}/z`)).statusCode, 204);
      assert.equal((await call('DELETE', `${url}/z`)).statusCode, 404);
      assert.equal((await call('DELETE', url)).statusCode, 204);
      assert.deepEqual((await call('GET', url)).json<Json>().tags, []);
      assert.equal((await call('GET', '/v3/projects/nope/tags')).statusCode, 404);
      // 80 at most
      assert.equal((await call('PUT', url, { tags: Array.from({ length: 80 }, (_, i) => `t${i}`) })).statusCode, 200);
      assert.equal((await call('PUT', `${url}/one-more`)).statusCode, 400);
      assert.deepEqual((await call('PATCH', `/v3/projects/${String(p.id)}`, { project: { tags: ['patched'] } })).json<{ project: Json }>().project.tags, ['patched']);
    });

    test('?tags, ?tags-any, ?not-tags, ?not-tags-any on projects and domains', async () => {
      const dom = await domain({ name: 'tag-dom' });
      await project({ name: 'tf-ab', domain_id: dom.id, tags: ['a', 'b'] });
      await project({ name: 'tf-a', domain_id: dom.id, tags: ['a'] });
      await project({ name: 'tf-c', domain_id: dom.id, tags: ['c'] });
      await project({ name: 'tf-none', domain_id: dom.id });
      const names = async (q: string) => (await call('GET', `/v3/projects?domain_id=${String(dom.id)}&${q}`)).json<{ projects: Json[] }>().projects.map((p) => p.name);
      assert.deepEqual(await names('tags=a,b'), ['tf-ab']);
      assert.deepEqual(await names('tags=a'), ['tf-a', 'tf-ab']);
      assert.deepEqual(await names('tags-any=b,c'), ['tf-ab', 'tf-c']);
      assert.deepEqual(await names('not-tags=a,b'), ['tf-a', 'tf-c', 'tf-none']);
      assert.deepEqual(await names('not-tags-any=a,c'), ['tf-none']);
      assert.deepEqual(await names('tags=a&not-tags=b'), ['tf-a']);
      assert.deepEqual(await names('tags=zzz'), []);
      await domain({ name: 'tagged-dom', tags: ['dt'] });
      const domains = (await call('GET', '/v3/domains?tags=dt')).json<{ domains: Json[] }>().domains;
      assert.deepEqual(domains.map((d) => d.name), ['tagged-dom']);
      assert.deepEqual(domains[0]!.tags, ['dt']);
    });
  });

  describe('options', () => {
    test('an immutable project refuses changes, tag changes and delete until immutable is unset', async () => {
      const p = await project({ name: 'o-imm', domain_id: 'default', options: { immutable: true } });
      assert.deepEqual(p.options, { immutable: true });
      const url = `/v3/projects/${String(p.id)}`;
      const upd = await call('PATCH', url, { project: { name: 'x' } });
      assert.deepEqual([upd.statusCode, error(upd).message], [403, `Unable to update immutable project resource: \`${String(p.id)}. Set resource option "immutable" to false first.`]);
      assert.equal((await call('PATCH', url, { project: { name: 'x', options: { immutable: false } } })).statusCode, 403);
      const tag = await call('PUT', `${url}/tags/t`);
      assert.deepEqual([tag.statusCode, error(tag).message], [403, `Cannot create project tags for ${String(p.id)}, project is immutable. Set "immutable" option to false before creating project tags.`]);
      assert.match(error(await call('PUT', `${url}/tags`, { tags: [] })).message, /^Cannot update project tags/);
      assert.match(error(await call('DELETE', `${url}/tags/t`)).message, /^Cannot delete project tags/);
      const del = await call('DELETE', url);
      assert.deepEqual([del.statusCode, error(del).message], [403, `Unable to delete immutable project resource: \`${String(p.id)}. Set resource option "immutable" to false first.`]);
      const unset = await call('PATCH', url, { project: { options: { immutable: null } } });
      assert.equal(unset.statusCode, 200);
      assert.deepEqual(unset.json<{ project: Json }>().project.options, {});
      assert.equal((await call('DELETE', url)).statusCode, 204);
      assert.equal((await call('PATCH', `/v3/projects/${String(p.id)}`, { project: { options: { other: 1 } } })).statusCode, 400);
    });

    test('an immutable domain: only unsetting immutable passes, then it can be disabled and deleted', async () => {
      const d = await domain({ name: 'o-dom', options: { immutable: true } });
      const url = `/v3/domains/${String(d.id)}`;
      assert.equal((await call('PATCH', url, { domain: { enabled: false } })).statusCode, 403);
      assert.equal((await call('PATCH', url, { domain: { options: { immutable: false } } })).statusCode, 200);
      assert.equal((await call('PATCH', url, { domain: { enabled: false } })).statusCode, 200);
      assert.equal((await call('DELETE', url)).statusCode, 204);
    });

    test('the Default domain and the admin project update like any other', async () => {
      const d = await call('PATCH', '/v3/domains/default', { domain: { description: 'changed' } });
      assert.equal(d.json<{ domain: Json }>().domain.description, 'changed');
      const adminProject = (await call('GET', '/v3/projects?name=admin')).json<{ projects: Json[] }>().projects[0]!;
      const p = await call('PATCH', `/v3/projects/${String(adminProject.id)}`, { project: { tags: ['cloud-admin'] } });
      assert.deepEqual(p.json<{ project: Json }>().project.tags, ['cloud-admin']);
      const explicit = await call('POST', '/v3/domains', { domain: { name: 'o-explicit', explicit_domain_id: '0123456789abcdef0123456789abcdef' } });
      assert.equal(explicit.json<{ domain: Json }>().domain.id, '0123456789abcdef0123456789abcdef');
      const bad = await call('POST', '/v3/domains', { domain: { name: 'o-bad', explicit_domain_id: 'not-a-uuid' } });
      assert.deepEqual([bad.statusCode, error(bad).message], [400, 'Domain ID does not conform to required UUID format.']);
    });
  });

  describe('domain delete cascade', () => {
    test('an enabled domain is not deleted; a disabled one takes its projects, users, groups, roles, grants, limits and config', async () => {
      const d = await domain({ name: 'c-dom' });
      const dUrl = `/v3/domains/${String(d.id)}`;
      const top = await project({ name: 'c-top', domain_id: d.id });
      const child = await project({ name: 'c-child', parent_id: top.id, domain_id: d.id });
      const user = (await call('POST', '/v3/users', { user: { name: 'c-user', domain_id: d.id, password: 'c-pw' } })).json<{ user: Json }>().user;
      const group = await call('POST', '/v3/groups', { group: { name: 'c-group', domain_id: d.id } });
      assert.equal(group.statusCode, 201, group.body);
      const groupId = String(group.json<{ group: Json }>().group.id);
      const role = (await call('POST', '/v3/roles', { role: { name: 'c-role', domain_id: d.id } })).json<{ role: Json }>().role;
      assert.equal((await call('PUT', `/v3/projects/${String(child.id)}/users/${String(user.id)}/roles/${memberRole}`)).statusCode, 204);
      assert.equal((await call('PUT', `/v3/domains/${String(d.id)}/users/${adminUserId}/roles/${memberRole}`)).statusCode, 204);
      assert.equal((await call('PUT', `${dUrl}/config`, { config: { identity: { driver: 'ldap' } } })).statusCode, 201);
      const db = h.database.db;
      await db.insertInto('registered_limit').values({ id: 'c-rl', service_id: 's', region_id: null, region_key: '', resource_name: 'cores', default_limit: 1, description: null }).execute();
      await db.insertInto('project_limit').values({ id: 'c-pl', project_id: String(child.id), domain_id: null, target_key: String(child.id), registered_limit_id: 'c-rl', resource_limit: 2, description: null }).execute();
      await db.insertInto('project_limit').values({ id: 'c-dl', project_id: null, domain_id: String(d.id), target_key: String(d.id), registered_limit_id: 'c-rl', resource_limit: 3, description: null }).execute();

      const enabled = await call('DELETE', dUrl);
      assert.deepEqual([enabled.statusCode, error(enabled).message], [403, 'Cannot delete a domain that is enabled, please disable it first.']);
      assert.equal((await call('PATCH', dUrl, { domain: { enabled: false } })).statusCode, 200);
      assert.equal((await call('DELETE', dUrl)).statusCode, 204);

      for (const url of [dUrl, `/v3/projects/${String(top.id)}`, `/v3/projects/${String(child.id)}`, `/v3/users/${String(user.id)}`, `/v3/groups/${groupId}`, `/v3/roles/${String(role.id)}`]) {
        assert.equal((await call('GET', url)).statusCode, 404, url);
      }
      const ids = [String(d.id), String(top.id), String(child.id), String(user.id), groupId];
      assert.equal((await db.selectFrom('assignment').select('actor_id').where((eb) => eb.or([eb('target_id', 'in', ids), eb('actor_id', 'in', ids)])).execute()).length, 0);
      assert.equal((await db.selectFrom('project_limit').select('id').where('id', 'in', ['c-pl', 'c-dl']).execute()).length, 0);
      assert.equal((await db.selectFrom('domain_config').select('option').where('domain_id', '=', String(d.id)).execute()).length, 0);
      await h.identity.drain();
      await new Promise((r) => setTimeout(r, 50));
      const deleted = h.notifications.filter((n) => n.eventType.endsWith('.deleted')).map((n) => `${n.eventType} ${String((n.payload as Json).resource_info)}`);
      for (const e of [`identity.project.deleted ${String(child.id)}`, `identity.user.deleted ${String(user.id)}`, `identity.group.deleted ${groupId}`, `identity.domain.deleted ${String(d.id)}`]) {
        assert.ok(deleted.includes(e), e);
      }
    });
  });

  describe('token revocation', () => {
    const userToken = async (name: string, password: string, domainId: string, projectId: string) => {
      const r = await h.req('POST', '/v3/auth/tokens', {
        body: { auth: { identity: { methods: ['password'], password: { user: { name, domain: { id: domainId }, password } } }, scope: { project: { id: projectId } } } },
      });
      assert.equal(r.statusCode, 201, r.body);
      return String(r.headers['x-subject-token']);
    };
    const valid = async (token: string) => (await h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': token } })).statusCode === 200;
    const setup = async (prefix: string) => {
      const d = await domain({ name: `${prefix}-dom` });
      const p = await project({ name: `${prefix}-p`, domain_id: d.id });
      const u = (await call('POST', '/v3/users', { user: { name: `${prefix}-u`, domain_id: d.id, password: 'pw' } })).json<{ user: Json }>().user;
      assert.equal((await call('PUT', `/v3/projects/${String(p.id)}/users/${String(u.id)}/roles/${memberRole}`)).statusCode, 204);
      return { d: String(d.id), p: String(p.id), u: String(u.id), token: await userToken(`${prefix}-u`, 'pw', String(d.id), String(p.id)) };
    };

    test('disabling a project makes its tokens fail; deleting it revokes them by project', async () => {
      const s = await setup('rv-p');
      assert.ok(await valid(s.token));
      assert.equal((await call('PATCH', `/v3/projects/${s.p}`, { project: { enabled: false } })).statusCode, 200);
      assert.equal(await valid(s.token), false);
      assert.equal((await call('PATCH', `/v3/projects/${s.p}`, { project: { enabled: true } })).statusCode, 200);
      assert.ok(await valid(s.token), 'as upstream, a re-enabled project serves its tokens again');
      assert.equal((await call('DELETE', `/v3/projects/${s.p}`)).statusCode, 204);
      assert.equal(await valid(s.token), false);
      assert.ok(h.identity.services.revocations.list().some((e) => e.project_id === s.p));
    });

    test('disabling a domain makes the tokens of its users and projects fail; deleting it revokes its users and projects', async () => {
      const s = await setup('rv-d');
      assert.ok(await valid(s.token));
      assert.equal((await call('PATCH', `/v3/domains/${s.d}`, { domain: { enabled: false } })).statusCode, 200);
      assert.equal(await valid(s.token), false);
      assert.equal((await call('DELETE', `/v3/domains/${s.d}`)).statusCode, 204);
      const events = h.identity.services.revocations.list();
      assert.ok(events.some((e) => e.user_id === s.u));
      assert.ok(events.some((e) => e.project_id === s.p));
      assert.ok(events.some((e) => e.project_id === s.d));
    });
  });
});
