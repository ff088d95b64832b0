// A minimal JSON-over-HTTP client with request ids, timeouts and errors that say what answered.
// It speaks node:http directly: fetch (undici) costs every process that loads it about 15 MB of
// resident memory, and services make these calls from the first second (token validation).
import { AltoError, ServiceUnavailableError, newRequestId, type ErrorKind } from '@alto/kernel';

/** The response headers, read as fetch's Headers are. */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: ResponseHeaders;
  body: T;
  ms: number;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
  /** Statuses that are not errors (default: 2xx). */
  accept?: number[];
}

const KIND_OF_STATUS: Record<number, ErrorKind> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  503: 'service_unavailable',
};

/** Pulls the message out of any upstream error envelope. */
export function errorMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return typeof body === 'string' ? body.slice(0, 300) : undefined;
  const b = body as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  if (b.error && typeof b.error === 'object') return str((b.error as Record<string, unknown>).message ?? '');
  if (Array.isArray(b.errors)) return str((b.errors[0] as Record<string, unknown> | undefined)?.detail ?? '');
  const first = Object.values(b)[0];
  if (first && typeof first === 'object' && 'message' in first) return String((first as Record<string, unknown>).message);
  return undefined;
}

interface RawResponse {
  status: number;
  statusText: string;
  headers: ResponseHeaders;
  text: string;
}

// COMPAT(node 24): an ESM import of node:http reads every export, and its lazy web exports load
// undici (the very cost avoided here); getBuiltinModule hands over the module as require does.
const http = process.getBuiltinModule('node:http');
const https = process.getBuiltinModule('node:https');

/** One exchange over node:http(s) with the default keep-alive agents; the whole body as text. */
function exchange(url: URL, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<RawResponse & { reused: boolean }> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const h = res.headers;
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: { get: (name) => { const v = h[name.toLowerCase()]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; } },
          text: Buffer.concat(chunks).toString('utf8'),
          reused: req.reusedSocket,
        });
      });
    });
    // the deadline covers the whole exchange, as fetch's AbortSignal.timeout did
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('error', (err: NodeJS.ErrnoException) => reject(Object.assign(err, { reused: req.reusedSocket })));
    req.end(body);
  });
}

export async function request<T = unknown>(url: string, opts: RequestOptions = {}): Promise<HttpResponse<T>> {
  const t0 = performance.now();
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = {
    accept: 'application/json',
    'x-openstack-request-id': newRequestId(),
    ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...opts.headers,
  };
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  let res: RawResponse;
  try {
    const target = new URL(url);
    const once = () => exchange(target, method, headers, payload, opts.timeoutMs ?? 10_000);
    // a kept-alive connection the server closed as we sent is asked again once on a new one
    res = await once().catch((err: NodeJS.ErrnoException & { reused?: boolean }) => {
      if (err.reused && err.code === 'ECONNRESET') return once();
      throw err;
    });
  } catch (err) {
    throw new ServiceUnavailableError(`${method} ${url}: ${err instanceof Error ? err.message : String(err)}`, 'client.unreachable', { cause: err });
  }
  let body: unknown = res.text;
  if (res.text && (res.headers.get('content-type') ?? '').includes('json')) {
    try {
      body = JSON.parse(res.text) as unknown;
    } catch {
      body = res.text;
    }
  }
  const ms = performance.now() - t0;
  const ok = opts.accept ? opts.accept.includes(res.status) : res.status >= 200 && res.status < 300;
  if (!ok) {
    throw new AltoError(KIND_OF_STATUS[res.status] ?? 'internal', `client.http_${res.status}`, `${method} ${url} answered ${res.status}: ${errorMessage(body) ?? res.statusText}`, {
      details: { status: res.status },
    });
  }
  return { status: res.status, headers: res.headers, body: body as T, ms };
}
