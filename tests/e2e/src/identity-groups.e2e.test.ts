// Groups as an operator uses them with the real openstack CLI: membership, roles granted to a
// group on a project and inherited from a domain, the effective assignments, and a user's token
// that gains the group's roles and loses them (revoked) when the user leaves the group.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HAVE_OPENSTACK, modes, openstack, openstackJson, startCloud, type Cloud } from '@alto/testing';

interface Row {
  [k: string]: unknown;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const m of modes().filter((x) => x.mode === 'embedded')) {
  const skip = m.unavailable ?? (HAVE_OPENSTACK ? false : 'the openstack CLI is not installed (scripts/test installs python3-openstackclient)');
  describe(`identity groups, ${m.mode}`, { skip }, () => {
    let c: Cloud;
    before(async () => {
      c = await startCloud(m.mode);
    });
    after(async () => {
      await c?.stop();
    });

    const as = (name: string, password: string, project: string): NodeJS.ProcessEnv => {
      const { OS_CLOUD: _c, OS_CLIENT_CONFIG_FILE: _f, ...rest } = c.osEnv;
      return { ...rest, OS_AUTH_URL: `${c.url}/v3`, OS_USERNAME: name, OS_PASSWORD: password, OS_PROJECT_NAME: project, OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    };
    const adminToken = () => String(openstackJson<Row>(c.osEnv, ['token', 'issue']).id);
    /** The validated token's role names, or the status when it does not validate. */
    const rolesOf = async (subject: string): Promise<string[] | number> => {
      const get = () => fetch(`${c.url}/v3/auth/tokens`, { headers: { 'x-auth-token': adminToken(), 'x-subject-token': subject } });
      // a kept-alive connection the server closes while the CLI runs fails once; the retry opens a new one
      const r = await get().catch(get);
      if (r.status !== 200) return r.status;
      return ((await r.json()) as { token: { roles: { name: string }[] } }).token.roles.map((x) => x.name).sort();
    };

    test('a user gets a group\'s roles (direct and inherited from the domain) and loses them with the membership', async () => {
      openstack(c.osEnv, ['project', 'create', 'grp-project']);
      openstack(c.osEnv, ['project', 'create', '--parent', 'grp-project', 'grp-child']);
      openstack(c.osEnv, ['user', 'create', '--password', 'Grp-user-pw1', 'grp-user']);
      openstack(c.osEnv, ['role', 'create', 'grp-inherited']);
      const group = openstackJson<Row>(c.osEnv, ['group', 'create', '--description', 'e2e group', 'grp-team']);
      assert.equal(group.domain_id, 'default');
      assert.equal(group.description, 'e2e group');

      openstack(c.osEnv, ['group', 'add', 'user', 'grp-team', 'grp-user']);
      assert.match(openstack(c.osEnv, ['group', 'contains', 'user', 'grp-team', 'grp-user']).stdout, /grp-user in group grp-team/);
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['user', 'list', '--group', 'grp-team']).map((u) => u.Name), ['grp-user']);

      openstack(c.osEnv, ['role', 'add', '--group', 'grp-team', '--project', 'grp-project', 'member']);
      openstack(c.osEnv, ['role', 'add', '--group', 'grp-team', '--domain', 'default', '--inherited', 'grp-inherited']);

      const direct = openstackJson<Row[]>(c.osEnv, ['role', 'assignment', 'list', '--group', 'grp-team', '--names']);
      assert.ok(direct.some((a) => a.Role === 'member' && a.Group === 'grp-team@Default' && a.Project === 'grp-project@Default' && a.Inherited === false), JSON.stringify(direct));
      assert.ok(direct.some((a) => a.Role === 'grp-inherited' && a.Domain === 'Default' && a.Inherited === true), JSON.stringify(direct));

      const effective = openstackJson<Row[]>(c.osEnv, ['role', 'assignment', 'list', '--effective', '--user', 'grp-user', '--names']);
      const where = (role: string) =>
        effective
          .filter((a) => a.Role === role)
          .map((a) => a.Project)
          .sort();
      assert.ok(effective.every((a) => a.User === 'grp-user@Default' && a.Group === ''), JSON.stringify(effective));
      assert.deepEqual(where('member'), ['grp-project@Default']);
      assert.deepEqual(where('reader'), ['grp-project@Default'], 'member implies reader');
      assert.ok(where('grp-inherited').includes('grp-project@Default') && where('grp-inherited').includes('grp-child@Default'), JSON.stringify(effective));

      const onProject = String(openstackJson<Row>(as('grp-user', 'Grp-user-pw1', 'grp-project'), ['token', 'issue']).id);
      assert.deepEqual(await rolesOf(onProject), ['grp-inherited', 'member', 'reader']);
      const onChild = String(openstackJson<Row>(as('grp-user', 'Grp-user-pw1', 'grp-child'), ['token', 'issue']).id);
      assert.deepEqual(await rolesOf(onChild), ['grp-inherited']);
      const projects = openstackJson<Row[]>(as('grp-user', 'Grp-user-pw1', 'grp-project'), ['project', 'list', '--my-projects']).map((p) => p.Name).sort();
      assert.ok(projects.includes('grp-project') && projects.includes('grp-child'), JSON.stringify(projects));

      await sleep(1100);
      openstack(c.osEnv, ['group', 'remove', 'user', 'grp-team', 'grp-user']);
      assert.equal(await rolesOf(onProject), 404, 'leaving the group revokes the token');
      assert.equal(await rolesOf(onChild), 404);
      assert.match(openstack(c.osEnv, ['group', 'contains', 'user', 'grp-team', 'grp-user']).stderr, /grp-user not in group grp-team/);
      // tokens carry whole seconds: one made in the same second as the revocation is revoked too
      await sleep(1100);
      const refused = openstack(as('grp-user', 'Grp-user-pw1', 'grp-project'), ['token', 'issue'], { allowFailure: true });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /HTTP 401/);
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['role', 'assignment', 'list', '--effective', '--user', 'grp-user']), []);
    });

    test('deleting a group removes its grants; group list and show', async () => {
      assert.ok(openstackJson<Row[]>(c.osEnv, ['group', 'list']).some((g) => g.Name === 'grp-team'));
      const shown = openstackJson<Row>(c.osEnv, ['group', 'show', 'grp-team']);
      assert.equal(shown.name, 'grp-team');
      openstack(c.osEnv, ['group', 'set', '--name', 'grp-renamed', 'grp-team']);
      openstack(c.osEnv, ['group', 'delete', 'grp-renamed']);
      assert.ok(!openstackJson<Row[]>(c.osEnv, ['group', 'list']).some((g) => g.Name === 'grp-renamed'));
      const left = openstackJson<Row[]>(c.osEnv, ['role', 'assignment', 'list', '--names']).filter((a) => String(a.Group).startsWith('grp-'));
      assert.deepEqual(left, []);
    });
  });
}
