// Keystone's password hashing (keystone/common/password_hashing.py) in passlib's string formats, all hashing off the event loop.
import { createHash, createHmac, pbkdf2, randomBytes as nodeRandomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { hash as bcryptHash, verify as bcryptVerify } from '@node-rs/bcrypt';
import { AltoError, ForbiddenError, ServiceUnavailableError, ValidationError } from '@alto/kernel';
import type { RandomBytes } from './fernet.js';
import { SHA512_CRYPT_DEFAULT_ROUNDS, SHA512_CRYPT_MAX_ROUNDS, SHA512_CRYPT_MIN_ROUNDS } from './sha512-crypt.js';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (password: Buffer, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

/** What `[identity] password_hash_algorithm` may name. Keystone 22 offers the last three; bcrypt_sha256 came later. */
export type PasswordHashAlgorithm = 'bcrypt' | 'bcrypt_sha256' | 'scrypt' | 'pbkdf2_sha512';

/** Every format verifyPassword() accepts: the above plus Keystone's pre-Pike sha512_crypt. */
export type PasswordHashFormat = PasswordHashAlgorithm | 'sha512_crypt';

/** Keystone's `[identity]` password options and `[DEFAULT] strict_password_check`. */
export interface PasswordPolicy {
  /** `password_hash_algorithm`; default bcrypt. It also decides the length rule when verifying, as in Keystone. */
  algorithm: PasswordHashAlgorithm;
  /**
   * `password_hash_rounds`: bcrypt cost (4-31, default 12), scrypt log2(N) (1-31, default 16),
   * PBKDF2 iterations (default 25000, passlib's; Keystone's help text says 60000 but never passes it).
   * 0 means the default, as Keystone treats an unset or zero value.
   */
  rounds?: number;
  /** `salt_bytesize` for scrypt and PBKDF2 (0-96; 0 means passlib's 16). */
  saltBytes?: number;
  /** `scrypt_block_size`, r (default 8). */
  scryptBlockSize?: number;
  /** `scrypt_parallelism`, p (default 1). */
  scryptParallelism?: number;
  /** `max_password_length`, bytes of UTF-8 (default 4096). bcrypt caps it at 72. */
  maxPasswordLength?: number;
  /** `strict_password_check`: refuse (403) instead of truncating a password that is too long. */
  strictPasswordCheck?: boolean;
}

export const DEFAULT_MAX_PASSWORD_LENGTH = 4096;
const BCRYPT_MAX_LENGTH = 72;
const DEFAULT_BCRYPT_COST = 12;
const DEFAULT_SCRYPT_LOG_N = 16;
const DEFAULT_PBKDF2_ROUNDS = 25000;
const DEFAULT_SALT_BYTES = 16;
/** Refuse scrypt parameters needing more than this much memory per hash (passlib's default needs 64 MiB). */
const SCRYPT_MAX_MEMORY = 1024 * 1024 * 1024;

/** Keystone's PasswordVerificationError: with strict_password_check, a password over the limit is refused (403). */
export class PasswordVerificationError extends ForbiddenError {
  readonly maxLength: number;

  constructor(maxLength: number) {
    super(
      `The password length must be less than or equal to ${maxLength}. The server could not comply with the request because the password is invalid.`,
      'identity.password_too_long',
      { details: { max_length: maxLength } },
    );
    this.maxLength = maxLength;
  }
}

/** A stored hash in a format we do not verify (Keystone: "Unsupported password hashing algorithm ident"). A server-side data problem. */
export class UnsupportedPasswordHash extends AltoError {
  constructor(message: string) {
    super('internal', 'identity.password_hash_unsupported', message);
  }
}

/** A stored hash whose prefix we know but whose body does not parse as that format. */
export class MalformedPasswordHash extends AltoError {
  constructor(format: PasswordHashFormat, why: string) {
    super('internal', 'identity.password_hash_malformed', `Malformed ${format} password hash: ${why}.`, { details: { format } });
  }
}

export interface PasswordDeps {
  /** Salt source; tests fix it to compare hashes with passlib's byte for byte. */
  randomBytes?: RandomBytes;
}

// ---- encodings ---------------------------------------------------------------------------------

/** bcrypt's own base64 alphabet. */
const BCRYPT64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** bcrypt64 without padding: 16 bytes become the 22 characters of a bcrypt salt. */
export function bcrypt64Encode(data: Uint8Array): string {
  // same bit order as standard base64, different alphabet
  const std = Buffer.from(data).toString('base64').replace(/=+$/, '');
  const from = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let out = '';
  for (const ch of std) out += BCRYPT64[from.indexOf(ch)] ?? '';
  return out;
}

/** passlib's b64s: standard alphabet, no padding (scrypt salts and checksums). */
function b64sEncode(data: Buffer): string {
  return data.toString('base64').replace(/=+$/, '');
}

/** passlib's ab64: b64s with `.` for `+` (PBKDF2 hashes); decoding accepts either. */
function ab64Encode(data: Buffer): string {
  return b64sEncode(data).replaceAll('+', '.');
}

function b64sDecode(text: string, format: PasswordHashFormat, what: string): Buffer {
  const normal = text.replaceAll('.', '+');
  if (!/^[A-Za-z0-9+/]*$/.test(normal) || normal.length % 4 === 1) throw new MalformedPasswordHash(format, `${what} is not base64`);
  return Buffer.from(normal, 'base64');
}

// ---- Keystone's length rule ---------------------------------------------------------------------

/**
 * verify_length_and_trunc_password(): the UTF-8 bytes that get hashed. When the configured
 * algorithm is bcrypt the limit is 72 bytes (bcrypt ignores the rest anyway); over the limit the
 * password is truncated, or refused with strict_password_check. Applied to both hashing and
 * checking, with the configured algorithm (not the stored hash's), exactly as Keystone does.
 */
export function passwordBytes(password: string, policy: PasswordPolicy = { algorithm: 'bcrypt' }): Buffer {
  if (typeof password !== 'string') throw new ValidationError('Expecting to find string in password.', 'identity.password_not_string');
  const configured = policy.maxPasswordLength ?? DEFAULT_MAX_PASSWORD_LENGTH;
  const max = policy.algorithm === 'bcrypt' && configured > BCRYPT_MAX_LENGTH ? BCRYPT_MAX_LENGTH : configured;
  const bytes = Buffer.from(password, 'utf8');
  if (bytes.length <= max) return bytes;
  if (policy.strictPasswordCheck === true) throw new PasswordVerificationError(max);
  // Keystone cuts bytes, not characters: a multi-byte character may be split, as it is there
  return bytes.subarray(0, max);
}

function rejectNul(bytes: Buffer, format: 'bcrypt' | 'sha512_crypt'): void {
  // passlib refuses these: many bcrypt backends stop at the first NUL and would accept any suffix
  if (bytes.includes(0)) throw new ValidationError(`${format} does not allow NULL bytes in password.`, 'identity.password_contains_nul');
}

function orDefault(value: number | undefined, fallback: number): number {
  // Keystone tests these options for truthiness: unset and 0 both mean passlib's default
  return value === undefined || value === 0 ? fallback : value;
}

function checkInteger(value: number, min: number, max: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ValidationError(`${what} must be an integer from ${min} to ${max}, got ${value}.`, 'identity.password_policy_invalid');
  }
  return value;
}

// ---- bcrypt -------------------------------------------------------------------------------------

const BCRYPT_HASH = /^\$(2[aby])\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;

async function hashBcrypt(bytes: Buffer, cost: number, randomBytes: RandomBytes): Promise<string> {
  rejectNul(bytes, 'bcrypt');
  return bcryptHash(bytes.subarray(0, BCRYPT_MAX_LENGTH), { cost, salt: randomBytes(16), version: '2b' });
}

async function verifyBcrypt(bytes: Buffer, stored: string): Promise<boolean> {
  const m = BCRYPT_HASH.exec(stored);
  const cost = Number(m?.[2]);
  if (m === null || cost < 4 || cost > 31) throw new MalformedPasswordHash('bcrypt', 'expected $2a$, $2b$ or $2y$, a two-digit cost from 04 to 31 and 53 characters');
  rejectNul(bytes, 'bcrypt');
  return bcryptVerify(bytes.subarray(0, BCRYPT_MAX_LENGTH), stored);
}

// ---- bcrypt_sha256 (passlib 1.7.3+, and newer Keystone) ---------------------------------------------

const BCRYPT_SHA256_V2 = /^\$bcrypt-sha256\$v=(\d+),t=(2b),r=(\d{1,2})\$([./A-Za-z0-9]{22})\$([./A-Za-z0-9]{31})$/;
const BCRYPT_SHA256_V1 = /^\$bcrypt-sha256\$(2[ab]),(\d{1,2})\$([./A-Za-z0-9]{22})\$([./A-Za-z0-9]{31})$/;
/** A salt's 22nd character carries 2 bits; passlib insists the 4 unused ones are zero. */
const FINAL_SALT_CHARS = '.Oeu';

/** The 44-byte key bcrypt sees: base64 of HMAC-SHA256(salt, password) (v2) or of SHA-256(password) (v1). */
function bcryptSha256Key(bytes: Buffer, salt: string, version: 1 | 2): Buffer {
  const digest = version === 2 ? createHmac('sha256', salt).update(bytes).digest() : createHash('sha256').update(bytes).digest();
  return Buffer.from(digest.toString('base64'), 'ascii');
}

async function hashBcryptSha256(bytes: Buffer, cost: number, randomBytes: RandomBytes): Promise<string> {
  const raw = Buffer.from(randomBytes(16));
  const salt = bcrypt64Encode(raw);
  const full = await bcryptHash(bcryptSha256Key(bytes, salt, 2), { cost, salt: raw, version: '2b' });
  if (full.slice(7, 29) !== salt) throw new Error('bcrypt encoded the salt differently from bcrypt64Encode');
  return `$bcrypt-sha256$v=2,t=2b,r=${cost}$${salt}$${full.slice(29)}`;
}

async function verifyBcryptSha256(bytes: Buffer, stored: string): Promise<boolean> {
  const v2 = BCRYPT_SHA256_V2.exec(stored);
  const v1 = v2 === null ? BCRYPT_SHA256_V1.exec(stored) : null;
  const parts = v2 !== null ? { version: Number(v2[1]), ident: v2[2], rounds: v2[3], salt: v2[4], digest: v2[5] } : v1 !== null ? { version: 1, ident: v1[1], rounds: v1[2], salt: v1[3], digest: v1[4] } : undefined;
  if (parts === undefined || parts.rounds === undefined || parts.salt === undefined || parts.digest === undefined || parts.ident === undefined) {
    throw new MalformedPasswordHash('bcrypt_sha256', 'expected $bcrypt-sha256$v=2,t=2b,r=<cost>$<salt>$<digest> (or the v1 form)');
  }
  if (v2 !== null && parts.version < 2) throw new MalformedPasswordHash('bcrypt_sha256', `v=${parts.version} in the v2 layout`);
  if (parts.version !== 1 && parts.version !== 2) throw new UnsupportedPasswordHash(`bcrypt_sha256 version ${parts.version} is not supported.`);
  if (parts.rounds.length > 1 && parts.rounds.startsWith('0')) throw new MalformedPasswordHash('bcrypt_sha256', 'zero-padded cost');
  const cost = Number(parts.rounds);
  if (cost < 4 || cost > 31) throw new MalformedPasswordHash('bcrypt_sha256', `cost ${cost} is outside 4-31`);
  if (parts.version === 2 && !FINAL_SALT_CHARS.includes(parts.salt.slice(-1))) throw new MalformedPasswordHash('bcrypt_sha256', 'salt has padding bits set');
  const key = bcryptSha256Key(bytes, parts.salt, parts.version);
  return bcryptVerify(key, `$${parts.ident}$${String(cost).padStart(2, '0')}$${parts.salt}${parts.digest}`);
}

// ---- scrypt -------------------------------------------------------------------------------------

const SCRYPT_HASH = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]*)\$([^$]+)$/;

async function scryptDigest(bytes: Buffer, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const memory = 128 * 2 ** logN * r;
  if (memory > SCRYPT_MAX_MEMORY || r * p >= 2 ** 30) throw new UnsupportedPasswordHash(`scrypt ln=${logN},r=${r},p=${p} needs more memory than we allow per hash.`);
  return scryptAsync(bytes, salt, 32, { N: 2 ** logN, r, p, maxmem: memory + 32 * 1024 * 1024 });
}

async function hashScrypt(bytes: Buffer, policy: PasswordPolicy, randomBytes: RandomBytes): Promise<string> {
  const logN = checkInteger(orDefault(policy.rounds, DEFAULT_SCRYPT_LOG_N), 1, 31, 'scrypt rounds (log2 N)');
  const r = checkInteger(orDefault(policy.scryptBlockSize, 8), 1, 1024, 'scrypt_block_size');
  const p = checkInteger(orDefault(policy.scryptParallelism, 1), 1, 1024, 'scrypt_parallelism');
  const salt = Buffer.from(randomBytes(checkInteger(orDefault(policy.saltBytes, DEFAULT_SALT_BYTES), 1, 96, 'salt_bytesize')));
  const digest = await scryptDigest(bytes, salt, logN, r, p);
  return `$scrypt$ln=${logN},r=${r},p=${p}$${b64sEncode(salt)}$${b64sEncode(digest)}`;
}

async function verifyScrypt(bytes: Buffer, stored: string): Promise<boolean> {
  const m = SCRYPT_HASH.exec(stored);
  if (m === null) throw new MalformedPasswordHash('scrypt', 'expected $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<digest>');
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (logN < 1 || logN > 31 || r < 1 || p < 1) throw new MalformedPasswordHash('scrypt', 'parameters out of range');
  const salt = b64sDecode(m[4] ?? '', 'scrypt', 'salt');
  const expected = b64sDecode(m[5] ?? '', 'scrypt', 'digest');
  if (expected.length !== 32) throw new MalformedPasswordHash('scrypt', 'digest is not 32 bytes');
  return timingSafeEqual(await scryptDigest(bytes, salt, logN, r, p), expected);
}

// ---- pbkdf2_sha512 ------------------------------------------------------------------------------

const PBKDF2_HASH = /^\$pbkdf2-sha512\$(\d+)\$([./A-Za-z0-9+]*)\$([./A-Za-z0-9+]+)$/;

async function hashPbkdf2(bytes: Buffer, policy: PasswordPolicy, randomBytes: RandomBytes): Promise<string> {
  const rounds = checkInteger(orDefault(policy.rounds, DEFAULT_PBKDF2_ROUNDS), 1, 0xffffffff, 'pbkdf2_sha512 rounds');
  const salt = Buffer.from(randomBytes(checkInteger(orDefault(policy.saltBytes, DEFAULT_SALT_BYTES), 1, 96, 'salt_bytesize')));
  const digest = await pbkdf2Async(bytes, salt, rounds, 64, 'sha512');
  return `$pbkdf2-sha512$${rounds}$${ab64Encode(salt)}$${ab64Encode(digest)}`;
}

async function verifyPbkdf2(bytes: Buffer, stored: string): Promise<boolean> {
  const m = PBKDF2_HASH.exec(stored);
  if (m === null) throw new MalformedPasswordHash('pbkdf2_sha512', 'expected $pbkdf2-sha512$<rounds>$<salt>$<digest>');
  const roundsText = m[1] ?? '';
  const rounds = Number(roundsText);
  if ((roundsText.startsWith('0') && roundsText !== '0') || rounds < 1 || rounds > 0xffffffff) throw new MalformedPasswordHash('pbkdf2_sha512', 'bad rounds');
  const salt = b64sDecode(m[2] ?? '', 'pbkdf2_sha512', 'salt');
  const expected = b64sDecode(m[3] ?? '', 'pbkdf2_sha512', 'digest');
  if (expected.length !== 64) throw new MalformedPasswordHash('pbkdf2_sha512', 'digest is not 64 bytes');
  return timingSafeEqual(await pbkdf2Async(bytes, salt, rounds, 64, 'sha512'), expected);
}

// ---- sha512_crypt (verify only) -----------------------------------------------------------------

const SHA512_CRYPT_HASH = /^\$6\$(?:rounds=(\d+)\$)?([^$]{0,16})\$([./0-9A-Za-z]{86})$/;

function sha512CryptInWorker(bytes: Buffer, salt: string, rounds: number): Promise<string> {
  // node:crypto has no async SHA-crypt and 5000+ rounds take 15 ms or more: a short-lived worker keeps them off the event loop
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./sha512-crypt-worker.js', import.meta.url), { workerData: { password: bytes, salt, rounds } });
    let result: string | undefined;
    worker.once('message', (m: unknown) => {
      if (typeof m === 'string') result = m;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`sha512_crypt worker exited with code ${code} and no result`));
    });
  });
}

async function verifySha512Crypt(bytes: Buffer, stored: string): Promise<boolean> {
  const m = SHA512_CRYPT_HASH.exec(stored);
  if (m === null) throw new MalformedPasswordHash('sha512_crypt', 'expected $6$[rounds=<n>$]<salt>$<86 characters>');
  const roundsText = m[1];
  if (roundsText !== undefined && roundsText.startsWith('0')) throw new MalformedPasswordHash('sha512_crypt', 'zero-padded rounds');
  const rounds = roundsText === undefined ? SHA512_CRYPT_DEFAULT_ROUNDS : Number(roundsText);
  if (rounds < SHA512_CRYPT_MIN_ROUNDS || rounds > SHA512_CRYPT_MAX_ROUNDS) throw new MalformedPasswordHash('sha512_crypt', `rounds ${rounds} out of range`);
  rejectNul(bytes, 'sha512_crypt');
  const checksum = await sha512CryptInWorker(bytes, m[2] ?? '', rounds);
  return timingSafeEqual(Buffer.from(checksum, 'ascii'), Buffer.from(m[3] ?? '', 'ascii'));
}

// ---- public ------------------------------------------------------------------------------------

function fullPolicy(policy: Partial<PasswordPolicy>): PasswordPolicy {
  return { ...policy, algorithm: policy.algorithm ?? 'bcrypt' };
}

/**
 * hash_password(): the configured algorithm in passlib's format
 * (`$2b$12$...`, `$bcrypt-sha256$v=2,t=2b,r=12$...`, `$scrypt$ln=16,r=8,p=1$...`,
 * `$pbkdf2-sha512$25000$...`), computed on the libuv thread pool.
 */
export async function hashPassword(password: string, policy: Partial<PasswordPolicy> = {}, deps: PasswordDeps = {}): Promise<string> {
  const p = fullPolicy(policy);
  const bytes = passwordBytes(password, p);
  const randomBytes = deps.randomBytes ?? nodeRandomBytes;
  switch (p.algorithm) {
    case 'bcrypt':
      return hashBcrypt(bytes, checkInteger(orDefault(p.rounds, DEFAULT_BCRYPT_COST), 4, 31, 'bcrypt rounds'), randomBytes);
    case 'bcrypt_sha256':
      return hashBcryptSha256(bytes, checkInteger(orDefault(p.rounds, DEFAULT_BCRYPT_COST), 4, 31, 'bcrypt_sha256 rounds'), randomBytes);
    case 'scrypt':
      return hashScrypt(bytes, p, randomBytes);
    case 'pbkdf2_sha512':
      return hashPbkdf2(bytes, p, randomBytes);
    default:
      throw new ValidationError(`Password Hash Algorithm ${String(p.algorithm)} not found`, 'identity.password_algorithm_unknown');
  }
}

/**
 * Which format a stored hash is in, by its `$ident$` prefix as Keystone's _get_hasher_from_ident()
 * looks it up. Anything else is an UnsupportedPasswordHash, never a silent mismatch.
 */
export function identifyPasswordHash(stored: string): PasswordHashFormat {
  const end = typeof stored === 'string' ? stored.indexOf('$', 1) : -1;
  const ident = end > 0 && stored.startsWith('$') ? stored.slice(0, end + 1) : undefined;
  switch (ident) {
    case '$2a$':
    case '$2b$':
    case '$2y$':
      return 'bcrypt';
    case '$bcrypt-sha256$':
      return 'bcrypt_sha256';
    case '$scrypt$':
      return 'scrypt';
    case '$pbkdf2-sha512$':
      return 'pbkdf2_sha512';
    case '$6$':
      return 'sha512_crypt';
    case '$2$':
    case '$2x$':
      throw new UnsupportedPasswordHash(`Unsupported password hashing algorithm ident: ${ident} (crypt_blowfish's legacy bcrypt variants are not verified; passlib refuses them too).`);
    case '$7$':
      throw new UnsupportedPasswordHash('Unsupported password hashing algorithm ident: $7$ (the scrypt reference format; Keystone only writes $scrypt$).');
    default:
      throw new UnsupportedPasswordHash(`Unsupported password hashing algorithm ident: ${ident ?? '(no $ident$ prefix)'}`);
  }
}

/**
 * check_password(): whether the password matches the stored hash, in any format Keystone writes or
 * wrote. The length rule follows the configured algorithm (policy), as Keystone's does. A user
 * with no password (null, as federated and shadow users have) never matches, as in Keystone;
 * a hash it cannot verify (unknown or malformed) throws rather than answering false.
 */
export async function verifyPassword(password: string, stored: string | null | undefined, policy: Partial<PasswordPolicy> = {}): Promise<boolean> {
  if (stored === null || stored === undefined) return false;
  const format = identifyPasswordHash(stored);
  const bytes = passwordBytes(password, fullPolicy(policy));
  switch (format) {
    case 'bcrypt':
      return verifyBcrypt(bytes, stored);
    case 'bcrypt_sha256':
      return verifyBcryptSha256(bytes, stored);
    case 'scrypt':
      return verifyScrypt(bytes, stored);
    case 'pbkdf2_sha512':
      return verifyPbkdf2(bytes, stored);
    case 'sha512_crypt':
      return verifySha512Crypt(bytes, stored);
  }
}

// ---- bounded concurrency ------------------------------------------------------------------------

export interface PasswordHasherOptions {
  policy?: Partial<PasswordPolicy>;
  /**
   * Hashes computed at once. bcrypt, scrypt and PBKDF2 all run on libuv's thread pool (4 threads
   * unless UV_THREADPOOL_SIZE says otherwise), which file reads and DNS lookups share: with 4
   * cost-12 verifies in flight a 2 ms readFile waits 600 ms. Default 2, leaving room for them.
   */
  maxConcurrent?: number;
  /** Requests allowed to wait for a slot; beyond it they fail fast with ServiceUnavailableError. Default 1000. */
  maxQueued?: number;
  randomBytes?: RandomBytes;
}

/** hashPassword/verifyPassword with one configured policy and a cap on how many run at once. */
export class PasswordHasher {
  readonly policy: Partial<PasswordPolicy>;
  readonly #maxConcurrent: number;
  readonly #maxQueued: number;
  readonly #deps: PasswordDeps;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(options: PasswordHasherOptions = {}) {
    this.policy = { ...options.policy };
    this.#maxConcurrent = checkInteger(options.maxConcurrent ?? 2, 1, 1024, 'maxConcurrent');
    this.#maxQueued = checkInteger(options.maxQueued ?? 1000, 0, Number.MAX_SAFE_INTEGER, 'maxQueued');
    this.#deps = options.randomBytes === undefined ? {} : { randomBytes: options.randomBytes };
  }

  /** Hashes running now and waiting, for metrics. */
  get load(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  hash(password: string): Promise<string> {
    return this.#limited(() => hashPassword(password, this.policy, this.#deps));
  }

  verify(password: string, stored: string | null | undefined): Promise<boolean> {
    if (stored === null || stored === undefined) return Promise.resolve(false);
    return this.#limited(() => verifyPassword(password, stored, this.policy));
  }

  async #limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#maxConcurrent) {
      if (this.#waiting.length >= this.#maxQueued) {
        throw new ServiceUnavailableError('Too many password checks are waiting; try again later.', 'identity.password_hashing_busy');
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      // hand the slot straight to the next waiter, or give it back
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}
