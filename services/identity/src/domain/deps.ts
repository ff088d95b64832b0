// What identity's domain services are built from; assembled once in plugin.ts.
import type { Kysely } from 'kysely';
import type { Clock, RequestContext } from '@alto/kernel';
import type { Logger } from '@alto/runtime';
import type { IdentityDB } from '../store/schema.js';
import type { Notifier, Initiator } from './notifications.js';

/** Tells every cache of derived identity data (token validations, catalogs) that it is stale. */
export interface Invalidator {
  readonly generation: number;
  /** Local bump plus a broadcast to the other replicas. */
  invalidate(reason: string): void;
}

export interface CoreDeps {
  db: Kysely<IdentityDB>;
  clock: Clock;
  log: Logger;
  notifier: Notifier;
  invalidator: Invalidator;
  /** `[identity] default_domain_id`. */
  defaultDomainId: string;
}

/** The caller, for audit notifications and for defaults taken from its token. */
export interface Caller {
  ctx: RequestContext;
  initiator: Initiator;
}

export function initiatorFromContext(ctx: RequestContext, extra: { address?: string; agent?: string } = {}): Initiator {
  return { userId: ctx.userId, userName: ctx.userName, projectId: ctx.projectId, domainId: ctx.domainId, requestId: ctx.requestId, ...extra };
}
