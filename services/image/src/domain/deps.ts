// What the image domain services are built from: database, clock, stores, limits and policy.
import type { Kysely } from 'kysely';
import type { Clock, RequestContext } from '@alto/kernel';
import type { Logger } from '@alto/runtime';
import type { ImageStoreDriver } from '../spi/store.js';
import type { ImageDB } from '../store/schema.js';
import type { Image } from './models.js';

/** The configured backends: where data goes unless a request names a store, and the staging area. */
export interface StoreSet {
  readonly defaultId: string;
  /** Every backend by id, in configuration order. */
  readonly byId: ReadonlyMap<string, ImageStoreDriver>;
  readonly staging: ImageStoreDriver;
  /** Whether the operator configured enabled_backends (Glance then shows `stores` and /v2/info/stores). */
  readonly multiStore: boolean;
  /** Descriptions shown by GET /v2/info/stores. */
  readonly descriptions: ReadonlyMap<string, string | undefined>;
}

/** Project limits in bytes or counts; undefined = no limit for that resource. */
export interface ProjectLimits {
  imageSizeTotal?: number | undefined;
  imageStageTotal?: number | undefined;
  imageCountTotal?: number | undefined;
  imageCountUploading?: number | undefined;
}

/** Where project limits come from (Keystone unified limits, or the legacy config options). */
export interface LimitSource {
  limitsOf(projectId: string): Promise<ProjectLimits>;
}

/** Policy decisions the domain needs beyond the route's own rule (publicize_image, ...). */
export interface Authorizer {
  /** Throws Forbidden (or ImageNotFound when the caller cannot even see the image). */
  enforce(rule: string, ctx: RequestContext, image: Image | Record<string, unknown>): void;
  check(rule: string, ctx: RequestContext, image: Image | Record<string, unknown>): boolean;
}

export interface ImageLimitsConfig {
  imageSizeCap: number;
  imageMemberQuota: number;
  imagePropertyQuota: number;
  imageTagQuota: number;
  diskFormats: string[];
  containerFormats: string[];
  enabledImportMethods: string[];
  uploadLeaseMs: number;
  requireImageFormatMatch: boolean;
}

export interface ImageCoreDeps {
  db: Kysely<ImageDB>;
  clock: Clock;
  log: Logger;
  stores: StoreSet;
  limits: LimitSource;
  authz: Authorizer;
  config: ImageLimitsConfig;
  /** This process, as the holder of upload leases. */
  instanceId: string;
  /** SQLite: no other process can hold a lease, so every foreign lease is stale at start. */
  embedded: boolean;
}
