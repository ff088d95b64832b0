// The fastify factory every API uses: request ids, strict JSON bodies, body limits, 404/405 and
// error rendering in the service's upstream envelope, one log line per request.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AltoError, InternalError, NotFoundError, PayloadTooLargeError, ValidationError, isRequestId, newRequestId, type RequestContext } from '@alto/kernel';
import type { Logger } from 'pino';
import { statusOf, type ErrorRenderer } from './errors.js';

/** A body whose content type is not JSON: routes that take JSON reject it, upload routes read it. */
export class RawBody {
  readonly contentType: string;
  readonly data: Buffer;
  constructor(contentType: string, data: Buffer) {
    this.contentType = contentType;
    this.data = data;
  }
}

/** An upload body handed to the route as the request stream itself (routes with streamBody). */
export class StreamBody {
  readonly contentType: string;
  readonly stream: NodeJS.ReadableStream & AsyncIterable<Buffer>;
  constructor(contentType: string, stream: NodeJS.ReadableStream & AsyncIterable<Buffer>) {
    this.contentType = contentType;
    this.stream = stream;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    ctx: RequestContext;
  }
}

export interface HttpServerOptions {
  logger: Logger;
  renderer: ErrorRenderer;
  /** Largest accepted body in bytes; larger is a 413. */
  bodyLimit: number;
  /**
   * Every body must be a JSON object, checked before routing and authentication as Keystone
   * does; a body without Content-Type is read as JSON. Services that take uploads leave it off.
   */
  jsonOnly?: boolean;
  /** `/v2/images/` is not `/v2/images` (Glance's router); other services ignore a trailing slash. */
  strictSlashes?: boolean;
}

interface RoutePattern {
  regex: RegExp;
  methods: Set<string>;
}

function patternOf(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}/?$`);
}

export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger as unknown as FastifyBaseLogger,
    // one line per request comes from our onResponse hook; its field is oslo's request_id
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: () => newRequestId(),
    bodyLimit: opts.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: !opts.strictSlashes, ignoreDuplicateSlashes: true, maxParamLength: 1000 },
  });

  app.decorateRequest('ctx', null as unknown as RequestContext);
  app.addHook('onRequest', async (req, reply) => {
    const inbound = req.headers['x-openstack-request-id'];
    const globalRequestId = typeof inbound === 'string' && isRequestId(inbound) ? inbound : undefined;
    req.ctx = { requestId: req.id, globalRequestId, roles: [], serviceRoles: [], isAdminProject: false };
    reply.header('x-openstack-request-id', req.id);
  });

  // One line per request, never with bodies or tokens.
  app.addHook('onResponse', async (req, reply) => {
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    if ((req.routeOptions.config as { health?: boolean } | undefined)?.health) return;
    req.log[level](
      {
        method: req.method,
        path: req.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        user_id: req.ctx?.userId,
        project_id: req.ctx?.projectId,
        global_request_id: req.ctx?.globalRequestId,
      },
      'request',
    );
  });

  // a client that goes away mid-request (an upload cut short) gets no response, hence no line above
  app.addHook('onRequestAbort', async (req) => {
    req.log.info(
      { method: req.method, path: req.url.split('?')[0], status: null, aborted: true, user_id: req.ctx?.userId, project_id: req.ctx?.projectId },
      'request aborted by the client',
    );
  });

  app.removeAllContentTypeParsers();
  const parseJson = (body: Buffer): unknown => {
    if (body.length === 0) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ValidationError('Malformed JSON in request body.', 'http.malformed_json');
    }
    if (opts.jsonOnly && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new ValidationError('Expecting a JSON object in the request body.', 'http.not_object');
    }
    return value;
  };
  app.addContentTypeParser(/^application\/([a-z0-9.+-]*\+)?json$/, { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    try {
      done(null, parseJson(body));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // Routes that take image data get the request stream itself, never a buffer (no bodyLimit:
  // the route enforces its own size limits as the data arrives).
  const isStreamRoute = (req: FastifyRequest) => (req.routeOptions.config as { streamBody?: boolean } | undefined)?.streamBody === true;
  const collect = (req: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    payload.on('data', (c: Buffer) => {
      size += c.length;
      if (size > opts.bodyLimit && !failed) {
        failed = true;
        done(new PayloadTooLargeError('Request is too large.', 'http.body_too_large'));
        return;
      }
      if (!failed) chunks.push(c);
    });
    payload.on('error', (err: Error) => {
      if (!failed) done(err);
      failed = true;
    });
    payload.on('end', () => {
      if (!failed) done(null, new RawBody(String(req.headers['content-type'] ?? ''), Buffer.concat(chunks)));
    });
  };
  if (!opts.jsonOnly) {
    app.addContentTypeParser('*', (req, payload, done) => {
      if (isStreamRoute(req)) return done(null, new StreamBody(String(req.headers['content-type'] ?? ''), payload as NodeJS.ReadableStream & AsyncIterable<Buffer>));
      collect(req, payload, done);
    });
  }
  if (opts.jsonOnly) app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    const type = req.headers['content-type'];
    if (body.length === 0) return done(null, undefined);
    if (!type) {
      try {
        return done(null, parseJson(body));
      } catch (err) {
        return done(err as Error, undefined);
      }
    }
    done(new ValidationError('Expecting to find application/json in Content-Type header.', 'http.bad_content_type'), undefined);
  });

  const patterns: RoutePattern[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const regex = patternOf(route.url);
    const existing = patterns.find((p) => p.regex.source === regex.source);
    if (existing) for (const m of methods) existing.methods.add(m);
    else patterns.push({ regex, methods: new Set(methods) });
  });

  const send = (err: AltoError, req: FastifyRequest, reply: FastifyReply) => {
    const status = statusOf(err, opts.renderer);
    const rendered = opts.renderer.render(err, status, req);
    void reply.code(status).headers(rendered.headers ?? {});
    return reply.send(rendered.body);
  };

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!.replace(/\/{2,}/g, '/');
    const known = patterns.find((p) => p.regex.test(path));
    if (known && !known.methods.has(req.method)) {
      void reply.header('allow', [...known.methods].join(', '));
      return send(new AltoError('method_not_allowed', 'http.method_not_allowed', 'The method is not allowed for the requested URL.', { details: { method: req.method } }), req, reply);
    }
    return send(new NotFoundError('The resource could not be found.', 'http.route_not_found'), req, reply);
  });

  app.setErrorHandler((error: FastifyError | AltoError | Error, req, reply) => {
    let err: AltoError;
    if (error instanceof AltoError) {
      err = error;
    } else {
      const fe = error as FastifyError;
      if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') err = new PayloadTooLargeError('Request is too large.', 'http.body_too_large');
      else if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') err = new AltoError('unsupported_media_type', 'http.unsupported_media_type', 'Unsupported media type.');
      else if (fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') err = new ValidationError('Content-Length does not match the body.', 'http.bad_content_length');
      else if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) err = new ValidationError(fe.message, 'http.bad_request');
      else {
        req.log.error({ err: error }, 'unhandled error');
        err = new InternalError();
      }
    }
    if (err.kind === 'internal' && error instanceof AltoError) req.log.error({ err: error }, 'internal error');
    return send(err, req, reply);
  });

  return app;
}
