// The quota, limits, os-services, availability zone, message and pool routes over SQLite, a
// manual clock and Cinder's default policies, mounted the way plugin.ts mounts routes (project
// prefix, Nova-style validation, Cinder's faults): what their HTTP tests share.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Database } from '@alto/db';
import { manualClock, type ManualClock } from '@alto/kernel';
import type { BlockStorageCoreDeps } from '../domain/deps.js';
import { QuotaEngine } from '../domain/quotas.js';
import { MessagesService } from '../domain/messages.service.js';
import { OsServicesService } from '../domain/os-services.service.js';
import type { BlockStorageFrame } from '../api/common.js';
import { quotaRoutes } from '../api/quotas.js';
import { limitRoutes } from '../api/limits.js';
import { serviceRoutes } from '../api/services.js';
import { availabilityZoneRoutes } from '../api/availability-zones.js';
import { messageRoutes } from '../api/messages.js';
import { schedulerStatsRoutes } from '../api/scheduler-stats.js';
import type { BlockStorageDB, ServiceTable } from '../store/schema.js';
import type { BlockStorageServices } from '../services.js';
import { caller, mountForTest, openTestStore, testCore, testPolicy, type Call } from './route-harness.js';

export { ADMIN_PROJECT, OWNER_PROJECT, OTHER_PROJECT, contextOf, faultMessage, scrubTimes } from './route-harness.js';
/** 2026-11-21T10:00:00Z */
export const START_MS = Date.UTC(2026, 10, 21, 10, 0, 0);

export interface AdminHarness {
  app: FastifyInstance;
  database: Database<BlockStorageDB>;
  core: BlockStorageCoreDeps;
  clock: ManualClock;
  quotas: QuotaEngine;
  messages: MessagesService;
  osServices: OsServicesService;
  call: Call;
  /** Adds a service row (a worker's report) heard from now, unless told otherwise. */
  service(over: Partial<ServiceTable> & { host: string }): Promise<string>;
  /** Sets a project's usage of a resource. */
  usage(projectId: string, resource: string, inUse: number, reserved?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startAdminHarness(opts: { maxLimit?: number } = {}): Promise<AdminHarness> {
  const clock = manualClock(START_MS);
  const store = await openTestStore('alto-bs-admin-', clock);
  const { database } = store;
  const { authz, routes: enforcer } = testPolicy();
  const maxLimit = opts.maxLimit ?? 1000;
  const core = testCore(store, clock, authz, { osapiMaxLimit: maxLimit });
  const quotas = new QuotaEngine({ db: database.db, defaults: core.config.quotaDefaults, nowMs: () => clock.nowMs() });
  const messages = new MessagesService(core);
  const osServices = new OsServicesService(core);
  // only what these routes read: the volume services are not built here
  const services = { quotas, authz, messages, osServices } as unknown as BlockStorageServices & { messages: MessagesService; osServices: OsServicesService };
  const frame: BlockStorageFrame & { services: typeof services } = { services, maxLimit, publicEndpoint: 'http://cinder.test:8776' };
  const routes = [
    ...quotaRoutes(frame),
    ...limitRoutes(frame),
    ...serviceRoutes(frame),
    ...availabilityZoneRoutes(frame),
    ...messageRoutes(frame),
    ...schedulerStatsRoutes(frame),
  ];
  const app = await mountForTest(routes, { log: store.log, clock, enforcer });

  return {
    app,
    database,
    core,
    clock,
    quotas,
    messages,
    osServices,
    call: caller(app),
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
      await store.close();
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
