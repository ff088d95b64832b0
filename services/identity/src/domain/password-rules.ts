// keystone.conf [security_compliance] as pure rules (lockout, expiry, history size, regex, first
// use, inactivity, MFA rules) over a user's options, and the errors they raise in Keystone's words.
import { UnauthorizedError, ValidationError } from '@alto/kernel';
import type { IdentityConfig } from '../config.js';

export type SecurityCompliance = IdentityConfig['security_compliance'];

export const DAY_MS = 86_400_000;

/** What a deployment without [security_compliance] settings does: none of the rules. */
export const NO_SECURITY_COMPLIANCE: SecurityCompliance = {
  lockout_duration: 1800,
  unique_last_password_count: 0,
  minimum_password_age: 0,
  change_password_upon_first_use: false,
  report_invalid_password_hint: true,
};

// Keystone's user resource options (keystone/identity/backends/resource_options.py).
export const IGNORE_CHANGE_PASSWORD = 'ignore_change_password_upon_first_use';
export const IGNORE_PASSWORD_EXPIRY = 'ignore_password_expiry';
export const IGNORE_LOCKOUT = 'ignore_lockout_failure_attempts';
export const LOCK_PASSWORD = 'lock_password';
export const IGNORE_INACTIVITY = 'ignore_user_inactivity';
export const MFA_RULES = 'multi_factor_auth_rules';
export const MFA_ENABLED = 'multi_factor_auth_enabled';

// Errors, worded as keystone/exception.py. The 401s name the user on purpose: Keystone raises
// them only after the password matched. (Its AccountLocked never reaches a client: the
// authenticate notification wrapper turns it into the generic 401, so a lockout is not revealed.)
export const PasswordExpired = (userId: string) =>
  new UnauthorizedError(`The password is expired and needs to be changed for user: ${userId}.`, 'identity.password_expired');
export const UserDisabled = (userId: string) => new UnauthorizedError(`The account is disabled for user: ${userId}.`, 'identity.user_disabled');
export const InsufficientAuthMethods = (userId: string, methods: string[]) =>
  new UnauthorizedError(`Insufficient auth methods received for ${userId}. Auth Methods Provided: [${methods.join(',')}].`, 'identity.insufficient_auth_methods');

export const PasswordValidationFailed = (detail: string) => new ValidationError(`Password validation error: ${detail}.`, 'identity.password_invalid');
export const PasswordRequirementsUnmet = (detail: string | undefined) =>
  new ValidationError(
    detail === undefined ? 'The password does not match the requirements.' : `The password does not match the requirements: ${detail}.`,
    'identity.password_requirements',
  );
export const PasswordHistoryReused = (uniqueCount: number) =>
  new ValidationError(
    `The new password cannot be identical to a previous password. The total number which includes the new password must be unique is ${uniqueCount}.`,
    'identity.password_history',
  );
export const PasswordTooYoung = (minAgeDays: number, daysLeft: number) =>
  new ValidationError(
    `You cannot change your password at this time due to the minimum password age. Once you change your password, it must be used for ${minAgeDays} day(s) before it can be changed. Please try again in ${daysLeft} day(s) or contact your administrator to reset your password.`,
    'identity.password_minimum_age',
  );
export const PasswordSelfServiceDisabled = () =>
  new ValidationError(
    'You cannot change your password at this time due to password policy disallowing password changes. Please contact your administrator to reset your password.',
    'identity.password_locked',
  );

type Options = Record<string, unknown>;
const on = (options: Options, name: string) => options[name] === true;

/**
 * Options after a create or update: null removes an option (Keystone stores only set options),
 * anything else replaces it.
 */
export function mergeOptions(current: Options, patch: Options | undefined): Options {
  const out: Options = { ...current };
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v === null || v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/**
 * `password_regex`, matched from the start as Python's re.match does (not necessarily to the end).
 * A regex JavaScript cannot compile fails every change, as an invalid one does in Keystone.
 */
export function checkPasswordRegex(password: string, sc: SecurityCompliance): void {
  if (!sc.password_regex) return;
  const re = compileSticky(sc.password_regex);
  if (!re) throw PasswordValidationFailed('Unable to validate password due to invalid configuration');
  re.lastIndex = 0;
  if (re.test(password)) return;
  // COMPAT(keystone): an unset description reads "None" there; we leave the detail out instead
  throw PasswordRequirementsUnmet(sc.report_invalid_password_hint ? sc.password_regex_description : undefined);
}

/** Code points as Python reads them; patterns that only compile without the u flag still work. */
function compileSticky(pattern: string): RegExp | undefined {
  for (const flags of ['uy', 'y']) {
    try {
      return new RegExp(pattern, flags);
    } catch {
      // try the next flags
    }
  }
  return undefined;
}

/** When a password set now stops working: password_expires_days later, whole seconds, unless exempt. */
export function passwordExpiry(nowMs: number, options: Options, sc: SecurityCompliance): number | null {
  if (on(options, IGNORE_PASSWORD_EXPIRY) || !sc.password_expires_days) return null;
  return Math.floor((nowMs + sc.password_expires_days * DAY_MS) / 1000) * 1000;
}

/** change_password_upon_first_use: a password an administrator sets must be changed by its user. */
export function mustChangeOnFirstUse(options: Options, sc: SecurityCompliance): boolean {
  return sc.change_password_upon_first_use && !on(options, IGNORE_CHANGE_PASSWORD);
}

export function passwordIsExpired(expiresAt: number | null, options: Options, nowMs: number): boolean {
  return expiresAt !== null && !on(options, IGNORE_PASSWORD_EXPIRY) && nowMs >= expiresAt;
}

/** How many past passwords to keep: Keystone trims the history to this before adding one. */
export function historyToKeep(sc: SecurityCompliance): number {
  return Math.max(1, sc.unique_last_password_count);
}

export type LockState = 'open' | 'locked' | 'lapsed';

/** 'lapsed': the lockout has run its time and the failure count should start again. */
export function lockState(u: { failedAuthCount: number; failedAuthAt: number | null; options: Options }, sc: SecurityCompliance, nowMs: number): LockState {
  const max = sc.lockout_failure_attempts;
  if (!max || on(u.options, IGNORE_LOCKOUT) || u.failedAuthCount < max) return 'open';
  if (!sc.lockout_duration) return 'locked';
  return (u.failedAuthAt ?? 0) + sc.lockout_duration * 1000 > nowMs ? 'locked' : 'lapsed';
}

/** Midnight UTC of a time: Keystone keeps last_active_at as a date. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * disable_user_account_days_inactive: a user who has not authenticated for that many days reads
 * as disabled (the stored flag is untouched, as in Keystone). A user never seen counts from creation.
 */
export function isInactive(u: { lastActiveAt: number | null; createdAt: number; options: Options }, sc: SecurityCompliance, nowMs: number): boolean {
  const max = sc.disable_user_account_days_inactive;
  if (!max || on(u.options, IGNORE_INACTIVITY)) return false;
  const last = u.lastActiveAt ?? utcDay(u.createdAt);
  return Math.floor((utcDay(nowMs) - utcDay(last)) / DAY_MS) >= max;
}

/** minimum_password_age: a password the user chose must be kept that many days. */
export function checkMinimumAge(createdAt: number, sc: SecurityCompliance, nowMs: number): void {
  const days = sc.minimum_password_age;
  if (!days) return;
  const until = createdAt + days * DAY_MS;
  if (nowMs < until) throw PasswordTooYoung(days, Math.floor((until - nowMs) / DAY_MS));
}

/**
 * Keystone's MFA rules check: with rules set and multi_factor_auth_enabled not false, the methods
 * that succeeded must cover one rule. Methods this deployment does not offer are left out of each
 * rule, so a misconfigured rule never locks users out.
 */
export function mfaRulesSatisfied(options: Options, methods: readonly string[], offered: readonly string[]): boolean {
  const enabled = options[MFA_ENABLED] ?? true;
  const rules = parseMfaRules(options[MFA_RULES]);
  if (!rules.length || enabled === false) return true;
  return rules.some((rule) => rule.filter((m) => offered.includes(m)).every((m) => methods.includes(m)));
}

/** The usable rules: lists of strings, not empty, duplicates dropped (stored data is not trusted). */
function parseMfaRules(v: unknown): string[][] {
  if (!Array.isArray(v)) return [];
  const out: string[][] = [];
  for (const rule of v) {
    if (!Array.isArray(rule) || rule.length === 0 || !rule.every((m) => typeof m === 'string')) continue;
    const set = [...new Set(rule)];
    if (!out.some((r) => r.length === set.length && r.every((m) => set.includes(m)))) out.push(set);
  }
  return out;
}
