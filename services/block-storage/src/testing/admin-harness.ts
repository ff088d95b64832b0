// The quota, limits, os-services, availability zone, message and pool routes over SQLite, a
// manual clock and Cinder's default policies, mounted the way plugin.ts mounts routes (project
// prefix, Nova-style validation, Cinder's faults): what their HTTP tests share.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { migrateToLatest, openDatabase, type Database } from '@alto/db';
import { createBus, type Bus } from '@alto/bus';
import { ForbiddenError, UnauthorizedError, manualClock, policyCredentials, type ManualClock, type RequestContext } from '@alto/kernel';
import { computeRenderer, createAuthenticator, createHttpServer, createValidators, mountRoutes, registerMicroversions, type AuthContext, type TokenValidator } from '@alto/http';
import { Enforcer } from '@alto/policy';
import { createLogger } from '@alto/runtime';
import { blockStoragePolicies } from '../policies.js';
import type { Authorizer, BlockStorageCoreDeps } from '../domain/deps.js';
import { PolicyNotAuthorized } from '../domain/errors.js';
import { QuotaEngine } from '../domain/quotas.js';
import { MessagesService } from '../domain/messages.service.js';
import { OsServicesService } from '../domain/os-services.service.js';
import { projectRoutes, type BlockStorageFrame } from '../api/common.js';
import { quotaRoutes } from '../api/quotas.js';
import { limitRoutes } from '../api/limits.js';
import { serviceRoutes } from '../api/services.js';
import { availabilityZoneRoutes } from '../api/availability-zones.js';
import { messageRoutes } from '../api/messages.js';
import { schedulerStatsRoutes } from '../api/scheduler-stats.js';
import { blockStorageMigrations } from '../store/migrations/index.js';
import type { BlockStorageDB, ServiceTable } from '../store/schema.js';
import type { BlockStorageServices } from '../services.js';

export const ADMIN_PROJECT = 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0';
export const OWNER_PROJECT = 'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1';
export const OTHER_PROJECT = 'c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2';
/** 2026-11-21T10:00:00Z */
export const START_MS = Date.UTC(2026, 10, 21, 10, 0, 0);

const PERSONAS: Record<string, { userId: string; projectId: string; roles: string[] }> = {
  '<admin>': { userId: 'u-admin', projectId: ADMIN_PROJECT, roles: ['admin', 'member', 'reader'] },
  '<member>': { userId: 'u-member', projectId: OWNER_PROJECT, roles: ['member', 'reader'] },
  '<reader>': { userId: 'u-reader', projectId: OWNER_PROJECT, roles: ['reader'] },
  '<other>': { userId: 'u-other', projectId: OTHER_PROJECT, roles: ['member', 'reader'] },
};

const validator: TokenValidator = {
  validate: async (token): Promise<AuthContext> => {
    const p = PERSONAS[token];
    if (!p) throw new UnauthorizedError('The request you have made requires authentication.', 'auth.invalid_token');
    return { userId: p.userId, userDomainId: 'default', projectId: p.projectId, projectDomainId: 'default', roles: p.roles, isAdminProject: p.roles.includes('admin'), serviceRoles: [] };
  },
};

/** A request context of a persona, for calling the services directly. */
export function contextOf(persona: string): RequestContext {
  const p = PERSONAS[persona]!;
  return { requestId: 'req-test', userId: p.userId, projectId: p.projectId, roles: p.roles, isAdminProject: p.roles.includes('admin'), serviceRoles: [] };
}

export interface AdminHarness {
  app: FastifyInstance;
  database: Database<BlockStorageDB>;
  core: BlockStorageCoreDeps;
  clock: ManualClock;
  quotas: QuotaEngine;
  messages: MessagesService;
  osServices: OsServicesService;
  call(as: string, method: string, url: string, body?: unknown, version?: string): Promise<LightMyRequestResponse>;
  /** Adds a service row (a worker's report) heard from now, unless told otherwise. */
  service(over: Partial<ServiceTable> & { host: string }): Promise<string>;
  /** Sets a project's usage of a resource. */
  usage(projectId: string, resource: string, inUse: number, reserved?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startAdminHarness(opts: { maxLimit?: number } = {}): Promise<AdminHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'alto-bs-admin-'));
  const database = openDatabase<BlockStorageDB>({ connection: `sqlite:///${join(dir, 'bs.db')}`, sqlite_synchronous: 'normal' });
  await migrateToLatest(database, blockStorageMigrations);
  const clock = manualClock(START_MS);
  const log = createLogger({ level: process.env.ALTO_TEST_LOG ?? 'silent' });
  const bus: Bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock });

  const enforcer = new Enforcer(blockStoragePolicies, { enforceScope: true, enforceNewDefaults: true });
  const enforce = (rule: string, target: Record<string, unknown>, creds: Record<string, unknown>) => {
    try {
      enforcer.enforce(rule, target, { ...creds, is_admin: Array.isArray(creds.roles) && (creds.roles as string[]).includes('admin') });
    } catch (err) {
      if (err instanceof ForbiddenError) throw PolicyNotAuthorized(rule);
      throw err;
    }
  };
  const defaultTarget = (ctx: RequestContext) => ({ project_id: ctx.projectId ?? null, user_id: ctx.userId ?? null });
  const authz: Authorizer = {
    enforce: (rule, ctx, target) => enforce(rule, target ?? defaultTarget(ctx), policyCredentials(ctx)),
    check: (rule, ctx, target) => {
      try {
        enforce(rule, target ?? defaultTarget(ctx), policyCredentials(ctx));
        return true;
      } catch {
        return false;
      }
    },
  };
  const maxLimit = opts.maxLimit ?? 1000;
  const core: BlockStorageCoreDeps = {
    db: database.db,
    bus,
    clock,
    log,
    authz,
    config: {
      osapiMaxLimit: maxLimit,
      defaultVolumeType: '__DEFAULT__',
      storageAvailabilityZone: 'nova',
      quotaDefaults: { volumes: 10, snapshots: 10, gigabytes: 1000, backups: 10, backup_gigabytes: 1000, groups: 10, per_volume_gigabytes: -1 },
      messageTtlSeconds: 2592000,
      serviceDownSeconds: 60,
    },
  };
  const quotas = new QuotaEngine({ db: database.db, defaults: core.config.quotaDefaults, nowMs: () => clock.nowMs() });
  const messages = new MessagesService(core);
  const osServices = new OsServicesService(core);
  // only what these routes read: the volume services are not built here
  const services = { quotas, authz, messages, osServices } as unknown as BlockStorageServices & { messages: MessagesService; osServices: OsServicesService };
  const frame: BlockStorageFrame & { services: typeof services } = { services, maxLimit, publicEndpoint: 'http://cinder.test:8776' };

  const app = createHttpServer({
    logger: log,
    bodyLimit: 114688,
    renderer: computeRenderer({
      retryAfter: '0',
      messages: {
        'http.route_not_found': 'The resource could not be found.',
        'http.microversion_out_of_range': 'The resource could not be found.',
        'http.missing_body': 'The server could not comply with the request since it is either malformed or otherwise incorrect.',
      },
    }),
  });
  registerMicroversions(app, { serviceType: 'volume', min: '3.0', max: '3.70' });
  const routes = [
    ...quotaRoutes(frame),
    ...limitRoutes(frame),
    ...serviceRoutes(frame),
    ...availabilityZoneRoutes(frame),
    ...messageRoutes(frame),
    ...schedulerStatsRoutes(frame),
  ];
  mountRoutes(app, projectRoutes(routes), {
    enforcer: { enforce: (name, target, creds) => enforce(name, (target.target as Record<string, unknown> | undefined) ?? { project_id: creds.project_id ?? null, user_id: creds.user_id ?? null }, creds) },
    authenticator: createAuthenticator({ validator, clock }),
    validators: createValidators(),
    validationStyle: 'nova',
    validateResponses: true,
  });
  await app.ready();

  return {
    app,
    database,
    core,
    clock,
    quotas,
    messages,
    osServices,
    call: (as, method, url, body, version) =>
      app.inject({
        method: method as 'GET',
        url,
        headers: {
          'x-auth-token': as,
          accept: '*/*',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(version ? { 'openstack-api-version': `volume ${version}` } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      }),
    service: async (over) => {
      const id = over.id ?? `svc-${over.host}-${over.binary ?? 'cinder-volume'}`;
      await database.db
        .insertInto('service')
        .values({
          id,
          binary: 'cinder-volume',
          topic: 'cinder-volume',
          availability_zone: 'nova',
          disabled: 0,
          disabled_reason: null,
          frozen: 0,
          capabilities: null,
          created_at: clock.nowMs(),
          updated_at: clock.nowMs(),
          ...over,
        })
        .execute();
      return id;
    },
    usage: async (projectId, resource, inUse, reserved = 0) => {
      await database.db.deleteFrom('quota_usage').where('project_id', '=', projectId).where('resource', '=', resource).execute();
      await database.db.insertInto('quota_usage').values({ project_id: projectId, resource, in_use: inUse, reserved, updated_at: clock.nowMs() }).execute();
    },
    close: async () => {
      await app.close();
      await bus.close();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One recorded upstream exchange (fixtures/upstream/<area>.json). */
export interface Exchange {
  name: string;
  note?: string;
  request: { method: string; path: string; headers: Record<string, string>; body: unknown };
  response: { status: number; headers: Record<string, string>; body: unknown };
}

export function fixture(name: string): Exchange[] {
  return JSON.parse(readFileSync(new URL(`../../fixtures/upstream/${name}`, import.meta.url), 'utf8')) as Exchange[];
}

/** Replaces the recording's placeholders (`<project:quota>`, `<cinder>` ...) everywhere in a value. */
export function substitute<T>(v: T, map: Record<string, string>): T {
  const text = JSON.stringify(v).replace(/<[a-z-]+(?::[A-Za-z0-9_-]+)?>/g, (p) => map[p] ?? p);
  return JSON.parse(text) as T;
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;

/** Our answer in the recording's terms: Cinder's timestamps read `<timestamp>`. */
export function scrubTimes(v: unknown): unknown {
  if (typeof v === 'string') return TIME.test(v) ? '<timestamp>' : v;
  if (Array.isArray(v)) return v.map(scrubTimes);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubTimes(x)]));
  return v;
}
