// The catalog-side extensions as an operator uses them with the real openstack CLI: unified limits
// (registered limits, project limits), endpoint groups and project endpoint filtering of a
// project's catalog, and policy blobs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAVE_OPENSTACK, modes, openstack, openstackJson, startCloud, type Cloud } from '@alto/testing';

interface Row {
  [k: string]: unknown;
}

for (const m of modes().filter((x) => x.mode === 'embedded')) {
  const skip = m.unavailable ?? (HAVE_OPENSTACK ? false : 'the openstack CLI is not installed (scripts/test installs python3-openstackclient)');
  describe(`identity limits, endpoint filters and policies, ${m.mode}`, { skip }, () => {
    let c: Cloud;
    let dir: string;
    before(async () => {
      c = await startCloud(m.mode);
      dir = mkdtempSync(join(tmpdir(), 'alto-e2e-limits-'));
      openstack(c.osEnv, ['project', 'create', 'demo']);
      openstack(c.osEnv, ['user', 'create', '--project', 'demo', '--password', 'Demo-user-pw1', 'demo-user']);
      openstack(c.osEnv, ['role', 'add', '--project', 'demo', '--user', 'demo-user', 'member']);
    });
    after(async () => {
      await c?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** Password credentials without the clouds.yaml project: a system scope or another project. */
    const as = (scope: Record<string, string>, user = 'admin', password = c.adminPassword): NodeJS.ProcessEnv => {
      const { OS_CLOUD: _c, OS_CLIENT_CONFIG_FILE: _f, ...rest } = c.osEnv;
      return { ...rest, OS_AUTH_URL: `${c.url}/v3`, OS_USERNAME: user, OS_PASSWORD: password, OS_USER_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3', ...scope };
    };
    const file = (name: string, content: unknown) => {
      const p = join(dir, name);
      writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
      return p;
    };

    test('registered limits and project limits: create, list, show, set, delete', () => {
      const reg = openstackJson<Row>(c.osEnv, ['registered', 'limit', 'create', '--service', 'keystone', '--default-limit', '10', '--region', 'RegionOne', 'widgets']);
      assert.equal(reg.default_limit, 10);
      assert.equal(reg.region_id, 'RegionOne');
      const lim = openstackJson<Row>(c.osEnv, ['limit', 'create', '--project', 'demo', '--service', 'keystone', '--resource-limit', '5', '--region', 'RegionOne', 'widgets']);
      assert.equal(lim.resource_limit, 5);
      assert.equal(lim.resource_name, 'widgets');

      // as upstream: a project-scoped token lists only its own project's limits, a system one all
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['limit', 'list']), []);
      const system = as({ OS_SYSTEM_SCOPE: 'all' });
      assert.deepEqual(openstackJson<Row[]>(system, ['limit', 'list']).map((l) => l.ID), [lim.id]);
      const member = as({ OS_PROJECT_NAME: 'demo', OS_PROJECT_DOMAIN_NAME: 'Default' }, 'demo-user', 'Demo-user-pw1');
      assert.deepEqual(openstackJson<Row[]>(member, ['limit', 'list']).map((l) => l.ID), [lim.id]);
      assert.equal(openstackJson<Row>(member, ['limit', 'show', String(lim.id)]).resource_limit, 5);

      const set = openstackJson<Row>(c.osEnv, ['limit', 'set', '--resource-limit', '7', '--description', 'seven', String(lim.id)]);
      assert.equal(set.resource_limit, 7);
      assert.equal(set.description, 'seven');
      assert.equal(openstackJson<Row>(system, ['limit', 'show', String(lim.id)]).resource_limit, 7);

      // a registered limit with project limits cannot change
      const refused = openstack(c.osEnv, ['registered', 'limit', 'set', '--default-limit', '11', String(reg.id)], { allowFailure: true });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /because there are project limits associated with it.*HTTP 403/);
      // nor can a second limit for the same project and resource exist
      const dup = openstack(c.osEnv, ['limit', 'create', '--project', 'demo', '--service', 'keystone', '--resource-limit', '5', '--region', 'RegionOne', 'widgets'], { allowFailure: true });
      assert.match(dup.stderr, /HTTP 409/);

      openstack(c.osEnv, ['limit', 'delete', String(lim.id)]);
      assert.deepEqual(openstackJson<Row[]>(system, ['limit', 'list']), []);
      const regSet = openstackJson<Row>(c.osEnv, ['registered', 'limit', 'set', '--default-limit', '11', '--description', 'eleven', String(reg.id)]);
      assert.equal(regSet.default_limit, 11);
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['registered', 'limit', 'list']).map((r) => r['Default Limit']), [11]);
      openstack(c.osEnv, ['registered', 'limit', 'delete', String(reg.id)]);
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['registered', 'limit', 'list']), []);
    });

    test('endpoint groups and project endpoints narrow the catalog of a project', () => {
      const member = as({ OS_PROJECT_NAME: 'demo', OS_PROJECT_DOMAIN_NAME: 'Default' }, 'demo-user', 'Demo-user-pw1');
      const interfaces = (env = member) =>
        openstackJson<{ Type: string; Endpoints: { interface: string }[] }[]>(env, ['catalog', 'list'])
          .filter((s) => s.Type === 'identity')
          .flatMap((s) => s.Endpoints.map((e) => e.interface))
          .sort();
      assert.deepEqual(interfaces(), ['admin', 'internal', 'public']);
      // the catalog also holds the image service: the group and the project endpoint stay on identity
      const identityId = String(openstackJson<Row>(c.osEnv, ['service', 'show', 'identity']).id);

      const group = openstackJson<Row>(c.osEnv, ['endpoint', 'group', 'create', '--description', 'public only', 'eg-public', file('public.json', { interface: 'public', service_id: identityId })]);
      assert.deepEqual(group.filters, { interface: 'public', service_id: identityId });
      openstack(c.osEnv, ['endpoint', 'group', 'add', 'project', 'eg-public', 'demo']);
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['endpoint', 'group', 'list', '--project', 'demo']).map((g) => g.Name), ['eg-public']);
      assert.deepEqual(interfaces(), ['public']);

      const internal = String(openstackJson<Row[]>(c.osEnv, ['endpoint', 'list', '--interface', 'internal', '--service', 'identity'])[0]!.ID);
      openstack(c.osEnv, ['endpoint', 'add', 'project', internal, 'demo']);
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['endpoint', 'list', '--project', 'demo']).map((e) => e.Interface).sort(), ['internal', 'public']);
      assert.deepEqual(interfaces(), ['internal', 'public']);
      // the admin project has no associations: it still sees everything
      assert.deepEqual(interfaces(c.osEnv), ['admin', 'internal', 'public']);

      openstack(c.osEnv, ['endpoint', 'remove', 'project', internal, 'demo']);
      openstack(c.osEnv, ['endpoint', 'group', 'remove', 'project', 'eg-public', 'demo']);
      assert.deepEqual(interfaces(), ['admin', 'internal', 'public']);
      openstack(c.osEnv, ['endpoint', 'group', 'delete', 'eg-public']);
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['endpoint', 'group', 'list']), []);
    });

    test('policy create, list, show, set, delete', () => {
      const created = openstackJson<Row>(c.osEnv, ['policy', 'create', '--type', 'application/json', file('policy.json', '{"default": ""}')]);
      assert.equal(created.type, 'application/json');
      assert.equal(created.rules, '{"default": ""}');
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['policy', 'list']).map((p) => p.ID), [created.id]);
      assert.equal(openstackJson<Row>(c.osEnv, ['policy', 'show', String(created.id)]).rules, '{"default": ""}');
      openstack(c.osEnv, ['policy', 'set', '--type', 'text/plain', String(created.id)]);
      assert.equal(openstackJson<Row[]>(c.osEnv, ['policy', 'list', '--long'])[0]!.Type, 'text/plain');
      openstack(c.osEnv, ['policy', 'delete', String(created.id)]);
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['policy', 'list']), []);
    });
  });
}
