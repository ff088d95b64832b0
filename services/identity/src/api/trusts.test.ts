// OS-TRUST through the API: what a trust may delegate, trust-scoped tokens (impersonation,
// remaining uses, expiry), redelegation depth, and revocation when trusts or their users go.
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

type TrustBody = { id: string; impersonation: boolean; expires_at: string | null; remaining_uses: number | null; redelegation_count: number; redelegated_trust_id: string | null; roles: { id: string; name: string }[]; roles_links: { self: string }; links: { self: string } };
type TokenBody = { token: { user: { id: string }; roles: { id: string; name: string; description?: unknown }[]; methods: string[]; 'OS-TRUST:trust': { id: string; impersonation: boolean; trustor_user: { id: string }; trustee_user: { id: string } }; project: { id: string }; is_domain?: boolean } };

const member = () => h.token('demo-member', 'demo-member-pw', { project: 'demo' });
const message = (r: { json<T>(): T }) => r.json<{ error: { message: string } }>().error.message;
const trustBody = (extra: Record<string, unknown> = {}) => ({ trustor_user_id: p.member, trustee_user_id: p.reader, project_id: p.demoId, impersonation: true, roles: [{ name: 'member' }], ...extra });
const createTrust = (token: string, body: Record<string, unknown>) => h.req('POST', '/v3/OS-TRUST/trusts', { token, body: { trust: body } });
const createOk = async (token: string, body: Record<string, unknown>) => {
  const r = await createTrust(token, body);
  assert.equal(r.statusCode, 201, r.body);
  return r.json<{ trust: TrustBody }>().trust;
};
/** A trust-scoped token for the named user (password method). */
const trustToken = (user: string, pw: string, trustId: string) =>
  h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password: pw } } }, scope: { 'OS-TRUST:trust': { id: trustId } } } } });
const validate = (subject: string) => h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': subject } });

test('create, show, list and the roles of a trust, as upstream renders them', async () => {
  const t = await member();
  const trust = await createOk(t, trustBody({ expires_at: '2026-11-22T03:04:05.123456Z', extra_field: 'kept' }));
  assert.equal(trust.expires_at, '2026-11-22T03:04:05.000000Z', 'whole seconds');
  assert.equal(trust.redelegation_count, 0);
  assert.equal((trust as unknown as Record<string, unknown>).extra_field, 'kept');
  assert.deepEqual(trust.roles.map((r) => r.name), ['member']);
  assert.match(trust.links.self, new RegExp(`/v3/OS-TRUST/trusts/${trust.id}$`));
  assert.match(trust.roles_links.self, new RegExp(`/v3/${trust.id}/roles$`), 'upstream leaves OS-TRUST/trusts out of this link');

  const reader = await h.token('demo-reader', 'demo-reader-pw', { project: 'demo' });
  assert.equal((await h.req('GET', `/v3/OS-TRUST/trusts/${trust.id}`, { token: reader })).statusCode, 200, 'the trustee may read it');
  const outsider = await h.token('other-member', 'other-member-pw', { project: 'other' });
  assert.equal((await h.req('GET', `/v3/OS-TRUST/trusts/${trust.id}`, { token: outsider })).statusCode, 403);
  assert.equal((await h.req('GET', '/v3/OS-TRUST/trusts/0123456789abcdef0123456789abcdef', { token: t })).statusCode, 404);

  const mine = await h.req('GET', `/v3/OS-TRUST/trusts?trustor_user_id=${p.member}`, { token: t });
  assert.equal(mine.statusCode, 200);
  const listed = mine.json<{ trusts: Record<string, unknown>[] }>().trusts.find((x) => x.id === trust.id)!;
  assert.equal(listed.roles, undefined, 'a listing leaves roles out');
  assert.equal((await h.req('GET', `/v3/OS-TRUST/trusts?trustee_user_id=${p.reader}`, { token: reader })).statusCode, 200);
  assert.equal((await h.req('GET', `/v3/OS-TRUST/trusts?trustor_user_id=${p.member}`, { token: outsider })).statusCode, 403);
  assert.equal((await h.req('GET', '/v3/OS-TRUST/trusts', { token: t })).statusCode, 403, 'listing all is for admins');
  const all = await h.req('GET', '/v3/OS-TRUST/trusts', { token: admin });
  assert.ok(all.json<{ trusts: { id: string }[] }>().trusts.some((x) => x.id === trust.id));

  const roles = await h.req('GET', `/v3/OS-TRUST/trusts/${trust.id}/roles`, { token: reader });
  assert.deepEqual(roles.json<{ roles: { name: string }[] }>().roles.map((r) => r.name), ['member']);
  assert.equal((await h.req('GET', `/v3/OS-TRUST/trusts/${trust.id}/roles/${roleId('member')}`, { token: reader })).statusCode, 200);
  assert.equal((await h.req('HEAD', `/v3/OS-TRUST/trusts/${trust.id}/roles/${roleId('member')}`, { token: reader })).statusCode, 200);
  const notIn = await h.req('GET', `/v3/OS-TRUST/trusts/${trust.id}/roles/${roleId('reader')}`, { token: reader });
  assert.equal(notIn.statusCode, 404);
  assert.equal(message(notIn), `Could not find role: ${roleId('reader')}.`);
});

test('a trust cannot grant more than the trustor has, nor be made in someone else\'s name', async () => {
  const t = await member();
  const tooMuch = await createTrust(t, trustBody({ roles: [{ id: roleId('admin') }] }));
  assert.equal(tooMuch.statusCode, 404);
  assert.equal(message(tooMuch), `Could not find role: ${roleId('admin')}.`);
  const otherProject = await createTrust(t, trustBody({ project_id: p.otherId }));
  assert.equal(otherProject.statusCode, 404, 'no role on that project');
  const notMe = await createTrust(t, trustBody({ trustor_user_id: p.reader, trustee_user_id: p.member }));
  assert.equal(notMe.statusCode, 403);
  assert.equal(message(notMe), 'You are not authorized to perform the requested action: identity:create_trust.');
  const noRoles = await createTrust(t, trustBody({ roles: [] }));
  assert.equal(message(noRoles), 'You are not authorized to perform the requested action: At least one role should be specified.');
  const noTrustee = await createTrust(t, trustBody({ trustee_user_id: 'nobody' }));
  assert.equal(noTrustee.statusCode, 404);
  assert.equal((await createTrust(t, trustBody({ expires_at: 'bad.123Z' }))).statusCode, 400);
  assert.equal((await createTrust(t, trustBody({ expires_at: '2001-01-01T00:00:00Z' }))).statusCode, 400);
  assert.equal((await createTrust(t, trustBody({ remaining_uses: 0 }))).statusCode, 400);
  const both = await createTrust(t, trustBody({ allow_redelegation: true, remaining_uses: 2 }));
  assert.equal(both.statusCode, 400);
  assert.equal(message(both), 'remaining_uses must not be set if redelegation is allowed');
  assert.equal((await createTrust(t, trustBody({ allow_redelegation: true, redelegation_count: 10 }))).statusCode, 403);
  assert.equal((await createTrust(t, { trustee_user_id: p.reader, impersonation: true })).statusCode, 403, 'policy first: no trustor');
});

test('impersonation: the token acts as the trustor; without it, as the trustee; roles include implied ones', async () => {
  const t = await member();
  const imp = await createOk(t, trustBody());
  const r = await trustToken('demo-reader', 'demo-reader-pw', imp.id);
  assert.equal(r.statusCode, 201, r.body);
  const tok = r.json<TokenBody>().token;
  assert.equal(tok.user.id, p.member, 'impersonation: the trustor');
  assert.deepEqual(tok['OS-TRUST:trust'], { id: imp.id, impersonation: true, trustor_user: { id: p.member }, trustee_user: { id: p.reader } });
  assert.equal(tok.project.id, p.demoId);
  assert.equal(tok.is_domain, undefined);
  assert.deepEqual(tok.roles.map((x) => x.name).sort(), ['member', 'reader'], 'member implies reader');
  assert.ok('description' in tok.roles[0]!, 'whole roles, as upstream');
  // the token acts as the trustor in policy too
  const tt = String(r.headers['x-subject-token']);
  const parsed = await new TokenFormatter({ keys: new KeyRepositoryReader({ path: h.config.fernet_tokens.key_repository, clock }), clock }).parse(tt);
  assert.equal(parsed.payloadVersion, 3, 'TrustScopedPayload');
  assert.equal(parsed.userId, p.reader, 'the payload names the trustee');
  assert.equal((await h.req('GET', `/v3/users/${p.member}`, { token: tt })).statusCode, 200);

  const plain = await createOk(t, trustBody({ impersonation: false }));
  const r2 = await trustToken('demo-reader', 'demo-reader-pw', plain.id);
  assert.equal(r2.json<TokenBody>().token.user.id, p.reader);

  // only the trustee may use it
  const stranger = await trustToken('other-member', 'other-member-pw', plain.id);
  assert.equal(stranger.statusCode, 403);
  // a trust token cannot be exchanged for another
  const rescope = await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: tt } } } } });
  assert.equal(rescope.statusCode, 403);
  assert.equal(message(rescope), 'You are not authorized to perform the requested action: Using trust-scoped token to create another token. Create a new trust-scoped token instead.');
  // the trustee may also come with a token
  const readerUnscoped = await h.token('demo-reader', 'demo-reader-pw');
  const viaToken = await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: readerUnscoped } }, scope: { 'OS-TRUST:trust': { id: plain.id } } } } });
  assert.equal(viaToken.statusCode, 201, viaToken.body);
  assert.deepEqual(viaToken.json<TokenBody>().token.methods, ['token', 'password']);
  assert.equal((await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: readerUnscoped } }, scope: { 'OS-TRUST:trust': {} } } } })).statusCode, 400);
  assert.equal((await h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: readerUnscoped } }, scope: { 'OS-TRUST:trust': { id: 'nope' } } } } })).statusCode, 401);
});

test('remaining_uses: each token takes one; the last use ends the trust and its tokens', async () => {
  const t = await member();
  const trust = await createOk(t, trustBody({ remaining_uses: 2, impersonation: false }));
  const first = await trustToken('demo-reader', 'demo-reader-pw', trust.id);
  assert.equal(first.statusCode, 201);
  assert.equal((await validate(String(first.headers['x-subject-token']))).statusCode, 200);
  assert.equal((await trustToken('demo-reader', 'demo-reader-pw', trust.id)).statusCode, 201);
  assert.equal((await trustToken('demo-reader', 'demo-reader-pw', trust.id)).statusCode, 401, 'used up');
  const after = await validate(String(first.headers['x-subject-token']));
  assert.equal(after.statusCode, 404);
  assert.equal(message(after), `Could not find trust: ${trust.id}.`);
  assert.equal((await h.req('GET', `/v3/OS-TRUST/trusts/${trust.id}`, { token: t })).statusCode, 404);
  const listed = (await h.req('GET', `/v3/OS-TRUST/trusts?trustor_user_id=${p.member}`, { token: t })).json<{ trusts: TrustBody[] }>().trusts.find((x) => x.id === trust.id);
  assert.equal(listed?.remaining_uses, 0, 'still listed, as upstream');
});

test('expiry: an expired trust scopes no token and its tokens stop validating', async () => {
  const t = await member();
  const trust = await createOk(t, trustBody({ impersonation: false, expires_at: '2026-11-21T08:10:00Z' }));
  const r = await trustToken('demo-reader', 'demo-reader-pw', trust.id);
  assert.equal(r.statusCode, 201);
  const tt = String(r.headers['x-subject-token']);
  assert.equal((await validate(tt)).statusCode, 200);
  clock.advance(11 * 60_000);
  assert.equal((await validate(tt)).statusCode, 404);
  assert.equal((await trustToken('demo-reader', 'demo-reader-pw', trust.id)).statusCode, 401);
});

test('the trustor losing a role, or being disabled, stops the trust; deleting it revokes its tokens', async () => {
  const t = await member();
  const trust = await createOk(t, trustBody({ impersonation: false }));
  const tt = String((await trustToken('demo-reader', 'demo-reader-pw', trust.id)).headers['x-subject-token']);
  await h.req('DELETE', `/v3/projects/${p.demoId}/users/${p.member}/roles/${roleId('member')}`, { token: admin });
  assert.equal((await validate(tt)).statusCode, 403, 'upstream: Trustee has no delegated roles');
  assert.equal((await trustToken('demo-reader', 'demo-reader-pw', trust.id)).statusCode, 403);
  await h.req('PUT', `/v3/projects/${p.demoId}/users/${p.member}/roles/${roleId('member')}`, { token: admin });
  assert.equal((await validate(tt)).statusCode, 200);

  const t2 = await member();
  assert.equal((await h.req('DELETE', `/v3/OS-TRUST/trusts/${trust.id}`, { token: await h.token('demo-reader', 'demo-reader-pw', { project: 'demo' }) })).statusCode, 403, 'not the trustee');
  assert.equal((await h.req('DELETE', `/v3/OS-TRUST/trusts/${trust.id}`, { token: t2 })).statusCode, 204);
  assert.equal((await validate(tt)).statusCode, 404);
  const events = (await h.database.db.selectFrom('revocation_event').select('trust_id').where('trust_id', '=', trust.id).execute()).length;
  assert.equal(events, 1, 'a revocation event names the trust');
  assert.equal((await h.req('DELETE', `/v3/OS-TRUST/trusts/${trust.id}`, { token: t2 })).statusCode, 404);
});

test('redelegation: within the depth, roles and impersonation of the trust it comes from; the chain dies with its root', async () => {
  const t = await member();
  const root = await createOk(t, trustBody({ impersonation: false, allow_redelegation: true, redelegation_count: 2 }));
  assert.equal(root.redelegation_count, 2);
  const rt = String((await trustToken('demo-reader', 'demo-reader-pw', root.id)).headers['x-subject-token']);
  const next = { trustor_user_id: p.reader, trustee_user_id: p.outsider, project_id: p.demoId, impersonation: false, roles: [{ name: 'member' }], allow_redelegation: true };
  // the redelegating trustee must hold the roles itself (upstream checks the new trust's trustor first)
  assert.equal((await createTrust(rt, next)).statusCode, 404);
  await h.req('PUT', `/v3/projects/${p.demoId}/users/${p.reader}/roles/${roleId('member')}`, { token: admin });
  assert.equal((await createTrust(rt, { ...next, impersonation: true })).statusCode, 403, 'no impersonation from a trust without it');
  assert.equal((await createTrust(rt, { ...next, roles: [{ name: 'admin' }] })).statusCode, 404, 'not a role the trustee holds');
  assert.equal((await createTrust(rt, { ...next, redelegation_count: 2 })).statusCode, 403, 'may not choose its own depth');
  const child = await createTrust(rt, next);
  assert.equal(child.statusCode, 201, child.body);
  const c = child.json<{ trust: TrustBody }>().trust;
  assert.equal(c.redelegated_trust_id, root.id);
  assert.equal(c.redelegation_count, 1);

  await h.req('PUT', `/v3/projects/${p.demoId}/users/${p.outsider}/roles/${roleId('member')}`, { token: admin });
  const ct = String((await trustToken('other-member', 'other-member-pw', c.id)).headers['x-subject-token']);
  const grandchild = await createTrust(ct, { ...next, trustor_user_id: p.outsider, trustee_user_id: p.member });
  assert.equal(grandchild.statusCode, 201, grandchild.body);
  const g = grandchild.json<{ trust: TrustBody }>().trust;
  assert.equal(g.redelegation_count, 0);
  const gt = String((await trustToken('demo-member', 'demo-member-pw', g.id)).headers['x-subject-token']);
  const tooDeep = await createTrust(gt, { ...next, trustor_user_id: p.member, trustee_user_id: p.reader });
  assert.equal(tooDeep.statusCode, 403, 'the depth is used up');

  // deleting the root deletes what was redelegated from it, and their tokens
  assert.equal((await h.req('DELETE', `/v3/OS-TRUST/trusts/${root.id}`, { token: t })).statusCode, 204);
  assert.equal((await validate(ct)).statusCode, 404);
  assert.equal((await validate(gt)).statusCode, 404);
  assert.equal((await h.req('GET', `/v3/OS-TRUST/trusts/${g.id}`, { token: admin })).statusCode, 404);
});

test('deleting the trustee ends their trusts', async () => {
  const mk = await h.req('POST', '/v3/users', { token: admin, body: { user: { name: 'temp-trustee', password: 'temp-pw', domain_id: 'default' } } });
  const uid = mk.json<{ user: { id: string } }>().user.id;
  const t = await member();
  const trust = await createOk(t, trustBody({ trustee_user_id: uid, impersonation: false }));
  assert.equal((await h.req('DELETE', `/v3/users/${uid}`, { token: admin })).statusCode, 204);
  assert.equal((await h.req('GET', `/v3/OS-TRUST/trusts/${trust.id}`, { token: t })).statusCode, 404);
  const mine = (await h.req('GET', `/v3/OS-TRUST/trusts?trustor_user_id=${p.member}`, { token: t })).json<{ trusts: { id: string }[] }>().trusts;
  assert.ok(!mine.some((x) => x.id === trust.id));
});
