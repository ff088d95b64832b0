// Unit tests for the RabbitMQ transport's pure parts (no broker needed): reconnect backoff.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconnectDelayMs } from './amqp.js';

test('reconnect backoff: immediate first retry, then doubling from the interval, capped, jitter within ±20%', () => {
  const mid = (): number => 0.5;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => reconnectDelayMs(n, 1000, 30_000, mid)),
    [0, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
  );
  assert.equal(reconnectDelayMs(2, 1000, 30_000, () => 0), 800);
  assert.equal(reconnectDelayMs(2, 1000, 30_000, () => 0.9999), 1200);
  // jitter never pushes a delay over the cap
  assert.equal(reconnectDelayMs(20, 1000, 30_000, () => 0.9999), 30_000);
  assert.ok(reconnectDelayMs(20, 1000, 30_000, () => 0) >= 24_000);
});
