// Cinder's policy checks over an Enforcer, one wiring for plugin.ts and the test harnesses: the
// credentials carry is_admin, a refusal names the rule, and a check without a target is on the
// caller's own project and user.
import { ForbiddenError, policyCredentials, type RequestContext } from '@alto/kernel';
import type { PolicyEnforcer } from '@alto/http';
import type { Enforcer } from '@alto/policy';
import type { Authorizer } from './domain/deps.js';
import { PolicyNotAuthorized } from './domain/errors.js';

export interface CinderPolicy {
  /** For the services (BlockStorageCoreDeps.authz). */
  authz: Authorizer;
  /** For mountRoutes: a route's `target` loader gives the target, else the caller's project and user. */
  routes: PolicyEnforcer;
}

export function cinderPolicy(enforcer: Enforcer): CinderPolicy {
  /** Cinder's credentials: oslo's policy values plus is_admin (context_is_admin: role:admin). */
  const credsOf = (creds: Record<string, unknown>) => ({ ...creds, is_admin: Array.isArray(creds.roles) && (creds.roles as string[]).includes('admin') });
  const enforce = (rule: string, target: Record<string, unknown>, creds: Record<string, unknown>) => {
    try {
      enforcer.enforce(rule, target, credsOf(creds));
    } catch (err) {
      if (err instanceof ForbiddenError) throw PolicyNotAuthorized(rule);
      throw err;
    }
  };
  const defaultTarget = (ctx: RequestContext) => ({ project_id: ctx.projectId ?? null, user_id: ctx.userId ?? null });
  return {
    authz: {
      enforce: (rule, ctx, target) => enforce(rule, target ?? defaultTarget(ctx), policyCredentials(ctx)),
      check: (rule, ctx, target) => {
        try {
          enforce(rule, target ?? defaultTarget(ctx), policyCredentials(ctx));
          return true;
        } catch {
          return false;
        }
      },
    },
    routes: { enforce: (name, target, creds) => enforce(name, (target.target as Record<string, unknown> | undefined) ?? { project_id: creds.project_id ?? null, user_id: creds.user_id ?? null }, creds) },
  };
}
