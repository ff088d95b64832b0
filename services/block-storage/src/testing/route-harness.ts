// What the block storage route tests share: the personas and their tokens, a migrated SQLite
// store with the in-process bus, plugin.ts's policy wiring, core deps with cinder.conf's defaults,
// routes mounted as plugin.ts mounts them (project prefix, Nova-style validation, Cinder's
// faults), a call helper and the fault's message.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { migrateToLatest, openDatabase, type Database } from '@alto/db';
import { createBus, type Bus } from '@alto/bus';
import { UnauthorizedError, type Clock, type RequestContext } from '@alto/kernel';
import { createAuthenticator, createValidators, mountRoutes, type AnyRoute, type AuthContext, type PolicyEnforcer, type TokenValidator } from '@alto/http';
import { cinderHttpServer } from '../plugin.js';
import { Enforcer } from '@alto/policy';
import { createLogger, type Logger } from '@alto/runtime';
import { blockStoragePolicies } from '../policies.js';
import type { Authorizer, BlockStorageCoreDeps } from '../domain/deps.js';
import { cinderPolicy, type CinderPolicy } from '../cinder-policy.js';
import { projectRoutes } from '../api/common.js';
import { blockStorageMigrations } from '../store/migrations/index.js';
import type { BlockStorageDB } from '../store/schema.js';

export const ADMIN_PROJECT = 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0';
export const OWNER_PROJECT = 'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1';
export const OTHER_PROJECT = 'c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2';

/** The tokens the tests present: each one is a persona. */
const PERSONAS: Record<string, { userId: string; projectId: string; roles: string[] }> = {
  '<admin>': { userId: 'u-admin', projectId: ADMIN_PROJECT, roles: ['admin', 'member', 'reader'] },
  '<member>': { userId: 'u-member', projectId: OWNER_PROJECT, roles: ['member', 'reader'] },
  '<reader>': { userId: 'u-reader', projectId: OWNER_PROJECT, roles: ['reader'] },
  '<other>': { userId: 'u-other', projectId: OTHER_PROJECT, roles: ['member', 'reader'] },
};

/** Keystone in the tests: a persona's name is its token. */
export const personaValidator: TokenValidator = {
  validate: async (token): Promise<AuthContext> => {
    const p = PERSONAS[token];
    if (!p) throw new UnauthorizedError('The request you have made requires authentication.', 'auth.invalid_token');
    return { userId: p.userId, userDomainId: 'default', projectId: p.projectId, projectDomainId: 'default', roles: p.roles, isAdminProject: p.roles.includes('admin'), serviceRoles: [] };
  },
};

/** A request context of a persona, for calling the services directly. */
export function contextOf(persona: string, service = false): RequestContext {
  const p = PERSONAS[persona]!;
  return { requestId: 'req-test', userId: p.userId, projectId: p.projectId, roles: p.roles, isAdminProject: p.roles.includes('admin'), serviceRoles: service ? ['service'] : [] };
}

/** The fault's message, whatever its envelope (badRequest, itemNotFound, overLimit...). */
export function faultMessage(r: { json(): unknown }): string {
  return (Object.values(r.json() as Record<string, { message: string }>)[0]!).message;
}

export type Call = (as: string, method: string, url: string, body?: unknown, version?: string) => Promise<LightMyRequestResponse>;

/** Requests as a persona (its token), with a JSON body and a volume microversion when given. */
export function caller(app: FastifyInstance): Call {
  return (as, method, url, body, version) =>
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
    });
}

export interface TestStore {
  dir: string;
  database: Database<BlockStorageDB>;
  bus: Bus;
  log: Logger;
  /** Closes the bus and the database and removes the directory (close the app first). */
  close(): Promise<void>;
}

/** A fresh directory with a migrated SQLite database and the in-process bus. */
export async function openTestStore(prefix: string, clock: Clock): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const database = openDatabase<BlockStorageDB>({ connection: `sqlite:///${join(dir, 'bs.db')}`, sqlite_synchronous: 'normal' });
  await migrateToLatest(database, blockStorageMigrations);
  const log = createLogger({ level: process.env.ALTO_TEST_LOG ?? 'silent' });
  const bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock });
  return {
    dir,
    database,
    bus,
    log,
    close: async () => {
      await bus.close();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** plugin.ts's policy wiring over Cinder's default policies, scope and new defaults enforced. */
export function testPolicy(): CinderPolicy {
  return cinderPolicy(new Enforcer(blockStoragePolicies, { enforceScope: true, enforceNewDefaults: true }));
}

/** Core deps over a test store with cinder.conf's defaults (ten of everything, 1000 GB). */
export function testCore(store: Pick<TestStore, 'database' | 'bus' | 'log'>, clock: Clock, authz: Authorizer, config: Partial<BlockStorageCoreDeps['config']> = {}): BlockStorageCoreDeps {
  return {
    db: store.database.db,
    bus: store.bus,
    clock,
    log: store.log,
    authz,
    config: {
      osapiMaxLimit: 1000,
      defaultVolumeType: '__DEFAULT__',
      storageAvailabilityZone: 'nova',
      quotaDefaults: { volumes: 10, snapshots: 10, gigabytes: 1000, backups: 10, backup_gigabytes: 1000, groups: 10, per_volume_gigabytes: -1 },
      messageTtlSeconds: 2592000,
      serviceDownSeconds: 60,
      ...config,
    },
  };
}

/** These routes alone in an HTTP server, mounted as plugin.ts mounts its routes; ready. */
export async function mountForTest(routes: AnyRoute[], opts: { log: Logger; clock: Clock; enforcer: PolicyEnforcer; validateResponses?: boolean }): Promise<FastifyInstance> {
  const { log, clock, enforcer } = opts;
  const app = cinderHttpServer({ log, bodyLimit: 114688, wwwAuthenticateUri: 'http://keystone.test:5000' });
  mountRoutes(app, projectRoutes(routes), {
    enforcer,
    authenticator: createAuthenticator({ validator: personaValidator, clock }),
    validators: createValidators(),
    validationStyle: 'nova',
    validateResponses: opts.validateResponses ?? true,
  });
  await app.ready();
  return app;
}

/** The id of the __DEFAULT__ volume type migration 0001 creates. */
export async function defaultTypeId(database: Database<BlockStorageDB>): Promise<string> {
  return (await database.db.selectFrom('volume_type').select('id').where('name', '=', '__DEFAULT__').executeTakeFirstOrThrow()).id;
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;

/** Our answer in a recording's terms: Cinder's timestamps read `<timestamp>`. */
export function scrubTimes(v: unknown): unknown {
  if (typeof v === 'string') return TIME.test(v) ? '<timestamp>' : v;
  if (Array.isArray(v)) return v.map(scrubTimes);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubTimes(x)]));
  return v;
}
