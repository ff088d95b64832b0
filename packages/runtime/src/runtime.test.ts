// Manager ordering and readiness, health routes, and that the logger never prints secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { ConflictError } from '@alto/kernel';
import { createLogger } from './logger.js';
import { httpServerRunnable } from './http-runnable.js';
import { Manager } from './runnable.js';
import { createMetricsRegistry, instrumentHttp, registerHealthRoutes } from './health.js';

function sink(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c.toString());
      cb();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

test('runnables start in order and stop in reverse, once', async () => {
  const events: string[] = [];
  const m = new Manager(createLogger({ level: 'silent' }));
  for (const name of ['db', 'bus', 'api']) {
    m.add({ name, start: async () => void events.push(`start ${name}`), stop: async () => void events.push(`stop ${name}`) });
  }
  await m.start();
  await Promise.all([m.stop(), m.stop()]);
  assert.deepEqual(events, ['start db', 'start bus', 'start api', 'stop api', 'stop bus', 'stop db']);
});

test('readiness reports each check, its time and why it failed', async () => {
  const m = new Manager(createLogger({ level: 'silent' }));
  m.addCheck({ name: 'database', check: async () => 'sqlite' });
  m.addCheck({
    name: 'bus',
    check: async () => {
      throw new Error('connection refused');
    },
  });
  m.addCheck({ name: 'slow', check: () => new Promise(() => {}) });
  const r = await m.readiness(50);
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.checks.map((c) => [c.name, c.ok, c.detail]),
    [
      ['database', true, 'sqlite'],
      ['bus', false, 'connection refused'],
      ['slow', false, 'no answer within 50 ms'],
    ],
  );
});

test('health routes: /healthz 200, /readyz 503 when a check fails, /metrics counts API requests only', async () => {
  const app = Fastify();
  const m = new Manager(createLogger({ level: 'silent' }));
  let healthy = true;
  m.addCheck({
    name: 'database',
    check: async () => {
      if (!healthy) throw new Error('down');
    },
  });
  const registry = createMetricsRegistry('test-api');
  instrumentHttp(app, registry);
  registerHealthRoutes(app, { manager: m, metrics: registry });
  app.get('/v3/things', async () => ({ things: [] }));
  assert.equal((await app.inject('/healthz')).statusCode, 200);
  assert.equal((await app.inject('/readyz')).statusCode, 200);
  healthy = false;
  const r = await app.inject('/readyz');
  assert.equal(r.statusCode, 503);
  assert.equal(r.json().checks[0].detail, 'down');
  await app.inject('/v3/things');
  const metrics = (await app.inject('/metrics')).body;
  assert.match(metrics, /alto_http_requests_total\{method="GET",route="\/v3\/things",status="200",component="test-api"\} 1/);
  assert.doesNotMatch(metrics, /route="\/readyz"/);
  await app.close();
});

test('the logger masks passwords and tokens wherever they appear', () => {
  const s = sink();
  const log = createLogger({ destination: s.stream });
  log.info({ auth: { identity: { password: { user: { name: 'admin', password: 's3cret-pw' } } } } }, 'auth');
  log.info({ password: 'top-secret', user: { password: 'nested-secret' } }, 'user');
  log.info({ req: { headers: { 'x-auth-token': 'gAAAAtoken' } } }, 'req');
  const all = s.lines().join('\n');
  for (const secret of ['s3cret-pw', 'top-secret', 'nested-secret', 'gAAAAtoken']) assert.ok(!all.includes(secret), `${secret} leaked: ${all}`);
  assert.equal(JSON.parse(s.lines()[0]!).level, 'info');
});

test('text format is one readable line per record', () => {
  const s = sink();
  createLogger({ destination: s.stream, format: 'text', name: 'identity-api' }).info({ port: 5000 }, 'listening');
  assert.match(s.lines()[0]!, /^\d\d:\d\d:\d\d info {2}\[identity-api\] listening port=5000$/);
});

test('a port in use stops the listener with what to do, naming the setting that moves it', async () => {
  const first = Fastify();
  await first.listen({ host: '127.0.0.1', port: 0 });
  const port = (first.server.address() as { port: number }).port;
  try {
    const second = httpServerRunnable('image-api', Fastify(), { host: '127.0.0.1', port, setting: 'image.api.port' });
    await assert.rejects(second.start(), (err: unknown) => {
      assert.ok(err instanceof ConflictError);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}: the port is in use`));
      assert.match(err.message, /image\.api\.port in the config file, or ALTO_IMAGE__API__PORT=<port>/);
      return true;
    });
  } finally {
    await first.close();
  }
});
