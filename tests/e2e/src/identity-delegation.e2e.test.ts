// Delegation as users run it with the real openstack CLI and openstacksdk: an application
// credential authenticates in place of a password until it is deleted; a trust lets its trustee
// act as the trustor until the trustor deletes it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HAVE_OPENSTACK, modes, openstack, openstackJson, python, startCloud, type Cloud } from '@alto/testing';

interface Row {
  [k: string]: unknown;
}

for (const m of modes().filter((x) => x.mode === 'embedded')) {
  const skip = m.unavailable ?? (HAVE_OPENSTACK ? false : 'the openstack CLI is not installed (scripts/test installs python3-openstackclient)');
  describe(`identity delegation, ${m.mode}`, { skip }, () => {
    let c: Cloud;
    const ids: Record<string, string> = {};
    before(async () => {
      c = await startCloud(m.mode);
      ids.demo = String(openstackJson<Row>(c.osEnv, ['project', 'create', 'demo']).id);
      for (const [name, pw] of [
        ['trustor', 'Trustor-pw1'],
        ['trustee', 'Trustee-pw1'],
      ]) {
        ids[name!] = String(openstackJson<Row>(c.osEnv, ['user', 'create', '--password', pw!, name!]).id);
        openstack(c.osEnv, ['role', 'add', '--project', 'demo', '--user', name!, 'member']);
      }
      ids.member = String(openstackJson<Row>(c.osEnv, ['role', 'show', 'member']).id);
    });
    after(async () => {
      await c?.stop();
    });

    /** A password login of one of the users, scoped to demo, or (null) unscoped. */
    const as = (name: string, password: string, project: string | null = 'demo'): NodeJS.ProcessEnv => {
      const { OS_CLOUD: _c, OS_CLIENT_CONFIG_FILE: _f, ...rest } = c.osEnv;
      return {
        ...rest,
        OS_AUTH_URL: `${c.url}/v3`,
        OS_USERNAME: name,
        OS_PASSWORD: password,
        OS_USER_DOMAIN_NAME: 'Default',
        OS_IDENTITY_API_VERSION: '3',
        ...(project ? { OS_PROJECT_NAME: project, OS_PROJECT_DOMAIN_NAME: 'Default' } : {}),
      };
    };
    const trustor = () => as('trustor', 'Trustor-pw1');
    /** The CLI's environment for logging in with an application credential instead of a password. */
    const asApplicationCredential = (cred: Row): NodeJS.ProcessEnv => {
      const { OS_CLOUD: _c, OS_CLIENT_CONFIG_FILE: _f, ...rest } = c.osEnv;
      return {
        ...rest,
        OS_AUTH_TYPE: 'v3applicationcredential',
        OS_AUTH_URL: `${c.url}/v3`,
        OS_APPLICATION_CREDENTIAL_ID: String(cred.id),
        OS_APPLICATION_CREDENTIAL_SECRET: String(cred.secret),
        OS_IDENTITY_API_VERSION: '3',
      };
    };
    const adminToken = () => String(openstackJson<Row>(c.osEnv, ['token', 'issue']).id);
    const validate = async (subject: string) => {
      const admin = adminToken();
      // the CLI ran synchronously: let fetch see the server close idle keep-alive sockets meanwhile,
      // or it reuses one and fails with "other side closed"
      await new Promise((r) => setTimeout(r, 20));
      return (await fetch(`${c.url}/v3/auth/tokens`, { headers: { 'x-auth-token': admin, 'x-subject-token': subject } })).status;
    };

    test('openstack application credential create, then authenticate with it; deleting it ends its tokens', async () => {
      const cred = openstackJson<Row>(trustor(), ['application', 'credential', 'create', '--role', 'member', 'mycred']);
      assert.equal(cred.project_id, ids.demo);
      assert.equal(cred.roles, 'member');
      assert.equal(typeof cred.secret, 'string');

      const appEnv = asApplicationCredential(cred);
      const tok = openstackJson<Row>(appEnv, ['token', 'issue']);
      assert.equal(tok.user_id, ids.trustor);
      assert.equal(tok.project_id, ids.demo);
      assert.equal(await validate(String(tok.id)), 200);

      // restricted (the default): it may not mint further credentials
      const refused = openstack(appEnv, ['application', 'credential', 'create', 'second'], { allowFailure: true });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /HTTP 403/);

      const listed = openstackJson<Row[]>(trustor(), ['application', 'credential', 'list']);
      assert.deepEqual(listed.map((r) => r.Name), ['mycred']);
      openstack(trustor(), ['application', 'credential', 'delete', 'mycred']);
      assert.deepEqual(openstackJson<Row[]>(trustor(), ['application', 'credential', 'list']), []);
      assert.equal(await validate(String(tok.id)), 404, 'its token stopped working');
      assert.notEqual(openstack(appEnv, ['token', 'issue'], { allowFailure: true }).status, 0, 'and it no longer authenticates');
    });

    test('an application credential with access rules reaches only what they name, on every service', async () => {
      const rules = JSON.stringify([{ service: 'image', method: 'GET', path: '/v2/images' }]);
      // reader too: as in Keystone, an application credential's token carries only its own roles, not implied ones
      const cred = openstackJson<Row>(trustor(), ['application', 'credential', 'create', '--role', 'member', '--role', 'reader', '--access-rules', rules, 'images-only']);
      const appEnv = asApplicationCredential(cred);
      assert.deepEqual(openstackJson<Row[]>(appEnv, ['image', 'list']), []);
      for (const refused of [
        ['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', 'nope'],
        ['volume', 'list'],
        ['project', 'list'],
      ]) {
        const r = openstack(appEnv, refused, { allowFailure: true });
        assert.notEqual(r.status, 0, refused.join(' '));
        assert.match(r.stderr, /401|nauthorized/, refused.join(' '));
      }
      // its token may always be validated (GET /v3/auth/tokens), by a client that says it enforces
      // access rules; to one that does not, it does not exist
      const tok = String(openstackJson<Row>(appEnv, ['token', 'issue']).id);
      await new Promise((r) => setTimeout(r, 20));
      const validate = (extra: Record<string, string>) => fetch(`${c.url}/v3/auth/tokens`, { headers: { 'x-auth-token': tok, 'x-subject-token': tok, ...extra } }).then((r) => r.status);
      assert.deepEqual([await validate({ 'openstack-identity-access-rules': '1' }), await validate({})], [200, 404]);
      openstack(trustor(), ['application', 'credential', 'delete', 'images-only']);
    });

    test('a revoked token stops at the image and volume services at once, not after token_cache_time', async () => {
      const tok = String(openstackJson<Row>(trustor(), ['token', 'issue']).id);
      await new Promise((r) => setTimeout(r, 20));
      const images = () => fetch(`${c.imageUrl}/v2/images`, { headers: { 'x-auth-token': tok } }).then((r) => r.status);
      const volumes = () => fetch(`${c.volumeUrl}/v3/volumes`, { headers: { 'x-auth-token': tok } }).then((r) => r.status);
      assert.deepEqual([await images(), await volumes()], [200, 200]);
      openstack(trustor(), ['token', 'revoke', tok]);
      // identity's news travels over the bus: allow it a moment, far below the 300 s cache time
      let seen: number[] = [];
      for (let i = 0; i < 40 && seen.join() !== '401,401'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        seen = [await images(), await volumes()];
      }
      assert.deepEqual(seen, [401, 401]);
    });

    test('openstack trust create --impersonate; the trustee gets a token for it (CLI and openstacksdk); trust list/show/delete', async () => {
      // a trustor who is not an admin cannot look users and roles up by name, so ids are given
      const trust = openstackJson<Row>(trustor(), ['trust', 'create', '--project', ids.demo!, '--role', ids.member!, '--impersonate', ids.trustor!, ids.trustee!]);
      assert.equal(trust.impersonation, true);
      assert.equal(trust.roles, 'member');
      const trustId = String(trust.id);

      // the trustee, unscoped, asks for the trust's scope: the token is the trustor's on demo
      const trustee = as('trustee', 'Trustee-pw1', null);
      const tok = openstackJson<Row>(trustee, ['--os-trust-id', trustId, 'token', 'issue']);
      assert.equal(tok.user_id, ids.trustor, 'impersonation');
      assert.equal(tok.project_id, ids.demo);
      const sdk = python<{ user_id: string; project_id: string; token: string }>(
        trustee,
        `import json, os, openstack
conn = openstack.connect(auth_url=os.environ['OS_AUTH_URL'], username='trustee', password='Trustee-pw1', user_domain_name='Default', trust_id='${trustId}', identity_api_version='3')
access = conn.session.auth.get_access(conn.session)
print(json.dumps({'user_id': access.user_id, 'project_id': access.project_id, 'token': access.auth_token}))`,
      );
      assert.equal(sdk.user_id, ids.trustor);
      assert.equal(sdk.project_id, ids.demo);

      const all = openstackJson<Row[]>(c.osEnv, ['trust', 'list']);
      assert.ok(all.some((t) => t.ID === trustId), JSON.stringify(all));
      const shown = openstackJson<Row>(trustor(), ['trust', 'show', trustId]);
      assert.equal(shown.trustee_user_id, ids.trustee);
      assert.equal(shown.project_id, ids.demo);

      assert.equal(await validate(String(tok.id)), 200);
      openstack(trustor(), ['trust', 'delete', trustId]);
      assert.equal(await validate(String(tok.id)), 404, 'deleting the trust revoked its tokens');
      assert.equal(await validate(sdk.token), 404);
      assert.notEqual(openstack(trustee, ['--os-trust-id', trustId, 'token', 'issue'], { allowFailure: true }).status, 0);
    });
  });
}
