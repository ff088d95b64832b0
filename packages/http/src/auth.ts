// Token authentication with keystonemiddleware's behaviour: X-Auth-Token validated (and cached
// for token_cache_time, never past expiry), X-Service-Token validated and required to carry a
// service role, the result put on the request as a RequestContext.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { UnauthorizedError, type Cache, type Clock, type RequestContext } from '@alto/kernel';

/** What a validated token says about its bearer. */
export type AuthContext = Omit<RequestContext, 'requestId' | 'globalRequestId'>;

export interface TokenValidator {
  /** Resolves for a valid token; throws an UnauthorizedError (or NotFoundError) otherwise. */
  validate(token: string): Promise<AuthContext>;
}

export interface Authenticator {
  /** undefined when the request carries no X-Auth-Token. */
  authenticate(headers: IncomingHttpHeaders): Promise<AuthContext | undefined>;
}

export interface AuthenticatorOptions {
  validator: TokenValidator;
  clock: Clock;
  /** Shared cache for remote validation; identity itself validates locally and passes none. */
  cache?: Cache | undefined;
  cacheTtlSeconds?: number;
  serviceTokenRoles?: string[];
  serviceTokenRolesRequired?: boolean;
}

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const ttl = opts.cacheTtlSeconds ?? 300;
  const serviceRoles = (opts.serviceTokenRoles ?? ['service']).map((r) => r.toLowerCase());

  async function validate(token: string): Promise<AuthContext> {
    if (!opts.cache) return opts.validator.validate(token);
    const key = `alto:authtoken:${createHash('sha256').update(token).digest('hex')}`;
    const hit = await opts.cache.get(key);
    if (hit) {
      const cached = JSON.parse(hit) as AuthContext & { tokenExpiresAt?: string };
      const expires = cached.tokenExpiresAt ? Date.parse(cached.tokenExpiresAt) : Infinity;
      if (expires > opts.clock.nowMs()) return { ...cached, tokenExpiresAt: cached.tokenExpiresAt ? new Date(cached.tokenExpiresAt) : undefined };
    }
    const ctx = await opts.validator.validate(token);
    const remaining = ctx.tokenExpiresAt ? Math.floor((ctx.tokenExpiresAt.getTime() - opts.clock.nowMs()) / 1000) : ttl;
    if (remaining > 0) await opts.cache.set(key, JSON.stringify(ctx), Math.min(ttl, remaining));
    return ctx;
  }

  return {
    async authenticate(headers) {
      const token = header(headers, 'x-auth-token');
      if (!token) return undefined;
      const user = await validate(token).catch((err: unknown) => {
        throw err instanceof UnauthorizedError ? err : new UnauthorizedError(undefined, 'auth.invalid_token', { cause: err });
      });
      const serviceToken = header(headers, 'x-service-token');
      if (!serviceToken) return user;
      const service = await validate(serviceToken).catch((err: unknown) => {
        throw new UnauthorizedError(undefined, 'auth.invalid_service_token', { cause: err });
      });
      const roles = service.roles.map((r) => r.toLowerCase());
      if (opts.serviceTokenRolesRequired !== false && !roles.some((r) => serviceRoles.includes(r))) {
        throw new UnauthorizedError(undefined, 'auth.service_token_lacks_role');
      }
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
