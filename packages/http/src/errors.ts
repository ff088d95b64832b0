// Maps domain errors to HTTP statuses and renders them in each upstream service's envelope.
import type { FastifyRequest } from 'fastify';
import type { AltoError} from '@alto/kernel';
import { type ErrorKind } from '@alto/kernel';

export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  quota_exceeded: 413,
  too_many_requests: 429,
  internal: 500,
  service_unavailable: 503,
  timeout: 504,
};

/** Python's http.client.responses, which upstream services use as error titles. */
export const HTTP_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export interface RenderedError {
  body: unknown;
  headers?: Record<string, string>;
}

export interface ErrorRenderer {
  /** Override the status for a kind (e.g. Nova answers quota errors with 403). */
  statusOf?(err: AltoError): number | undefined;
  render(err: AltoError, status: number, req: FastifyRequest): RenderedError;
}

export function statusOf(err: AltoError, renderer: ErrorRenderer): number {
  return renderer.statusOf?.(err) ?? STATUS_OF_KIND[err.kind];
}

/** Messages for the errors the HTTP layer itself raises, so a service can word them as upstream does. */
export type MessageOverrides = Partial<Record<string, string | ((err: AltoError) => string)>>;

const message = (err: AltoError, overrides: MessageOverrides) => {
  const o = overrides[err.code];
  return typeof o === 'function' ? o(err) : (o ?? err.message);
};

/** Keystone: {"error": {"code", "message", "title"}}; 401s carry WWW-Authenticate. */
export function keystoneRenderer(opts: { wwwAuthenticateUri: (req: FastifyRequest) => string; messages?: MessageOverrides }): ErrorRenderer {
  return {
    render(err, status, req) {
      const body = { error: { code: status, message: message(err, opts.messages ?? {}), title: HTTP_TITLES[status] ?? 'Error' } };
      return status === 401 ? { body, headers: { 'www-authenticate': `Keystone uri="${opts.wwwAuthenticateUri(req)}"` } } : { body };
    },
  };
}

const COMPUTE_FAULT_NAMES: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

/** Nova and Cinder: {"itemNotFound": {"code": 404, "message": "..."}}. */
export function computeRenderer(opts: { quotaStatus?: number; messages?: MessageOverrides; /** Cinder adds `"retryAfter": "0"` to its quota faults. */ retryAfter?: string } = {}): ErrorRenderer {
  return {
    statusOf: (err) => (err.kind === 'quota_exceeded' && opts.quotaStatus ? opts.quotaStatus : undefined),
    render(err, status) {
      const name = COMPUTE_FAULT_NAMES[status] ?? 'computeFault';
      const fault: Record<string, unknown> = { code: status, message: message(err, opts.messages ?? {}) };
      if (name === 'overLimit' && opts.retryAfter !== undefined && err.kind === 'quota_exceeded') fault.retryAfter = opts.retryAfter;
      return { body: { [name]: fault } };
    },
  };
}

/** Neutron: {"NeutronError": {"type": "NetworkNotFound", "message": "...", "detail": ""}}. */
export function neutronRenderer(opts: { messages?: MessageOverrides } = {}): ErrorRenderer {
  return {
    render(err) {
      const type = err.name === 'AltoError' ? 'NeutronException' : err.name.replace(/Error$/, '');
      return { body: { NeutronError: { type, message: message(err, opts.messages ?? {}), detail: '' } } };
    },
  };
}

/** Placement: {"errors": [{"status", "title", "detail", "request_id", "code"}]}. */
export function placementRenderer(opts: { messages?: MessageOverrides } = {}): ErrorRenderer {
  return {
    render(err, status, req) {
      const title = HTTP_TITLES[status] ?? 'Error';
      return {
        body: {
          errors: [
            {
              status,
              title,
              detail: message(err, opts.messages ?? {}),
              request_id: req.id,
              code: err.code.startsWith('placement.') ? err.code : 'placement.undefined_code',
            },
          ],
        },
      };
    },
  };
}

const htmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');

/**
 * Glance answers errors as webob does, by the Accept header: an HTML page (no Accept, `*\/*` or
 * html), `{"message", "code": "404 Not Found", "title"}` for JSON, or plain text. An error may
 * carry `details.status` for statuses outside the kinds (410 Gone, 416 Range Not Satisfiable).
 */
export function glanceRenderer(opts: { wwwAuthenticateUri: (req: FastifyRequest) => string; messages?: MessageOverrides }): ErrorRenderer {
  return {
    statusOf: (err) => (typeof err.details?.status === 'number' ? err.details.status : undefined),
    render(err, status, req) {
      const title = HTTP_TITLES[status] ?? (status === 410 ? 'Gone' : status === 416 ? 'Requested Range Not Satisfiable' : 'Error');
      const text = message(err, opts.messages ?? {});
      const headers: Record<string, string> = status === 401 ? { 'www-authenticate': `Keystone uri="${opts.wwwAuthenticateUri(req)}"` } : {};
      const accept = String(req.headers.accept ?? '');
      if (accept.includes('json') && !accept.includes('html')) {
        return { body: { message: `${text}<br /><br />\n\n\n`, code: `${status} ${title}`, title }, headers };
      }
      if (!accept || accept.includes('html') || accept.includes('*/*')) {
        const page = `<html>\n <head>\n  <title>${status} ${title}</title>\n </head>\n <body>\n  <h1>${status} ${title}</h1>\n  ${htmlEscape(text)}<br /><br />\n\n\n\n </body>\n</html>`;
        return { body: page, headers: { ...headers, 'content-type': 'text/html; charset=UTF-8' } };
      }
      return { body: `${status} ${title}\n\n${text}\n\n   `, headers: { ...headers, 'content-type': 'text/plain; charset=UTF-8' } };
    },
  };
}
