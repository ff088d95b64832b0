// Identifier shapes and generated passwords.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHexId, isRequestId, newHexId, newPassword, newRequestId } from './ids.js';

test('ids have the shapes OpenStack uses', () => {
  assert.ok(isHexId(newHexId()));
  assert.ok(isRequestId(newRequestId()));
  assert.ok(!isRequestId('req-not-a-uuid'));
});

test('passwords are letters and digits only, of the asked length, never repeated', () => {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const p = newPassword();
    assert.match(p, /^[A-Za-z0-9]{24}$/);
    seen.add(p);
    for (const ch of p) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  assert.equal(seen.size, 2000);
  assert.equal(counts.size, 62, 'every letter and digit occurs');
  // 48000 characters over 62 symbols: about 774 each; a biased generator would be far off
  for (const [ch, n] of counts) assert.ok(n > 600 && n < 950, `${ch} occurs ${n} times`);
  assert.equal(newPassword(8).length, 8);
});
