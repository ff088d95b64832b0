// A real identity service for tests and benchmarks: a scratch database on the chosen engine, the
// in-process bus, a fresh key repository, bootstrap done, requests through fastify's inject().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Value from 'typebox/value';
import { Registry } from 'prom-client';
import type { LightMyRequestResponse } from 'fastify';
import { createBus, InProcessBroker, type Bus, type Notification } from '@alto/bus';
import { migrateToLatest, type Database, type Dialect } from '@alto/db';
import { scratchDatabase, type ScratchDatabase } from '@alto/db/testing';
import { systemClock, type Clock } from '@alto/kernel';
import { createLogger } from '@alto/runtime';
import { IdentitySection, type IdentityConfig } from '../config.js';
import { createIdentity, type Identity } from '../plugin.js';
import { identityMigrations } from '../store/migrations/index.js';
import type { IdentityDB } from '../store/schema.js';
import { setupKeyRepository } from '../crypto/key-repository.js';

export const ADMIN_PASSWORD = 'admin-pw-for-tests';

export interface Harness {
  identity: Identity;
  database: Database<IdentityDB>;
  bus: Bus;
  config: IdentityConfig;
  /** Notifications published so far (identity.* events). */
  notifications: Notification[];
  req(method: string, url: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string }): Promise<LightMyRequestResponse>;
  /** Password token; scope: {project: name} | {domain: name} | 'system' | undefined (unscoped). */
  token(username: string, password: string, scope?: { project: string } | { domain: string } | 'system'): Promise<string>;
  adminToken(): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  dialect?: Dialect;
  config?: Record<string, unknown>;
  clock?: Clock;
}

export async function startIdentity(opts: HarnessOptions = {}): Promise<Harness> {
  const scratch: ScratchDatabase = await scratchDatabase(opts.dialect ?? 'sqlite');
  const keys = mkdtempSync(join(tmpdir(), 'alto-keys-'));
  await setupKeyRepository(keys);
  const config = Value.Default(IdentitySection, {
    database: { connection: scratch.connection },
    fernet_tokens: { key_repository: keys },
    // cheap hashes: these tests are about behaviour, bench/ measures the real cost
    identity: { password_hash_rounds: 4 },
    ...opts.config,
  }) as IdentityConfig;
  const database = scratch.open<IdentityDB>();
  await migrateToLatest(database, identityMigrations);
  const log = createLogger({ level: process.env.ALTO_TEST_LOG ?? 'silent' });
  const clock = opts.clock ?? systemClock;
  const bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock, broker: new InProcessBroker({ logger: log }) });
  const notifications: Notification[] = [];
  const listener = await bus.listen(['notifications'], { pool: 'tests' }, (n) => {
    notifications.push(n);
  });
  const identity = await createIdentity({ config, database, bus, clock, log, metrics: new Registry(), validateResponses: true });
  await identity.runnable.start();
  await identity.bootstrap({
    adminUsername: 'admin',
    adminPassword: ADMIN_PASSWORD,
    adminProjectName: 'admin',
    serviceProjectName: 'service',
    regionId: 'RegionOne',
    serviceName: 'keystone',
    publicUrl: 'http://localhost:5000/v3/',
    internalUrl: 'http://localhost:5000/v3/',
    adminUrl: 'http://localhost:5000/v3/',
  });

  const req: Harness['req'] = (method, url, o = {}) =>
    identity.app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(o.token ? { 'x-auth-token': o.token } : {}),
        ...(o.body !== undefined || o.raw !== undefined ? { 'content-type': 'application/json' } : {}),
        ...o.headers,
      },
      ...(o.raw !== undefined ? { payload: o.raw } : o.body !== undefined ? { payload: JSON.stringify(o.body) } : {}),
    });

  const token: Harness['token'] = async (username, password, scope) => {
    const s =
      scope === 'system'
        ? { system: { all: true } }
        : scope && 'project' in scope
          ? { project: { name: scope.project, domain: { id: 'default' } } }
          : scope && 'domain' in scope
            ? { domain: { name: scope.domain } }
            : undefined;
    const r = await req('POST', '/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { name: username, domain: { id: 'default' }, password } } }, ...(s ? { scope: s } : {}) } },
    });
    if (r.statusCode !== 201) throw new Error(`token for ${username} failed: ${r.statusCode} ${r.body}`);
    return String(r.headers['x-subject-token']);
  };

  return {
    identity,
    database,
    bus,
    config,
    notifications,
    req,
    token,
    adminToken: () => token('admin', ADMIN_PASSWORD, { project: 'admin' }),
    async close() {
      await identity.runnable.stop();
      await listener.stop();
      await identity.app.close();
      await bus.close();
      await database.close();
      await scratch.drop();
      rmSync(keys, { recursive: true, force: true });
    },
  };
}

/** The global roles by name, as a lookup that fails loudly for a role that does not exist. */
export async function roleIdOf(h: Harness, token: string): Promise<(name: string) => string> {
  const roles = (await h.req('GET', '/v3/roles', { token })).json<{ roles: { id: string; name: string }[] }>().roles;
  return (name) => {
    const r = roles.find((x) => x.name === name);
    if (!r) throw new Error(`no role named ${name}`);
    return r.id;
  };
}

/** A demo project with a member, a reader and a user of another project, made through the API. */
export async function addPersonas(h: Harness): Promise<{ demoId: string; otherId: string; member: string; reader: string; outsider: string }> {
  const admin = await h.adminToken();
  const mk = async (url: string, body: unknown) => {
    const r = await h.req('POST', url, { token: admin, body });
    if (r.statusCode !== 201) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
    return r.json<Record<string, { id: string }>>();
  };
  const role = await roleIdOf(h, admin);
  const demoId = (await mk('/v3/projects', { project: { name: 'demo', domain_id: 'default' } })).project!.id;
  const otherId = (await mk('/v3/projects', { project: { name: 'other', domain_id: 'default' } })).project!.id;
  const users: Record<string, string> = {};
  for (const [name, project, r] of [
    ['demo-member', demoId, 'member'],
    ['demo-reader', demoId, 'reader'],
    ['other-member', otherId, 'member'],
  ] as const) {
    users[name] = (await mk('/v3/users', { user: { name, password: `${name}-pw`, domain_id: 'default' } })).user!.id;
    const g = await h.req('PUT', `/v3/projects/${project}/users/${users[name]}/roles/${role(r)}`, { token: admin });
    if (g.statusCode !== 204) throw new Error(`grant ${name}: ${g.statusCode} ${g.body}`);
  }
  return { demoId, otherId, member: users['demo-member']!, reader: users['demo-reader']!, outsider: users['other-member']! };
}
