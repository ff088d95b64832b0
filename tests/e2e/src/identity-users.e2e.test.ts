// Users as an operator and a user see them with the real openstack CLI: a self-service password
// change ends the user's old tokens and the old password; disabling a user ends its tokens.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HAVE_OPENSTACK, modes, openstack, openstackJson, startCloud, type Cloud } from '@alto/testing';

interface Row {
  [k: string]: unknown;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const m of modes().filter((x) => x.mode === 'embedded')) {
  const skip = m.unavailable ?? (HAVE_OPENSTACK ? false : 'the openstack CLI is not installed (scripts/test installs python3-openstackclient)');
  describe(`identity users, ${m.mode}`, { skip }, () => {
    let c: Cloud;
    before(async () => {
      c = await startCloud(m.mode);
    });
    after(async () => {
      await c?.stop();
    });

    const as = (name: string, password: string): NodeJS.ProcessEnv => {
      const { OS_CLOUD: _c, OS_CLIENT_CONFIG_FILE: _f, ...rest } = c.osEnv;
      return { ...rest, OS_AUTH_URL: `${c.url}/v3`, OS_USERNAME: name, OS_PASSWORD: password, OS_PROJECT_NAME: 'pw-project', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    };
    const adminToken = () => String(openstackJson<Row>(c.osEnv, ['token', 'issue']).id);
    const validate = async (subject: string) => (await fetch(`${c.url}/v3/auth/tokens`, { headers: { 'x-auth-token': adminToken(), 'x-subject-token': subject } })).status;

    test('openstack user password set: the old token and the old password stop working, the new password works', async () => {
      openstack(c.osEnv, ['project', 'create', 'pw-project']);
      openstack(c.osEnv, ['user', 'create', '--project', 'pw-project', '--password', 'Old-pw-1', 'pw-user']);
      openstack(c.osEnv, ['role', 'add', '--project', 'pw-project', '--user', 'pw-user', 'member']);
      const old = String(openstackJson<Row>(as('pw-user', 'Old-pw-1'), ['token', 'issue']).id);
      assert.equal(await validate(old), 200);

      openstack(as('pw-user', 'Old-pw-1'), ['user', 'password', 'set', '--password', 'New-pw-2', '--original-password', 'Old-pw-1']);
      assert.equal(await validate(old), 404);
      // tokens carry whole seconds: one made in the same second as the revocation is revoked too
      await sleep(1100);
      const fresh = String(openstackJson<Row>(as('pw-user', 'New-pw-2'), ['token', 'issue']).id);
      assert.equal(await validate(fresh), 200);
      const refused = openstack(as('pw-user', 'Old-pw-1'), ['token', 'issue'], { allowFailure: true });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /HTTP 401/);

      const wrong = openstack(as('pw-user', 'New-pw-2'), ['user', 'password', 'set', '--password', 'Third-pw-3', '--original-password', 'not-my-password'], { allowFailure: true });
      assert.notEqual(wrong.status, 0);
      assert.match(wrong.stderr, /HTTP 401/);
    });

    test('openstack user set --disable ends the user’s tokens; --enable lets the user in again with new ones', async () => {
      await sleep(1100);
      const t = String(openstackJson<Row>(as('pw-user', 'New-pw-2'), ['token', 'issue']).id);
      assert.equal(await validate(t), 200);
      openstack(c.osEnv, ['user', 'set', '--disable', 'pw-user']);
      assert.equal(await validate(t), 404);
      assert.match(openstack(as('pw-user', 'New-pw-2'), ['token', 'issue'], { allowFailure: true }).stderr, /HTTP 401/);
      openstack(c.osEnv, ['user', 'set', '--enable', 'pw-user']);
      assert.equal(await validate(t), 404, 'enabling again does not revive old tokens');
      await sleep(1100);
      assert.match(String(openstackJson<Row>(as('pw-user', 'New-pw-2'), ['token', 'issue']).id), /^gAAAAA/);
    });
  });
}
