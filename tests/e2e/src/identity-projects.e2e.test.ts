// Projects and domains as an operator sees them with the real openstack CLI: a project tree,
// tags and the tag filters, a domain's configuration (over REST: the CLI has no command for it),
// and a domain delete that takes the domain's users and projects with it and ends their tokens.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HAVE_OPENSTACK, modes, openstack, openstackJson, python, startCloud, type Cloud } from '@alto/testing';

interface Row {
  [k: string]: unknown;
}

for (const m of modes().filter((x) => x.mode === 'embedded')) {
  const skip = m.unavailable ?? (HAVE_OPENSTACK ? false : 'the openstack CLI is not installed (scripts/test installs python3-openstackclient)');
  describe(`identity projects and domains, ${m.mode}`, { skip }, () => {
    let c: Cloud;
    before(async () => {
      c = await startCloud(m.mode);
    });
    after(async () => {
      await c?.stop();
    });

    const adminToken = () => String(openstackJson<Row>(c.osEnv, ['token', 'issue']).id);
    const rest = async (method: string, path: string, body?: unknown, token = adminToken()) => {
      const r = await fetch(`${c.url}${path}`, {
        method,
        headers: { 'x-auth-token': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      return { status: r.status, json: (text ? JSON.parse(text) : undefined) as Row };
    };

    test('openstack project create --parent, project show --parents --children, project list --parent', () => {
      const parent = openstackJson<Row>(c.osEnv, ['project', 'create', '--domain', 'default', 'tree-parent']);
      const child = openstackJson<Row>(c.osEnv, ['project', 'create', '--domain', 'default', '--parent', 'tree-parent', 'tree-child']);
      assert.equal(child.parent_id, parent.id);
      const grandchild = openstackJson<Row>(c.osEnv, ['project', 'create', '--domain', 'default', '--parent', 'tree-child', 'tree-grandchild']);
      const shown = openstackJson<Row>(c.osEnv, ['project', 'show', '--parents', '--children', 'tree-child']);
      assert.deepEqual(shown.parents, { [String(parent.id)]: { default: null } });
      assert.deepEqual(shown.subtree, { [String(grandchild.id)]: null });
      const children = openstackJson<Row[]>(c.osEnv, ['project', 'list', '--parent', 'tree-parent']);
      assert.deepEqual(children.map((p) => p.Name), ['tree-child']);
      const refused = openstack(c.osEnv, ['project', 'delete', 'tree-parent'], { allowFailure: true });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /not a leaf in the hierarchy.*HTTP 403/s);
    });

    test('openstack project create --tag, project list --tags / --tags-any / --not-tags, project set --tag', () => {
      openstack(c.osEnv, ['project', 'create', '--domain', 'default', '--tag', 'a', '--tag', 'b', 'tagged-ab']);
      openstack(c.osEnv, ['project', 'create', '--domain', 'default', '--tag', 'a', 'tagged-a']);
      const names = (args: string[]) => openstackJson<Row[]>(c.osEnv, ['project', 'list', ...args]).map((p) => p.Name).sort();
      assert.deepEqual(names(['--tags', 'a']), ['tagged-a', 'tagged-ab']);
      assert.deepEqual(names(['--tags', 'a,b']), ['tagged-ab']);
      assert.deepEqual(names(['--tags-any', 'b']), ['tagged-ab']);
      assert.ok(!names(['--not-tags', 'a']).includes('tagged-a'));
      openstack(c.osEnv, ['project', 'set', '--tag', 'c', 'tagged-a']);
      assert.deepEqual((openstackJson<Row>(c.osEnv, ['project', 'show', 'tagged-a']).tags as string[]).sort(), ['a', 'c']);
      assert.deepEqual(names(['--tags', 'c']), ['tagged-a']);
      openstack(c.osEnv, ['project', 'set', '--remove-tag', 'c', 'tagged-a']);
      assert.deepEqual(openstackJson<Row>(c.osEnv, ['project', 'show', 'tagged-a']).tags, ['a']);
    });

    test('openstacksdk reads the project tree and tags; a domain configuration over REST hides the LDAP password', async () => {
      const r = python<{ tags: string[]; parent: string }>(
        c.osEnv,
        `import json, openstack
conn = openstack.connect(cloud='altostratus')
p = conn.identity.find_project('tagged-ab')
child = conn.identity.find_project('tree-child')
parent = conn.identity.get_project(child.parent_id)
print(json.dumps({'tags': sorted(p.tags), 'parent': parent.name}))`,
      );
      assert.deepEqual(r, { tags: ['a', 'b'], parent: 'tree-parent' });

      const d = openstackJson<Row>(c.osEnv, ['domain', 'create', 'ldap-domain']);
      const put = await rest('PUT', `/v3/domains/${String(d.id)}/config`, { config: { identity: { driver: 'ldap' }, ldap: { url: 'ldap://ldap.example', password: 'bind-secret' } } });
      assert.equal(put.status, 201);
      assert.deepEqual(put.json.config, { identity: { driver: 'ldap' }, ldap: { url: 'ldap://ldap.example' } });
      const got = await rest('GET', `/v3/domains/${String(d.id)}/config`);
      assert.equal(JSON.stringify(got.json).includes('bind-secret'), false);
      assert.equal((await rest('GET', `/v3/domains/${String(d.id)}/config/ldap/password`)).status, 404);
      const defaults = await rest('GET', '/v3/domains/config/identity/default');
      assert.deepEqual(defaults.json.config, { identity: { driver: 'sql', list_limit: null } });
    });

    test('openstack domain delete (after domain set --disable) takes its users and projects; their tokens stop validating', async () => {
      openstack(c.osEnv, ['domain', 'create', 'doomed']);
      openstack(c.osEnv, ['project', 'create', '--domain', 'doomed', 'doomed-project']);
      openstack(c.osEnv, ['user', 'create', '--domain', 'doomed', '--password', 'Doomed-pw-1', 'doomed-user']);
      openstack(c.osEnv, ['role', 'add', '--project', 'doomed-project', '--project-domain', 'doomed', '--user', 'doomed-user', '--user-domain', 'doomed', 'member']);
      const { OS_CLOUD: _c, OS_CLIENT_CONFIG_FILE: _f, ...env } = c.osEnv;
      const userEnv = { ...env, OS_AUTH_URL: `${c.url}/v3`, OS_USERNAME: 'doomed-user', OS_PASSWORD: 'Doomed-pw-1', OS_PROJECT_NAME: 'doomed-project', OS_USER_DOMAIN_NAME: 'doomed', OS_PROJECT_DOMAIN_NAME: 'doomed', OS_IDENTITY_API_VERSION: '3' };
      const token = String(openstackJson<Row>(userEnv, ['token', 'issue']).id);
      const validate = async () => (await fetch(`${c.url}/v3/auth/tokens`, { headers: { 'x-auth-token': adminToken(), 'x-subject-token': token } })).status;
      assert.equal(await validate(), 200);

      const enabled = openstack(c.osEnv, ['domain', 'delete', 'doomed'], { allowFailure: true });
      assert.match(enabled.stderr, /Cannot delete a domain that is enabled/);
      openstack(c.osEnv, ['domain', 'set', '--disable', 'doomed']);
      assert.equal(await validate(), 404);
      openstack(c.osEnv, ['domain', 'delete', 'doomed']);
      assert.equal(await validate(), 404);
      assert.ok(!openstackJson<Row[]>(c.osEnv, ['domain', 'list']).some((x) => x.Name === 'doomed'));
      assert.ok(!openstackJson<Row[]>(c.osEnv, ['project', 'list']).some((x) => x.Name === 'doomed-project'));
      assert.ok(!openstackJson<Row[]>(c.osEnv, ['user', 'list']).some((x) => x.Name === 'doomed-user'));
    });
  });
}
