// Runs the bus conformance suite on the in-process transport (always), plus what only the embedded broker does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '@alto/kernel';
import { runBusConformance, memoryLogger } from './conformance.js';
import { createBus } from './create-bus.js';
import { InProcessBroker } from './in-process.js';

// one broker for the whole suite, as one process shares one in `alto up`
const broker = new InProcessBroker({ logger: memoryLogger() });

runBusConformance('inprocess', {
  makeBus: ({ logger, ...options }) => createBus({ ...options, transportUrl: 'inprocess://' }, { logger, clock: systemClock, broker }),
});

test('buses without a shared broker do not see each other', async () => {
  const logger = memoryLogger();
  const a = await createBus({ transportUrl: 'inprocess://' }, { logger, clock: systemClock });
  const b = await createBus({ transportUrl: 'inprocess://' }, { logger, clock: systemClock });
  try {
    await a.serve({ topic: 'private', server: 's1' }, { x: () => 1 });
    assert.equal(await a.call({ topic: 'private' }, 'x', {}), 1);
    await assert.rejects(b.call({ topic: 'private' }, 'x', {}, { timeoutMs: 500 }), { code: 'bus.unroutable' });
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('a queue nobody consumes keeps at most maxQueueLength messages and says so once', async () => {
  const logger = memoryLogger();
  const small = new InProcessBroker({ logger, maxQueueLength: 3 });
  const bus = await createBus({ transportUrl: 'inprocess://', notifications: { topics: ['capped'] } }, { logger, clock: systemClock, broker: small });
  try {
    for (let i = 0; i < 5; i++) await bus.notify({ publisherId: 'p', eventType: 'e', payload: i });
    const got: number[] = [];
    await bus.listen(['capped'], {}, (n) => void got.push(n.payload as number));
    const end = Date.now() + 2000;
    while (got.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, [2, 3, 4]);
    assert.equal(logger.entries.filter((e) => e.message.includes('queue is full')).length, 1);
  } finally {
    await bus.close();
  }
});

test('reply and fanout queues expire after rabbitTransientQueuesTtl without consumers', async () => {
  const logger = memoryLogger();
  const b = new InProcessBroker({ logger });
  const bus = await createBus({ transportUrl: 'inprocess://', rabbit: { rabbitTransientQueuesTtl: 0.05 } }, { logger, clock: systemClock, broker: b });
  const sub = await bus.serve({ topic: 'ttl', server: 's1' }, { x: () => 1 });
  await sub.stop();
  await new Promise((r) => setTimeout(r, 120));
  // the fanout queue is gone, the shared topic queue is not
  const other = await createBus({ transportUrl: 'inprocess://' }, { logger, clock: systemClock, broker: b });
  try {
    await other.cast({ topic: 'ttl', fanout: true }, 'x', {});
    await assert.rejects(other.call({ topic: 'ttl' }, 'x', {}, { timeoutMs: 100 }), { code: 'bus.timeout' });
  } finally {
    await Promise.all([bus.close(), other.close()]);
  }
});
