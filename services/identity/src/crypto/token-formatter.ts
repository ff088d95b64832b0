// Keystone-compatible Fernet token payloads (keystone/token/token_formatters.py): msgpack tuples per payload version, packed into Fernet.
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { decode } from '@msgpack/msgpack';
import { NotFoundError, ValidationError } from '@alto/kernel';
import type { Clock } from '@alto/kernel';
import { InvalidFernetToken, MultiFernet } from './fernet.js';
import type { FernetKey, RandomBytes } from './fernet.js';
import type { FernetKeySource } from './key-repository.js';
import { PackFloat, packb } from './msgpack-encode.js';
import type { Packable } from './msgpack-encode.js';

/** Keystone's default `[auth] methods`; a method's bit is 2^(its index), so the order is part of the token format. */
export const KEYSTONE_DEFAULT_AUTH_METHODS: readonly string[] = [
  'external',
  'password',
  'token',
  'oauth1',
  'mapped',
  'application_credential',
];

// COMPAT(keystone 22.0.2-0+deb12u4, CVE-2026-80182 "auth: encode ec2credential and
// oauth2_credential"): methods written by endpoints that are not auth plugins get fixed high
// bits so they survive the round trip instead of encoding to 0 (keystone/auth/plugins/core.py).
const PSEUDO_METHOD_BITS: readonly (readonly [number, string])[] = [
  [2 ** 32, 'ec2credential'],
  [2 ** 33, 'oauth2_credential'],
];

/** Keystone's `[DEFAULT] max_token_size`. */
export const DEFAULT_MAX_TOKEN_SIZE = 255;

/**
 * Refuse to even try decrypting longer input. Not Keystone (it has no bound here); a federated
 * token with a hundred UUID groups is under 3 KB, and HTTP servers cap headers near 8 KB anyway.
 */
export const DEFAULT_MAX_PARSE_LENGTH = 8192;

export type PayloadVersion = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

/** Keystone's payload classes by version, for logs and tests. */
export const PAYLOAD_VERSION_NAMES: Readonly<Record<PayloadVersion, string>> = {
  0: 'UnscopedPayload',
  1: 'DomainScopedPayload',
  2: 'ProjectScopedPayload',
  3: 'TrustScopedPayload',
  4: 'FederatedUnscopedPayload',
  5: 'FederatedProjectScopedPayload',
  6: 'FederatedDomainScopedPayload',
  7: 'OauthScopedPayload',
  8: 'SystemScopedPayload',
  9: 'ApplicationCredentialScopedPayload',
};

export type TokenScope =
  | { type: 'unscoped' }
  | { type: 'project'; projectId: string }
  | { type: 'domain'; domainId: string }
  /** Keystone writes `all` for the whole deployment. */
  | { type: 'system'; system: string };

export interface TokenFederation {
  groupIds: string[];
  identityProviderId: string;
  protocolId: string;
}

/** What a token carries. At most one of trustId, applicationCredentialId, accessTokenId and federation. */
export interface TokenPayload {
  userId: string;
  /** Auth method names, e.g. ['password'] or ['token', 'password']. */
  methods: string[];
  scope: TokenScope;
  /** Keystone keeps whole seconds; a parsed token's expiry has no sub-second part. */
  expiresAt: Date;
  /** [auditId] or [auditId, parentAuditId], each a 22-character url-safe string (see newAuditId). */
  auditIds: string[];
  /** Trust-scoped (version 3): needs project scope. */
  trustId?: string;
  /** Application-credential (version 9): needs project scope. */
  applicationCredentialId?: string;
  /** OAuth1 access token (version 7): needs project scope. */
  accessTokenId?: string;
  /** Federated (versions 4, 5, 6): unscoped, project or domain scope. */
  federation?: TokenFederation;
}

export interface ParsedToken extends TokenPayload {
  payloadVersion: PayloadVersion;
  /** The Fernet timestamp: when the token was made, whole seconds. */
  issuedAt: Date;
}

export type TokenNotFoundReason = 'undecryptable' | 'malformed' | 'unknown_version' | 'too_long';

/**
 * A token that cannot be used: not decryptable with any key, or not a payload Keystone would
 * write. Keystone raises ValidationError inside the formatter and its provider turns it into
 * TokenNotFound (404 for X-Subject-Token; the auth middleware answers 401 for X-Auth-Token).
 */
export class TokenNotFound extends NotFoundError {
  readonly reason: TokenNotFoundReason;

  constructor(reason: TokenNotFoundReason, message: string, cause?: unknown) {
    super(message, 'identity.token_not_found', { cause, details: { reason } });
    this.reason = reason;
  }
}

export interface TokenCodecOptions {
  /** `[auth] methods`, in order. Default: Keystone's default list. */
  authMethods?: readonly string[];
  /** `[identity] default_domain_id`: the one non-UUID domain id a domain-scoped token may carry. Default `default`. */
  defaultDomainId?: string;
}

const HEX_ID = /^[0-9a-f]{32}$/;
const AUDIT_ID = /^[A-Za-z0-9_-]{22}$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string, code = 'identity.token_payload_invalid'): ValidationError {
  return new ValidationError(message, code);
}

function malformed(message: string, cause?: unknown): TokenNotFound {
  return new TokenNotFound('malformed', message, cause);
}

// ---- methods ---------------------------------------------------------------------------------

function methodMap(authMethods: readonly string[]): Map<number, string> {
  const map = new Map<number, string>();
  authMethods.forEach((m, i) => map.set(2 ** i, m));
  for (const [bit, name] of PSEUDO_METHOD_BITS) map.set(bit, name);
  return map;
}

/**
 * convert_method_list_to_integer(). Keystone silently drops names missing from `[auth] methods`
 * (and would count a repeated name twice); both are caller bugs, so they are refused here.
 */
export function methodsToInteger(methods: readonly string[], authMethods: readonly string[] = KEYSTONE_DEFAULT_AUTH_METHODS): number {
  const map = methodMap(authMethods);
  const seen = new Set<string>();
  let total = 0;
  for (const method of methods) {
    if (seen.has(method)) throw invalid(`Auth method ${method} is listed twice.`, 'identity.token_method_repeated');
    seen.add(method);
    let found = false;
    for (const [bit, name] of map) {
      if (name === method) {
        total += bit;
        found = true;
      }
    }
    if (!found) throw invalid(`Auth method ${method} is not in [auth] methods.`, 'identity.token_method_unknown');
  }
  return total;
}

/**
 * convert_integer_to_method_list(), with Keystone's exact walk from the highest bit down using
 * division (not bit tests, which are 32-bit in JavaScript and would lose the pseudo bits).
 */
export function integerToMethods(methodInt: number, authMethods: readonly string[] = KEYSTONE_DEFAULT_AUTH_METHODS): string[] {
  if (methodInt === 0) return [];
  const map = methodMap(authMethods);
  const bits = [...map.keys()].sort((a, b) => b - a);
  const methods: string[] = [];
  let rest = methodInt;
  for (const bit of bits) {
    if (Math.trunc(rest / bit) === 1) {
      const name = map.get(bit);
      if (name !== undefined) methods.push(name);
      rest -= bit;
    }
  }
  return methods;
}

// ---- ids, times, audit ids -------------------------------------------------------------------

/**
 * attempt_convert_uuid_hex_to_bytes(): Keystone ids (uuid4().hex) travel as 16 raw bytes in a
 * (true, bytes) pair, anything else as (false, string).
 *
 * COMPAT(keystone token_formatters): Keystone also compresses every string Python's uuid.UUID()
 * accepts (dashed, braced, `urn:uuid:`, upper case), which comes back as lower-case undashed
 * hex: a different id. Only the form that survives the round trip is compressed here; the
 * others travel as strings, which Keystone reads back unchanged, so tokens stay readable both ways.
 */
function packId(id: string): Packable {
  return HEX_ID.test(id) ? [true, Buffer.from(id, 'hex')] : [false, id];
}

function strictUuidBytes(id: string, what: string): Buffer {
  if (!HEX_ID.test(id)) throw invalid(`${what} ${id} is not a 32-character lower-case hex id; Keystone cannot put it in a token.`);
  return Buffer.from(id, 'hex');
}

function unpackId(value: unknown, what: string): string {
  if (!Array.isArray(value) || value.length !== 2) throw malformed(`${what} is not an (is_uuid, value) pair.`);
  const pair: readonly unknown[] = value;
  const isUuid = pair[0];
  const raw = pair[1];
  if (isUuid === true) {
    if (!(raw instanceof Uint8Array) || raw.length !== 16) throw malformed(`${what} is flagged as a UUID but is not 16 bytes.`);
    return Buffer.from(raw).toString('hex');
  }
  if (isUuid !== false) throw malformed(`${what} has no is_uuid flag.`);
  return text(raw, what);
}

/** Keystone accepts both msgpack str and bin for text fields (old msgpack wrote raw bytes). */
function text(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    try {
      return strictUtf8.decode(value);
    } catch (err) {
      throw malformed(`${what} is not UTF-8.`, err);
    }
  }
  throw malformed(`${what} is not a string.`);
}

function auditIdBytes(id: string): Buffer {
  if (!AUDIT_ID.test(id)) throw invalid(`Audit id ${id} is not a 22-character url-safe string.`, 'identity.token_audit_id_invalid');
  return Buffer.from(id, 'base64url');
}

function unpackAuditIds(value: unknown): string[] {
  if (!Array.isArray(value)) throw malformed('Audit ids are not a list.');
  const ids = value.map((v: unknown) => {
    if (!(v instanceof Uint8Array)) throw malformed('An audit id is not bytes.');
    return Buffer.from(v).toString('base64url');
  });
  // Keystone's provider pops the audit id off this list; an empty one would crash it.
  if (ids.length === 0) throw malformed('The token has no audit id.');
  return ids;
}

/** Python rounds to the nearest microsecond with ties to even before isotime() drops the fraction. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * _convert_float_to_time_string() then parse_isotime(): datetime.utcfromtimestamp(float), then
 * isotime() drops the microseconds. So a parsed expiry is the float's whole seconds, rounded up
 * only when the fraction rounds to a full 1000000 microseconds.
 */
function expiresFromFloat(value: unknown): Date {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw malformed('expires_at is not a number.');
  let whole = Math.trunc(value);
  const micros = roundHalfEven((value - whole) * 1e6);
  if (micros >= 1e6) whole += 1;
  else if (micros < 0) whole -= 1;
  return new Date(whole * 1000);
}

function expiresToFloat(expiresAt: Date): PackFloat {
  const ms = expiresAt.getTime();
  if (!Number.isFinite(ms)) throw invalid('expiresAt is not a valid date.');
  // timedelta.total_seconds() divides exact microseconds by 10**6; ms / 1000 is the same rational, rounded the same way.
  return new PackFloat(ms / 1000);
}

/** The `2026-01-01T12:00:00.000000Z` form Keystone shows expires_at and issued_at in (ks_utils.isotime(subsecond=True)). */
export function formatKeystoneTime(at: Date): string {
  const whole = new Date(Math.floor(at.getTime() / 1000) * 1000);
  return whole.toISOString().replace(/\.\d{3}Z$/, '.000000Z');
}

/**
 * A new audit id as Keystone's random_urlsafe_str() makes it: a random UUID4's 16 bytes in
 * url-safe base64 without the padding (22 characters).
 */
export function newAuditId(randomBytes: RandomBytes = nodeRandomBytes): string {
  const b = Buffer.from(randomBytes(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  return b.toString('base64url');
}

// ---- payloads --------------------------------------------------------------------------------

function payloadVersionFor(p: TokenPayload): PayloadVersion {
  const delegations = [
    p.accessTokenId !== undefined,
    p.trustId !== undefined,
    p.federation !== undefined,
    p.applicationCredentialId !== undefined,
  ].filter(Boolean).length;
  if (delegations > 1) {
    throw invalid('A token carries at most one of trustId, applicationCredentialId, accessTokenId and federation.');
  }
  const needsProject = (what: string): void => {
    if (p.scope.type !== 'project') throw invalid(`A token with ${what} must be project-scoped.`);
  };
  // Keystone's order (fernet Provider._determine_payload_class_from_token): oauth, trust, federated, app cred, scope.
  if (p.accessTokenId !== undefined) {
    needsProject('accessTokenId');
    return 7;
  }
  if (p.trustId !== undefined) {
    needsProject('trustId');
    return 3;
  }
  if (p.federation !== undefined) {
    if (p.scope.type === 'system') throw invalid('A federated token cannot be system-scoped.');
    return p.scope.type === 'project' ? 5 : p.scope.type === 'domain' ? 6 : 4;
  }
  if (p.applicationCredentialId !== undefined) {
    needsProject('applicationCredentialId');
    return 9;
  }
  switch (p.scope.type) {
    case 'project':
      return 2;
    case 'domain':
      return 1;
    case 'system':
      return 8;
    case 'unscoped':
      return 0;
  }
}

function scopeId(scope: TokenScope): string {
  if (scope.type === 'project') return scope.projectId;
  if (scope.type === 'domain') return scope.domainId;
  throw invalid('This payload needs a project or domain scope.');
}

function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${what} must be a non-empty string.`);
  return value;
}

/**
 * assemble() for the payload's version, with the version in front: the exact msgpack bytes
 * Keystone's create_token() would encrypt for the same values.
 */
export function encodeTokenPayload(p: TokenPayload, options: TokenCodecOptions = {}): { version: PayloadVersion; bytes: Buffer } {
  const authMethods = options.authMethods ?? KEYSTONE_DEFAULT_AUTH_METHODS;
  const defaultDomainId = options.defaultDomainId ?? 'default';
  const version = payloadVersionFor(p);
  const user = packId(requireText(p.userId, 'userId'));
  const methods = methodsToInteger(p.methods, authMethods);
  const expires = expiresToFloat(p.expiresAt);
  if (p.auditIds.length < 1 || p.auditIds.length > 2) throw invalid('auditIds holds the audit id and at most one parent audit id.');
  const audit = p.auditIds.map(auditIdBytes);
  let tuple: Packable[];
  switch (version) {
    case 0:
      tuple = [user, methods, expires, audit];
      break;
    case 1: {
      // not a pair: a UUID as 16 bytes, or the configured default domain id as a string, nothing else
      const domainId = requireText(scopeId(p.scope), 'domainId');
      const domain = HEX_ID.test(domainId) ? Buffer.from(domainId, 'hex') : domainId;
      if (typeof domain === 'string' && domain !== defaultDomainId) {
        throw invalid(`Domain id ${domainId} is neither a 32-character hex id nor the default domain id; Keystone cannot put it in a token.`);
      }
      tuple = [user, methods, domain, expires, audit];
      break;
    }
    case 2:
      tuple = [user, methods, packId(requireText(scopeId(p.scope), 'projectId')), expires, audit];
      break;
    case 3:
      tuple = [
        user,
        methods,
        packId(requireText(scopeId(p.scope), 'projectId')),
        expires,
        audit,
        strictUuidBytes(requireText(p.trustId, 'trustId'), 'Trust id'),
      ];
      break;
    case 4:
    case 5:
    case 6: {
      const f = p.federation;
      if (f === undefined) throw invalid('federation is missing.');
      const groups = f.groupIds.map((g) => packId(requireText(g, 'group id')));
      const idp = packId(requireText(f.identityProviderId, 'identityProviderId'));
      const protocol = requireText(f.protocolId, 'protocolId');
      tuple =
        version === 4
          ? [user, methods, groups, idp, protocol, expires, audit]
          : [user, methods, packId(requireText(scopeId(p.scope), 'scope id')), groups, idp, protocol, expires, audit];
      break;
    }
    case 7:
      tuple = [
        user,
        methods,
        packId(requireText(scopeId(p.scope), 'projectId')),
        packId(requireText(p.accessTokenId, 'accessTokenId')),
        expires,
        audit,
      ];
      break;
    case 8:
      if (p.scope.type !== 'system') throw invalid('A system-scoped payload needs system scope.');
      tuple = [user, methods, requireText(p.scope.system, 'system'), expires, audit];
      break;
    case 9:
      tuple = [
        user,
        methods,
        packId(requireText(scopeId(p.scope), 'projectId')),
        expires,
        audit,
        packId(requireText(p.applicationCredentialId, 'applicationCredentialId')),
      ];
      break;
  }
  return { version, bytes: packb([version, ...tuple]) };
}

function field(payload: readonly unknown[], index: number): unknown {
  if (index >= payload.length) throw malformed(`The payload has ${payload.length} fields; field ${index} is missing.`);
  return payload[index];
}

function methodsField(payload: readonly unknown[], authMethods: readonly string[]): string[] {
  const value = field(payload, 1);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw malformed('methods is not a non-negative integer.');
  return integerToMethods(value, authMethods);
}

/**
 * disassemble() for every version: the payload's values, or TokenNotFound for anything Keystone
 * would refuse (or crash on). Extra trailing fields are ignored, as Keystone ignores them.
 */
export function decodeTokenPayload(bytes: Uint8Array, options: TokenCodecOptions = {}): TokenPayload & { payloadVersion: PayloadVersion } {
  const authMethods = options.authMethods ?? KEYSTONE_DEFAULT_AUTH_METHODS;
  const defaultDomainId = options.defaultDomainId ?? 'default';
  let decoded: unknown;
  try {
    decoded = decode(bytes);
  } catch (err) {
    throw malformed('The token payload is not msgpack.', err);
  }
  if (!Array.isArray(decoded) || decoded.length === 0) throw malformed('The token payload is not a versioned tuple.');
  const [version, ...payload] = decoded as unknown[];
  const user = (): string => unpackId(field(payload, 0), 'user_id');
  const common = (expiresIndex: number) => ({
    userId: user(),
    methods: methodsField(payload, authMethods),
    expiresAt: expiresFromFloat(field(payload, expiresIndex)),
    auditIds: unpackAuditIds(field(payload, expiresIndex + 1)),
  });
  const federation = (groupsIndex: number): TokenFederation => {
    const groups = field(payload, groupsIndex);
    if (!Array.isArray(groups)) throw malformed('Federated group ids are not a list.');
    return {
      groupIds: groups.map((g: unknown) => unpackId(g, 'group id')),
      identityProviderId: unpackId(field(payload, groupsIndex + 1), 'identity_provider_id'),
      protocolId: text(field(payload, groupsIndex + 2), 'protocol_id'),
    };
  };
  switch (version) {
    case 0:
      return { payloadVersion: 0, ...common(2), scope: { type: 'unscoped' } };
    case 1: {
      const raw = field(payload, 2);
      let domainId: string;
      if (raw instanceof Uint8Array && raw.length === 16) domainId = Buffer.from(raw).toString('hex');
      else {
        domainId = text(raw, 'domain_id');
        if (domainId !== defaultDomainId) throw malformed('domain_id is neither a UUID nor the default domain id.');
      }
      return { payloadVersion: 1, ...common(3), scope: { type: 'domain', domainId } };
    }
    case 2:
      return { payloadVersion: 2, ...common(3), scope: { type: 'project', projectId: unpackId(field(payload, 2), 'project_id') } };
    case 3: {
      const trust = field(payload, 5);
      if (!(trust instanceof Uint8Array) || trust.length !== 16) throw malformed('trust_id is not 16 bytes.');
      return {
        payloadVersion: 3,
        ...common(3),
        scope: { type: 'project', projectId: unpackId(field(payload, 2), 'project_id') },
        trustId: Buffer.from(trust).toString('hex'),
      };
    }
    case 4:
      return { payloadVersion: 4, ...common(5), scope: { type: 'unscoped' }, federation: federation(2) };
    case 5:
    case 6: {
      const id = unpackId(field(payload, 2), 'scope id');
      const scope: TokenScope = version === 5 ? { type: 'project', projectId: id } : { type: 'domain', domainId: id };
      return { payloadVersion: version, ...common(6), scope, federation: federation(3) };
    }
    case 7:
      return {
        payloadVersion: 7,
        ...common(4),
        scope: { type: 'project', projectId: unpackId(field(payload, 2), 'project_id') },
        accessTokenId: unpackId(field(payload, 3), 'access_token_id'),
      };
    case 8:
      return { payloadVersion: 8, ...common(3), scope: { type: 'system', system: text(field(payload, 2), 'system') } };
    case 9:
      return {
        payloadVersion: 9,
        ...common(3),
        scope: { type: 'project', projectId: unpackId(field(payload, 2), 'project_id') },
        applicationCredentialId: unpackId(field(payload, 5), 'app_cred_id'),
      };
    default:
      throw new TokenNotFound('unknown_version', `This is not a recognized Fernet payload version: ${String(version)}`);
  }
}

// ---- tokens ----------------------------------------------------------------------------------

export interface TokenFormatterOptions extends TokenCodecOptions {
  keys: FernetKeySource;
  clock: Clock;
  /** `[DEFAULT] max_token_size`: longer tokens are reported through onOversizeToken, as Keystone logs them. Default 255. */
  maxTokenSize?: number;
  onOversizeToken?: (info: { length: number; maxTokenSize: number; payloadVersion: PayloadVersion }) => void;
  /** Input longer than this is refused without decrypting. Default 8192. */
  maxParseLength?: number;
  /** IV source for Fernet; tests fix it to compare tokens with Keystone's byte for byte. */
  randomBytes?: RandomBytes;
}

/** Keystone's TokenFormatter: payloads in, unpadded Fernet strings out, and back. */
export class TokenFormatter {
  readonly #keys: FernetKeySource;
  readonly #clock: Clock;
  readonly #codec: TokenCodecOptions;
  readonly #maxTokenSize: number;
  readonly #onOversize: NonNullable<TokenFormatterOptions['onOversizeToken']>;
  readonly #maxParseLength: number;
  readonly #randomBytes: RandomBytes | undefined;

  constructor(options: TokenFormatterOptions) {
    this.#keys = options.keys;
    this.#clock = options.clock;
    this.#codec = { authMethods: options.authMethods ?? KEYSTONE_DEFAULT_AUTH_METHODS, defaultDomainId: options.defaultDomainId ?? 'default' };
    this.#maxTokenSize = options.maxTokenSize ?? DEFAULT_MAX_TOKEN_SIZE;
    this.#onOversize = options.onOversizeToken ?? (() => {});
    this.#maxParseLength = options.maxParseLength ?? DEFAULT_MAX_PARSE_LENGTH;
    this.#randomBytes = options.randomBytes;
  }

  #fernet(keys: readonly FernetKey[]): MultiFernet {
    return new MultiFernet(keys, this.#randomBytes === undefined ? { clock: this.#clock } : { clock: this.#clock, randomBytes: this.#randomBytes });
  }

  /** create_token(): the token id, without base64 padding (padding is not url-safe). */
  async create(payload: TokenPayload): Promise<string> {
    const { version, bytes } = encodeTokenPayload(payload, this.#codec);
    const keys = await this.#keys.keys();
    const token = this.#fernet(keys).encrypt(bytes).replace(/=+$/, '');
    if (token.length > this.#maxTokenSize) {
      this.#onOversize({ length: token.length, maxTokenSize: this.#maxTokenSize, payloadVersion: version });
    }
    return token;
  }

  /** validate_token() up to, not including, the database: what the token says, or TokenNotFound. */
  async parse(token: string): Promise<ParsedToken> {
    if (typeof token !== 'string' || token.length === 0) throw new TokenNotFound('malformed', 'Could not recognize Fernet token');
    if (token.length > this.#maxParseLength) throw new TokenNotFound('too_long', 'Could not recognize Fernet token');
    const padded = token + '='.repeat((4 - (token.length % 4)) % 4);
    let opened: { plaintext: Buffer; issuedAt: number };
    try {
      opened = this.#fernet(await this.#keys.keys()).decrypt(padded);
    } catch (err) {
      if (!(err instanceof InvalidFernetToken)) throw err;
      // Signed by no key we hold: maybe another process rotated since we last read the repository.
      const fresh = err.reason === 'signature' ? await this.#keys.keysAfterMiss() : undefined;
      if (fresh === undefined) throw new TokenNotFound('undecryptable', 'Could not recognize Fernet token', err);
      try {
        opened = this.#fernet(fresh).decrypt(padded);
      } catch (again) {
        if (again instanceof InvalidFernetToken) throw new TokenNotFound('undecryptable', 'Could not recognize Fernet token', again);
        throw again;
      }
    }
    const payload = decodeTokenPayload(opened.plaintext, this.#codec);
    return { ...payload, issuedAt: new Date(opened.issuedAt * 1000) };
  }
}
