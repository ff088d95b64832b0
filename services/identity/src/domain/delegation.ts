// What application credentials and trusts share: which auth methods count as delegated, and
// Keystone's expiration dates (keystone/api/_shared/delegation.py, common/utils.py).
import { ExpiresAtInPast, TimestampNotInFormat } from './delegation.errors.js';

/**
 * Methods that authenticate a user directly. Anything else (application_credential, oauth1,
 * ec2credential, a method nobody reviewed yet) is a delegation: deny by default.
 */
export const PRIMARY_AUTH_METHODS: ReadonlySet<string> = new Set(['external', 'kerberos', 'mapped', 'openid', 'password', 'saml2', 'token', 'totp', 'x509']);

/** is_delegated_method(): an empty method list counts as delegated too (methods lost in a round trip). */
export function isDelegatedMethod(methods: readonly string[] | undefined): boolean {
  if (!methods || methods.length === 0) return true;
  return methods.some((m) => !PRIMARY_AUTH_METHODS.has(m));
}

/** An instant with Keystone's microsecond precision. */
export interface Instant {
  /** Epoch microseconds. */
  us: number;
  /** Epoch milliseconds (truncated). */
  ms: number;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?Z$/;

/**
 * utils.parse_expiration_date(): a naive time is UTC ('Z' is appended to anything not ending in
 * it, so an explicit offset fails as upstream's does), and it must not be in the past.
 */
export function parseExpirationDate(value: string, nowMs: number): Instant {
  const s = value.endsWith('Z') ? value : `${value}Z`;
  const m = ISO.exec(s);
  if (!m) throw TimestampNotInFormat();
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = ''] = m;
  const wholeMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
  const check = new Date(wholeMs);
  // Date.UTC rolls 2026-02-31 over to March; iso8601 refuses it
  if (!Number.isFinite(wholeMs) || check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) {
    throw TimestampNotInFormat();
  }
  const micros = Number(frac.padEnd(6, '0').slice(0, 6));
  const us = wholeMs * 1000 + micros;
  // timeutils.is_older_than(t, 0): strictly before now
  if (us < nowMs * 1000) throw ExpiresAtInPast();
  return { us, ms: Math.floor(us / 1000) };
}
