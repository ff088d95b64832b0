// Tests for bus options: oslo defaults, unit conversion, validation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '@alto/kernel';
import { resolveBusOptions } from './options.js';

test('defaults are oslo.messaging’s', () => {
  const o = resolveBusOptions({ transportUrl: 'inprocess://' });
  assert.equal(o.controlExchange, 'openstack');
  assert.equal(o.rpcResponseTimeoutMs, 60_000);
  assert.equal(o.executorThreadPoolSize, 64);
  assert.equal(o.rpcPingEnabled, false);
  assert.deepEqual(o.notificationTopics, ['notifications']);
  assert.deepEqual(o.rabbit, {
    amqpDurableQueues: false,
    amqpAutoDelete: false,
    heartbeatSeconds: 60,
    retryIntervalMs: 1000,
    intervalMaxMs: 30_000,
    prefetchCount: 0,
    transientQueuesTtlMs: 1_800_000,
    failoverStrategy: 'round-robin',
    connectTimeoutMs: 10_000,
  });
});

test('times are seconds, fractions allowed', () => {
  const o = resolveBusOptions({ transportUrl: 'x://', rpcResponseTimeout: 0.25, rabbit: { rabbitRetryInterval: 0.1 } });
  assert.equal(o.rpcResponseTimeoutMs, 250);
  assert.equal(o.rabbit.retryIntervalMs, 100);
});

test('nonsense is refused with the option’s name', () => {
  const bad = [
    { rpcResponseTimeout: 0 },
    { rpcResponseTimeout: Number.NaN },
    { executorThreadPoolSize: 0 },
    { executorThreadPoolSize: 1.5 },
    { controlExchange: '' },
    { notifications: { topics: [''] } },
    { rabbit: { heartbeatTimeoutThreshold: -1 } },
    { rabbit: { kombuFailoverStrategy: 'random' as 'shuffle' } },
  ];
  for (const b of bad) {
    assert.throws(() => resolveBusOptions({ transportUrl: 'x://', ...b }), (e: unknown) => e instanceof ValidationError && e.code === 'bus.invalid_option', JSON.stringify(b));
  }
});
