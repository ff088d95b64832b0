// /healthz (alive), /readyz (dependencies answer for real) and /metrics (Prometheus) on a fastify app.
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, collectDefaultMetrics, Registry } from 'prom-client';
import type { Manager } from './runnable.js';

export function createMetricsRegistry(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface HealthOptions {
  manager: Manager;
  metrics: Registry;
}

export function registerHealthRoutes(app: FastifyInstance, opts: HealthOptions): void {
  // Probes must not need a token and must not be counted as API traffic.
  app.get('/healthz', { logLevel: 'warn', config: { health: true } }, async (_req, reply) => {
    return reply.header('cache-control', 'no-store').send({ status: 'ok' });
  });
  app.get('/readyz', { logLevel: 'warn', config: { health: true } }, async (_req, reply) => {
    const r = await opts.manager.readiness();
    return reply
      .code(r.ok ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: r.ok ? 'ok' : 'unavailable', checks: r.checks });
  });
  app.get('/metrics', { logLevel: 'warn', config: { health: true } }, async (_req, reply) => {
    return reply.header('content-type', opts.metrics.contentType).send(await opts.metrics.metrics());
  });
}

/** Request count and latency per route template and status. */
export function instrumentHttp(app: FastifyInstance, registry: Registry): void {
  const requests = new Counter({
    name: 'alto_http_requests_total',
    help: 'HTTP requests answered',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'alto_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    if ((req.routeOptions.config as { health?: boolean } | undefined)?.health) return;
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
}
