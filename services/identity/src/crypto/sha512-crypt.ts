// SHA-512 crypt ($6$, Drepper's "Unix crypt using SHA-256 and SHA-512"), the hash Keystone used before Pike; verification only.
import { createHash } from 'node:crypto';

/** crypt's own base64 alphabet (passlib's HASH64_CHARS). */
const HASH64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export const SHA512_CRYPT_DEFAULT_ROUNDS = 5000;
export const SHA512_CRYPT_MIN_ROUNDS = 1000;
export const SHA512_CRYPT_MAX_ROUNDS = 999_999_999;

/**
 * The order in which the 64 digest bytes are written, three at a time (the last one alone): group
 * k takes bytes k, k+21 and k+42, rotated by k mod 3, as the specification's final step lays them out.
 */
const TRANSPOSE: readonly (readonly [number, number, number])[] = Array.from({ length: 21 }, (_, k): [number, number, number] => {
  const t: [number, number, number] = [k, k + 21, k + 42];
  const r = k % 3;
  return r === 0 ? t : r === 1 ? [t[1], t[2], t[0]] : [t[2], t[0], t[1]];
});

function sha512(...parts: Buffer[]): Buffer {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `length` bytes of `block` repeated. */
function stretch(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += block.length) block.copy(out, i, 0, Math.min(block.length, length - i));
  return out;
}

function encode24(out: string[], b2: number, b1: number, b0: number, chars: number): void {
  let w = (b2 << 16) | (b1 << 8) | b0;
  for (let i = 0; i < chars; i++) {
    out.push(HASH64[w & 0x3f] ?? '.');
    w >>>= 6;
  }
}

/**
 * The 86-character checksum for a password, salt (at most 16 characters are used) and rounds.
 * Synchronous and CPU-bound (about 3 µs per round): call it from a worker thread.
 */
export function sha512CryptChecksum(password: Buffer, salt: string, rounds: number): string {
  const s = Buffer.from(salt.slice(0, 16), 'utf8');
  const p = password;
  const b = sha512(p, s, p);
  const a = createHash('sha512').update(p).update(s);
  a.update(stretch(b, p.length));
  for (let n = p.length; n > 0; n >>= 1) a.update(n & 1 ? b : p);
  let c = a.digest();

  const dp = createHash('sha512');
  for (let i = 0; i < p.length; i++) dp.update(p);
  const pBytes = stretch(dp.digest(), p.length);

  const ds = createHash('sha512');
  for (let i = 0; i < 16 + (c[0] ?? 0); i++) ds.update(s);
  const sBytes = stretch(ds.digest(), s.length);

  for (let i = 0; i < rounds; i++) {
    const h = createHash('sha512');
    h.update(i & 1 ? pBytes : c);
    if (i % 3) h.update(sBytes);
    if (i % 7) h.update(pBytes);
    h.update(i & 1 ? c : pBytes);
    c = h.digest();
  }

  const out: string[] = [];
  for (const [x, y, z] of TRANSPOSE) encode24(out, c[x] ?? 0, c[y] ?? 0, c[z] ?? 0, 4);
  encode24(out, 0, 0, c[63] ?? 0, 2);
  return out.join('');
}
