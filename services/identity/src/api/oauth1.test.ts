// OS-OAUTH1 through the HTTP frame: consumers, then the signed delegation flow a consumer runs
// (request token, authorize, access token) and the user's view of the access tokens they gave.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startIdentity, addPersonas, type Harness } from '../testing/harness.js';
import { oauthEscape, oauthSignature } from '../domain/oauth1.js';

let h: Harness;
let p: Awaited<ReturnType<typeof addPersonas>>;
let admin: string;
let adminId: string;
let adminProject: string;

before(async () => {
  h = await startIdentity();
  p = await addPersonas(h);
  admin = await h.adminToken();
  adminId = (await h.req('GET', '/v3/users?name=admin', { token: admin })).json<{ users: { id: string }[] }>().users[0]!.id;
  adminProject = (await h.req('GET', '/v3/projects?name=admin', { token: admin })).json<{ projects: { id: string }[] }>().projects[0]!.id;
});
after(() => h.close());

type ConsumerWire = { id: string; description: string | null; secret?: string; links: { self: string } };
const err = (r: { json: <T>() => T }) => r.json<{ error: { message: string } }>().error.message;

/** What an OAuth1 client (oauthlib, as keystoneauth uses it) puts in the Authorization header. */
function signed(path: string, consumer: { id: string; secret: string }, extra: Record<string, string>, tokenSecret?: string): string {
  const params: [string, string][] = [
    ['oauth_nonce', String(Math.floor(Math.random() * 1e12))],
    ['oauth_timestamp', String(Math.floor(Date.now() / 1000))],
    ['oauth_version', '1.0'],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_consumer_key', consumer.id],
    ...Object.entries(extra),
  ];
  const signature = oauthSignature('POST', 'HMAC-SHA1', `http://localhost${path}`, params, consumer.secret, tokenSecret)!;
  const all: [string, string][] = [...params, ['oauth_signature', signature]];
  return `OAuth ${all.map(([k, v]) => `${k}="${oauthEscape(v)}"`).join(', ')}`;
}

describe('consumers', () => {
  test('create shows the secret once; get, list, update, delete', async () => {
    const r = await h.req('POST', '/v3/OS-OAUTH1/consumers', { token: admin, body: { consumer: { description: 'd1', foo: 'bar', secret: 'mine' } } });
    assert.equal(r.statusCode, 201, r.body);
    const c = r.json<{ consumer: ConsumerWire & { foo: string } }>().consumer;
    assert.match(c.id, /^[0-9a-f]{32}$/);
    assert.match(c.secret!, /^[0-9a-f]{32}$/);
    assert.deepEqual([c.description, c.foo, c.links.self], ['d1', 'bar', `http://localhost:80/v3/OS-OAUTH1/consumers/${c.id}`]);
    const got = (await h.req('GET', `/v3/OS-OAUTH1/consumers/${c.id}`, { token: admin })).json<{ consumer: ConsumerWire }>().consumer;
    assert.deepEqual(got, { foo: 'bar', id: c.id, description: 'd1', links: c.links });
    const listed = (await h.req('GET', '/v3/OS-OAUTH1/consumers', { token: admin })).json<{ consumers: ConsumerWire[] }>().consumers;
    assert.ok(listed.some((x) => x.id === c.id && x.secret === undefined));

    const u = await h.req('PATCH', `/v3/OS-OAUTH1/consumers/${c.id}`, { token: admin, body: { consumer: { description: 'd2' } } });
    assert.equal(u.json<{ consumer: ConsumerWire }>().consumer.description, 'd2');
    assert.equal((await h.req('PATCH', `/v3/OS-OAUTH1/consumers/${c.id}`, { token: admin, body: { consumer: { secret: 's' } } })).statusCode, 400);
    assert.equal((await h.req('PATCH', `/v3/OS-OAUTH1/consumers/${c.id}`, { token: admin, body: { consumer: {} } })).statusCode, 400);
    assert.equal(err(await h.req('PATCH', `/v3/OS-OAUTH1/consumers/${c.id}`, { token: admin, body: { consumer: { id: 'zz' } } })), 'Cannot change ID');
    assert.equal(err(await h.req('POST', '/v3/OS-OAUTH1/consumers', { token: admin, body: { consumer: { description: 5 } } })), "Invalid input for field 'description': 5 is not of type 'string', 'null'");

    assert.equal((await h.req('DELETE', `/v3/OS-OAUTH1/consumers/${c.id}`, { token: admin })).statusCode, 204);
    const gone = await h.req('GET', `/v3/OS-OAUTH1/consumers/${c.id}`, { token: admin });
    assert.deepEqual([gone.statusCode, err(gone)], [404, 'Consumer not found']);
  });

  test('only admins manage consumers', async () => {
    const member = await h.token('demo-member', 'demo-member-pw', { project: 'demo' });
    assert.equal((await h.req('GET', '/v3/OS-OAUTH1/consumers', { token: member })).statusCode, 403);
    assert.equal((await h.req('POST', '/v3/OS-OAUTH1/consumers', { token: member, body: { consumer: {} } })).statusCode, 403);
  });
});

describe('the delegation flow', () => {
  let consumer: { id: string; secret: string };
  let requestToken: { id: string; secret: string };
  let verifier: string;
  let accessToken: { id: string; secret: string };
  let readerRole: string;

  before(async () => {
    consumer = (await h.req('POST', '/v3/OS-OAUTH1/consumers', { token: admin, body: { consumer: { description: 'flow' } } })).json<{ consumer: { id: string; secret: string } }>().consumer;
    readerRole = (await h.req('GET', '/v3/roles?name=reader', { token: admin })).json<{ roles: { id: string }[] }>().roles[0]!.id;
  });

  test('a signed request token for a project', async () => {
    const path = '/v3/OS-OAUTH1/request_token';
    const r = await h.req('POST', path, { headers: { authorization: signed(path, consumer, { oauth_callback: 'oob' }), 'requested-project-id': adminProject } });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.headers['content-type'], 'application/x-www-form-urlencoded');
    const q = new URLSearchParams(r.body);
    requestToken = { id: q.get('oauth_token')!, secret: q.get('oauth_token_secret')! };
    assert.match(requestToken.id, /^[0-9a-f]{32}$/);
    assert.match(q.get('oauth_expires_at')!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    // a wrong secret: 401; no project: 400; unknown project: 404; no callback: oauthlib's 400
    const bad = await h.req('POST', path, { headers: { authorization: signed(path, { ...consumer, secret: 'x' }, { oauth_callback: 'oob' }), 'requested-project-id': adminProject } });
    assert.equal(bad.statusCode, 401);
    assert.match(err(await h.req('POST', path, { headers: { authorization: signed(path, consumer, { oauth_callback: 'oob' }) } })), /^Expecting to find Requested-Project-Id in request\./);
    assert.equal((await h.req('POST', path, { headers: { authorization: signed(path, consumer, { oauth_callback: 'oob' }), 'requested-project-id': 'nope' } })).statusCode, 404);
    const noCallback = await h.req('POST', path, { headers: { authorization: signed(path, consumer, {}), 'requested-project-id': adminProject } });
    assert.deepEqual([noCallback.statusCode, err(noCallback)], [400, 'Validation failed with errors: invalid_request, detail message is: Missing callback URI..']);
  });

  test('the user authorizes it with roles they hold on the project', async () => {
    const missing = await h.req('PUT', `/v3/OS-OAUTH1/authorize/${'0'.repeat(32)}`, { token: admin, body: { roles: [{ id: readerRole }] } });
    assert.deepEqual([missing.statusCode, err(missing)], [404, 'Request token not found']);
    const r = await h.req('PUT', `/v3/OS-OAUTH1/authorize/${requestToken.id}`, { token: admin, body: { roles: [{ name: 'reader' }] } });
    assert.equal(r.statusCode, 200, r.body);
    verifier = r.json<{ token: { oauth_verifier: string } }>().token.oauth_verifier;
    assert.match(verifier, /^[A-HJ-NP-Za-hkmnp-z2-9]{8}$/);
  });

  test('the consumer trades it for an access token', async () => {
    const path = '/v3/OS-OAUTH1/access_token';
    const wrongVerifier = await h.req('POST', path, { headers: { authorization: signed(path, consumer, { oauth_token: requestToken.id, oauth_verifier: 'abcdefgh' }, requestToken.secret) } });
    assert.equal(wrongVerifier.statusCode, 401);
    const r = await h.req('POST', path, { headers: { authorization: signed(path, consumer, { oauth_token: requestToken.id, oauth_verifier: verifier }, requestToken.secret) } });
    assert.equal(r.statusCode, 201, r.body);
    const q = new URLSearchParams(r.body);
    accessToken = { id: q.get('oauth_token')!, secret: q.get('oauth_token_secret')! };
    // the request token is used up
    const again = await h.req('POST', path, { headers: { authorization: signed(path, consumer, { oauth_token: requestToken.id, oauth_verifier: verifier }, requestToken.secret) } });
    assert.deepEqual([again.statusCode, err(again)], [404, 'Request token not found']);
  });

  let oauthToken: string;
  test('the oauth1 method: a token for the project with only the lent roles', async () => {
    const body = { auth: { identity: { methods: ['oauth1'], oauth1: {} } } };
    const auth = (secret: string) => signed('/v3/auth/tokens', consumer, { oauth_token: accessToken.id }, secret);
    assert.equal((await h.req('POST', '/v3/auth/tokens', { body, headers: { authorization: auth('wrong') } })).statusCode, 401);
    const r = await h.req('POST', '/v3/auth/tokens', { body, headers: { authorization: auth(accessToken.secret) } });
    assert.equal(r.statusCode, 201, r.body);
    const t = r.json<{ token: { methods: string[]; user: { id: string }; project: { id: string }; roles: { name: string }[]; 'OS-OAUTH1': unknown } }>().token;
    assert.deepEqual([t.methods, t.user.id, t.project.id, t.roles.map((x) => x.name)], [['oauth1'], adminId, adminProject, ['reader']]);
    assert.deepEqual(t['OS-OAUTH1'], { access_token_id: accessToken.id, consumer_id: consumer.id });
    oauthToken = String(r.headers['x-subject-token']);
    const v = await h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': oauthToken } });
    assert.deepEqual(v.json<{ token: { 'OS-OAUTH1': unknown } }>().token['OS-OAUTH1'], t['OS-OAUTH1']);
    // a delegated token cannot lend roles onwards
    assert.equal((await h.req('GET', `/v3/users/${adminId}/OS-OAUTH1/access_tokens`, { token: oauthToken })).statusCode, 403);
  });

  test("the user's access tokens and the roles they lent", async () => {
    const base = `/v3/users/${adminId}/OS-OAUTH1/access_tokens`;
    const list = (await h.req('GET', base, { token: admin })).json<{ access_tokens: Record<string, unknown>[] }>().access_tokens;
    assert.equal(list.length, 1);
    const t = list[0]!;
    assert.deepEqual(
      { id: t.id, user: t.authorizing_user_id, project: t.project_id, consumer: t.consumer_id, secret: t.access_secret, roles: t.role_ids },
      { id: accessToken.id, user: adminId, project: adminProject, consumer: consumer.id, secret: undefined, roles: undefined },
    );
    assert.deepEqual(t.links, { self: `http://localhost:80${base}/${accessToken.id}`, roles: `http://localhost:80${base}/${accessToken.id}/roles` });
    assert.deepEqual((await h.req('GET', `${base}/${accessToken.id}`, { token: admin })).json<{ access_token: unknown }>().access_token, t);
    const roles = (await h.req('GET', `${base}/${accessToken.id}/roles`, { token: admin })).json<{ roles: { id: string; name: string }[] }>().roles;
    assert.deepEqual(roles.map((r) => r.name), ['reader']);
    assert.equal((await h.req('GET', `${base}/${accessToken.id}/roles/${readerRole}`, { token: admin })).json<{ role: { name: string } }>().role.name, 'reader');
    assert.equal((await h.req('GET', `${base}/${accessToken.id}/roles/${'0'.repeat(32)}`, { token: admin })).statusCode, 404);
    // another user's path: not found
    assert.equal((await h.req('GET', `/v3/users/${p.member}/OS-OAUTH1/access_tokens/${accessToken.id}`, { token: admin })).statusCode, 404);
    assert.equal((await h.req('DELETE', `${base}/${accessToken.id}`, { token: admin })).statusCode, 204);
    assert.deepEqual((await h.req('GET', base, { token: admin })).json<{ access_tokens: unknown[] }>().access_tokens, []);
    // and the tokens made with it stop validating
    assert.equal((await h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': oauthToken } })).statusCode, 404);
  });
});
