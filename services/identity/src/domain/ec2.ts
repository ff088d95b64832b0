// AWS request signatures as keystoneclient's Ec2Signer computes them (versions 0, 1, 2 and 4), the
// timestamp window of POST /v3/ec2tokens, and the id an EC2 credential gets from its access key.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** What a signing service (swift's s3api, nova's ec2 API) sends to /v3/ec2tokens. */
export interface Ec2Credentials {
  access?: unknown;
  signature?: unknown;
  host?: unknown;
  verb?: unknown;
  path?: unknown;
  params?: unknown;
  headers?: unknown;
  body_hash?: unknown;
  /** s3tokens: the base64url string to sign. */
  token?: unknown;
}

/** The request could not be signed as given (unknown version, date mismatch, missing fields). */
export class Ec2SignatureFormatError extends Error {}

/** keystone's utils.hash_access_key: an EC2 credential's id is the sha256 of its access key. */
export function ec2CredentialId(access: string): string {
  return createHash('sha256').update(access, 'utf8').digest('hex');
}

type Dict = Record<string, unknown>;
const dict = (v: unknown): Dict => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Dict) : {});
const has = (d: Dict, k: string) => Object.prototype.hasOwnProperty.call(d, k);

/** Python's str() of a JSON value, as _get_utf8_value applies it to non-strings. */
function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** urllib.parse.quote(value, safe=...): everything but letters, digits, `_.-~` and `safe` is %XX of its UTF-8 bytes. */
function pyQuote(value: string, safe = ''): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.~-]/.test(c) || (byte < 0x80 && safe.includes(c))) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Python's default string order (code points), not UTF-16 units. */
function codePointCompare(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function canonicalQs(params: Dict): string {
  return Object.keys(params)
    .sort(codePointCompare)
    .map((k) => `${pyQuote(k)}=${pyQuote(pyStr(params[k]), '-_~')}`)
    .join('&');
}

const hmac = (alg: 'sha1' | 'sha256', key: Buffer | string, msg: string) => createHmac(alg, key).update(msg, 'utf8').digest();

function signV0(secret: string, params: Dict): string {
  if (!has(params, 'Action') || !has(params, 'Timestamp')) throw new Ec2SignatureFormatError('Action and Timestamp are needed for signature version 0');
  return hmac('sha1', secret, pyStr(params.Action) + pyStr(params.Timestamp)).toString('base64');
}

function signV1(secret: string, params: Dict): string {
  const h = createHmac('sha1', secret);
  const keys = Object.keys(params).sort((a, b) => codePointCompare(a.toLowerCase(), b.toLowerCase()));
  for (const k of keys) h.update(k, 'utf8').update(pyStr(params[k]), 'utf8');
  return h.digest().toString('base64');
}

function signV2(secret: string, params: Dict, verb: string, host: string, path: string): string {
  // Ec2Signer always has SHA-256 and rewrites SignatureMethod to say so before signing
  const signed = { ...params, SignatureMethod: 'HmacSHA256' };
  return hmac('sha256', secret, `${verb}\n${host}\n${path}\n${canonicalQs(signed)}`).toString('base64');
}

function isV4(c: Ec2Credentials): boolean {
  const headers = dict(c.headers);
  if (has(headers, 'Authorization')) return pyStr(headers.Authorization).startsWith('AWS4-HMAC-SHA256');
  return dict(c.params)['X-Amz-Algorithm'] === 'AWS4-HMAC-SHA256';
}

function signV4(secret: string, params: Dict, verb: string, host: string, path: string, headers: Dict, bodyHash: string): string {
  const authParam = (name: string): string => {
    if (has(headers, 'Authorization')) {
      const auth = pyStr(headers.Authorization);
      const at = auth.indexOf(`${name}=`);
      return at < 0 ? '' : auth.slice(at + name.length + 1).split(',')[0]!;
    }
    const v = params[`X-Amz-${name}`];
    if (v === undefined || v === null) throw new Ec2SignatureFormatError(`X-Amz-${name} is missing`);
    return pyStr(v);
  };
  const dateParam = (): string => {
    const v = has(headers, 'X-Amz-Date') ? headers['X-Amz-Date'] : params['X-Amz-Date'];
    if (v === undefined || v === null) throw new Ec2SignatureFormatError('X-Amz-Date is missing');
    return pyStr(v);
  };
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase().trim(), pyStr(v).trim()]));
  // boto < 2.9.3 signed the host header without its port
  const stripPort = /^Boto\/2\.[0-9]\.[0-2]/.test(lower.get('user-agent') ?? '');
  const signedHeaders = authParam('SignedHeaders');
  const headerLines: string[] = [];
  for (const h of signedHeaders.split(';')) {
    const v = lower.get(h);
    if (v === undefined) continue;
    headerLines.push(h === 'host' && stripPort ? `${h}:${v.split(':')[0]}` : `${h}:${v}`);
  }
  // POST requests carry their parameters in the body, already covered by the body hash
  const query = verb.toUpperCase() !== 'POST' ? canonicalQs(params) : '';
  const canonical = [verb.toUpperCase(), path, query, `${headerLines.join('\n')}\n`, signedHeaders, bodyHash].join('\n');

  const credential = authParam('Credential').split('/');
  const credentialDate = credential[1];
  if (credentialDate === undefined) throw new Ec2SignatureFormatError('Credential has no scope');
  const scope = credential.slice(1).join('/');
  const date = dateParam();
  if (!date.startsWith(credentialDate)) throw new Ec2SignatureFormatError('Request date mismatch error');
  const toSign = ['AWS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonical, 'utf8').digest('hex')].join('\n');
  const kDate = hmac('sha256', Buffer.from(`AWS4${secret}`, 'utf8'), credentialDate);
  const kRegion = hmac('sha256', kDate, credential[2] ?? '');
  const kService = hmac('sha256', kRegion, credential[3] ?? '');
  const kSigning = hmac('sha256', kService, 'aws4_request');
  return hmac('sha256', kSigning, toSign).toString('hex');
}

/** Ec2Signer.generate(): the signature this secret gives the request, by the version the request uses. */
export function ec2Signature(secret: string, c: Ec2Credentials): string {
  const params = dict(c.params);
  const version = params.SignatureVersion;
  const verb = pyStr(c.verb);
  const host = pyStr(c.host);
  const path = pyStr(c.path);
  if (version === '0') return signV0(secret, params);
  if (version === '1') return signV1(secret, params);
  if (version === '2') return signV2(secret, params, verb, host, path);
  if (isV4(c)) return signV4(secret, params, verb, host, path, dict(c.headers), pyStr(c.body_hash));
  throw new Ec2SignatureFormatError(version !== undefined ? `Unknown signature version: ${pyStr(version)}` : 'Unexpected signature format');
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * keystone's EC2TokensResource._check_signature: true when the signature matches, trying again
 * without the port because some clients sign the bare host name.
 */
export function ec2SignatureMatches(secret: string, c: Ec2Credentials): boolean {
  const given = pyStr(c.signature);
  const attempt = (creds: Ec2Credentials) => {
    try {
      return sameString(given, ec2Signature(secret, creds));
    } catch (err) {
      if (err instanceof Ec2SignatureFormatError) return false;
      throw err;
    }
  };
  if (attempt(c)) return true;
  const host = typeof c.host === 'string' ? c.host : '';
  if (!host.includes(':')) return false;
  return attempt({ ...c, host: hostnameOf(host) });
}

/**
 * keystone's S3Resource._check_signature (POST /v3/s3tokens): the string to sign comes
 * base64url-encoded in `token`; v1 is base64 HMAC-SHA1 with the secret, v4 (strings starting
 * with AWS4) the hex HMAC-SHA256 chain over the scope, for the s3, iam and sts services.
 */
export function s3SignatureMatches(secret: string, c: Ec2Credentials): boolean {
  const toSign = Buffer.from(pyStr(c.token), 'base64url');
  let expected: string | undefined;
  if (toSign.subarray(0, 4).toString('latin1') !== 'AWS4') {
    expected = createHmac('sha1', Buffer.from(secret, 'utf8')).update(toSign).digest('base64');
  } else {
    const parts = toSign.toString('latin1').split('\n');
    const scope = (parts[2] ?? '').split('/');
    if (parts.length !== 4 || parts[0] !== 'AWS4-HMAC-SHA256' || scope.length !== 4 || scope[3] !== 'aws4_request' || !['s3', 'iam', 'sts'].includes(scope[2]!)) return false;
    let key: Buffer = Buffer.from(`AWS4${secret}`, 'utf8');
    for (const part of [scope[0]!, scope[1]!, scope[2]!, 'aws4_request']) key = createHmac('sha256', key).update(Buffer.from(part, 'latin1')).digest();
    expected = createHmac('sha256', key).update(toSign).digest('hex');
  }
  return sameString(pyStr(c.signature), expected);
}

/** urlsplit('//' + host).hostname: lower-cased, without port or IPv6 brackets. */
function hostnameOf(host: string): string {
  const m = /^\[([^\]]*)\](?::.*)?$/.exec(host);
  if (m) return m[1]!.toLowerCase();
  return host.split(':')[0]!.toLowerCase();
}

// iso8601.parse_date's grammar (the library oslo's parse_isotime uses): separators optional, UTC when no zone.
const ISO8601 =
  /^(\d{4})(?:(?:-(\d{1,2})|(\d{2})(?!$))(?:(?:-(\d{1,2})|(\d{2}))(?:[ T](\d{2})(?::?(\d{2}))?(?::?(\d{1,2})(?:[.,](\d+))?)?(Z|([-+])(\d{2}):?(\d{2})?)?)?)?)?$/;

/** Milliseconds since the epoch, or undefined for what iso8601.parse_date refuses. */
export function parseIsoTime(text: string): number | undefined {
  const m = ISO8601.exec(text);
  if (!m) return undefined;
  const n = (s: string | undefined, d: number) => (s === undefined ? d : Number(s));
  const [year, month, day, hour, minute, second] = [n(m[1], 0), n(m[2] ?? m[3], 1), n(m[4] ?? m[5], 1), n(m[6], 0), n(m[7], 0), n(m[8], 0)];
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate() || hour > 23 || minute > 59 || second > 59) return undefined;
  const fractionMs = m[9] ? Math.floor(Number(`0.${m[9]}`) * 1000) : 0;
  let offsetMin = 0;
  if (m[11]) offsetMin = (m[11] === '-' ? -1 : 1) * (Number(m[12]) * 60 + n(m[13], 0));
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, fractionMs);
  return utc.getTime() - offsetMin * 60_000;
}

export type Ec2TimestampProblem = 'invalid' | 'expired';

/**
 * keystone's _check_timestamp: Timestamp (signature v1/v2) or X-Amz-Date (v4) must be no older
 * than `[credential] auth_ttl` minutes. A request signed without a timestamp is not checked,
 * as upstream; a timestamp in the future is accepted, as upstream.
 */
export function ec2TimestampProblem(c: Ec2Credentials, nowMs: number, authTtlMinutes: number): Ec2TimestampProblem | undefined {
  const params = dict(c.params);
  const headers = dict(c.headers);
  const stamp = params.Timestamp || headers['X-Amz-Date'] || params['X-Amz-Date'];
  if (!stamp) return undefined;
  const at = typeof stamp === 'string' ? parseIsoTime(stamp) : undefined;
  if (at === undefined) return 'invalid';
  return nowMs > at + authTtlMinutes * 60_000 ? 'expired' : undefined;
}
