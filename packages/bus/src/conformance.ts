// The bus conformance suite: one body of node:test cases every Bus implementation must pass.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  AltoError,
  ConflictError,
  InternalError,
  NotFoundError,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
  newRequestId,
  type JsonObject,
  type JsonValue,
  type RequestContext,
} from '@alto/kernel';
import type { Bus, BusLogger, Notification, RpcRequest, Subscription } from './bus.js';
import type { BusOptions } from './options.js';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that keeps what it is told, for asserting on it; echoes to stderr when ALTO_TEST_BUS_LOG=1. */
export function memoryLogger(): BusLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const echo = process.env.ALTO_TEST_BUS_LOG === '1';
  const at =
    (level: LogEntry['level']) =>
    (fields: Record<string, unknown>, message: string): void => {
      entries.push({ level, fields, message });
      if (echo) process.stderr.write(`bus ${level} ${message} ${JSON.stringify(fields)}\n`);
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Options the suite sets per bus; the harness adds the transport URL and the shared broker. */
export type ConformanceBusOptions = Omit<BusOptions, 'transportUrl'> & { logger: BusLogger };

export interface BusHarness {
  /** A new bus on the broker under test; every bus made for one test shares that broker. */
  makeBus(options: ConformanceBusOptions): Promise<Bus>;
  /**
   * Drops, from the broker's side, the connections of the buses made with these connection
   * names. Only transports with a connection have it; the reconnect test runs when it is given.
   */
  dropConnections?: ((connectionNames: readonly string[]) => Promise<void>) | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const uid = (): string => randomUUID().slice(0, 8);

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function sampleContext(requestId: string): RequestContext {
  return {
    requestId,
    globalRequestId: newRequestId(),
    authToken: 'gAAAAAB-token',
    userId: 'u1',
    userName: 'alice',
    userDomainId: 'default',
    projectId: 'p1',
    projectName: 'demo',
    projectDomainId: 'default',
    roles: ['member', 'reader'],
    isAdminProject: false,
    serviceRoles: [],
    auditIds: ['a1'],
    tokenExpiresAt: new Date('2030-01-01T00:00:00.000Z'),
  };
}

/**
 * Registers the suite under `name`. Each test makes its own buses (on fresh topics) and closes
 * them, so the suite can share one broker with other tests.
 */
export function runBusConformance(name: string, harness: BusHarness): void {
  /** Runs body with a bus factory; every bus made is closed afterwards. */
  async function withBuses(
    body: (make: (o?: Partial<ConformanceBusOptions>) => Promise<Bus & { log: LogEntry[] }>) => Promise<void>,
  ): Promise<void> {
    const made: Bus[] = [];
    const make = async (o: Partial<ConformanceBusOptions> = {}): Promise<Bus & { log: LogEntry[] }> => {
      const logger = memoryLogger();
      const bus = await harness.makeBus({ rpcResponseTimeout: 5, ...o, logger: o.logger ?? logger });
      made.push(bus);
      return Object.assign(bus, { log: logger.entries });
    };
    try {
      await body(make);
    } finally {
      await Promise.all(made.map((b) => b.close()));
    }
  }

  describe(`bus conformance: ${name}`, () => {
    it('call returns the result and carries the request id and context', () =>
      withBuses(async (make) => {
        const server = await make();
        const client = await make();
        const topic = `conf-${uid()}`;
        const seen: RpcRequest[] = [];
        await server.serve({ topic, server: 's1' }, {
          echo: (args, req) => {
            seen.push(req);
            return { got: args, n: 42 };
          },
        });
        const requestId = newRequestId();
        const context = sampleContext(requestId);
        const result = await client.call({ topic }, 'echo', { a: 1, b: ['x', null] }, { context });
        assert.deepEqual(result, { got: { a: 1, b: ['x', null] }, n: 42 });
        assert.equal(seen.length, 1);
        const req = seen[0];
        assert.ok(req);
        assert.equal(req.method, 'echo');
        assert.equal(req.kind, 'call');
        assert.equal(req.requestId, requestId);
        assert.deepEqual(req.context, context);
        // a request id alone travels without a context
        await client.call({ topic }, 'echo', {}, { requestId: 'req-only' });
        assert.equal(seen[1]?.requestId, 'req-only');
        assert.equal(seen[1]?.context, undefined);
      }));

    it('calls are shared round-robin between the servers of a topic', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const caller = await make();
        const hits: Record<string, number> = { s1: 0, s2: 0 };
        for (const s of ['s1', 's2']) {
          const bus = await make();
          await bus.serve({ topic, server: s }, {
            who: () => {
              hits[s] = (hits[s] ?? 0) + 1;
              return s;
            },
          });
        }
        for (let i = 0; i < 10; i++) await caller.call({ topic }, 'who', {});
        assert.deepEqual(hits, { s1: 5, s2: 5 });
      }));

    it('a call to a named server reaches only that server', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const bus = await make();
        for (const s of ['s1', 's2', 's3']) await bus.serve({ topic, server: s }, { who: () => s });
        const answers = [];
        for (let i = 0; i < 6; i++) answers.push(await bus.call({ topic, server: 's2' }, 'who', {}));
        assert.deepEqual(answers, ['s2', 's2', 's2', 's2', 's2', 's2']);
      }));

    it('a fanout cast reaches every server of the topic once', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const caller = await make();
        const got: string[] = [];
        for (const s of ['s1', 's2', 's3']) {
          const bus = await make();
          await bus.serve({ topic, server: s }, {
            refresh: (args) => {
              got.push(`${s}:${JSON.stringify(args.gen)}`);
            },
          });
        }
        assert.equal(await caller.cast({ topic, fanout: true }, 'refresh', { gen: 7 }), undefined);
        await waitFor('three fanout deliveries', () => got.length >= 3);
        await sleep(100);
        assert.deepEqual([...got].sort(), ['s1:7', 's2:7', 's3:7']);
      }));

    it('a cast is delivered once, to the topic or to the named server', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const server = await make();
        const client = await make();
        const got: string[] = [];
        const kinds: string[] = [];
        for (const s of ['s1', 's2']) {
          await server.serve({ topic, server: s }, {
            work: (args, req) => {
              got.push(`${s}:${JSON.stringify(args.id)}`);
              kinds.push(req.kind);
            },
          });
        }
        assert.equal(await client.cast({ topic }, 'work', { id: 1 }), undefined);
        assert.equal(await client.cast({ topic, server: 's2' }, 'work', { id: 2 }), undefined);
        await waitFor('two casts', () => got.length >= 2);
        await sleep(100);
        assert.equal(got.length, 2);
        assert.ok(got.includes('s2:2'), `cast to s2 went to ${got.join(',')}`);
        assert.ok(got.some((g) => g.endsWith(':1')));
        assert.deepEqual(kinds, ['cast', 'cast']);
      }));

    it('a cast waits in the queue while the topic has no running server', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const bus = await make();
        const first = await bus.serve({ topic, server: 's1' }, { work: () => undefined });
        await first.stop();
        await bus.cast({ topic }, 'work', { id: 'queued' });
        const got: JsonValue[] = [];
        await bus.serve({ topic, server: 's2' }, { work: (args) => void got.push(args.id ?? null) });
        await waitFor('the queued cast', () => got.length === 1);
        assert.deepEqual(got, ['queued']);
      }));

    it('arguments and results are JSON copies, never shared objects', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const bus = await make();
        const kept: JsonObject[] = [];
        const reply = { list: [1, 2], nested: { s: 'ünïcode ✓', n: -1.5e-7, t: true, z: null } };
        await bus.serve({ topic, server: 's1' }, {
          mutate: (args) => {
            kept.push(args);
            (args.list as JsonValue[]).push('added by server');
            return reply;
          },
          nothing: () => undefined,
        });
        const args = { list: [1], dropped: undefined } as unknown as JsonObject;
        const result = await bus.call({ topic }, 'mutate', args);
        assert.deepEqual(args.list, [1], 'the server changed the caller’s arguments');
        assert.notEqual(kept[0], args);
        assert.equal('dropped' in (kept[0] ?? {}), false, 'undefined properties are dropped, as JSON does');
        assert.deepEqual(result, reply);
        assert.notEqual(result, reply);
        reply.list.push(3);
        assert.deepEqual((result as { list: number[] }).list, [1, 2]);
        assert.equal(await bus.call({ topic }, 'nothing', {}), null);
      }));

    it('arguments that are not JSON are refused before anything is sent', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const bus = await make();
        let calls = 0;
        await bus.serve({ topic, server: 's1' }, { f: () => void calls++ });
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        const bad: unknown[] = [new Date(), new Map(), NaN, Infinity, () => 1, 10n, Symbol('s'), cyclic, [undefined], Buffer.from('x')];
        for (const value of bad) {
          const args = { value } as unknown as JsonObject;
          await assert.rejects(bus.call({ topic }, 'f', args), (e: unknown) => e instanceof ValidationError && e.code === 'bus.not_json', `call with ${String(value)}`);
          await assert.rejects(bus.cast({ topic }, 'f', args), (e: unknown) => e instanceof ValidationError && e.code === 'bus.not_json');
        }
        await assert.rejects(bus.call({ topic }, 'f', [] as unknown as JsonObject), (e: unknown) => e instanceof ValidationError && e.code === 'bus.not_json');
        await assert.rejects(
          bus.notify({ publisherId: 'p', eventType: 'e', payload: { at: new Date() } as unknown as JsonObject }),
          (e: unknown) => e instanceof ValidationError && e.code === 'bus.not_json',
        );
        await sleep(50);
        assert.equal(calls, 0);
      }));

    it('an AltoError from the handler reaches the caller with its kind, code, message and details', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const server = await make();
        const client = await make();
        await server.serve({ topic, server: 's1' }, {
          missing: (args) => {
            throw new NotFoundError(`Volume ${JSON.stringify(args.id)} could not be found.`, 'volume.not_found', { details: { id: args.id ?? null } });
          },
          busy: () => {
            throw new ConflictError('Volume is in use.', 'volume.in_use');
          },
          custom: () => {
            throw new AltoError('too_many_requests', 'compute.rate_limited', 'Slow down.');
          },
        });
        await assert.rejects(client.call({ topic }, 'missing', { id: 'v1' }), (e: unknown) => {
          assert.ok(e instanceof NotFoundError);
          assert.equal(e.kind, 'not_found');
          assert.equal(e.code, 'volume.not_found');
          assert.equal(e.message, 'Volume "v1" could not be found.');
          assert.deepEqual(e.details, { id: 'v1' });
          return true;
        });
        await assert.rejects(client.call({ topic }, 'busy', {}), (e: unknown) => e instanceof ConflictError && e.code === 'volume.in_use' && e.message === 'Volume is in use.');
        await assert.rejects(
          client.call({ topic }, 'custom', {}),
          (e: unknown) => e instanceof AltoError && e.kind === 'too_many_requests' && e.code === 'compute.rate_limited' && e.message === 'Slow down.',
        );
        // expected errors are not logged as failures on the server
        assert.equal(server.log.filter((l) => l.level === 'error').length, 0);
      }));

    it('any other error becomes a generic InternalError; the real one is logged by the server only', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const server = await make();
        const client = await make();
        await server.serve({ topic, server: 's1' }, {
          boom: () => {
            throw new Error('connect to db://admin:hunter2@10.0.0.1 failed');
          },
          notJson: () => ({ when: new Date() }) as unknown as JsonObject,
        });
        for (const method of ['boom', 'notJson']) {
          await assert.rejects(client.call({ topic }, method, {}), (e: unknown) => {
            assert.ok(e instanceof InternalError, `got ${String(e)}`);
            assert.equal(e.kind, 'internal');
            assert.equal(e.code, 'bus.remote_error');
            assert.equal(e.message, new InternalError().message);
            assert.doesNotMatch(JSON.stringify({ m: e.message, d: e.details ?? null }), /hunter2|Date/);
            return true;
          });
        }
        const errors = server.log.filter((l) => l.level === 'error');
        assert.equal(errors.length, 2);
        assert.match(JSON.stringify(errors[0]?.fields), /hunter2/);
        assert.equal(errors[0]?.fields.method, 'boom');
        assert.ok(typeof errors[0]?.fields.requestId === 'string');
        assert.match(JSON.stringify(errors[1]?.fields), /not JSON/);
        // an unknown method is a deployment bug, reported as such
        await assert.rejects(client.call({ topic }, 'nope', {}), (e: unknown) => e instanceof InternalError && e.code === 'bus.no_such_method');
        await assert.rejects(client.call({ topic }, 'constructor', {}), (e: unknown) => e instanceof InternalError && e.code === 'bus.no_such_method');
      }));

    it('a call nobody answers in time fails with TimeoutError bus.timeout', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const bus = await make();
        const release = deferred();
        await bus.serve({ topic, server: 's1' }, { slow: () => release.promise.then(() => 'late') });
        const t0 = Date.now();
        await assert.rejects(bus.call({ topic }, 'slow', {}, { timeoutMs: 300 }), (e: unknown) => e instanceof TimeoutError && e.code === 'bus.timeout');
        const elapsed = Date.now() - t0;
        assert.ok(elapsed >= 290 && elapsed < 1500, `timed out after ${elapsed} ms`);
        release.resolve();
        // the late reply is dropped quietly and the server keeps working
        await bus.serve({ topic: `${topic}-b`, server: 's1' }, { ok: () => 'ok' });
        assert.equal(await bus.call({ topic: `${topic}-b` }, 'ok', {}), 'ok');
      }));

    it('a call to a topic nobody ever served fails fast; one to a stopped server times out', () =>
      withBuses(async (make) => {
        const bus = await make();
        const t0 = Date.now();
        await assert.rejects(
          bus.call({ topic: `conf-${uid()}` }, 'x', {}, { timeoutMs: 3000 }),
          (e: unknown) => e instanceof ServiceUnavailableError && e.code === 'bus.unroutable',
        );
        assert.ok(Date.now() - t0 < 1500);
        // the queue outlives its server (a restart must not lose work): the call waits, then times out
        const topic = `conf-${uid()}`;
        const sub = await bus.serve({ topic, server: 's1' }, { x: () => 1 });
        await sub.stop();
        await assert.rejects(bus.call({ topic }, 'x', {}, { timeoutMs: 200 }), (e: unknown) => e instanceof TimeoutError);
      }));

    it('targets and options are validated', () =>
      withBuses(async (make) => {
        const bus = await make();
        const invalid = (e: unknown): boolean => e instanceof ValidationError;
        await assert.rejects(bus.call({ topic: 't', fanout: true }, 'x', {}), invalid);
        await assert.rejects(bus.call({ topic: '' }, 'x', {}), invalid);
        await assert.rejects(bus.call({ topic: 't' }, '', {}), invalid);
        await assert.rejects(bus.call({ topic: 't' }, 'x', {}, { timeoutMs: 0 }), invalid);
        await assert.rejects(bus.serve({ topic: 't', server: '' }, {}), invalid);
        await assert.rejects(bus.listen([], {}, () => undefined), invalid);
        await assert.rejects(bus.notify({ publisherId: 'p', eventType: 'e', payload: null, priority: 'LOUD' as 'INFO' }), invalid);
      }));

    it('a server runs at most executorThreadPoolSize handlers at once, over all its queues', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const server = await make({ executorThreadPoolSize: 2 });
        const client = await make();
        let running = 0;
        let peak = 0;
        await server.serve({ topic, server: 's1' }, {
          work: async () => {
            running++;
            peak = Math.max(peak, running);
            await sleep(60);
            running--;
          },
        });
        // through the shared topic queue and the server's own queue at the same time
        await Promise.all(Array.from({ length: 8 }, (_, i) => client.call(i % 2 ? { topic } : { topic, server: 's1' }, 'work', {})));
        assert.equal(peak, 2);
      }));

    it('rpcPingEnabled servers answer oslo_rpc_server_ping', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const on = await make({ rpcPingEnabled: true });
        await on.serve({ topic, server: 's1' }, {});
        assert.equal(await on.call({ topic }, 'oslo_rpc_server_ping', {}), 'pong');
        const off = await make();
        await off.serve({ topic: `${topic}-off`, server: 's1' }, {});
        await assert.rejects(off.call({ topic: `${topic}-off` }, 'oslo_rpc_server_ping', {}), (e: unknown) => e instanceof InternalError);
      }));

    it('notifications reach every pool once and are shared within a pool', () =>
      withBuses(async (make) => {
        const topic = `conf-n-${uid()}`;
        const poolA = `pool-a-${uid()}`;
        const poolB = `pool-b-${uid()}`;
        const got: Record<string, Notification[]> = { a1: [], a2: [], b1: [] };
        const listeners: [string, string][] = [
          ['a1', poolA],
          ['a2', poolA],
          ['b1', poolB],
        ];
        for (const [who, pool] of listeners) {
          const bus = await make({ notifications: { topics: [topic] } });
          await bus.listen([topic], { pool }, (n) => void got[who]?.push(n));
        }
        const publisher = await make({ notifications: { topics: [topic] } });
        const requestId = newRequestId();
        for (let i = 0; i < 10; i++) {
          await publisher.notify({ publisherId: 'identity.host1', eventType: 'identity.project.created', payload: { i }, requestId });
        }
        const a = (): Notification[] => [...(got.a1 ?? []), ...(got.a2 ?? [])];
        await waitFor('pool A and pool B to get all 10', () => a().length >= 10 && (got.b1?.length ?? 0) >= 10);
        await sleep(100);
        const order = (ns: Notification[]): JsonValue[] => ns.map((n) => (n.payload as JsonObject).i ?? null).sort((x, y) => Number(x) - Number(y));
        assert.deepEqual(order(a()), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(order(got.b1 ?? []), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.ok((got.a1?.length ?? 0) > 0 && (got.a2?.length ?? 0) > 0, `pool A split ${got.a1?.length}/${got.a2?.length}`);
        const n = got.b1?.[0];
        assert.ok(n);
        assert.equal(n.publisherId, 'identity.host1');
        assert.equal(n.eventType, 'identity.project.created');
        assert.equal(n.priority, 'INFO');
        assert.match(n.messageId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        assert.match(n.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
        assert.equal(n.requestId, requestId);
        // a message id and timestamp given by the publisher are kept
        await publisher.notify({
          publisherId: 'p',
          eventType: 'e',
          priority: 'ERROR',
          payload: 'x',
          messageId: '7a1b8f1e-2d7c-4f35-9a37-5d8fd4c3b7aa',
          timestamp: '2026-01-01 00:00:00',
        });
        await waitFor('the ERROR notification', () => (got.b1?.length ?? 0) === 11);
        const last = got.b1?.[10];
        assert.equal(last?.messageId, '7a1b8f1e-2d7c-4f35-9a37-5d8fd4c3b7aa');
        assert.equal(last?.timestamp, '2026-01-01 00:00:00');
        assert.equal(last?.priority, 'ERROR');
      }));

    it('listeners get only the priorities they ask for; the default pool keeps what was sent before it started', () =>
      withBuses(async (make) => {
        const topic = `conf-n-${uid()}`;
        const publisher = await make({ notifications: { topics: [topic] } });
        const errorsOnly: string[] = [];
        const listener = await make();
        await listener.listen([topic], { pool: `errors-${uid()}`, priorities: ['ERROR'] }, (n) => void errorsOnly.push(n.eventType));
        // the notifier declares the default pool's queues itself, so this one waits for a listener
        await publisher.notify({ publisherId: 'p', eventType: 'early', payload: null });
        await publisher.notify({ publisherId: 'p', eventType: 'bad', payload: null, priority: 'ERROR' });
        const defaultPool: string[] = [];
        await listener.listen([topic], {}, (n) => void defaultPool.push(`${n.priority}:${n.eventType}`));
        await waitFor('default pool', () => defaultPool.length >= 2);
        await waitFor('error pool', () => errorsOnly.length >= 1);
        await sleep(100);
        assert.deepEqual(errorsOnly, ['bad']);
        assert.deepEqual(defaultPool.sort(), ['ERROR:bad', 'INFO:early']);
      }));

    it('a listener that throws is logged and keeps receiving', () =>
      withBuses(async (make) => {
        const topic = `conf-n-${uid()}`;
        const bus = await make({ notifications: { topics: [topic] } });
        const seen: string[] = [];
        await bus.listen([topic], { pool: `p-${uid()}` }, (n) => {
          seen.push(n.eventType);
          if (n.eventType === 'bad') throw new Error('listener bug');
        });
        await bus.notify({ publisherId: 'p', eventType: 'bad', payload: null });
        await bus.notify({ publisherId: 'p', eventType: 'good', payload: null });
        await waitFor('both notifications', () => seen.length === 2);
        assert.deepEqual(seen, ['bad', 'good']);
        await waitFor('the error log', () => bus.log.some((l) => l.level === 'error'));
      }));

    it('ping sends a message through the transport and back', () =>
      withBuses(async (make) => {
        const bus = await make();
        const rtt = await bus.ping({ timeoutMs: 2000 });
        assert.ok(typeof rtt === 'number' && rtt > 0 && rtt < 2000, `rtt ${rtt}`);
        assert.ok((await bus.ping()) > 0);
      }));

    it('close drains handlers in flight, then refuses new work', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const server = await make();
        const client = await make();
        const started = deferred();
        const events: string[] = [];
        await server.serve({ topic, server: 's1' }, {
          slow: async () => {
            started.resolve();
            await sleep(300);
            events.push('handler done');
            return 'finished';
          },
        });
        const call = client.call({ topic }, 'slow', {});
        await started.promise;
        const closing = server.close().then(() => events.push('closed'));
        assert.equal(await call, 'finished');
        await closing;
        assert.deepEqual(events, ['handler done', 'closed']);
        const closed = (e: unknown): boolean => e instanceof ServiceUnavailableError && e.code === 'bus.closed';
        await assert.rejects(server.call({ topic }, 'slow', {}), closed);
        await assert.rejects(server.cast({ topic }, 'slow', {}), closed);
        await assert.rejects(server.serve({ topic, server: 's2' }, {}), closed);
        await assert.rejects(server.notify({ publisherId: 'p', eventType: 'e', payload: null }), closed);
        await assert.rejects(server.ping(), closed);
        await server.close(); // idempotent
      }));

    it('stopping a server drains it; a stopped server gets nothing more', () =>
      withBuses(async (make) => {
        const topic = `conf-${uid()}`;
        const bus = await make();
        const started = deferred();
        let handled = 0;
        const sub: Subscription = await bus.serve({ topic, server: 's1' }, {
          work: async () => {
            started.resolve();
            await sleep(150);
            handled++;
          },
        });
        const call = bus.call({ topic }, 'work', {});
        await started.promise;
        await sub.stop();
        assert.equal(handled, 1);
        await call;
        await bus.cast({ topic }, 'work', {});
        await sleep(100);
        assert.equal(handled, 1);
      }));

    if (harness.dropConnections) {
      const drop = harness.dropConnections;
      it('after the broker drops the connection: calls in flight fail fast, then servers, listeners and calls work again', { timeout: 60_000 }, () =>
        withBuses(async (make) => {
          const topic = `conf-${uid()}`;
          const ntopic = `conf-n-${uid()}`;
          const serverName = `alto-conformance-${uid()}`;
          const clientName = `alto-conformance-${uid()}`;
          const fast = { rabbit: { rabbitRetryInterval: 0.2, rabbitIntervalMax: 2 } };
          const server = await make({ connectionName: serverName, notifications: { topics: [ntopic] }, ...fast });
          const client = await make({ connectionName: clientName, notifications: { topics: [ntopic] }, ...fast });
          const started = deferred();
          await server.serve({ topic, server: 's1' }, {
            echo: (args) => args,
            hang: async () => {
              started.resolve();
              // longer than rabbitmqctl takes to drop the connections on a loaded machine (it
              // starts an Erlang VM: seconds), so the call is still in flight when they drop
              await sleep(10_000);
              return 'too late';
            },
          });
          const heard: JsonValue[] = [];
          await server.listen([ntopic], { pool: `p-${uid()}` }, (n) => void heard.push(n.payload));
          assert.deepEqual(await client.call({ topic }, 'echo', { before: true }), { before: true });

          // observed from the start: it settles while the drop command is still running
          const inFlight = client.call({ topic }, 'hang', {}, { timeoutMs: 20_000 }).then(
            (v) => ({ value: v, at: Date.now() }),
            (e: unknown) => ({ error: e, at: Date.now() }),
          );
          await started.promise;
          await drop([serverName, clientName]);
          const dropped = Date.now();
          const outcome = await inFlight;
          assert.ok('error' in outcome, `the call in flight resolved with ${JSON.stringify(outcome)}`);
          assert.ok(outcome.error instanceof ServiceUnavailableError && outcome.error.code === 'bus.connection_lost', String(outcome.error));
          // it failed with the connection, long before its 20 s timeout or the handler's end
          assert.ok(outcome.at - dropped < 1000, `the call in flight failed ${outcome.at - dropped} ms after the drop`);

          // new calls wait for the reconnect within their own timeout
          const end = Date.now() + 30_000;
          let result: JsonValue | undefined;
          while (result === undefined) {
            try {
              result = await client.call({ topic }, 'echo', { after: true }, { timeoutMs: 2000 });
            } catch (e) {
              if (Date.now() > end) throw e;
              await sleep(200);
            }
          }
          assert.deepEqual(result, { after: true });
          await client.notify({ publisherId: 'p', eventType: 'e', payload: 'after' });
          await waitFor('the notification after reconnect', () => heard.includes('after'), 10_000);
          assert.ok((await server.ping({ timeoutMs: 5000 })) > 0);
          assert.ok((await client.ping({ timeoutMs: 5000 })) > 0);
          assert.ok(client.log.some((l) => l.message.includes('reconnected')));
        }));
    }
  });
}
