// Declared routes: schemas, policy name, expected errors and microversion range, wired into the
// four steps every handler takes: validated input, policy, one service call, a view.
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { InternalError, NotFoundError, UnauthorizedError, ValidationError, policyCredentials, type RequestContext } from '@alto/kernel';
import type { Authenticator } from './auth.js';
import { compileCheck, type ValidationStyle, type Validators } from './validation.js';
import { inMicroversionRange } from './microversion.js';
import { RawBody, StreamBody } from './server.js';

/** What the policy engine offers routes (oslo's enforce(): raises when not allowed). */
export interface PolicyEnforcer {
  enforce(name: string, target: Record<string, unknown>, creds: Record<string, unknown>): void;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  req: FastifyRequest;
  reply: FastifyReply;
}

/** Who may call: a valid token (default), anyone (version discovery, POST /v3/auth/tokens). */
export type RouteAuth = 'token' | 'none';

export interface RouteSpec<P extends TSchema = TSchema, Q extends TSchema = TSchema, B extends TSchema = TSchema> {
  method: HTTPMethods | HTTPMethods[];
  url: string;
  params?: P;
  query?: Q;
  /** The request body schema; with bodyKey, the schema of the entity inside the wrapper. */
  body?: B;
  /**
   * Upstream services wrap entities (`{"project": {...}}`) and validate the entity alone, so
   * error paths read `enabled`, not `project/enabled`. The handler gets the entity.
   */
  bodyKey?: string;
  /** When the wrapper key is absent: validate `{}` (Keystone's POST), `null` (its PATCH), or throw. */
  bodyKeyMissing?: 'empty' | 'null' | (() => Error);
  /** Response schemas by status, used to check answers in tests and to document the route. */
  response?: Record<number, TSchema>;
  /** Status on success (default 200). */
  status?: number;
  auth?: RouteAuth;
  /** The upstream policy name, or null for routes upstream does not guard. */
  policy: string | null;
  /**
   * When upstream picks the rule by the request (Keystone's trust listing checks
   * identity:list_trusts_for_trustor for ?trustor_user_id=), the name to enforce instead of
   * `policy`, which stays the name of the plain request.
   */
  policyOf?: (input: RouteInput<Static<P>, Static<Q>, unknown>) => string;
  /** Builds policy `target` data (may load the resource); runs after authentication. */
  target?: (input: RouteInput<Static<P>, Static<Q>, unknown>, ctx: RequestContext) => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Extra credentials for policy (Keystone adds the token's own data). */
  credentials?: (ctx: RequestContext) => Record<string, unknown>;
  /** Error statuses this route is expected to answer with, besides 400/401/403 from the frame. */
  errors: number[];
  microversion?: { min?: string; max?: string };
  /** The body is image data: the handler gets a StreamBody (the request stream), nothing is buffered. */
  streamBody?: boolean;
  handler: (input: RouteInput<Static<P>, Static<Q>, Static<B>>, ctx: RequestContext) => Promise<unknown>;
}

// Route arrays mix schema types; the specs are checked where they are defined.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteSpec<any, any, any>;

export function defineRoute<P extends TSchema, Q extends TSchema, B extends TSchema>(spec: RouteSpec<P, Q, B>): RouteSpec<P, Q, B> {
  return spec;
}

export interface RouteDeps {
  enforcer: PolicyEnforcer;
  authenticator: Authenticator;
  validators: Validators;
  /** Check every answer against its declared response schema (tests turn this on). */
  validateResponses?: boolean;
  /** How schema errors are worded (default Keystone's). */
  validationStyle?: ValidationStyle;
}

const isJsonBody = (b: unknown) => !(b instanceof RawBody) && !(b instanceof StreamBody);

export function mountRoutes(app: FastifyInstance, routes: AnyRoute[], deps: RouteDeps): void {
  // GET answers HEAD too, unless the URL declares its own HEAD (Keystone's check_token, check_grant)
  const explicitHead = new Set(routes.filter((r) => (Array.isArray(r.method) ? r.method : [r.method]).includes('HEAD')).map((r) => r.url));
  for (const spec of routes as RouteSpec[]) {
    const checkParams = spec.params ? compileCheck<unknown>(deps.validators.query, spec.params, deps.validationStyle) : (v: unknown) => v;
    const checkQuery = spec.query ? compileCheck<unknown>(deps.validators.query, spec.query, deps.validationStyle) : (v: unknown) => v;
    const checkBody = spec.body ? compileCheck<unknown>(deps.validators.body, spec.body, deps.validationStyle) : undefined;
    const checkResponse = deps.validateResponses && spec.response?.[spec.status ?? 200] ? compileCheck<unknown>(deps.validators.body, spec.response[spec.status ?? 200]!) : undefined;

    app.route({
      method: spec.method,
      url: spec.url,
      exposeHeadRoute: !explicitHead.has(spec.url),
      ...(spec.streamBody ? { config: { streamBody: true } } : {}),
      handler: async (req, reply) => {
        if (spec.microversion && !inMicroversionRange(req.microversion, spec.microversion)) {
          throw new NotFoundError('The resource could not be found.', 'http.microversion_out_of_range');
        }
        // 1. who is calling
        if (spec.auth !== 'none') {
          const auth = await deps.authenticator.authenticate({ headers: req.headers, method: req.method, url: req.url });
          if (!auth) throw new UnauthorizedError(undefined, 'auth.no_token');
          req.ctx = { ...auth, requestId: req.ctx.requestId, globalRequestId: req.ctx.globalRequestId };
        }
        // 2. path and query, then policy (Keystone decides on authorization before it reads the body)
        const params = checkParams(req.params ?? {});
        const query = checkQuery(req.query ?? {});
        const rawBody: unknown = req.body;
        if (spec.policy) {
          const input = { params, query, body: rawBody, req, reply };
          const target: Record<string, unknown> = { ...(params as object) };
          if (spec.target) target.target = await spec.target(input, req.ctx);
          if (rawBody && typeof rawBody === 'object' && isJsonBody(rawBody)) target.request_body = rawBody;
          const creds = { ...policyCredentials(req.ctx), ...(spec.credentials?.(req.ctx) ?? {}) };
          deps.enforcer.enforce(spec.policyOf ? spec.policyOf(input) : spec.policy, target, creds);
        }
        // 3. the body
        let body: unknown = rawBody;
        if (checkBody) {
          if (rawBody instanceof RawBody) {
            if (rawBody.data.length > 0) throw new ValidationError('Expecting to find application/json in Content-Type header.', 'http.bad_content_type');
            body = undefined;
          }
          if (spec.bodyKey !== undefined) {
            // an empty body reads as {} (Keystone's behaviour), so the wrapper rule below decides
            const wrapper = (body ?? {}) as Record<string, unknown>;
            if (typeof wrapper !== 'object' || Array.isArray(wrapper)) throw new ValidationError('Expecting a JSON object in the request body.', 'http.not_object');
            let entity = wrapper[spec.bodyKey];
            if (entity === undefined) {
              const missing = spec.bodyKeyMissing ?? 'empty';
              if (typeof missing === 'function') throw missing();
              entity = missing === 'empty' ? {} : null;
            }
            body = checkBody(entity);
          } else {
            if (body === undefined) throw new ValidationError('Expecting a JSON request body.', 'http.missing_body');
            if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('Expecting a JSON object in the request body.', 'http.not_object');
            body = checkBody(body);
          }
        }
        // 4. one service call, whose result is the view
        const result = await spec.handler({ params, query, body, req, reply }, req.ctx);
        if (reply.sent) return reply;
        if (!reply.statusCode || reply.statusCode === 200) void reply.code(spec.status ?? 200);
        if (checkResponse && result !== undefined) {
          try {
            checkResponse(result);
          } catch (err) {
            req.log.error({ err, route: spec.url }, 'response does not match its declared schema');
            throw new InternalError(`response does not match schema: ${(err as Error).message}`, 'http.bad_response');
          }
        }
        return result === undefined ? reply.send() : reply.send(result);
      },
    });
  }
}
