// [security_compliance] rules on their own: lockout windows, inactivity days, regex matching as
// Python's re.match, expiry rounding, option merging and the MFA rule check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DAY_MS,
  NO_SECURITY_COMPLIANCE,
  checkMinimumAge,
  checkPasswordRegex,
  isInactive,
  lockState,
  mergeOptions,
  mfaRulesSatisfied,
  passwordExpiry,
  passwordIsExpired,
  type SecurityCompliance,
} from './password-rules.js';

const sc = (o: Partial<SecurityCompliance>): SecurityCompliance => ({ ...NO_SECURITY_COMPLIANCE, ...o });
const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);

test('lockout: locked from the Nth failure until the duration has passed, then lapsed; exempt users never', () => {
  const rules = sc({ lockout_failure_attempts: 3, lockout_duration: 60 });
  const u = (n: number, at: number | null, options = {}) => ({ failedAuthCount: n, failedAuthAt: at, options });
  assert.equal(lockState(u(2, T0), rules, T0), 'open');
  assert.equal(lockState(u(3, T0), rules, T0 + 59_999), 'locked');
  assert.equal(lockState(u(3, T0), rules, T0 + 60_000), 'lapsed');
  assert.equal(lockState(u(3, T0, { ignore_lockout_failure_attempts: true }), rules, T0), 'open');
  assert.equal(lockState(u(99, T0), sc({}), T0), 'open', 'no lockout configured');
});

test('inactivity counts whole UTC days from the last active day, or from creation', () => {
  const rules = sc({ disable_user_account_days_inactive: 2 });
  const lastActive = Date.UTC(2026, 10, 21);
  assert.equal(isInactive({ lastActiveAt: lastActive, createdAt: 0, options: {} }, rules, Date.UTC(2026, 10, 22, 23, 59)), false);
  assert.equal(isInactive({ lastActiveAt: lastActive, createdAt: 0, options: {} }, rules, Date.UTC(2026, 10, 23, 0, 1)), true);
  assert.equal(isInactive({ lastActiveAt: null, createdAt: Date.UTC(2026, 10, 21, 23, 0), options: {} }, rules, Date.UTC(2026, 10, 23, 0, 1)), true);
  assert.equal(isInactive({ lastActiveAt: lastActive, createdAt: 0, options: { ignore_user_inactivity: true } }, rules, Date.UTC(2027, 0, 1)), false);
  assert.equal(isInactive({ lastActiveAt: lastActive, createdAt: 0, options: {} }, sc({}), Date.UTC(2030, 0, 1)), false);
});

test('the regex matches from the start like re.match; the description is the hint, or is left out', () => {
  const rules = sc({ password_regex: '[a-z]+\\d', password_regex_description: 'letters then a digit' });
  checkPasswordRegex('abc1 and anything after', rules);
  assert.throws(() => checkPasswordRegex('1abc1', rules), { message: 'The password does not match the requirements: letters then a digit.' });
  assert.throws(() => checkPasswordRegex('x', { ...rules, report_invalid_password_hint: false }), { message: 'The password does not match the requirements.' });
  assert.throws(() => checkPasswordRegex('x', sc({ password_regex: '(' })), { message: 'Password validation error: Unable to validate password due to invalid configuration.' });
  checkPasswordRegex('anything', sc({}));
});

test('expiry: whole seconds, password_expires_days later, none when exempt; expired from that instant', () => {
  const rules = sc({ password_expires_days: 90 });
  const at = passwordExpiry(T0 + 123, {}, rules);
  assert.equal(at, T0 + 90 * DAY_MS);
  assert.equal(passwordExpiry(T0, { ignore_password_expiry: true }, rules), null);
  assert.equal(passwordExpiry(T0, {}, sc({})), null);
  assert.equal(passwordIsExpired(at, {}, at - 1), false);
  assert.equal(passwordIsExpired(at, {}, at), true);
  assert.equal(passwordIsExpired(at, { ignore_password_expiry: true }, at + DAY_MS), false);
});

test('minimum age names the days left, rounded down', () => {
  const rules = sc({ minimum_password_age: 2 });
  assert.throws(() => checkMinimumAge(T0, rules, T0 + 1000), /must be used for 2 day\(s\) before it can be changed. Please try again in 1 day\(s\)/);
  assert.throws(() => checkMinimumAge(T0, rules, T0 + DAY_MS + 1000), /try again in 0 day\(s\)/);
  checkMinimumAge(T0, rules, T0 + 2 * DAY_MS);
  checkMinimumAge(T0, sc({}), T0);
});

test('options: null removes, anything else replaces', () => {
  assert.deepEqual(mergeOptions({ lock_password: true, ignore_password_expiry: true }, { lock_password: null, ignore_user_inactivity: false }), {
    ignore_password_expiry: true,
    ignore_user_inactivity: false,
  });
});

test('MFA rules: one rule must be covered; methods not offered drop out of rules; disabled or absent rules pass', () => {
  const offered = ['password', 'token'];
  const rules = { multi_factor_auth_rules: [['password', 'token']] };
  assert.equal(mfaRulesSatisfied(rules, ['password'], offered), false);
  assert.equal(mfaRulesSatisfied(rules, ['password', 'token'], offered), true);
  assert.equal(mfaRulesSatisfied({ ...rules, multi_factor_auth_enabled: false }, ['password'], offered), true);
  assert.equal(mfaRulesSatisfied({ multi_factor_auth_rules: [['password', 'totp']] }, ['password'], offered), true);
  assert.equal(mfaRulesSatisfied({ multi_factor_auth_rules: [['token'], ['password', 'token']] }, ['token', 'password'], offered), true);
  assert.equal(mfaRulesSatisfied({ multi_factor_auth_rules: [] }, ['password'], offered), true);
  assert.equal(mfaRulesSatisfied({}, ['password'], offered), true);
});
