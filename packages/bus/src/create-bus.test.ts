// Tests for createBus: choosing the transport by URL scheme.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError, systemClock } from '@alto/kernel';
import { memoryLogger } from './conformance.js';
import { createBus } from './create-bus.js';

const deps = { logger: memoryLogger(), clock: systemClock };

test('inprocess:// makes an in-process bus', async () => {
  const bus = await createBus({ transportUrl: 'inprocess://' }, deps);
  assert.equal(bus.transport, 'inprocess');
  await bus.close();
});

test('an unknown scheme lists the known ones', async () => {
  await assert.rejects(createBus({ transportUrl: 'kafka://h:9092' }, deps), (e: unknown) => {
    assert.ok(e instanceof ValidationError);
    assert.equal(e.code, 'bus.unknown_transport');
    assert.match(e.message, /kafka:\/\/.*inprocess:\/\/, rabbit:\/\//);
    return true;
  });
});

test('amqp:// is explained: it is oslo’s AMQP 1.0 driver, RabbitMQ is rabbit://', async () => {
  await assert.rejects(createBus({ transportUrl: 'amqp://u:p@h/' }, deps), /AMQP 1\.0.*rabbit:\/\//);
});
