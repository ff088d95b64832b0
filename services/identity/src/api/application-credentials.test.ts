// Application credentials and access rules end to end through the API: create, authenticate
// with them, what a credential may not do, and how its tokens end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { manualClock } from '@alto/kernel';
import { startIdentity, addPersonas, roleIdOf, type Harness } from '../testing/harness.js';
import { KeyRepositoryReader } from '../crypto/key-repository.js';
import { TokenFormatter } from '../crypto/token-formatter.js';

const clock = manualClock(Date.UTC(2026, 10, 21, 8, 0, 0));
let h: Harness;
let p: Awaited<ReturnType<typeof addPersonas>>;
let admin: string;
let roleId: (name: string) => string;

before(async () => {
  h = await startIdentity({ clock });
  p = await addPersonas(h);
  admin = await h.adminToken();
  roleId = await roleIdOf(h, admin);
});
after(() => h.close());

type AppCred = { id: string; name: string; secret?: string; roles: { id: string; name: string }[]; project_id: string | null; expires_at: string | null; access_rules?: { id: string }[] };

const memberToken = () => h.token('demo-member', 'demo-member-pw', { project: 'demo' });
const create = async (token: string, body: Record<string, unknown>, user = p.member) =>
  h.req('POST', `/v3/users/${user}/application_credentials`, { token, body: { application_credential: body } });
const createOk = async (token: string, body: Record<string, unknown>) => {
  const r = await create(token, body);
  assert.equal(r.statusCode, 201, r.body);
  return r.json<{ application_credential: AppCred }>().application_credential;
};
const auth = (identity: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['application_credential'], application_credential: identity }, ...extra } } });
const validate = (subject: string, headers: Record<string, string> = {}) => h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': subject, ...headers } });

test('create returns the secret once; the credential authenticates to its project with its roles', async () => {
  const t = await memberToken();
  const cred = await createOk(t, { name: 'ci', description: 'for CI', roles: [{ name: 'member' }] });
  assert.equal(typeof cred.secret, 'string');
  assert.match(cred.secret!, /^[A-Za-z0-9_-]{86}$/, 'a url-safe secret from 64 random bytes');
  assert.equal(cred.project_id, p.demoId);
  assert.deepEqual(cred.roles.map((r) => r.name), ['member']);
  const shown = (await h.req('GET', `/v3/users/${p.member}/application_credentials/${cred.id}`, { token: t })).json<{ application_credential: AppCred }>().application_credential;
  assert.equal(shown.secret, undefined, 'never shown again');

  const r = await auth({ id: cred.id, secret: cred.secret });
  assert.equal(r.statusCode, 201, r.body);
  const token = r.json<{ token: Record<string, unknown> & { roles: { name: string }[]; project: { id: string }; methods: string[]; application_credential: unknown } }>().token;
  assert.deepEqual(token.methods, ['application_credential']);
  assert.equal(token.project.id, p.demoId);
  assert.deepEqual(token.roles.map((x) => x.name), ['member'], 'the credential roles, not what they imply');
  assert.deepEqual(token.application_credential, { id: cred.id, name: 'ci', restricted: true });
  const formatter = new TokenFormatter({ keys: new KeyRepositoryReader({ path: h.config.fernet_tokens.key_repository, clock }), clock });
  const parsed = await formatter.parse(String(r.headers['x-subject-token']));
  assert.equal(parsed.payloadVersion, 9, 'ApplicationCredentialScopedPayload');
  assert.equal(parsed.applicationCredentialId, cred.id);
  // by name and user too
  const byName = await auth({ name: 'ci', secret: cred.secret, user: { name: 'demo-member', domain: { id: 'default' } } });
  assert.equal(byName.statusCode, 201, byName.body);
  assert.equal((await auth({ id: cred.id, secret: 'wrong' })).statusCode, 401);
  assert.equal((await auth({ name: 'nope', secret: cred.secret, user: { id: p.member } })).statusCode, 401);
  const scoped = await auth({ id: cred.id, secret: cred.secret }, { scope: { project: { id: p.demoId } } });
  assert.equal(scoped.statusCode, 401);
  assert.equal(scoped.json<{ error: { message: string } }>().error.message, 'Error authenticating with application credential: Application credentials cannot request a scope.');
  assert.equal((await auth({ id: '0123456789abcdef0123456789abcdef', secret: 'x' })).statusCode, 404, 'an unknown id is a 404, as upstream');
  assert.equal((await auth({ secret: 'x' })).statusCode, 400);
});

test('a credential cannot carry a role its creator lacks, nor be made for someone else', async () => {
  const t = await memberToken();
  const r = await create(t, { name: 'too-much', roles: [{ id: roleId('admin') }] });
  assert.equal(r.statusCode, 400);
  assert.equal(r.json<{ error: { message: string } }>().error.message, 'Invalid application credential: Cannot create an application credential with unassigned role');
  const other = await create(t, { name: 'theirs' }, p.reader);
  assert.equal(other.statusCode, 403);
  const unknownRole = await create(t, { name: 'x', roles: [{ name: 'no-such-role' }] });
  assert.equal(unknownRole.statusCode, 404);
  assert.equal(unknownRole.json<{ error: { message: string } }>().error.message, 'Role no-such-role is not defined');
  const dup = await create(t, { name: 'ci' });
  assert.equal(dup.statusCode, 409);
  const past = await create(t, { name: 'old', expires_at: '2001-01-01T00:00:00Z' });
  assert.equal(past.statusCode, 400);
  const bad = await create(t, { name: 'bad', expires_at: 'bad.123Z' });
  assert.equal(bad.json<{ error: { message: string } }>().error.message.startsWith('Timestamp not in expected format.'), true);
});

test('a restricted credential cannot make or delete credentials, or manage trusts; an unrestricted one can make credentials', async () => {
  const t = await memberToken();
  const restricted = await createOk(t, { name: 'restricted' });
  const free = await createOk(t, { name: 'free', unrestricted: true });
  const rt = String((await auth({ id: restricted.id, secret: restricted.secret })).headers['x-subject-token']);
  const made = await create(rt, { name: 'from-restricted' });
  assert.equal(made.statusCode, 403);
  assert.equal(
    made.json<{ error: { message: string } }>().error.message,
    "You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials..",
  );
  assert.equal((await h.req('DELETE', `/v3/users/${p.member}/application_credentials/${free.id}`, { token: rt })).statusCode, 403);
  const trust = await h.req('POST', '/v3/OS-TRUST/trusts', {
    token: rt,
    body: { trust: { trustor_user_id: p.member, trustee_user_id: p.reader, impersonation: false, project_id: p.demoId, roles: [{ name: 'member' }] } },
  });
  assert.equal(trust.statusCode, 403);
  assert.match(trust.json<{ error: { message: string } }>().error.message, /Delegated tokens cannot manage trusts/);
  // nor exchange its token for another
  const rescope = await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: rt } } } } });
  assert.equal(rescope.statusCode, 403);

  const ft = String((await auth({ id: free.id, secret: free.secret })).headers['x-subject-token']);
  const child = await create(ft, { name: 'from-unrestricted' });
  assert.equal(child.statusCode, 201, child.body);
  // it holds only the roles of the token that made it
  assert.deepEqual(
    child.json<{ application_credential: AppCred }>().application_credential.roles.map((r) => r.name).sort(),
    free.roles.map((r) => r.name).sort(),
  );
});

test('deleting a credential, or its user losing the role, ends its tokens', async () => {
  const t = await memberToken();
  const cred = await createOk(t, { name: 'short-lived' });
  const at = String((await auth({ id: cred.id, secret: cred.secret })).headers['x-subject-token']);
  assert.equal((await validate(at)).statusCode, 200);
  assert.equal((await h.req('GET', `/v3/users/${p.member}/application_credentials`, { token: at })).statusCode, 200, 'the token works as a token');
  assert.equal((await h.req('DELETE', `/v3/users/${p.member}/application_credentials/${cred.id}`, { token: t })).statusCode, 204);
  const gone = await validate(at);
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.json<{ error: { message: string } }>().error.message, `Could not find Application Credential: ${cred.id}.`);
  assert.equal((await h.req('GET', '/v3/auth/projects', { token: at })).statusCode, 401);

  const cred2 = await createOk(t, { name: 'role-bound' });
  const at2 = String((await auth({ id: cred2.id, secret: cred2.secret })).headers['x-subject-token']);
  assert.equal((await h.req('DELETE', `/v3/projects/${p.demoId}/users/${p.member}/roles/${roleId('member')}`, { token: admin })).statusCode, 204);
  assert.equal((await validate(at2)).statusCode, 404);
  assert.equal((await auth({ id: cred2.id, secret: cred2.secret })).statusCode, 401, 'no role left on the project');
  assert.equal((await h.req('PUT', `/v3/projects/${p.demoId}/users/${p.member}/roles/${roleId('member')}`, { token: admin })).statusCode, 204);
  assert.equal((await auth({ id: cred2.id, secret: cred2.secret })).statusCode, 201, 'the credential itself stays, as upstream');
});

test('an expiring credential caps its tokens and stops authenticating', async () => {
  const t = await memberToken();
  const cred = await createOk(t, { name: 'expiring', expires_at: '2026-11-21T08:30:00.123456' });
  assert.equal(cred.expires_at, '2026-11-21T08:30:00.123456', 'Keystone keeps and shows microseconds');
  const r = await auth({ id: cred.id, secret: cred.secret });
  assert.equal(r.json<{ token: { expires_at: string } }>().token.expires_at, '2026-11-21T08:30:00.000000Z');
  clock.advance(31 * 60_000);
  assert.equal((await validate(String(r.headers['x-subject-token']))).statusCode, 404);
  assert.equal((await auth({ id: cred.id, secret: cred.secret })).statusCode, 401);
});

test('access rules: listed per user, shared between credentials, refused deletion while used', async () => {
  const t = await memberToken();
  const rules = [{ service: 'compute', path: '/v2.1/servers/*/ips', method: 'GET' }];
  const a = await createOk(t, { name: 'ruled-a', access_rules: rules });
  const ruleId = a.access_rules![0]!.id;
  const b = await createOk(t, { name: 'ruled-b', access_rules: [{ id: ruleId }] });
  assert.equal(b.access_rules![0]!.id, ruleId);
  const c = await createOk(t, { name: 'ruled-c', access_rules: rules });
  assert.equal(c.access_rules![0]!.id, ruleId, 'the same rule is reused');
  const list = (await h.req('GET', `/v3/users/${p.member}/access_rules`, { token: t })).json<{ access_rules: { id: string; links: { self: string } }[] }>();
  assert.equal(list.access_rules.length, 1);
  assert.match(list.access_rules[0]!.links.self, new RegExp(`/v3/access_rules/${ruleId}$`));
  assert.equal((await h.req('GET', `/v3/users/${p.member}/access_rules/${ruleId}`, { token: t })).statusCode, 200);
  assert.equal((await h.req('GET', `/v3/users/${p.member}/access_rules/${ruleId}`, { token: await h.token('demo-reader', 'demo-reader-pw', { project: 'demo' }) })).statusCode, 403);

  // a token restricted by access rules validates only for a caller that enforces them
  const at = String((await auth({ id: a.id, secret: a.secret })).headers['x-subject-token']);
  assert.equal((await validate(at)).statusCode, 404);
  const ok = await validate(at, { 'openstack-identity-access-rules': '1.0' });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json<{ token: { application_credential: { access_rules: unknown } } }>().token.application_credential.access_rules, [{ id: ruleId, ...rules[0] }]);

  const inUse = await h.req('DELETE', `/v3/users/${p.member}/access_rules/${ruleId}`, { token: t });
  assert.equal(inUse.statusCode, 403);
  assert.equal(inUse.json<{ error: { message: string } }>().error.message, 'May not delete access rule in use');
  for (const cred of [a, b, c]) assert.equal((await h.req('DELETE', `/v3/users/${p.member}/application_credentials/${cred.id}`, { token: t })).statusCode, 204);
  assert.equal((await h.req('GET', `/v3/users/${p.member}/access_rules`, { token: t })).json<{ access_rules: unknown[] }>().access_rules.length, 1, 'rules outlive credentials');
  assert.equal((await h.req('DELETE', `/v3/users/${p.member}/access_rules/${ruleId}`, { token: t })).statusCode, 204);
  assert.equal((await h.req('GET', `/v3/users/${p.member}/access_rules/${ruleId}`, { token: t })).statusCode, 404);
});

test('list filters by name; another user cannot read or delete them; [application_credential] user_limit holds', async () => {
  const t = await memberToken();
  await createOk(t, { name: 'findme' });
  const found = (await h.req('GET', `/v3/users/${p.member}/application_credentials?name=findme`, { token: t })).json<{ application_credentials: AppCred[] }>();
  assert.deepEqual(found.application_credentials.map((c) => c.name), ['findme']);
  const reader = await h.token('demo-reader', 'demo-reader-pw', { project: 'demo' });
  assert.equal((await h.req('GET', `/v3/users/${p.member}/application_credentials`, { token: reader })).statusCode, 403);
  const id = found.application_credentials[0]!.id;
  // the reader names itself in the path: still checked as the credential's owner
  assert.equal((await h.req('GET', `/v3/users/${p.reader}/application_credentials/${id}`, { token: reader })).statusCode, 403);
  assert.equal((await h.req('DELETE', `/v3/users/${p.reader}/application_credentials/${id}`, { token: reader })).statusCode, 403);
  assert.equal((await h.req('GET', `/v3/users/${p.member}/application_credentials/${id}`, { token: admin })).statusCode, 200, 'an admin may');

  const limited = await startIdentity({ config: { application_credential: { user_limit: 1 } } });
  try {
    const lp = await addPersonas(limited);
    const lt = await limited.token('demo-member', 'demo-member-pw', { project: 'demo' });
    const one = await limited.req('POST', `/v3/users/${lp.member}/application_credentials`, { token: lt, body: { application_credential: { name: 'one' } } });
    assert.equal(one.statusCode, 201);
    const two = await limited.req('POST', `/v3/users/${lp.member}/application_credentials`, { token: lt, body: { application_credential: { name: 'two' } } });
    assert.equal(two.statusCode, 403);
    assert.equal(two.json<{ error: { message: string } }>().error.message, 'Unable to create additional application credentials, maximum of 1 already exceeded for user.');
  } finally {
    await limited.close();
  }
});

test('deleting the user deletes their credentials and access rules', async () => {
  const mk = await h.req('POST', '/v3/users', { token: admin, body: { user: { name: 'leaver', password: 'leaver-pw', domain_id: 'default' } } });
  const uid = mk.json<{ user: { id: string } }>().user.id;
  await h.req('PUT', `/v3/projects/${p.demoId}/users/${uid}/roles/${roleId('member')}`, { token: admin });
  const t = await h.token('leaver', 'leaver-pw', { project: 'demo' });
  const r = await h.req('POST', `/v3/users/${uid}/application_credentials`, { token: t, body: { application_credential: { name: 'x', access_rules: [{ service: 'image', path: '/v2/images', method: 'GET' }] } } });
  assert.equal(r.statusCode, 201, r.body);
  assert.equal((await h.req('DELETE', `/v3/users/${uid}`, { token: admin })).statusCode, 204);
  const rows = await h.database.db.selectFrom('application_credential').select('id').where('user_id', '=', uid).execute();
  assert.equal(rows.length, 0);
  const rules = await h.database.db.selectFrom('access_rule').select('id').where('user_id', '=', uid).execute();
  assert.equal(rules.length, 0);
});
