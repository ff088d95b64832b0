// Token authentication with keystonemiddleware's behaviour: X-Auth-Token validated (and cached
// for token_cache_time, never past expiry), X-Service-Token validated and required to carry a
// service role (a valid one lets an expired user token through, for long operations), and
// application credential access rules enforced against the request; the result put on the
// request as a RequestContext.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { UnauthorizedError, type Cache, type Clock, type RequestContext } from '@alto/kernel';

/** One application credential access rule: this service type, this method, paths like this. */
export interface AccessRule {
  service: string;
  method: string;
  path: string;
}

/** What a validated token says about its bearer. */
export type AuthContext = Omit<RequestContext, 'requestId' | 'globalRequestId'> & {
  /** Set when the token comes from an application credential restricted by access rules. */
  accessRules?: AccessRule[] | undefined;
  /** With access rules: the service types in the token's catalog (undefined: not known, not checked). */
  catalogServiceTypes?: string[] | undefined;
};

export interface ValidateOptions {
  /** Accept an expired token (asked only with a valid service token, as keystonemiddleware does). */
  allowExpired?: boolean;
}

export interface TokenValidator {
  /** Resolves for a valid token; throws an UnauthorizedError (or NotFoundError) otherwise. */
  validate(token: string, opts?: ValidateOptions): Promise<AuthContext>;
}

/** The request being authenticated, as access rules see it. */
export interface AuthRequest {
  headers: IncomingHttpHeaders;
  method: string;
  /** The URL as received (a query string is ignored). */
  url: string;
}

export interface Authenticator {
  /** undefined when the request carries no X-Auth-Token. */
  authenticate(req: AuthRequest): Promise<AuthContext | undefined>;
}

export interface AuthenticatorOptions {
  validator: TokenValidator;
  clock: Clock;
  /** Shared cache for remote validation; identity itself validates locally and passes none. */
  cache?: Cache | undefined;
  cacheTtlSeconds?: number;
  serviceTokenRoles?: string[];
  serviceTokenRolesRequired?: boolean;
  /**
   * This service's type in the catalog ([keystone_authtoken] service_type), which access rules
   * name; without it a token restricted by access rules is refused, as keystonemiddleware does.
   */
  serviceType?: string | undefined;
}

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * keystonemiddleware's path patterns: `*` and `{name}` match one path segment, `**` any run of
 * segments, everything else itself; the whole path must match.
 */
export function accessRulePathMatches(requestPath: string, pattern: string): boolean {
  let re = '';
  for (const m of pattern.matchAll(/(\{[^}]*\})|(\*\*)|(\*)|([^{}*])/g)) {
    if (m[1] !== undefined || m[3] !== undefined) re += '[^/]+';
    else if (m[2] !== undefined) re += '.*';
    else re += m[4]!.replace(/[.+?^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's').test(requestPath);
}

/** The path as WSGI's request.path reads it: no query string, percent-escapes decoded. */
function pathOf(url: string): string {
  const raw = url.split('?', 1)[0] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * keystonemiddleware's validate_allowed_request: a token restricted by access rules passes only
 * where one rule names this service, the method and the path; a request that also carries a valid
 * service token passes (it is part of a chain of service calls, not user-facing).
 */
function allowedByAccessRules(ctx: AuthContext, req: AuthRequest, serviceType: string | undefined, withServiceToken: boolean): boolean {
  if (!ctx.accessRules) return true;
  if (!serviceType) return false;
  const path = pathOf(req.url);
  // the token can always be validated, whatever its rules
  if (serviceType === 'identity' && req.method === 'GET' && path.endsWith('/v3/auth/tokens')) return true;
  if (ctx.catalogServiceTypes && !ctx.catalogServiceTypes.includes(serviceType)) return false;
  if (withServiceToken) return true;
  return ctx.accessRules.some((r) => r.method === req.method && r.service === serviceType && accessRulePathMatches(path, r.path));
}

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const ttl = opts.cacheTtlSeconds ?? 300;
  const serviceRoles = (opts.serviceTokenRoles ?? ['service']).map((r) => r.toLowerCase());

  async function validate(token: string, allowExpired: boolean): Promise<AuthContext> {
    const v = (t: string) => opts.validator.validate(t, { allowExpired });
    if (!opts.cache) return v(token);
    const key = `alto:authtoken:${createHash('sha256').update(token).digest('hex')}`;
    const hit = await opts.cache.get(key);
    if (hit) {
      const cached = JSON.parse(hit) as AuthContext & { tokenExpiresAt?: string };
      const expires = cached.tokenExpiresAt ? Date.parse(cached.tokenExpiresAt) : Infinity;
      if (allowExpired || expires > opts.clock.nowMs()) return { ...cached, tokenExpiresAt: cached.tokenExpiresAt ? new Date(cached.tokenExpiresAt) : undefined };
    }
    const ctx = await v(token);
    const remaining = ctx.tokenExpiresAt ? Math.floor((ctx.tokenExpiresAt.getTime() - opts.clock.nowMs()) / 1000) : ttl;
    if (remaining > 0) await opts.cache.set(key, JSON.stringify(ctx), Math.min(ttl, remaining));
    return ctx;
  }

  return {
    async authenticate(req) {
      const token = header(req.headers, 'x-auth-token');
      if (!token) return undefined;
      // the service token first: a valid one with a service role lets an expired user token through
      const serviceToken = header(req.headers, 'x-service-token');
      const service = serviceToken
        ? await validate(serviceToken, false).catch((err: unknown) => {
            throw new UnauthorizedError(undefined, 'auth.invalid_service_token', { cause: err });
          })
        : undefined;
      const hasServiceRole = service !== undefined && service.roles.some((r) => serviceRoles.includes(r.toLowerCase()));
      if (service && opts.serviceTokenRolesRequired !== false && !hasServiceRole) {
        throw new UnauthorizedError(undefined, 'auth.service_token_lacks_role');
      }
      const user = await validate(token, hasServiceRole).catch((err: unknown) => {
        throw err instanceof UnauthorizedError ? err : new UnauthorizedError(undefined, 'auth.invalid_token', { cause: err });
      });
      if (!allowedByAccessRules(user, req, opts.serviceType, service !== undefined)) {
        throw new UnauthorizedError(undefined, 'auth.access_rules');
      }
      if (!service) return user;
      return {
        ...user,
        serviceUserId: service.userId,
        serviceUserDomainId: service.userDomainId,
        serviceProjectId: service.projectId,
        serviceProjectDomainId: service.projectDomainId,
        serviceRoles: service.roles,
      };
    },
  };
}

/**
 * A token cache that forgets every validation made before identity data last changed (a token
 * revoked, a user disabled, a role unassigned): identity tells every service over the bus, and
 * the next request revalidates instead of trusting a cached answer for token_cache_time.
 * Entries written up to `marginMs` after the news are forgotten too: a validation in flight
 * when the change happened, or another host's clock a little ahead, cannot slip through.
 */
export function invalidatableCache(cache: Cache, clock: Clock, marginMs = 1000): Cache & { invalidate(): void } {
  let staleUntilMs = -Infinity;
  return {
    async get(key) {
      const v = await cache.get(key);
      if (v === undefined) return undefined;
      const bar = v.indexOf('|');
      const at = Number(v.slice(0, bar));
      if (bar < 0 || !Number.isFinite(at) || at <= staleUntilMs) return undefined;
      return v.slice(bar + 1);
    },
    set: (key, value, ttlSeconds) => cache.set(key, `${clock.nowMs()}|${value}`, ttlSeconds),
    delete: (key) => cache.delete(key),
    close: () => cache.close(),
    invalidate() {
      staleUntilMs = clock.nowMs() + marginMs;
    },
  };
}
