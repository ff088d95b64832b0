// Delegation helpers: which methods are delegated, Keystone's expiration dates and how they print.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDelegatedMethod, parseExpirationDate } from './delegation.js';
import { pythonIsoformat } from '../api/delegation.views.js';

const now = Date.UTC(2026, 10, 21, 8, 0, 0);

test('delegated methods: anything outside the primary ones, and an empty list', () => {
  assert.equal(isDelegatedMethod(['password']), false);
  assert.equal(isDelegatedMethod(['token', 'password']), false);
  assert.equal(isDelegatedMethod(['application_credential']), true);
  assert.equal(isDelegatedMethod(['token', 'oauth1']), true);
  assert.equal(isDelegatedMethod(['ec2credential']), true);
  assert.equal(isDelegatedMethod(['some-new-plugin']), true, 'deny by default');
  assert.equal(isDelegatedMethod([]), true);
  assert.equal(isDelegatedMethod(undefined), true);
});

test('expiration dates: naive is UTC, microseconds kept, offsets and the past refused', () => {
  assert.deepEqual(parseExpirationDate('2026-11-22T03:04:05.123456', now), { us: Date.UTC(2026, 10, 22, 3, 4, 5) * 1000 + 123456, ms: Date.UTC(2026, 10, 22, 3, 4, 5, 123) });
  assert.equal(parseExpirationDate('2026-11-22T03:04:05Z', now).ms, Date.UTC(2026, 10, 22, 3, 4, 5));
  assert.equal(parseExpirationDate('2026-11-22', now).ms, Date.UTC(2026, 10, 22));
  assert.equal(parseExpirationDate('2026-11-22T03:04', now).ms, Date.UTC(2026, 10, 22, 3, 4));
  assert.equal(parseExpirationDate('2026-11-22T03:04:05.1234567891Z', now).us % 1_000_000, 123456, 'beyond microseconds is cut');
  for (const bad of ['bad.123Z', '2026-11-22T03:04:05+02:00', '2026-02-31T00:00:00', '2026-11-22T25:00:00', '']) {
    assert.throws(() => parseExpirationDate(bad, now), /Timestamp not in expected format/, bad);
  }
  assert.throws(() => parseExpirationDate('2026-11-21T07:59:59Z', now), /The 'expires_at' must not be before now/);
});

test("expires_at prints as Python's isoformat(): microseconds only when there are some", () => {
  const at = Date.UTC(2099, 0, 2, 3, 4, 5) * 1000;
  assert.equal(pythonIsoformat(at + 123456), '2099-01-02T03:04:05.123456');
  assert.equal(pythonIsoformat(at + 5), '2099-01-02T03:04:05.000005');
  assert.equal(pythonIsoformat(at), '2099-01-02T03:04:05');
});
