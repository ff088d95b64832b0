// Users under [security_compliance], on a clock the test moves: lockout, expiry, history, regex,
// minimum age, first use, inactivity, user options, MFA rules, list filters, and the tokens that
// password changes, disabling and deleting end.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { manualClock, type ManualClock } from '@alto/kernel';
import type { LightMyRequestResponse } from 'fastify';
import { startIdentity, type Harness } from '../testing/harness.js';
import { isoSeconds } from './views.js';

const DAY = 86_400_000;
const GENERIC_401 = { error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } };

interface Env {
  h: Harness;
  clock: ManualClock;
  /** A fresh admin token (the clock moves by days here). */
  admin(): Promise<string>;
}

async function start(securityCompliance: Record<string, unknown>): Promise<Env> {
  const clock = manualClock(Date.UTC(2026, 10, 21, 8, 0, 0));
  const h = await startIdentity({ clock, config: { security_compliance: securityCompliance } });
  // as an operator would: the bootstrap admin is exempt from expiry and inactivity
  const first = await h.adminToken();
  const me = (await h.req('GET', '/v3/users?name=admin', { token: first })).json<{ users: { id: string }[] }>().users[0]!.id;
  const r = await h.req('PATCH', `/v3/users/${me}`, { token: first, body: { user: { options: { ignore_password_expiry: true, ignore_user_inactivity: true } } } });
  assert.equal(r.statusCode, 200, r.body);
  return { h, clock, admin: () => h.adminToken() };
}

async function createUser(e: Env, user: Record<string, unknown>): Promise<{ id: string; password_expires_at: string | null; options: Record<string, unknown> }> {
  const r = await e.h.req('POST', '/v3/users', { token: await e.admin(), body: { user: { domain_id: 'default', ...user } } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().user;
}

function auth(e: Env, user: { id: string } | { name: string }, password: string): Promise<LightMyRequestResponse> {
  const ref = 'id' in user ? { id: user.id } : { name: user.name, domain: { id: 'default' } };
  return e.h.req('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { ...ref, password } } } } } });
}

function changePassword(e: Env, id: string, original: string, password: string, token?: string): Promise<LightMyRequestResponse> {
  return e.h.req('POST', `/v3/users/${id}/password`, { body: { user: { original_password: original, password } }, ...(token ? { token } : {}) });
}

const validate = async (e: Env, subject: string) => e.h.req('GET', '/v3/auth/tokens', { token: await e.admin(), headers: { 'x-subject-token': subject } });
const tokenOf = (r: LightMyRequestResponse) => String(r.headers['x-subject-token']);
const message = (r: LightMyRequestResponse) => r.json<{ error: { message: string } }>().error.message;

describe('lockout (lockout_failure_attempts=10, lockout_duration=600)', () => {
  let e: Env;
  before(async () => {
    e = await start({ lockout_failure_attempts: 10, lockout_duration: 600 });
  });
  after(() => e.h.close());

  test('10 wrong passwords lock the user; the right one is refused until the duration has passed', async () => {
    const u = await createUser(e, { name: 'locked-out', password: 'right-pw' });
    for (let i = 0; i < 10; i++) assert.deepEqual((await auth(e, u, `wrong-${i}`)).json(), GENERIC_401);
    // upstream does not reveal the lockout: the right password reads like a wrong one
    const locked = await auth(e, u, 'right-pw');
    assert.deepEqual(locked.json(), GENERIC_401);
    assert.match(String(locked.headers['www-authenticate']), /^Keystone uri=/);
    assert.deepEqual((await auth(e, { name: 'locked-out' }, 'still-wrong')).json(), GENERIC_401);
    e.clock.advance(599_000);
    assert.equal((await auth(e, u, 'right-pw')).statusCode, 401);
    e.clock.advance(2_000);
    assert.equal((await auth(e, u, 'right-pw')).statusCode, 201);
    // the count started again: one wrong password is not a lockout
    assert.equal((await auth(e, u, 'wrong')).statusCode, 401);
    assert.equal((await auth(e, u, 'right-pw')).statusCode, 201);
  });

  test('a success resets the count; failures must be consecutive', async () => {
    const u = await createUser(e, { name: 'careless', password: 'right-pw' });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 9; i++) assert.equal((await auth(e, u, 'wrong')).statusCode, 401);
      assert.equal((await auth(e, u, 'right-pw')).statusCode, 201);
    }
  });

  test('concurrent failures all count', async () => {
    const u = await createUser(e, { name: 'hammered', password: 'right-pw' });
    await Promise.all(Array.from({ length: 10 }, () => auth(e, u, 'wrong')));
    assert.equal((await auth(e, u, 'right-pw')).statusCode, 401);
    e.clock.advance(601_000);
    assert.equal((await auth(e, u, 'right-pw')).statusCode, 201);
  });

  test('ignore_lockout_failure_attempts exempts a user; re-enabling a locked user unlocks it', async () => {
    const svc = await createUser(e, { name: 'service-user', password: 'right-pw', options: { ignore_lockout_failure_attempts: true } });
    for (let i = 0; i < 12; i++) await auth(e, svc, 'wrong');
    assert.equal((await auth(e, svc, 'right-pw')).statusCode, 201);

    const u = await createUser(e, { name: 'rescued', password: 'right-pw' });
    for (let i = 0; i < 10; i++) await auth(e, u, 'wrong');
    assert.equal((await auth(e, u, 'right-pw')).statusCode, 401);
    assert.equal((await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { enabled: true } } })).statusCode, 200);
    assert.equal((await auth(e, u, 'right-pw')).statusCode, 201);
  });

  test('an unknown user, a wrong password and a locked account read exactly the same (status, body, headers)', async () => {
    const u = await createUser(e, { name: 'known', password: 'right-pw' });
    const answers = [await auth(e, u, 'wrong'), await auth(e, { name: 'known' }, 'wrong'), await auth(e, { name: 'nobody' }, 'wrong'), await auth(e, { id: 'f'.repeat(32) }, 'wrong')];
    for (let i = 0; i < 10; i++) await auth(e, u, 'wrong');
    answers.push(await auth(e, u, 'right-pw'), await changePassword(e, u.id, 'right-pw', 'other-pw'));
    for (const r of answers) {
      assert.equal(r.statusCode, 401);
      assert.deepEqual(r.json(), GENERIC_401);
      assert.equal(r.headers['www-authenticate'], answers[0]!.headers['www-authenticate']);
      assert.equal(r.headers['content-length'], answers[0]!.headers['content-length']);
    }
  });
});

describe('password expiry (password_expires_days=90)', () => {
  let e: Env;
  before(async () => {
    e = await start({ password_expires_days: 90 });
  });
  after(() => e.h.close());

  test('a password expires after 90 days; its user can still change it without a token', async () => {
    const u = await createUser(e, { name: 'ageing', password: 'first-pw' });
    assert.equal(u.password_expires_at, isoSeconds(e.clock.nowMs() + 90 * DAY));
    const t = await auth(e, u, 'first-pw');
    assert.equal(t.json().token.user.password_expires_at, u.password_expires_at);
    e.clock.advance(90 * DAY);
    const expired = await auth(e, u, 'first-pw');
    assert.equal(expired.statusCode, 401);
    assert.equal(message(expired), `The password is expired and needs to be changed for user: ${u.id}.`);
    assert.equal((await changePassword(e, u.id, 'first-pw', 'second-pw')).statusCode, 204);
    e.clock.advance(1_000);
    const fresh = await auth(e, u, 'second-pw');
    assert.equal(fresh.statusCode, 201);
    assert.equal(fresh.json().token.user.password_expires_at, isoSeconds(e.clock.nowMs() - 1_000 + 90 * DAY));
    assert.equal((await auth(e, u, 'first-pw')).statusCode, 401);
  });

  test('ignore_password_expiry: no expiry, and an old expiry no longer counts', async () => {
    const u = await createUser(e, { name: 'exempt', password: 'pw', options: { ignore_password_expiry: true } });
    assert.equal(u.password_expires_at, null);
    e.clock.advance(400 * DAY);
    assert.equal((await auth(e, u, 'pw')).statusCode, 201);
  });

  test('?password_expires_at= compares with Keystone operators; bad operators and times are 400s', async () => {
    const soon = await createUser(e, { name: 'expires-soon', password: 'pw' });
    e.clock.advance(10 * DAY);
    const later = await createUser(e, { name: 'expires-later', password: 'pw' });
    const names = async (q: string) => {
      const r = await e.h.req('GET', `/v3/users?password_expires_at=${encodeURIComponent(q)}`, { token: await e.admin() });
      assert.equal(r.statusCode, 200, r.body);
      return r.json<{ users: { name: string }[] }>().users.map((x) => x.name);
    };
    const mid = new Date(Date.parse(soon.password_expires_at! + 'Z') + DAY).toISOString();
    assert.ok((await names(`lt:${mid}`)).includes('expires-soon'));
    assert.ok(!(await names(`lt:${mid}`)).includes('expires-later'));
    assert.deepEqual(await names(`gt:${mid}`), ['expires-later']);
    assert.deepEqual(await names(`${later.password_expires_at}Z`), ['expires-later']);
    assert.deepEqual(await names(`eq:${later.password_expires_at}Z`), ['expires-later']);
    assert.ok(!(await names(`neq:${later.password_expires_at}Z`)).includes('expires-later'));
    const badOp = await e.h.req('GET', `/v3/users?password_expires_at=${encodeURIComponent(`xx:${mid}`)}`, { token: await e.admin() });
    assert.equal(badOp.statusCode, 400);
    assert.equal(message(badOp), "The given operator xx is not valid. It must be one of the following: 'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'.");
    const badTime = await e.h.req('GET', '/v3/users?password_expires_at=lt:tomorrow', { token: await e.admin() });
    assert.equal(badTime.statusCode, 400);
    assert.match(message(badTime), /^Timestamp not in expected format\./);
  });
});

describe('password history (unique_last_password_count=2)', () => {
  let e: Env;
  before(async () => {
    e = await start({ unique_last_password_count: 2 });
  });
  after(() => e.h.close());

  test('the new password must differ from the last two; an administrator reset is not checked', async () => {
    const u = await createUser(e, { name: 'historian', password: 'pw-a' });
    assert.equal((await changePassword(e, u.id, 'pw-a', 'pw-b')).statusCode, 204);
    const again = await changePassword(e, u.id, 'pw-b', 'pw-b');
    assert.equal(again.statusCode, 400);
    assert.deepEqual(again.json(), {
      error: {
        code: 400,
        message: 'The new password cannot be identical to a previous password. The total number which includes the new password must be unique is 2.',
        title: 'Bad Request',
      },
    });
    assert.equal((await changePassword(e, u.id, 'pw-b', 'pw-a')).statusCode, 400);
    assert.equal((await changePassword(e, u.id, 'pw-b', 'pw-c')).statusCode, 204);
    assert.equal((await changePassword(e, u.id, 'pw-c', 'pw-a')).statusCode, 204, 'pw-a is three passwords back');
    assert.equal((await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { password: 'pw-a' } } })).statusCode, 200);
    e.clock.advance(1_000);
    assert.equal((await auth(e, u, 'pw-a')).statusCode, 201);
  });

  test('a wrong original password or an unknown user is the generic 401; bad bodies are 400s', async () => {
    const u = await createUser(e, { name: 'forgetful', password: 'pw-a' });
    assert.deepEqual((await changePassword(e, u.id, 'not-it', 'pw-b')).json(), GENERIC_401);
    assert.deepEqual((await changePassword(e, 'f'.repeat(32), 'not-it', 'pw-b')).json(), GENERIC_401);
    const missing = await e.h.req('POST', `/v3/users/${u.id}/password`, { body: { user: { password: 'pw-b' } } });
    assert.equal(missing.statusCode, 400);
    assert.match(message(missing), /'original_password' is a required property/);
    const extra = await e.h.req('POST', `/v3/users/${u.id}/password`, { body: { user: { original_password: 'pw-a', password: 'pw-b', name: 'x' } } });
    assert.equal(extra.statusCode, 400);
    assert.equal((await e.h.req('GET', `/v3/users/${u.id}/password`, { token: await e.admin() })).statusCode, 405);
  });
});

describe('regex, minimum age and lock_password', () => {
  let e: Env;
  // the bootstrap admin's password must pass it too, as in Keystone
  const desc = 'at least 7 characters with a letter and a digit or a dash';
  before(async () => {
    e = await start({ password_regex: '^(?=.*[\\d-])(?=.*[a-zA-Z]).{7,}$', password_regex_description: desc, minimum_password_age: 2 });
  });
  after(() => e.h.close());

  test('the regex applies to new users, administrator resets and self-service changes', async () => {
    const bad = await e.h.req('POST', '/v3/users', { token: await e.admin(), body: { user: { name: 'simple', password: 'simple' } } });
    assert.equal(bad.statusCode, 400);
    assert.equal(message(bad), `The password does not match the requirements: ${desc}.`);
    const nul = await e.h.req('POST', '/v3/users', { token: await e.admin(), body: { user: { name: 'nul', password: null } } });
    assert.equal(message(nul), 'Password validation error: Password must be a string type.');
    const u = await createUser(e, { name: 'strong', password: 'abc12345' });
    assert.equal((await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { password: 'short' } } })).statusCode, 400);
    const weak = await changePassword(e, u.id, 'abc12345', 'nodigits');
    assert.equal(weak.statusCode, 400);
    assert.equal(message(weak), `The password does not match the requirements: ${desc}.`);
  });

  test('a password the user chose must be kept minimum_password_age days; an administrator reset need not', async () => {
    const u = await createUser(e, { name: 'impatient', password: 'abc12345' });
    const first = await changePassword(e, u.id, 'abc12345', 'xyz12345');
    assert.equal(first.statusCode, 204, first.body);
    const young = await changePassword(e, u.id, 'xyz12345', 'qrs12345');
    assert.equal(young.statusCode, 400);
    assert.equal(
      message(young),
      'You cannot change your password at this time due to the minimum password age. Once you change your password, it must be used for 2 day(s) before it can be changed. Please try again in 2 day(s) or contact your administrator to reset your password.',
    );
    e.clock.advance(2 * DAY + 1_000);
    assert.equal((await changePassword(e, u.id, 'xyz12345', 'qrs12345')).statusCode, 204);
  });

  test('lock_password stops self-service changes', async () => {
    const u = await createUser(e, { name: 'kiosk', password: 'abc12345', options: { lock_password: true } });
    const r = await changePassword(e, u.id, 'abc12345', 'xyz12345');
    assert.equal(r.statusCode, 400);
    assert.equal(message(r), 'You cannot change your password at this time due to password policy disallowing password changes. Please contact your administrator to reset your password.');
  });
});

describe('change_password_upon_first_use', () => {
  let e: Env;
  before(async () => {
    e = await start({ change_password_upon_first_use: true });
  });
  after(() => e.h.close());

  test('a password an administrator sets is expired until its user changes it', async () => {
    const u = await createUser(e, { name: 'newcomer', password: 'given-pw' });
    assert.equal(u.password_expires_at, isoSeconds(e.clock.nowMs()));
    assert.equal(message(await auth(e, u, 'given-pw')), `The password is expired and needs to be changed for user: ${u.id}.`);
    assert.equal((await changePassword(e, u.id, 'given-pw', 'own-pw')).statusCode, 204);
    const own = await auth(e, u, 'own-pw');
    assert.equal(own.statusCode, 201);
    assert.equal(own.json().token.user.password_expires_at, null);
    assert.equal((await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { password: 'reset-pw' } } })).statusCode, 200);
    assert.equal((await auth(e, u, 'reset-pw')).statusCode, 401);
  });

  test('ignore_change_password_upon_first_use exempts a user; bootstrap keeps the admin usable', async () => {
    const u = await createUser(e, { name: 'robot', password: 'given-pw', options: { ignore_change_password_upon_first_use: true } });
    assert.equal((await auth(e, u, 'given-pw')).statusCode, 201);
    assert.ok(await e.h.adminToken());
  });
});

describe('disable_user_account_days_inactive=30', () => {
  let e: Env;
  before(async () => {
    e = await start({ disable_user_account_days_inactive: 30 });
  });
  after(() => e.h.close());

  test('a user who has not authenticated for 30 days reads as disabled until re-enabled', async () => {
    const u = await createUser(e, { name: 'sleeper', password: 'pw' });
    const lazy = await createUser(e, { name: 'exempt-sleeper', password: 'pw', options: { ignore_user_inactivity: true } });
    e.clock.advance(29 * DAY);
    assert.equal((await auth(e, u, 'pw')).statusCode, 201, 'day 29: still active, and now active today');
    e.clock.advance(29 * DAY);
    assert.equal((await auth(e, u, 'pw')).statusCode, 201);
    e.clock.advance(30 * DAY);
    assert.equal((await e.h.req('GET', `/v3/users/${u.id}`, { token: await e.admin() })).json().user.enabled, false);
    // every view of the user says so, a group's member list too
    const admin = await e.admin();
    const group = (await e.h.req('POST', '/v3/groups', { token: admin, body: { group: { name: 'sleepers', domain_id: 'default' } } })).json().group.id as string;
    assert.equal((await e.h.req('PUT', `/v3/groups/${group}/users/${u.id}`, { token: admin })).statusCode, 204);
    assert.deepEqual((await e.h.req('GET', `/v3/groups/${group}/users`, { token: admin })).json().users.map((x: { enabled: boolean }) => x.enabled), [false]);
    assert.deepEqual((await auth(e, u, 'pw')).json(), GENERIC_401);
    assert.equal((await auth(e, lazy, 'pw')).statusCode, 201);
    assert.equal((await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { enabled: true } } })).json().user.enabled, true);
    assert.equal((await auth(e, u, 'pw')).statusCode, 201);
  });
});

describe('user options, MFA rules, list filters and revocation (no [security_compliance])', () => {
  let e: Env;
  before(async () => {
    e = await start({});
  });
  after(() => e.h.close());

  test('options are validated as upstream; null removes one', async () => {
    const post = async (options: unknown) => e.h.req('POST', '/v3/users', { token: await e.admin(), body: { user: { name: `o-${Math.random()}`, options } } });
    for (const bad of [{ immortal: true }, { lock_password: 'yes' }, { multi_factor_auth_rules: 'password' }, { multi_factor_auth_rules: [[]] }, { multi_factor_auth_rules: [['password', 'password']] }, { multi_factor_auth_rules: [['password'], ['password']] }, { multi_factor_auth_rules: [['password', 1]] }]) {
      assert.equal((await post(bad)).statusCode, 400, JSON.stringify(bad));
    }
    assert.match(message(await post({ immortal: true })), /Additional properties are not allowed \('immortal' was unexpected\)/);
    const u = await createUser(e, { name: 'optioned', options: { lock_password: true, ignore_password_expiry: null, multi_factor_auth_rules: [['password', 'totp']] } });
    assert.deepEqual(u.options, { lock_password: true, multi_factor_auth_rules: [['password', 'totp']] });
    const patched = await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { options: { lock_password: null, ignore_user_inactivity: false } } } });
    assert.deepEqual(patched.json().user.options, { multi_factor_auth_rules: [['password', 'totp']], ignore_user_inactivity: false });
    assert.deepEqual((await e.h.req('GET', `/v3/users/${u.id}`, { token: await e.admin() })).json().user.options, patched.json().user.options);
  });

  test('default_project_id: a project that does not exist is accepted, a domain is refused; names are trimmed', async () => {
    const ghost = 'f'.repeat(32);
    const u = await createUser(e, { name: '  spaced  ', default_project_id: ghost });
    assert.equal((await e.h.req('GET', `/v3/users/${u.id}`, { token: await e.admin() })).json().user.name, 'spaced');
    const r = await e.h.req('POST', '/v3/users', { token: await e.admin(), body: { user: { name: 'domain-default', default_project_id: 'default' } } });
    assert.equal(r.statusCode, 400);
    assert.equal(message(r), "User's default project ID cannot be a domain ID: default");
    const p = await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { default_project_id: 'default' } } });
    assert.equal(message(p), "User's default project ID cannot be a domain ID: default");
  });

  test('MFA rules: the password alone does not satisfy [password, token]; totp is not offered so it drops out', async () => {
    const u = await createUser(e, { name: 'mfa', password: 'pw', options: { multi_factor_auth_rules: [['password', 'token']] } });
    const r = await auth(e, u, 'pw');
    assert.equal(r.statusCode, 401);
    assert.equal(message(r), `Insufficient auth methods received for ${u.id}. Auth Methods Provided: [password].`);
    await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { options: { multi_factor_auth_enabled: false } } } });
    assert.equal((await auth(e, u, 'pw')).statusCode, 201);
    await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { options: { multi_factor_auth_enabled: null, multi_factor_auth_rules: [['password', 'totp']] } } } });
    assert.equal((await auth(e, u, 'pw')).statusCode, 201);
  });

  test('federated filters find nobody; name__icontains and friends filter by name', async () => {
    await createUser(e, { name: 'Filter-Me' });
    const list = async (q: string) => (await e.h.req('GET', `/v3/users?${q}`, { token: await e.admin() })).json<{ users: { name: string }[] }>().users.map((u) => u.name);
    assert.deepEqual(await list('idp_id=x'), []);
    assert.deepEqual(await list('name__icontains=filter-m'), ['Filter-Me']);
    assert.deepEqual(await list('name__contains=filter-m'), []);
    assert.deepEqual(await list('name__startswith=Filter'), ['Filter-Me']);
    assert.deepEqual(await list('name__iendswith=ME'), ['Filter-Me']);
  });

  test('a password change, an admin reset, disabling and deleting each end the user’s tokens; a rename does not', async () => {
    const u = await createUser(e, { name: 'revoked', password: 'pw-1' });
    const t1 = tokenOf(await auth(e, u, 'pw-1'));
    assert.equal((await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { name: 'renamed' } } })).statusCode, 200);
    assert.equal((await validate(e, t1)).statusCode, 200);
    assert.equal((await changePassword(e, u.id, 'pw-1', 'pw-2', t1)).statusCode, 204);
    assert.equal((await validate(e, t1)).statusCode, 404);
    e.clock.advance(1_000);
    const t2 = tokenOf(await auth(e, u, 'pw-2'));
    assert.equal((await validate(e, t2)).statusCode, 200);
    await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { password: 'pw-3' } } });
    assert.equal((await validate(e, t2)).statusCode, 404);
    e.clock.advance(1_000);
    const t3 = tokenOf(await auth(e, u, 'pw-3'));
    await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { enabled: false } } });
    assert.equal((await validate(e, t3)).statusCode, 404);
    await e.h.req('PATCH', `/v3/users/${u.id}`, { token: await e.admin(), body: { user: { enabled: true } } });
    assert.equal((await validate(e, t3)).statusCode, 404, 'enabling again does not bring old tokens back');
    e.clock.advance(1_000);
    const t4 = tokenOf(await auth(e, u, 'pw-3'));
    assert.equal((await e.h.req('DELETE', `/v3/users/${u.id}`, { token: await e.admin() })).statusCode, 204);
    assert.equal((await validate(e, t4)).statusCode, 404);
    const events = e.h.identity.services.revocations.list().filter((ev) => ev.user_id === u.id);
    assert.equal(events.length, 4);
  });
});
