// Runs the bus conformance suite on RabbitMQ (ALTO_TEST_AMQP_URL), including a broker-side connection drop, plus the AMQP wire format.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { systemClock } from '@alto/kernel';
import { memoryLogger, runBusConformance } from './conformance.js';
import { createBus } from './create-bus.js';
import { parseTransportUrl } from './transport-url.js';

const run = promisify(execFile);
const raw = process.env.ALTO_TEST_AMQP_URL;
const required = process.env.ALTO_TEST_REQUIRE_AMQP === '1';
// scripts/services/rabbitmq.sh prints AMQP_URL=amqp://...; oslo spells the RabbitMQ driver rabbit://
const url = raw?.replace(/^amqp:\/\//, 'rabbit://');
// the wrapper rabbitmq.sh writes; ALTO_TEST_RABBITMQCTL can name another (e.g. one that runs kubectl exec)
const ctl = process.env.ALTO_TEST_RABBITMQCTL ?? `${process.env.ALTO_SVC_ROOT ?? '/tmp/alto-svc'}/rabbitmq/rabbitmqctl`;

if (!url) {
  test('bus conformance: rabbit', { skip: required ? false : 'ALTO_TEST_AMQP_URL is not set (start one with scripts/services/rabbitmq.sh start)' }, () => {
    assert.fail('ALTO_TEST_REQUIRE_AMQP=1 but ALTO_TEST_AMQP_URL is not set');
  });
} else {
  if (required && !existsSync(ctl)) {
    test('rabbitmqctl for the connection-drop test', () => assert.fail(`${ctl} not found; set ALTO_TEST_RABBITMQCTL`));
  }

  /** Closes, from the broker side, the connections whose connection_name is one of names. */
  const dropConnections = async (names: readonly string[]): Promise<void> => {
    const { stdout } = await run(ctl, ['-q', 'list_connections', '--no-table-headers', 'pid', 'client_properties']);
    const pids = stdout
      .split('\n')
      .filter((line) => names.some((n) => line.includes(`{"connection_name","${n}"}`)))
      .map((line) => line.split('\t')[0] ?? '');
    assert.equal(pids.length, names.length, `expected ${names.length} connections, found ${pids.length}`);
    await Promise.all(pids.map((pid) => run(ctl, ['-q', 'close_connection', pid, 'conformance test drops the connection'])));
  };

  runBusConformance('rabbit', {
    makeBus: ({ logger, ...options }) =>
      createBus({ ...options, transportUrl: url, controlExchange: 'alto-conformance' }, { logger, clock: systemClock }),
    dropConnections: existsSync(ctl) ? dropConnections : undefined,
  });

  test('rabbit: the wire carries oslo.messaging topology and envelope', async () => {
    const logger = memoryLogger();
    const exchange = `alto-wire-${Date.now()}`;
    const bus = await createBus({ transportUrl: url, controlExchange: exchange, notifications: { topics: ['wire-notif'] } }, { logger, clock: systemClock });
    const host = parseTransportUrl(url).hosts[0];
    const conn = await connect({
      protocol: 'amqp',
      hostname: host?.hostname,
      port: host?.port,
      username: host?.username,
      password: host?.password,
      vhost: parseTransportUrl(url).virtualHost,
    });
    try {
      const ch = await conn.createChannel();
      // a raw consumer on oslo's queue names sees oslo's envelope
      await bus.serve({ topic: 'wire', server: 'h1' }, { ping: () => 'pong' });
      await ch.checkExchange(exchange);
      await ch.checkExchange('wire_fanout');
      for (const q of ['wire', 'wire.h1']) await ch.checkQueue(q);
      const sniff = (await ch.assertQueue('', { exclusive: true })).queue;
      await ch.bindQueue(sniff, exchange, 'wire');
      await ch.bindQueue(sniff, exchange, 'wire-notif.warn');
      assert.equal(await bus.call({ topic: 'wire' }, 'ping', { a: 1 }, { requestId: 'req-wire' }), 'pong');
      await bus.notify({ publisherId: 'p.h1', eventType: 'x.y', priority: 'WARN', payload: { k: 'v' } });
      const got: Record<string, unknown>[] = [];
      await ch.consume(sniff, (m) => {
        if (!m) return;
        assert.equal(m.properties.contentType, 'application/json');
        const outer = JSON.parse(m.content.toString()) as Record<string, unknown>;
        assert.equal(outer['oslo.version'], '2.0');
        got.push(JSON.parse(outer['oslo.message'] as string) as Record<string, unknown>);
      }, { noAck: true });
      const end = Date.now() + 5000;
      while (got.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      const rpc = got.find((m) => m.method === 'ping');
      assert.ok(rpc, 'no RPC message seen');
      assert.deepEqual(rpc.args, { a: 1 });
      assert.equal(rpc._context_request_id, 'req-wire');
      assert.match(String(rpc._reply_q), /^reply_[0-9a-f]{32}$/);
      assert.match(String(rpc._msg_id), /^[0-9a-f]{32}$/);
      assert.match(String(rpc._unique_id), /^[0-9a-f]{32}$/);
      const notif = got.find((m) => m.event_type === 'x.y');
      assert.ok(notif, 'no notification seen');
      assert.equal(notif.priority, 'WARN');
      assert.equal(notif.publisher_id, 'p.h1');
      assert.deepEqual(notif.payload, { k: 'v' });
      // the notifier declared the default pool's queue, as oslo does
      await ch.checkQueue('wire-notif.warn');
      await ch.deleteQueue('wire-notif.warn');
      await ch.deleteQueue('wire');
      await ch.deleteQueue('wire.h1');
      await ch.deleteExchange(exchange);
    } finally {
      await bus.close();
      await conn.close();
    }
  });

  test('rabbit: with several brokers listed, a dead one is skipped', async () => {
    const logger = memoryLogger();
    const good = parseTransportUrl(url);
    const h = good.hosts[0];
    assert.ok(h);
    const creds = `${encodeURIComponent(h.username ?? 'guest')}:${encodeURIComponent(h.password ?? 'guest')}`;
    const vhost = encodeURIComponent(good.virtualHost ?? '');
    const bus = await createBus({ transportUrl: `rabbit://${creds}@127.0.0.1:1,${creds}@${h.hostname}:${h.port ?? 5672}/${vhost}` }, { logger, clock: systemClock });
    try {
      assert.ok((await bus.ping({ timeoutMs: 2000 })) > 0);
    } finally {
      await bus.close();
    }
  });

  test('rabbit: an unreachable broker fails createBus with bus.unavailable, naming every host tried', async () => {
    const logger = memoryLogger();
    await assert.rejects(
      createBus({ transportUrl: 'rabbit://u:secret@127.0.0.1:1,127.0.0.1:2/' }, { logger, clock: systemClock }),
      (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'bus.unavailable');
        const m = (e as Error).message;
        assert.match(m, /127\.0\.0\.1:1.*127\.0\.0\.1:2/);
        assert.doesNotMatch(m, /secret/);
        return true;
      },
    );
  });

  test('rabbit: a queue declared with other durability is reported by serve', async () => {
    const logger = memoryLogger();
    const topic = `dur-${Date.now()}`;
    const a = await createBus({ transportUrl: url, controlExchange: `alto-dur-${Date.now()}` }, { logger, clock: systemClock });
    const b = await createBus({ transportUrl: url, controlExchange: `alto-dur2-${Date.now()}`, rabbit: { amqpDurableQueues: true } }, { logger, clock: systemClock });
    try {
      await a.serve({ topic, server: 's1' }, {});
      await assert.rejects(b.serve({ topic, server: 's2' }, {}), (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'bus.broker_error');
        assert.match((e as Error).message, /PRECONDITION_FAILED/);
        return true;
      });
      // the bus stays usable
      assert.ok((await b.ping({ timeoutMs: 2000 })) > 0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
}
