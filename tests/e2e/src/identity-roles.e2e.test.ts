// Implied roles and domain-specific roles as an operator uses them: the openstack CLI creates the
// rules, a token carries what they imply, and openstacksdk reads the same rules back.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HAVE_OPENSTACK, modes, openstack, openstackJson, python, startCloud, type Cloud } from '@alto/testing';

interface Row {
  [k: string]: unknown;
}

for (const m of modes().filter((x) => x.mode === 'embedded')) {
  const skip = m.unavailable ?? (HAVE_OPENSTACK ? false : 'the openstack CLI is not installed (scripts/test installs python3-openstackclient)');
  describe(`identity implied and domain-specific roles, ${m.mode}`, { skip }, () => {
    let c: Cloud;
    before(async () => {
      c = await startCloud(m.mode);
      openstack(c.osEnv, ['project', 'create', 'lab']);
      openstack(c.osEnv, ['user', 'create', '--project', 'lab', '--password', 'Lab-user-pw1', 'lab-user']);
    });
    after(async () => {
      await c?.stop();
    });

    const asLabUser = (): NodeJS.ProcessEnv => {
      const { OS_CLOUD: _c, OS_CLIENT_CONFIG_FILE: _f, ...rest } = c.osEnv;
      return { ...rest, OS_AUTH_URL: `${c.url}/v3`, OS_USERNAME: 'lab-user', OS_PASSWORD: 'Lab-user-pw1', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_NAME: 'lab', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    };
    /** The role names in a fresh project token of lab-user, as keystoneauth reads them. */
    const tokenRoles = (): string[] =>
      python<string[]>(
        c.osEnv,
        `
import json
from keystoneauth1 import session
from keystoneauth1.identity import v3
auth = v3.Password(auth_url='${c.url}/v3', username='lab-user', password='Lab-user-pw1', user_domain_name='Default', project_name='lab', project_domain_name='Default')
print(json.dumps(sorted(auth.get_access(session.Session(auth=auth)).role_names)))
`,
      );

    test('implied role create, list, delete: a grant of the prior role carries the implied one into the token', () => {
      const operator = openstackJson<Row>(c.osEnv, ['role', 'create', 'operator']);
      const observer = openstackJson<Row>(c.osEnv, ['role', 'create', 'observer']);
      const rule = openstackJson<Row>(c.osEnv, ['implied', 'role', 'create', '--implied-role', 'observer', 'operator']);
      assert.deepEqual(rule, { prior_role: operator.id, implies: observer.id });
      const rules = openstackJson<Row[]>(c.osEnv, ['implied', 'role', 'list']);
      assert.ok(rules.some((r) => r['Prior Role Name'] === 'operator' && r['Implied Role Name'] === 'observer'), JSON.stringify(rules));
      // bootstrap's chain is there too: admin implies manager, manager member, member reader
      for (const [prior, implied] of [['admin', 'manager'], ['manager', 'member'], ['member', 'reader']]) {
        assert.ok(rules.some((r) => r['Prior Role Name'] === prior && r['Implied Role Name'] === implied), `${prior} implies ${implied}`);
      }

      openstack(c.osEnv, ['role', 'add', '--project', 'lab', '--user', 'lab-user', 'operator']);
      assert.deepEqual(tokenRoles(), ['observer', 'operator']);
      const effective = openstackJson<Row[]>(c.osEnv, ['role', 'assignment', 'list', '--effective', '--user', 'lab-user', '--project', 'lab', '--names']);
      assert.deepEqual(effective.map((r) => r.Role).sort(), ['observer', 'operator']);
      // the user sees their own token work as a plain project member would
      openstack(asLabUser(), ['token', 'issue']);

      openstack(c.osEnv, ['implied', 'role', 'delete', '--implied-role', 'observer', 'operator']);
      assert.deepEqual(tokenRoles(), ['operator']);
    });

    test('a domain-specific role is assignable in its domain and reaches tokens only through the global roles it implies', () => {
      const domainRole = openstackJson<Row>(c.osEnv, ['role', 'create', '--domain', 'default', 'lab-helper']);
      assert.equal(domainRole.domain_id, 'default');
      const listed = openstackJson<Row[]>(c.osEnv, ['role', 'list', '--domain', 'default']);
      assert.deepEqual(listed.map((r) => r.Name), ['lab-helper']);
      // the CLI looks prior roles up among global roles only, so this rule goes through openstacksdk's session
      python(c.osEnv, `
import json, openstack
conn = openstack.connect(cloud='altostratus')
reader = conn.identity.find_role('reader')
r = conn.identity.put('/roles/${String(domainRole.id)}/implies/' + reader.id)
assert r.status_code == 201, (r.status_code, r.text)
print(json.dumps(r.status_code))
`);
      openstack(c.osEnv, ['role', 'remove', '--project', 'lab', '--user', 'lab-user', 'operator']);
      openstack(c.osEnv, ['role', 'add', '--project', 'lab', '--user', 'lab-user', '--role-domain', 'default', 'lab-helper']);
      assert.deepEqual(tokenRoles(), ['reader'], 'the domain role itself is not in the token');
    });

    test('openstacksdk: roles, the domain role, and the inference rules (raw API through its session)', () => {
      const out = python<{ roles: string[]; domainRoles: string[]; implies: string[] }>(
        c.osEnv,
        `
import json, openstack
conn = openstack.connect(cloud='altostratus')
roles = {r.name: r.id for r in conn.identity.roles()}
domain_roles = [r.name for r in conn.identity.roles(domain_id='default')]
inf = conn.identity.get('/role_inferences').json()['role_inferences']
implies = sorted(p['prior_role']['name'] + '>' + i['name'] for p in inf for i in p['implies'])
print(json.dumps({'roles': sorted(roles), 'domainRoles': domain_roles, 'implies': implies}))
`,
      );
      assert.ok(['admin', 'member', 'reader', 'operator', 'observer'].every((r) => out.roles.includes(r)), out.roles.join(','));
      assert.deepEqual(out.domainRoles, ['lab-helper']);
      assert.ok(['admin>manager', 'manager>member', 'member>reader', 'lab-helper>reader'].every((x) => out.implies.includes(x)), out.implies.join(','));
    });
  });
}
