// What the block storage domain services are built from: database, bus, clock, policy, quotas.
import type { Bus } from '@alto/bus';
import type { Clock, RequestContext } from '@alto/kernel';
import type { Logger } from '@alto/runtime';
import type { Db } from '../store/volume.repo.js';

/** Cinder's context.authorize(): throws 403 "Policy doesn't allow <rule> to be performed." */
export interface Authorizer {
  enforce(rule: string, ctx: RequestContext, target?: Record<string, unknown>): void;
  /** The same decision without throwing (Cinder's fatal=False checks that shape responses). */
  check(rule: string, ctx: RequestContext, target?: Record<string, unknown>): boolean;
}

export interface BlockStorageCoreConfig {
  osapiMaxLimit: number;
  defaultVolumeType: string;
  storageAvailabilityZone: string;
  defaultAvailabilityZone?: string | undefined;
  /** Default quotas by resource (cinder.conf quota_*), before quota classes and project limits. */
  quotaDefaults: Record<string, number>;
  messageTtlSeconds: number;
  serviceDownSeconds: number;
}

export interface BlockStorageCoreDeps {
  db: Db;
  bus: Bus;
  clock: Clock;
  log: Logger;
  authz: Authorizer;
  config: BlockStorageCoreConfig;
}

/** Cinder's context.is_admin: the admin role in any scope (context_is_admin = role:admin). */
export const isAdmin = (ctx: RequestContext) => ctx.roles.includes('admin');

/** The target Cinder passes for an object: its fields, with project_id and user_id of the owner. */
export function ownerTarget(ctx: RequestContext, owner?: { project_id: string; user_id?: string | null }): Record<string, unknown> {
  if (!owner) return { project_id: ctx.projectId ?? null, user_id: ctx.userId ?? null };
  return { ...owner, project_id: owner.project_id, user_id: owner.user_id ?? null };
}
