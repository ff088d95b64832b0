// A minimal JSON-over-HTTP client with request ids, timeouts and errors that say what answered.
import { AltoError, ServiceUnavailableError, newRequestId, type ErrorKind } from '@alto/kernel';

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
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

export async function request<T = unknown>(url: string, opts: RequestOptions = {}): Promise<HttpResponse<T>> {
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.method ?? 'GET',
      headers: {
        accept: 'application/json',
        'x-openstack-request-id': newRequestId(),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new ServiceUnavailableError(`${opts.method ?? 'GET'} ${url}: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`, 'client.unreachable', { cause: err });
  }
  const text = await res.text();
  let body: unknown = text;
  if (text && (res.headers.get('content-type') ?? '').includes('json')) {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = text;
    }
  }
  const ms = performance.now() - t0;
  const ok = opts.accept ? opts.accept.includes(res.status) : res.status >= 200 && res.status < 300;
  if (!ok) {
    throw new AltoError(KIND_OF_STATUS[res.status] ?? 'internal', `client.http_${res.status}`, `${opts.method ?? 'GET'} ${url} answered ${res.status}: ${errorMessage(body) ?? res.statusText}`, {
      details: { status: res.status },
    });
  }
  return { status: res.status, headers: res.headers, body: body as T, ms };
}
