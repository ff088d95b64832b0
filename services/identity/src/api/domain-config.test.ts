// Domain configuration: Keystone's whitelist, sensitive options kept but never shown, partial
// updates and deletes with upstream's checks and words, the defaults, and who may read what.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startIdentity, addPersonas, type Harness } from '../testing/harness.js';

type Json = Record<string, unknown>;

describe('domain configuration', () => {
  let h: Harness;
  let admin: string;
  let domainId: string;
  let member: string;

  before(async () => {
    h = await startIdentity({ config: { security_compliance: { password_regex: '^.{8,}$', password_regex_description: 'eight or more' } } });
    admin = await h.adminToken();
    await addPersonas(h);
    member = await h.token('demo-member', 'demo-member-pw', { project: 'demo' });
    domainId = (await h.req('POST', '/v3/domains', { token: admin, body: { domain: { name: 'cfg' } } })).json<{ domain: { id: string } }>().domain.id;
  });
  after(() => h.close());

  const call = (method: string, path: string, body?: unknown, token = admin) => h.req(method, path, { token, ...(body !== undefined ? { body } : {}) });
  const url = (rest = '') => `/v3/domains/${domainId}/config${rest}`;
  const error = (r: { json<T>(): T }) => r.json<{ error: { code: number; message: string } }>().error;
  const notFound = (what: string) => `Could not find ${what} in domain configuration for domain ${domainId}.`;

  test('PUT creates (201) then replaces (200); the sensitive password is stored, never shown', async () => {
    const missing = await call('GET', url());
    assert.deepEqual([missing.statusCode, error(missing).message], [404, notFound('any options')]);
    const config = { identity: { driver: 'ldap' }, ldap: { url: 'ldap://x', user_tree_dn: 'ou=u', password: 'secret' } };
    const created = await call('PUT', url(), { config });
    assert.equal(created.statusCode, 201);
    assert.deepEqual(created.json(), { config: { identity: { driver: 'ldap' }, ldap: { url: 'ldap://x', user_tree_dn: 'ou=u' } } });
    assert.deepEqual((await call('GET', url('/ldap'))).json(), { config: { ldap: { url: 'ldap://x', user_tree_dn: 'ou=u' } } });
    assert.deepEqual((await call('GET', url('/ldap/url'))).json(), { config: { url: 'ldap://x' } });
    const password = await call('GET', url('/ldap/password'));
    assert.deepEqual([password.statusCode, error(password).message], [404, notFound('option password in group ldap')]);
    assert.equal(JSON.stringify((await call('GET', url())).json()).includes('secret'), false);
    const stored = await h.database.db.selectFrom('domain_config').selectAll().where('domain_id', '=', domainId).where('option', '=', 'password').executeTakeFirst();
    assert.equal(stored?.sensitive, 1);
    const replaced = await call('PUT', url(), { config: { identity: { driver: 'sql' } } });
    assert.equal(replaced.statusCode, 200);
    assert.deepEqual(replaced.json(), { config: { identity: { driver: 'sql' } } });
    assert.equal((await call('GET', url('/ldap'))).statusCode, 404);
  });

  test('only whitelisted groups and options are accepted, in upstream words (403)', async () => {
    const cases: [unknown, string][] = [
      [{ foo: { bar: 1 } }, 'Group foo is not supported for domain specific configurations'],
      [{ ldap: { nope: 1 } }, 'Option nope in group ldap is not supported for domain specific configurations'],
      [{}, 'No options specified'],
      [{ ldap: 'x' }, 'The value of group ldap specified in the config should be a dictionary of options'],
      [{ ldap: {} }, 'The value of group ldap specified in the config should be a dictionary of options'],
    ];
    for (const [config, reason] of cases) {
      const r = await call('PUT', url(), { config });
      assert.deepEqual([r.statusCode, error(r).message], [403, `Invalid domain specific configuration: ${reason}.`], JSON.stringify(config));
    }
    assert.equal(error(await call('GET', url('/foo'))).message, 'Invalid domain specific configuration: Group foo is not supported for domain specific configurations.');
    assert.equal((await call('PUT', '/v3/domains/nope/config', { config: { identity: { driver: 'ldap' } } })).statusCode, 404);
  });

  test('PATCH merges; by group or option it must name exactly that, and it must exist', async () => {
    await call('PUT', url(), { config: { identity: { driver: 'ldap' }, ldap: { url: 'ldap://x', password: 'p' } } });
    const merged = await call('PATCH', url(), { config: { ldap: { url: 'ldap://y', page_size: 5 } } });
    assert.deepEqual(merged.json(), { config: { identity: { driver: 'ldap' }, ldap: { page_size: 5, url: 'ldap://y' } } });
    const byGroup = await call('PATCH', url('/identity'), { config: { identity: { driver: 'x', list_limit: 7 } } });
    assert.deepEqual((byGroup.json<{ config: Json }>().config.identity), { driver: 'x', list_limit: 7 });
    const byOption = await call('PATCH', url('/identity/driver'), { config: { driver: 'y' } });
    assert.equal(((byOption.json<{ config: Json }>().config.identity as Json).driver), 'y');
    const words: [string, unknown, number, string][] = [
      ['/ldap', { identity: { driver: 'x' } }, 403, 'Invalid domain specific configuration: request to update group ldap, but config provided contains group identity instead.'],
      ['/ldap', { ldap: { url: 'a' }, identity: { driver: 'x' } }, 403, 'Invalid domain specific configuration: Trying to update group ldap, so that, and only that, group must be specified in the config.'],
      ['/ldap/url', { user: 'w' }, 403, 'Invalid domain specific configuration: Trying to update option url in group ldap, but config provided contains option user instead.'],
      ['/ldap/url', { url: 'a', user: 'w' }, 403, 'Invalid domain specific configuration: Trying to update option url in group ldap, so that, and only that, option must be specified  in the config.'],
      ['/ldap/user', { user: 'w' }, 404, notFound('option user in group ldap')],
    ];
    for (const [path, config, status, message] of words) {
      const r = await call('PATCH', url(path), { config });
      assert.deepEqual([r.statusCode, error(r).message], [status, message], path);
    }
    // the sensitive option exists, so it may be patched, and it stays hidden
    assert.equal((await call('PATCH', url('/ldap/password'), { config: { password: 'q' } })).statusCode, 200);
  });

  test('DELETE an option, a group, everything; a named one must exist', async () => {
    await call('PUT', url(), { config: { identity: { driver: 'ldap', list_limit: 3 }, ldap: { url: 'ldap://x', password: 'p' } } });
    assert.equal((await call('DELETE', url('/ldap/password'))).statusCode, 204);
    const again = await call('DELETE', url('/ldap/password'));
    assert.deepEqual([again.statusCode, error(again).message], [404, notFound('option password in group ldap')]);
    assert.equal((await call('DELETE', url('/identity/driver'))).statusCode, 204);
    assert.deepEqual((await call('GET', url('/identity'))).json(), { config: { identity: { list_limit: 3 } } });
    assert.equal((await call('DELETE', url('/identity'))).statusCode, 204);
    assert.deepEqual([(await call('DELETE', url('/identity'))).statusCode, error(await call('DELETE', url('/identity'))).message], [404, notFound('group identity')]);
    assert.equal((await call('DELETE', url())).statusCode, 204);
    assert.equal((await call('DELETE', url())).statusCode, 204);
    assert.equal((await call('GET', url())).statusCode, 404);
  });

  test('defaults: our identity driver and the LDAP option defaults; never the password', async () => {
    const all = (await call('GET', '/v3/domains/config/default')).json<{ config: Record<string, Json> }>().config;
    assert.deepEqual(all.identity, { driver: 'sql', list_limit: null });
    assert.equal(all.ldap!.url, 'ldap://localhost');
    assert.equal('password' in all.ldap!, false);
    assert.equal(Object.keys(all.ldap!).length, 49);
    assert.deepEqual((await call('GET', '/v3/domains/config/identity/default')).json(), { config: { identity: { driver: 'sql', list_limit: null } } });
    assert.deepEqual((await call('GET', '/v3/domains/config/ldap/user_tree_dn/default')).json(), { config: { user_tree_dn: null } });
    const pw = await call('GET', '/v3/domains/config/ldap/password/default');
    assert.deepEqual([pw.statusCode, error(pw).message], [403, 'Invalid domain specific configuration: Reading the default for option password in group ldap is not supported.']);
    assert.equal((await call('HEAD', '/v3/domains/config/default')).statusCode, 200);
  });

  test('the password rules of the default domain are readable by any caller; the rest is admin only', async () => {
    const sc = await call('GET', '/v3/domains/default/config/security_compliance', undefined, member);
    assert.deepEqual(sc.json(), { config: { security_compliance: { password_regex: '^.{8,}$', password_regex_description: 'eight or more' } } });
    assert.deepEqual((await call('GET', '/v3/domains/default/config/security_compliance/password_regex', undefined, member)).json(), { config: { password_regex: '^.{8,}$' } });
    const other = await call('GET', '/v3/domains/default/config/security_compliance/lockout_duration', undefined, member);
    assert.deepEqual(
      [other.statusCode, error(other).message],
      [403, 'Invalid domain specific configuration: Reading security compliance values other than password_regex and password_regex_description is not allowed..'],
    );
    assert.equal((await call('GET', `${url()}/security_compliance`)).statusCode, 403);
    assert.equal((await call('GET', url(), undefined, member)).statusCode, 403);
    assert.equal((await call('GET', '/v3/domains/config/default', undefined, member)).statusCode, 403);
    assert.equal((await call('PUT', url(), { config: { identity: { driver: 'ldap' } } }, member)).statusCode, 403);
  });

  test('a deleted domain takes its configuration with it', async () => {
    const d = (await call('POST', '/v3/domains', { domain: { name: 'cfg-gone' } })).json<{ domain: { id: string } }>().domain.id;
    await call('PUT', `/v3/domains/${d}/config`, { config: { ldap: { password: 'p', url: 'u' } } });
    await call('PATCH', `/v3/domains/${d}`, { domain: { enabled: false } });
    assert.equal((await call('DELETE', `/v3/domains/${d}`)).statusCode, 204);
    assert.equal((await h.database.db.selectFrom('domain_config').select('option').where('domain_id', '=', d).execute()).length, 0);
  });
});
