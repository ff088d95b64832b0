// Fernet (github.com/fernet/spec) with MultiFernet's key order, byte-compatible with Python's cryptography.fernet.
import { createCipheriv, createDecipheriv, createHmac, randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto';
import { AltoError, ValidationError } from '@alto/kernel';
import type { Clock } from '@alto/kernel';

const VERSION = 0x80;
const TIMESTAMP_BYTES = 8;
const IV_BYTES = 16;
const BLOCK_BYTES = 16;
const MAC_BYTES = 32;
const HEADER_BYTES = 1 + TIMESTAMP_BYTES + IV_BYTES;
/** version + timestamp + IV + one cipher block + HMAC: nothing shorter can be a token. */
const MIN_TOKEN_BYTES = HEADER_BYTES + BLOCK_BYTES + MAC_BYTES;
/** cryptography's _MAX_CLOCK_SKEW, used only when a TTL is asked for. */
const MAX_CLOCK_SKEW_SECONDS = 60;

const KEY_TEXT = /^[A-Za-z0-9_-]{43}=$/;
const TOKEN_TEXT = /^[A-Za-z0-9_-]*={0,2}$/;

export type RandomBytes = (size: number) => Buffer;

/** Why a token was refused; callers log it, clients never see it. */
export type InvalidFernetReason = 'malformed' | 'signature' | 'padding' | 'expired' | 'future';

/** A Fernet token that cannot be trusted: not Fernet, signed by no known key, or outside its TTL. */
export class InvalidFernetToken extends AltoError {
  readonly reason: InvalidFernetReason;

  constructor(reason: InvalidFernetReason) {
    super('unauthorized', 'fernet.invalid_token', 'Invalid Fernet token.', { details: { reason } });
    this.reason = reason;
  }
}

/** A key that is not 32 url-safe base64-encoded bytes (the message never contains the key). */
export class InvalidFernetKey extends ValidationError {
  constructor(message = 'Fernet key must be 32 url-safe base64-encoded bytes.') {
    super(message, 'fernet.invalid_key');
  }
}

export interface FernetKey {
  /** The key as written in a key file: 44 characters of url-safe base64. */
  readonly encoded: string;
  /** First half: HMAC-SHA256 signing key. */
  readonly signingKey: Buffer;
  /** Second half: AES-128-CBC key. */
  readonly encryptionKey: Buffer;
}

/**
 * Reads a key as cryptography's Fernet(key) does. Surrounding whitespace is ignored because
 * hand-made key files and Kubernetes Secrets often end in a newline, which Python's lenient
 * base64 decoder also skips; anything else that is not canonical base64 of 32 bytes is refused.
 */
export function parseFernetKey(encoded: string): FernetKey {
  const text = encoded.trim();
  if (!KEY_TEXT.test(text)) throw new InvalidFernetKey();
  const raw = Buffer.from(text, 'base64url');
  if (raw.length !== 32) throw new InvalidFernetKey();
  return { encoded: text, signingKey: raw.subarray(0, 16), encryptionKey: raw.subarray(16, 32) };
}

/** A new key in the form Fernet.generate_key() writes (padded url-safe base64 of 32 random bytes). */
export function generateFernetKey(randomBytes: RandomBytes = nodeRandomBytes): string {
  return Buffer.from(randomBytes(32)).toString('base64url') + '=';
}

function toBase64Url(data: Buffer): string {
  // Node omits padding in base64url; the Fernet spec (and Python) keep it.
  const text = data.toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

function decodeToken(token: string): Buffer {
  if (token.length % 4 !== 0 || !TOKEN_TEXT.test(token)) throw new InvalidFernetToken('malformed');
  const data = Buffer.from(token, 'base64url');
  if (data.length < MIN_TOKEN_BYTES || (data.length - HEADER_BYTES - MAC_BYTES) % BLOCK_BYTES !== 0 || data[0] !== VERSION) {
    throw new InvalidFernetToken('malformed');
  }
  return data;
}

function readTimestamp(data: Buffer): number {
  const ts = data.readBigUInt64BE(1);
  // A timestamp past 2^53 seconds is not a time; treat the token as garbage rather than lose precision.
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidFernetToken('malformed');
  return Number(ts);
}

/**
 * The unverified issue time (seconds since the epoch) of a padded Fernet token, as Keystone's
 * TokenFormatter.creation_time() reads it. Only use it on a token that decrypted.
 */
export function fernetTimestamp(token: string): number {
  return readTimestamp(decodeToken(token));
}

export interface FernetDeps {
  clock: Clock;
  /** Source of IVs; tests inject a fixed one to compare tokens byte for byte with Python's. */
  randomBytes?: RandomBytes;
}

export interface DecryptedFernet {
  plaintext: Buffer;
  /** The token's timestamp, whole seconds since the epoch. */
  issuedAt: number;
  /** Which key (index into the key list, 0 = primary) opened it. */
  keyIndex: number;
}

export interface DecryptOptions {
  /** cryptography's `ttl`: refuse tokens older than this or stamped more than 60 s in the future. Keystone passes none. */
  ttlSeconds?: number;
}

/**
 * MultiFernet: encrypts with the first (primary) key and decrypts with whichever key's HMAC
 * matches, in order. Keystone builds one from its key repository, primary first.
 */
export class MultiFernet {
  readonly keys: readonly FernetKey[];
  readonly #clock: Clock;
  readonly #randomBytes: RandomBytes;

  constructor(keys: readonly FernetKey[], deps: FernetDeps) {
    if (keys.length === 0) throw new ValidationError('MultiFernet needs at least one key.', 'fernet.no_keys');
    this.keys = keys;
    this.#clock = deps.clock;
    this.#randomBytes = deps.randomBytes ?? nodeRandomBytes;
  }

  /** A padded url-safe token, as Fernet.encrypt() returns it. */
  encrypt(plaintext: Uint8Array): string {
    const key = this.keys[0];
    if (key === undefined) throw new ValidationError('MultiFernet needs at least one key.', 'fernet.no_keys');
    const iv = Buffer.from(this.#randomBytes(IV_BYTES));
    if (iv.length !== IV_BYTES) throw new ValidationError('Fernet IV must be 16 bytes.', 'fernet.bad_iv');
    const header = Buffer.alloc(1 + TIMESTAMP_BYTES);
    header[0] = VERSION;
    // cryptography stamps int(time.time()): whole seconds, truncated.
    header.writeBigUInt64BE(BigInt(Math.floor(this.#clock.nowMs() / 1000)), 1);
    const cipher = createCipheriv('aes-128-cbc', key.encryptionKey, iv);
    const body = Buffer.concat([header, iv, cipher.update(plaintext), cipher.final()]);
    const mac = createHmac('sha256', key.signingKey).update(body).digest();
    return toBase64Url(Buffer.concat([body, mac]));
  }

  decrypt(token: string, options: DecryptOptions = {}): DecryptedFernet {
    const data = decodeToken(token);
    const issuedAt = readTimestamp(data);
    if (options.ttlSeconds !== undefined) {
      const now = Math.floor(this.#clock.nowMs() / 1000);
      if (issuedAt + options.ttlSeconds < now) throw new InvalidFernetToken('expired');
      if (now + MAX_CLOCK_SKEW_SECONDS < issuedAt) throw new InvalidFernetToken('future');
    }
    const signed = data.subarray(0, data.length - MAC_BYTES);
    const mac = data.subarray(data.length - MAC_BYTES);
    for (let i = 0; i < this.keys.length; i++) {
      const key = this.keys[i];
      if (key === undefined) continue;
      const expected = createHmac('sha256', key.signingKey).update(signed).digest();
      if (!timingSafeEqual(expected, mac)) continue;
      const iv = data.subarray(1 + TIMESTAMP_BYTES, HEADER_BYTES);
      const decipher = createDecipheriv('aes-128-cbc', key.encryptionKey, iv);
      try {
        const plaintext = Buffer.concat([decipher.update(signed.subarray(HEADER_BYTES)), decipher.final()]);
        return { plaintext, issuedAt, keyIndex: i };
      } catch {
        // A valid MAC over bad padding means the signer misused the key; cryptography says InvalidToken too.
        throw new InvalidFernetToken('padding');
      }
    }
    throw new InvalidFernetToken('signature');
  }
}
