// Tests for Fernet: vectors made by Python's cryptography (including the spec's own case), key parsing, MultiFernet order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualClock } from '@alto/kernel';
import { InvalidFernetKey, InvalidFernetToken, MultiFernet, fernetTimestamp, generateFernetKey, parseFernetKey } from './fernet.js';
import { readFixture } from './test-support.js';

interface Vectors {
  generate: { name: string; secret: string; now: number; iv: string; src: string; token: string }[];
  verify: { name: string; secret: string; token: string; now: number; ttl: number; src: string }[];
  invalid: { name: string; secret: string; token: string; now: number; ttl: number; cryptography: string }[];
}

const vectors = readFixture<Vectors>('fernet.json');
const fixed = (hex: string) => () => Buffer.from(hex, 'hex');

test('encrypts byte for byte as cryptography does, given its timestamp and IV', () => {
  assert.ok(vectors.generate.length >= 4);
  for (const v of vectors.generate) {
    const f = new MultiFernet([parseFernetKey(v.secret)], { clock: manualClock(v.now * 1000 + 999), randomBytes: fixed(v.iv) });
    assert.equal(f.encrypt(Buffer.from(v.src, 'hex')), v.token, v.name);
  }
});

test('the spec vector is among them (gAAAAAAdwJ6w...: "hello" at 1985-10-26T08:20:00Z)', () => {
  const spec = vectors.generate.find((v) => v.name === 'spec-hello');
  assert.ok(spec);
  assert.ok(spec.token.startsWith('gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ'));
  assert.equal(fernetTimestamp(spec.token), Date.parse('1985-10-26T01:20:00-07:00') / 1000);
});

test('decrypts every generated vector and reports its timestamp', () => {
  for (const v of vectors.generate) {
    const f = new MultiFernet([parseFernetKey(v.secret)], { clock: manualClock() });
    const out = f.decrypt(v.token);
    assert.equal(out.plaintext.toString('hex'), v.src, v.name);
    assert.equal(out.issuedAt, v.now);
    assert.equal(out.keyIndex, 0);
  }
});

test('accepts a token inside its TTL', () => {
  for (const v of vectors.verify) {
    const f = new MultiFernet([parseFernetKey(v.secret)], { clock: manualClock(v.now * 1000) });
    assert.equal(f.decrypt(v.token, { ttlSeconds: v.ttl }).plaintext.toString('hex'), v.src);
  }
});

test('refuses every token cryptography refuses, with a reason', () => {
  const expected: Record<string, string> = {
    'incorrect-mac': 'signature',
    'too-short': 'malformed',
    'invalid-base64': 'malformed',
    'not-a-block-multiple': 'malformed',
    'padding-error': 'padding',
    'incorrect-iv': 'padding',
    'wrong-version': 'malformed',
    'far-future': 'future',
    'expired-ttl': 'expired',
  };
  assert.equal(vectors.invalid.length, Object.keys(expected).length);
  for (const v of vectors.invalid) {
    assert.equal(v.cryptography, 'InvalidToken', v.name);
    const f = new MultiFernet([parseFernetKey(v.secret)], { clock: manualClock(v.now * 1000) });
    assert.throws(
      () => f.decrypt(v.token, { ttlSeconds: v.ttl }),
      (err: unknown) => err instanceof InvalidFernetToken && err.reason === expected[v.name] && err.code === 'fernet.invalid_token',
      v.name,
    );
  }
});

test('without a TTL (as Keystone decrypts) old and future timestamps are not checked', () => {
  const expired = vectors.invalid.find((v) => v.name === 'expired-ttl');
  const future = vectors.invalid.find((v) => v.name === 'far-future');
  assert.ok(expired && future);
  const f = new MultiFernet([parseFernetKey(expired.secret)], { clock: manualClock(Date.UTC(2030, 0, 1)) });
  assert.equal(f.decrypt(expired.token).plaintext.toString(), 'hello');
  assert.equal(f.decrypt(future.token).plaintext.toString(), 'hello');
});

test('MultiFernet encrypts with the first key and decrypts with any, saying which', () => {
  const clock = manualClock();
  const [a, b, c] = [generateFernetKey(), generateFernetKey(), generateFernetKey()].map(parseFernetKey);
  assert.ok(a && b && c);
  const token = new MultiFernet([b, a], { clock }).encrypt(Buffer.from('payload'));
  assert.equal(new MultiFernet([b, a], { clock }).decrypt(token).keyIndex, 0);
  const later = new MultiFernet([c, a, b], { clock }).decrypt(token);
  assert.equal(later.keyIndex, 2);
  assert.equal(later.plaintext.toString(), 'payload');
  assert.throws(() => new MultiFernet([c, a], { clock }).decrypt(token), (e: unknown) => e instanceof InvalidFernetToken && e.reason === 'signature');
});

test('a token is its timestamp, a fresh IV each time, and whole seconds', () => {
  const clock = manualClock(Date.UTC(2026, 4, 5, 6, 7, 8, 999));
  const f = new MultiFernet([parseFernetKey(generateFernetKey())], { clock });
  const one = f.encrypt(Buffer.from('x'));
  const two = f.encrypt(Buffer.from('x'));
  assert.notEqual(one, two);
  assert.equal(fernetTimestamp(one), Date.UTC(2026, 4, 5, 6, 7, 8) / 1000);
  assert.match(one, /^gAAAAA[A-Za-z0-9_-]+=*$/);
  assert.equal(one.length % 4, 0);
});

test('keys: 44 url-safe characters of 32 bytes; a trailing newline is tolerated, nothing else', () => {
  const key = generateFernetKey();
  assert.equal(key.length, 44);
  assert.equal(parseFernetKey(`${key}\n`).encoded, key);
  const parsed = parseFernetKey(key);
  assert.equal(parsed.signingKey.length, 16);
  assert.equal(parsed.encryptionKey.length, 16);
  assert.deepEqual(Buffer.concat([parsed.signingKey, parsed.encryptionKey]), Buffer.from(key, 'base64url'));
  const bad = [
    '',
    key.slice(0, 43), // padding is part of Fernet's key format
    Buffer.alloc(31).toString('base64url') + '==',
    Buffer.alloc(33).toString('base64url'),
    key.replace(/[A-Za-z0-9]/, '+').slice(0, 43) + '=',
    `${key.slice(0, 20)} ${key.slice(21)}`,
  ];
  for (const b of bad) assert.throws(() => parseFernetKey(b), InvalidFernetKey, JSON.stringify(b));
});

test('generated keys come from the injected random source', () => {
  const key = generateFernetKey(() => Buffer.alloc(32, 0xfb));
  assert.equal(key, `${'-_v7'.repeat(10)}-_s=`);
  assert.deepEqual(Buffer.from(key, 'base64url'), Buffer.alloc(32, 0xfb));
});
