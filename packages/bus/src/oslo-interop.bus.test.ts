// Talks to real oslo.messaging (Debian's python3-oslo.messaging) over RabbitMQ, both ways: the proof that our traffic is oslo's.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InternalError, NotFoundError, systemClock } from '@alto/kernel';
import type { Notification } from './bus.js';
import { memoryLogger } from './conformance.js';
import { createBus } from './create-bus.js';

const run = promisify(execFile);
const python = process.env.ALTO_TEST_OSLO_PYTHON ?? '/usr/bin/python3';
const peer = fileURLToPath(new URL('../fixtures/oslo-peer.py', import.meta.url));
const url = process.env.ALTO_TEST_AMQP_URL?.replace(/^amqp:\/\//, 'rabbit://');

function osloAvailable(): boolean {
  try {
    execFileSync(python, ['-c', 'import oslo_messaging'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip = !url
  ? 'ALTO_TEST_AMQP_URL is not set'
  : !osloAvailable()
    ? `${python} cannot import oslo_messaging (apt-get install python3-oslo.messaging; ALTO_TEST_OSLO_PYTHON names another python)`
    : false;

const waitFor = async (cond: () => boolean, what: string): Promise<void> => {
  const end = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('oslo.messaging interop over RabbitMQ', { skip: process.env.ALTO_TEST_REQUIRE_OSLO === '1' ? false : skip, timeout: 90_000 }, async (t) => {
  assert.ok(url, 'ALTO_TEST_AMQP_URL is not set');
  const exchange = `alto-interop-${randomUUID().slice(0, 8)}`;
  const topic = `interop-${randomUUID().slice(0, 8)}`;
  const logger = memoryLogger();
  const bus = await createBus({ transportUrl: url, controlExchange: exchange, notifications: { topics: [`${topic}-n2`] } }, { logger, clock: systemClock });
  t.after(() => bus.close());

  await t.test('an oslo RPC client and notifier reach our server and listener', async () => {
    const seen: unknown[] = [];
    await bus.serve({ topic, server: 'tshost' }, {
      echo: (args, req) => ({ ts: args, requestId: req.requestId }),
      missing: (args) => {
        throw new NotFoundError(`Volume ${JSON.stringify(args.id)} could not be found.`, 'volume.not_found');
      },
      refresh: (args) => void seen.push({ refresh: args.gen ?? null }),
    });
    const notes: Notification[] = [];
    await bus.listen([`${topic}-n`], { pool: 'alto' }, (n) => void notes.push(n));
    const { stdout } = await run(python, [peer, 'client', url, exchange, topic, `${topic}-n`]);
    const steps = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(steps[0], { step: 'call', result: { ts: { x: 1, y: [1, 'a'] }, requestId: 'req-from-python' } });
    // oslo shows a remote error as RemoteError with the class name and message we sent
    assert.deepEqual(steps[1], { step: 'error', exc_type: 'NotFoundError', value: 'Volume "v1" could not be found.' });
    await waitFor(() => seen.length === 1 && notes.length === 1, 'the fanout cast and the notification');
    assert.deepEqual(seen, [{ refresh: 3 }]);
    const n = notes[0];
    assert.ok(n);
    assert.deepEqual([n.publisherId, n.eventType, n.priority, n.payload], ['py.host', 'py.event', 'WARN', { k: 'v' }]);
    assert.match(n.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  });

  await t.test('our RPC client and notifier reach an oslo server and listener', async () => {
    const child = spawn(python, [peer, 'server', url, exchange, `${topic}-py`, `${topic}-n2`], { stdio: ['pipe', 'pipe', 'ignore'] });
    const exited = new Promise((r) => child.on('exit', r));
    t.after(async () => {
      child.stdin.end();
      await exited;
    });
    const lines: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
    await waitFor(() => lines.some((l) => l.step === 'ready'), 'the oslo server');
    assert.deepEqual(await bus.call({ topic: `${topic}-py` }, 'echo', { a: 1 }, { requestId: 'req-from-ts' }), { py: { a: 1 }, request_id: 'req-from-ts' });
    // a Python exception is not one of ours: the caller gets the generic internal error, never its text
    await assert.rejects(bus.call({ topic: `${topic}-py`, server: 'pyhost' }, 'boom', {}), (e: unknown) => {
      assert.ok(e instanceof InternalError);
      assert.equal(e.code, 'bus.remote_error');
      assert.doesNotMatch(e.message, /secret/);
      return true;
    });
    await bus.notify({ publisherId: 'ts.host', eventType: 'ts.event', payload: { z: 1 }, requestId: 'req-n' });
    await waitFor(() => lines.some((l) => l.step === 'notification'), 'the oslo listener');
    const got = lines.find((l) => l.step === 'notification');
    assert.equal(got?.publisher_id, 'ts.host');
    assert.equal(got?.event_type, 'ts.event');
    assert.deepEqual(got?.payload, { z: 1 });
    assert.equal(got?.request_id, 'req-n');
    assert.match(String(got?.message_id), /^[0-9a-f-]{36}$/);
  });
});
