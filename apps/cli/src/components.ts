// Builds runnable components from config: the one place that picks implementations (database
// engine, bus transport) and wires dependencies.
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { InProcessBroker} from '@alto/bus';
import { createBus, type Bus } from '@alto/bus';
import { openDatabase, type Database } from '@alto/db';
import { systemClock } from '@alto/kernel';
import { createLogger, createMetricsRegistry, httpServerRunnable, Manager, registerHealthRoutes, type Logger } from '@alto/runtime';
import { createIdentity, type Identity, type IdentityDB } from '@alto/identity';
import type { AltoConfig } from './config.js';

/** The components `alto serve` can run; `alto up` runs them all in one process. */
export const COMPONENTS = ['identity-api'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

export function makeLogger(config: AltoConfig, name: string): Logger {
  return createLogger({ level: config.log.level, format: config.log.format, name });
}

export async function openBus(config: AltoConfig, log: Logger, broker?: InProcessBroker): Promise<Bus> {
  return createBus(
    {
      transportUrl: config.bus.transport_url,
      controlExchange: config.bus.control_exchange,
      rpcResponseTimeout: config.bus.rpc_response_timeout,
      connectionName: `${hostname()}:${process.pid}`,
      rabbit: { amqpDurableQueues: config.bus.amqp_durable_queues, heartbeatTimeoutThreshold: config.bus.heartbeat_timeout_threshold },
      notifications: { topics: config.bus.notification_topics },
    },
    { logger: log.child({ component: 'bus' }), clock: systemClock, broker },
  );
}

export function openIdentityDatabase(config: AltoConfig): Database<IdentityDB> {
  return openDatabase<IdentityDB>(config.identity.database);
}

export interface RunningIdentity {
  identity: Identity;
  database: Database<IdentityDB>;
  app: FastifyInstance;
}

/**
 * Adds identity-api to a manager: its database, its domain services and sync, and its HTTP
 * listener with /healthz, /readyz and /metrics.
 */
export async function addIdentityApi(manager: Manager, config: AltoConfig, bus: Bus, log: Logger): Promise<RunningIdentity> {
  const database = openIdentityDatabase(config);
  manager.add({ name: 'identity-database', start: async () => {}, stop: () => database.close() });
  const metrics = createMetricsRegistry('identity-api');
  const identity = await createIdentity({
    config: config.identity,
    database,
    bus,
    clock: systemClock,
    log,
    metrics,
    validateResponses: process.env.ALTO_VALIDATE_RESPONSES === '1',
  });
  for (const c of identity.checks) manager.addCheck(c);
  registerHealthRoutes(identity.app, { manager, metrics });
  manager.add(identity.runnable);
  manager.add(httpServerRunnable('identity-api', identity.app, { host: config.identity.api.host, port: config.identity.api.port }));
  return { identity, database, app: identity.app };
}

export { Manager };
