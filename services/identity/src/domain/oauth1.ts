// OAuth 1.0a request signatures (RFC 5849) as oauthlib's endpoints check them for Keystone: the
// Authorization header, the mandatory parameters and their formats, and HMAC/PLAINTEXT signatures.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InternalError } from '@alto/kernel';

/** An OAuth1 request problem oauthlib reports in its body (keystone answers 400 with it). */
export class OAuth1RequestError extends Error {
  readonly error: string;
  constructor(error: string, description: string) {
    super(description);
    this.error = error;
  }
}

/**
 * The Authorization header is absent or not `OAuth k="v", ...`. Upstream raises
 * OAuthHeadersMissingError, an UnexpectedError: a 500 with the generic message.
 */
export function OAuthHeadersMissing(): InternalError {
  return new InternalError(undefined, 'identity.oauth1_headers_missing');
}

/** RFC 5849 percent-encoding (3.6): everything but ALPHA, DIGIT, '-', '.', '_', '~'. */
export function oauthEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function unescape(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

/** oauthlib's parse_authorization_header: `OAuth k="v", k2="v2"` to decoded pairs, realm included. */
export function parseOAuthHeader(header: string | undefined): [string, string][] {
  if (header === undefined || !header.toLowerCase().startsWith('oauth ')) throw OAuthHeadersMissing();
  const items: string[] = [];
  // urllib's parse_http_list: commas outside quotes separate items
  let cur = '';
  let quoted = false;
  for (let i = 6; i < header.length; i++) {
    const ch = header[i]!;
    if (quoted && ch === '\\' && i + 1 < header.length) {
      cur += header[++i]!;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      items.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) items.push(cur.trim());
  return items.map((item) => {
    const at = item.indexOf('=');
    if (at < 0) throw OAuthHeadersMissing();
    let v = item.slice(at + 1);
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    return [unescape(item.slice(0, at)), unescape(v)];
  });
}

/** The oauth_* values of the header, as keystone's get_oauth_headers gives them. */
export function oauthHeaderParams(header: string | undefined): Record<string, string> {
  return Object.fromEntries(parseOAuthHeader(header));
}

/** RFC 5849 3.4.1.2: scheme and host lower-cased, default port dropped, no query. */
export function baseStringUri(uri: string): string {
  const u = new URL(uri);
  const scheme = u.protocol.replace(/:$/, '').toLowerCase();
  const port = u.port ? Number(u.port) : undefined;
  const host = u.hostname.toLowerCase();
  const netloc = port === undefined || (scheme === 'http' && port === 80) || (scheme === 'https' && port === 443) ? host : `${host}:${port}`;
  return `${scheme}://${netloc}${u.pathname || '/'}`.replace(/ /g, '%20');
}

function signatureBaseString(method: string, uri: string, params: [string, string][]): string {
  const normalized = params
    .map(([k, v]) => [oauthEscape(k), oauthEscape(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `${oauthEscape(method.toUpperCase())}&${oauthEscape(baseStringUri(uri))}&${oauthEscape(normalized)}`;
}

const HMAC: Record<string, 'sha1' | 'sha256' | 'sha512'> = { 'HMAC-SHA1': 'sha1', 'HMAC-SHA256': 'sha256', 'HMAC-SHA512': 'sha512' };
/** oauthlib's SIGNATURE_METHODS; the RSA ones are accepted and then never verify (Keystone has no RSA keys). */
const ALLOWED_METHODS = ['HMAC-SHA1', 'HMAC-SHA256', 'HMAC-SHA512', 'RSA-SHA1', 'RSA-SHA256', 'RSA-SHA512', 'PLAINTEXT'];

/** The signature a client with these secrets puts on the request (oauthlib's sign_* functions). */
export function oauthSignature(method: string, signatureMethod: string, uri: string, params: [string, string][], clientSecret: string, tokenSecret: string | undefined): string | undefined {
  const key = `${oauthEscape(clientSecret)}&${oauthEscape(tokenSecret ?? '')}`;
  if (signatureMethod === 'PLAINTEXT') return key;
  const alg = HMAC[signatureMethod];
  if (!alg) return undefined;
  const unsigned = params.filter(([k]) => k !== 'oauth_signature' && k !== 'realm');
  return createHmac(alg, key).update(signatureBaseString(method, uri, unsigned)).digest('base64');
}

export interface OAuth1Request {
  method: string;
  /** The request URL as the client addressed it (scheme, host, path; the query is ignored). */
  uri: string;
  authorization: string | undefined;
  /** Query parameters, which take part in the signature. */
  query: [string, string][];
}

export interface CheckedOAuth1Request {
  params: Record<string, string>;
  all: [string, string][];
}

const HEX32 = /^[0-9a-f]{32}$/;
const VERIFIER_CHARS = /^[A-HJ-NP-Za-hkmnp-z2-9]{8}$/;

/**
 * oauthlib's _check_mandatory_parameters plus the token and verifier format checks of the
 * endpoint: OAuth1RequestError with oauthlib's error and description when the request is
 * malformed. nowMs: the server's clock, for the 600 s timestamp window.
 */
export function checkOAuth1Request(
  req: OAuth1Request,
  nowMs: number,
  kind: 'request_token' | 'access_token' | 'resource',
): CheckedOAuth1Request {
  const header = parseOAuthHeader(req.authorization);
  const oauth = header.filter(([k]) => k.startsWith('oauth_'));
  if (oauth.length === 0) throw new OAuth1RequestError('invalid_request', 'Missing mandatory OAuth parameters.');
  if (new Set(oauth.map(([k]) => k)).size !== oauth.length) throw new OAuth1RequestError('invalid_request', 'Duplicate OAuth1 entries.');
  const p = Object.fromEntries(oauth);
  if (!p.oauth_signature || !p.oauth_consumer_key || !p.oauth_nonce || !p.oauth_timestamp || !p.oauth_signature_method) throw new OAuth1RequestError('invalid_request', 'Missing mandatory OAuth parameters.');
  if (!ALLOWED_METHODS.includes(p.oauth_signature_method)) throw new OAuth1RequestError('invalid_signature_method', `Invalid signature, ${p.oauth_signature_method} not in ${JSON.stringify(ALLOWED_METHODS).replace(/"/g, "'").replace(/,/g, ', ')}.`);
  if (p.oauth_version !== undefined && p.oauth_version !== '1.0') throw new OAuth1RequestError('invalid_request', 'Invalid OAuth version.');
  if (p.oauth_timestamp.length !== 10) throw new OAuth1RequestError('invalid_request', 'Invalid timestamp size');
  if (!/^[+-]?\d+$/.test(p.oauth_timestamp.trim())) throw new OAuth1RequestError('invalid_request', 'Timestamp must be an integer.');
  if (Math.abs(nowMs / 1000 - Number(p.oauth_timestamp)) > 600) throw new OAuth1RequestError('invalid_request', 'Timestamp given is invalid, differ from allowed by over 600 seconds.');
  if (!HEX32.test(p.oauth_consumer_key)) throw new OAuth1RequestError('invalid_request', 'Invalid client key format.');
  if (!/^[0-9a-f]*$/.test(p.oauth_nonce)) throw new OAuth1RequestError('invalid_request', 'Invalid nonce format.');
  if (kind === 'request_token' && !p.oauth_callback) throw new OAuth1RequestError('invalid_request', 'Missing callback URI.');
  if (kind === 'access_token') {
    if (!p.oauth_token) throw new OAuth1RequestError('invalid_request', 'Missing resource owner.');
    if (!HEX32.test(p.oauth_token)) throw new OAuth1RequestError('invalid_request', 'Invalid resource owner key format.');
    if (!p.oauth_verifier) throw new OAuth1RequestError('invalid_request', 'Missing verifier.');
    if (!VERIFIER_CHARS.test(p.oauth_verifier)) throw new OAuth1RequestError('invalid_request', 'Invalid verifier format.');
  }
  if (kind === 'resource') {
    if (!p.oauth_token) throw new OAuth1RequestError('invalid_request', 'Missing access token.');
    if (!HEX32.test(p.oauth_token)) throw new OAuth1RequestError('invalid_request', 'Invalid access token format.');
  }
  return { params: p, all: [...header, ...req.query] };
}

/** True when the request carries the signature these secrets give it. */
export function oauthSignatureMatches(req: OAuth1Request, checked: CheckedOAuth1Request, clientSecret: string, tokenSecret: string | undefined): boolean {
  const expected = oauthSignature(req.method, checked.params.oauth_signature_method!, req.uri, checked.all, clientSecret, tokenSecret);
  if (expected === undefined) return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(checked.params.oauth_signature!, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** keystone's verifier: 8 characters without the easily confused ones (jiIl1oO0). */
export const VERIFIER_ALPHABET = 'abcdefghkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
