// The image domain's dependencies for tests: a migrated scratch database on one engine, Glance's
// default policies in a real Enforcer (authorized as plugin.ts does), filesystem stores in a
// temporary directory, a manual clock and small quotas.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForbiddenError, manualClock, policyCredentials, type ManualClock, type RequestContext } from '@alto/kernel';
import { migrateToLatest, type Database, type Dialect } from '@alto/db';
import { scratchDatabase } from '@alto/db/testing';
import { Enforcer } from '@alto/policy';
import { createLogger } from '@alto/runtime';
import { imagePolicies } from '../policies.js';
import { CONTAINER_FORMATS, DISK_FORMATS } from '../config.js';
import { legacyLimits } from '../keystone-limits.js';
import { FilesystemStore } from '../drivers/filesystem-store.js';
import { imageMigrations } from '../store/migrations/index.js';
import type { ImageDB } from '../store/schema.js';
import type { Authorizer, ImageCoreDeps, ImageLimitsConfig } from '../domain/deps.js';
import { ImageNotFound } from '../domain/errors.js';
import { imageTarget } from '../domain/images.service.js';
import type { Image } from '../domain/models.js';

/** A token's context: a user with these roles on this project. */
export function projectContext(projectId: string, roles: string[]): RequestContext {
  return { requestId: 'req-test', projectId, userId: `u-${projectId}-${roles[0]}`, roles, serviceRoles: [], isAdminProject: false };
}

/** Glance's ImageAPIPolicy as plugin.ts builds it: a denial on an image the caller cannot get reads as 404. */
export function enforcerAuthorizer(enforcer: Enforcer): Authorizer {
  const targetOf = (c: RequestContext, t: Image | Record<string, unknown>) => ('createdAt' in t && 'locations' in t ? imageTarget(c, t as Image) : t);
  const allowed = (rule: string, c: RequestContext, target: Record<string, unknown>) => {
    try {
      enforcer.enforce(rule, target, policyCredentials(c));
      return true;
    } catch {
      return false;
    }
  };
  return {
    check: (rule, c, t) => allowed(rule, c, targetOf(c, t)),
    enforce: (rule, c, t) => {
      const target = targetOf(c, t);
      if (allowed(rule, c, target)) return;
      if (typeof target.image_id === 'string' && !allowed('get_image', c, target)) throw ImageNotFound(target.image_id);
      throw new ForbiddenError(`You are not authorized to complete ${rule} action.`, 'image.policy');
    },
  };
}

export interface TestCore {
  deps: ImageCoreDeps;
  database: Database<ImageDB>;
  clock: ManualClock;
  close(): Promise<void>;
}

export async function startTestCore(dialect: Dialect, opts: { startMs: number; config?: Partial<ImageLimitsConfig> }): Promise<TestCore> {
  const scratch = await scratchDatabase(dialect);
  const database = scratch.open<ImageDB>();
  const dir = mkdtempSync(join(tmpdir(), 'alto-img-core-'));
  const close = async () => {
    await database.close();
    await scratch.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await migrateToLatest(database, imageMigrations);
  } catch (err) {
    await close();
    throw err;
  }
  const clock = manualClock(opts.startMs);
  const deps: ImageCoreDeps = {
    db: database.db,
    clock,
    log: createLogger({ level: 'silent' }),
    stores: {
      defaultId: 'file1',
      byId: new Map([['file1', new FilesystemStore({ id: 'file1', datadir: join(dir, 'file1'), chunkSize: 65536 })]]),
      staging: new FilesystemStore({ id: 'staging', datadir: join(dir, 'staging'), chunkSize: 65536 }),
      multiStore: false,
      descriptions: new Map(),
    },
    limits: legacyLimits({}),
    authz: enforcerAuthorizer(new Enforcer(imagePolicies, { enforceScope: true, enforceNewDefaults: true })),
    config: {
      imageSizeCap: 1 << 30,
      imageMemberQuota: 128,
      imagePropertyQuota: 128,
      imageTagQuota: 128,
      diskFormats: DISK_FORMATS,
      containerFormats: CONTAINER_FORMATS,
      enabledImportMethods: ['glance-direct'],
      uploadLeaseMs: 60_000,
      requireImageFormatMatch: false,
      ...opts.config,
    },
    instanceId: 'test-instance',
    embedded: dialect === 'sqlite',
  };
  return { deps, database, clock, close };
}
