// The Bus over a Transport: oslo.messaging's RPC client and server, notifier and notification listener, same for every broker.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  AltoError,
  InternalError,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
  newRequestId,
  newUuid,
  type JsonObject,
  type JsonValue,
} from '@alto/kernel';
import {
  NOTIFICATION_PRIORITIES,
  type Bus,
  type BusDeps,
  type CallOptions,
  type ListenOptions,
  type MessageOrigin,
  type NotificationHandler,
  type NotificationInput,
  type PingOptions,
  type RpcHandler,
  type RpcHandlers,
  type RpcRequest,
  type SendOptions,
  type ServerTarget,
  type Subscription,
  type Target,
} from './bus.js';
import {
  GENERIC_REMOTE_ERROR_CODE,
  assertJson,
  assertJsonObject,
  buildNotification,
  buildReply,
  buildRpcMessage,
  deserializeFailure,
  envelope,
  isPriority,
  openEnvelope,
  osloTimestamp,
  parseNotification,
  parseReply,
  parseRpcMessage,
  serializeFailure,
  type Origin,
  type RpcMessage,
} from './message.js';
import type { ResolvedBusOptions } from './options.js';
import type { Delivery, ExchangeSpec, QueueSpec, Transport, TransportSubscription } from './transport.js';

/** The reserved method oslo's servers answer when rpc_ping_enabled is set. */
export const OSLO_PING_METHOD = 'oslo_rpc_server_ping';

const hexId = (): string => randomUUID().replaceAll('-', '');

interface Pending {
  settle(outcome: { value: JsonValue } | { error: AltoError }): void;
  /** Resolves (never rejects) once the caller has its answer or error; close() waits on it. */
  done: Promise<void>;
}

/**
 * oslo's _MsgIdCache: a message redelivered after a lost acknowledgement (connection drop
 * while its handler ran) is recognised by its _unique_id and not run twice by this server.
 */
class RecentIds {
  private readonly ids = new Set<string>();
  private readonly size: number;

  constructor(size: number) {
    this.size = size;
  }
  /** Records the id; false when it was already there. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.size) {
      const oldest = this.ids.values().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
    return true;
  }
}

function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { err: { type: err.name, message: err.message, stack: err.stack } };
  return { err: String(err) };
}

function checkName(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value === '') throw new ValidationError(`${what} must be a non-empty string`, 'bus.invalid_target');
}

function checkTimeout(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) throw new ValidationError(`timeoutMs must be a positive number, got ${String(ms)}`, 'bus.invalid_option');
  return ms;
}

export class MessagingBus implements Bus {
  readonly transport: string;
  private readonly pending = new Map<string, Pending>();
  private readonly subscriptions = new Set<Subscription>();
  private replyQueue: Promise<{ name: string; sub: TransportSubscription }> | undefined;
  private closing: Promise<void> | undefined;

  private readonly t: Transport;
  private readonly opts: ResolvedBusOptions;
  private readonly deps: BusDeps;

  constructor(transport: Transport, opts: ResolvedBusOptions, deps: BusDeps) {
    this.t = transport;
    this.opts = opts;
    this.deps = deps;
    this.transport = transport.kind;
    const t = transport;
    t.onConnectionLost(() => {
      // the reply may already be lost with the connection: fail now rather than at the timeout
      const err = new ServiceUnavailableError('The connection to the message bus was lost before the reply arrived.', 'bus.connection_lost');
      for (const p of [...this.pending.values()]) p.settle({ error: err });
    });
  }

  // ---- topology (oslo's impl_rabbit naming) ----

  private controlExchange(name = this.opts.controlExchange): ExchangeSpec {
    return { name, type: 'topic', durable: this.opts.rabbit.amqpDurableQueues, autoDelete: this.opts.rabbit.amqpAutoDelete };
  }

  private fanoutExchange(topic: string): ExchangeSpec {
    return { name: `${topic}_fanout`, type: 'fanout', durable: false, autoDelete: true };
  }

  private topicQueue(exchange: ExchangeSpec, name: string, routingKeys: readonly string[] = [name]): QueueSpec {
    return {
      name,
      durable: this.opts.rabbit.amqpDurableQueues,
      autoDelete: this.opts.rabbit.amqpAutoDelete,
      bindings: routingKeys.map((routingKey) => ({ exchange, routingKey })),
    };
  }

  private get prefetch(): number {
    return this.opts.rabbit.prefetchCount > 0 ? this.opts.rabbit.prefetchCount : this.opts.executorThreadPoolSize;
  }

  // ---- client side ----

  private assertOpen(): void {
    if (this.closing) throw new ServiceUnavailableError('The message bus is closed.', 'bus.closed');
  }

  private origin(o: MessageOrigin): Origin {
    return { requestId: o.requestId ?? o.context?.requestId ?? newRequestId(), context: o.context };
  }

  /** oslo's per-process reply queue `reply_<uuid>`, made on first use. */
  private async ensureReplyQueue(): Promise<string> {
    if (!this.replyQueue) {
      const name = `reply_${hexId()}`;
      const spec: QueueSpec = { name, durable: false, autoDelete: false, expiresMs: this.opts.rabbit.transientQueuesTtlMs, bindings: [] };
      this.replyQueue = this.t.subscribe([spec], 0, (d) => this.onReply(d)).then(
        (sub) => ({ name, sub }),
        (err: unknown) => {
          this.replyQueue = undefined;
          throw err;
        },
      );
    }
    return (await this.replyQueue).name;
  }

  private async onReply(d: Delivery): Promise<void> {
    let reply;
    try {
      reply = parseReply(openEnvelope(d.body));
    } catch (err) {
      this.deps.logger.warn({ queue: d.queue, ...describeError(err) }, 'dropping malformed reply');
      return;
    }
    // ending=false is oslo's call-monitor heartbeat; we never ask for those
    if (reply.msgId === undefined || !reply.ending) return;
    const p = this.pending.get(reply.msgId);
    if (!p) {
      this.deps.logger.debug({ msgId: reply.msgId }, 'no caller is waiting for this reply (timed out or lost with a reconnect)');
      return;
    }
    p.settle(reply.failure !== null ? { error: deserializeFailure(reply.failure) } : { value: reply.result });
  }

  /**
   * Registers a waiter, then publishes. When the time is up the caller gets TimeoutError if the
   * broker had taken the message (nobody answered), ServiceUnavailableError if it had not.
   */
  private request(id: string, timeoutMs: number, what: string, publish: () => Promise<void>): Promise<JsonValue> {
    let published = false;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const answer = new Promise<JsonValue>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.settle({
          error: published
            ? new TimeoutError(`Timed out waiting for a reply to message ID ${id} (${what}).`, 'bus.timeout')
            : new ServiceUnavailableError(`The message bus did not take the message within ${timeoutMs} ms (${what}).`, 'bus.unavailable'),
        });
      }, timeoutMs);
      const pending: Pending = {
        done,
        settle: (outcome) => {
          if (this.pending.get(id) !== pending) return;
          this.pending.delete(id);
          clearTimeout(timer);
          if ('error' in outcome) reject(outcome.error);
          else resolve(outcome.value);
          resolveDone();
        },
      };
      this.pending.set(id, pending);
    });
    publish().then(
      () => {
        published = true;
      },
      (err: unknown) => this.pending.get(id)?.settle({ error: err instanceof AltoError ? err : new InternalError(undefined, 'bus.publish_failed', { cause: err }) }),
    );
    return answer;
  }

  async call(target: Target, method: string, args: JsonObject, options: CallOptions = {}): Promise<JsonValue> {
    this.assertOpen();
    checkName(target.topic, 'target.topic');
    if (target.server !== undefined) checkName(target.server, 'target.server');
    if (target.fanout) throw new ValidationError('a call cannot go to a fanout target (only casts can)', 'bus.invalid_target');
    checkName(method, 'method');
    assertJsonObject(args, 'args');
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.opts.rpcResponseTimeoutMs);
    const origin = this.origin(options);
    const replyQueue = await this.ensureReplyQueue();
    const msgId = hexId();
    const uniqueId = hexId();
    const routingKey = target.server === undefined ? target.topic : `${target.topic}.${target.server}`;
    const body = envelope(buildRpcMessage({ method, args, uniqueId, origin, call: { msgId, replyQueue } }));
    return this.request(msgId, timeoutMs, `topic ${routingKey}, method ${method}`, () =>
      this.t.publish(
        {
          exchange: this.controlExchange(),
          routingKey,
          body,
          messageId: uniqueId,
          expirationMs: timeoutMs,
          mandatory: true,
          persistent: this.opts.rabbit.amqpDurableQueues,
        },
        timeoutMs,
      ),
    );
  }

  async cast(target: Target, method: string, args: JsonObject, options: SendOptions = {}): Promise<void> {
    this.assertOpen();
    checkName(target.topic, 'target.topic');
    if (target.server !== undefined && !target.fanout) checkName(target.server, 'target.server');
    checkName(method, 'method');
    assertJsonObject(args, 'args');
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.opts.rpcResponseTimeoutMs);
    const uniqueId = hexId();
    const body = envelope(buildRpcMessage({ method, args, uniqueId, origin: this.origin(options) }));
    if (target.fanout) {
      await this.t.publish(
        { exchange: this.fanoutExchange(target.topic), routingKey: target.topic, body, messageId: uniqueId, mandatory: false, persistent: false },
        timeoutMs,
      );
      return;
    }
    const routingKey = target.server === undefined ? target.topic : `${target.topic}.${target.server}`;
    // COMPAT(oslo.messaging): casts are not mandatory; one to a topic nobody ever served is dropped.
    await this.t.publish(
      { exchange: this.controlExchange(), routingKey, body, messageId: uniqueId, mandatory: false, persistent: this.opts.rabbit.amqpDurableQueues },
      timeoutMs,
    );
  }

  async ping(options: PingOptions = {}): Promise<number> {
    this.assertOpen();
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.opts.rpcResponseTimeoutMs);
    const replyQueue = await this.ensureReplyQueue();
    const pingId = hexId();
    const uniqueId = hexId();
    // a reply to ourselves: out through the broker's default exchange, back through our reply consumer
    const body = envelope(buildReply({ msgId: pingId, uniqueId, result: 'pong', failure: null }));
    const started = performance.now();
    await this.request(pingId, timeoutMs, 'ping', () =>
      this.t.publish({ exchange: null, routingKey: replyQueue, body, messageId: uniqueId, mandatory: true, persistent: false }, timeoutMs),
    );
    return performance.now() - started;
  }

  // ---- server side ----

  async serve(target: ServerTarget, handlers: RpcHandlers): Promise<Subscription> {
    this.assertOpen();
    checkName(target.topic, 'target.topic');
    checkName(target.server, 'target.server');
    const exchange = this.controlExchange();
    const queues: QueueSpec[] = [
      this.topicQueue(exchange, target.topic),
      this.topicQueue(exchange, `${target.topic}.${target.server}`),
      {
        name: `${target.topic}_fanout_${hexId()}`,
        durable: false,
        autoDelete: false,
        expiresMs: this.opts.rabbit.transientQueuesTtlMs,
        bindings: [{ exchange: this.fanoutExchange(target.topic), routingKey: target.topic }],
      },
    ];
    const recent = new RecentIds(256);
    const sub = await this.t.subscribe(queues, this.prefetch, (d) => this.dispatchRpc(target, handlers, recent, d));
    return this.track(sub);
  }

  private track(sub: TransportSubscription): Subscription {
    let stopping: Promise<void> | undefined;
    const handle: Subscription = {
      stop: () => {
        stopping ??= sub.cancel().finally(() => this.subscriptions.delete(handle));
        return stopping;
      },
    };
    this.subscriptions.add(handle);
    return handle;
  }

  private lookup(handlers: RpcHandlers, method: string): RpcHandler | undefined {
    // own properties only: `constructor` or `__proto__` are not RPC methods
    return Object.hasOwn(handlers, method) ? handlers[method] : undefined;
  }

  private async dispatchRpc(target: ServerTarget, handlers: RpcHandlers, recent: RecentIds, d: Delivery): Promise<void> {
    const log = this.deps.logger;
    let msg: RpcMessage;
    try {
      msg = parseRpcMessage(openEnvelope(d.body));
    } catch (err) {
      log.error({ queue: d.queue, ...describeError(err) }, 'dropping malformed RPC message');
      return;
    }
    if (msg.uniqueId !== undefined && !recent.add(msg.uniqueId)) {
      log.warn({ queue: d.queue, uniqueId: msg.uniqueId, method: msg.method }, 'ignoring duplicate message');
      return;
    }
    const request: RpcRequest = {
      method: msg.method,
      kind: msg.msgId === undefined ? 'cast' : 'call',
      requestId: msg.requestId ?? newRequestId(),
      context: msg.context,
    };
    const where = { topic: target.topic, server: target.server, queue: d.queue, method: msg.method, requestId: request.requestId };
    let result: JsonValue = null;
    let failure: AltoError | undefined;
    try {
      result = await this.runHandler(handlers, msg, request);
    } catch (err) {
      if (err instanceof AltoError) {
        failure = err;
        log.debug({ ...where, code: err.code }, 'handler raised an expected error');
      } else {
        // oslo logs "Exception during message handling"; the caller never sees this text
        log.error({ ...where, ...describeError(err) }, 'exception during message handling');
        failure = new InternalError(undefined, GENERIC_REMOTE_ERROR_CODE);
      }
    }
    if (msg.msgId === undefined || msg.replyQueue === undefined) return;
    const uniqueId = hexId();
    const body = envelope(buildReply({ msgId: msg.msgId, uniqueId, result, failure: failure ? serializeFailure(failure) : null }));
    try {
      await this.t.publish(
        { exchange: null, routingKey: msg.replyQueue, body, messageId: uniqueId, mandatory: true, persistent: false },
        this.opts.rpcResponseTimeoutMs,
      );
    } catch (err) {
      const gone = err instanceof AltoError && err.code === 'bus.unroutable';
      log.warn({ ...where, replyQueue: msg.replyQueue, ...describeError(err) }, gone ? 'reply queue is gone, dropping the reply' : 'could not send the reply');
    }
  }

  private async runHandler(handlers: RpcHandlers, msg: RpcMessage, request: RpcRequest): Promise<JsonValue> {
    const handler = this.lookup(handlers, msg.method);
    if (!handler) {
      if (msg.method === OSLO_PING_METHOD && this.opts.rpcPingEnabled) return 'pong';
      throw new InternalError(`Endpoint does not support RPC method ${msg.method}.`, 'bus.no_such_method');
    }
    const out = await handler(msg.args, request);
    const result: JsonValue = out === undefined ? null : out;
    try {
      assertJson(result, 'result');
    } catch (err) {
      // the handler's bug, not the caller's bad request: report it as an internal error
      throw Object.assign(new Error(`handler ${msg.method} returned a value that is not JSON: ${(err as Error).message}`), { cause: err });
    }
    return result;
  }

  // ---- notifications ----

  async notify(n: NotificationInput, options: SendOptions = {}): Promise<void> {
    this.assertOpen();
    if (typeof n.publisherId !== 'string' || n.publisherId === '') throw new ValidationError('publisherId must be a non-empty string', 'bus.invalid_notification');
    if (typeof n.eventType !== 'string' || n.eventType === '') throw new ValidationError('eventType must be a non-empty string', 'bus.invalid_notification');
    const priority = n.priority ?? 'INFO';
    if (!isPriority(priority)) {
      throw new ValidationError(`priority must be one of ${NOTIFICATION_PRIORITIES.join(', ')}`, 'bus.invalid_notification');
    }
    assertJson(n.payload, 'payload');
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.opts.rpcResponseTimeoutMs);
    const uniqueId = hexId();
    const body = envelope(
      buildNotification({
        messageId: n.messageId ?? newUuid(),
        publisherId: n.publisherId,
        eventType: n.eventType,
        priority,
        payload: n.payload,
        timestamp: n.timestamp ?? osloTimestamp(this.deps.clock.now()),
        uniqueId,
        origin: this.origin({ requestId: n.requestId ?? options.requestId, context: n.context ?? options.context }),
      }),
    );
    const exchange = this.controlExchange();
    await Promise.all(
      this.opts.notificationTopics.map((topic) => {
        const routingKey = `${topic}.${priority.toLowerCase()}`;
        return this.t.publish(
          {
            exchange,
            routingKey,
            body,
            messageId: uniqueId,
            mandatory: false,
            persistent: this.opts.rabbit.amqpDurableQueues,
            // oslo's notifier declares the default pool's queue so nothing is lost before a listener starts
            ensureQueue: this.topicQueue(exchange, routingKey),
          },
          timeoutMs,
        );
      }),
    );
  }

  async listen(topics: readonly string[], options: ListenOptions, handler: NotificationHandler): Promise<Subscription> {
    this.assertOpen();
    if (topics.length === 0) throw new ValidationError('listen needs at least one topic', 'bus.invalid_target');
    for (const t of topics) checkName(t, 'topic');
    if (options.pool !== undefined) checkName(options.pool, 'pool');
    const priorities = options.priorities ?? NOTIFICATION_PRIORITIES;
    for (const p of priorities) if (!isPriority(p)) throw new ValidationError(`unknown priority ${String(p)}`, 'bus.invalid_target');
    const exchange = this.controlExchange(options.exchange ?? this.opts.controlExchange);
    const keys = topics.flatMap((t) => priorities.map((p) => `${t}.${p.toLowerCase()}`));
    // oslo: a pool is one queue named after the pool, bound to every key; the default pool is the
    // `<topic>.<priority>` queues themselves
    const queues = options.pool !== undefined ? [this.topicQueue(exchange, options.pool, keys)] : keys.map((k) => this.topicQueue(exchange, k));
    const sub = await this.t.subscribe(queues, this.prefetch, (d) => this.dispatchNotification(options.pool, handler, d));
    return this.track(sub);
  }

  private async dispatchNotification(pool: string | undefined, handler: NotificationHandler, d: Delivery): Promise<void> {
    let n;
    try {
      n = parseNotification(openEnvelope(d.body));
    } catch (err) {
      this.deps.logger.error({ queue: d.queue, ...describeError(err) }, 'dropping malformed notification');
      return;
    }
    try {
      await handler(n);
    } catch (err) {
      // COMPAT(oslo.messaging): an endpoint that raises is logged and the message still acknowledged
      this.deps.logger.error(
        { queue: d.queue, pool, eventType: n.eventType, messageId: n.messageId, requestId: n.requestId, ...describeError(err) },
        'exception during notification handling',
      );
    }
  }

  // ---- lifecycle ----

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.subscriptions].map((s) => s.stop()));
      // outstanding calls get their answer or their timeout; the connection lives until then
      await Promise.all([...this.pending.values()].map((p) => p.done));
      const reply = this.replyQueue ? await this.replyQueue.catch(() => undefined) : undefined;
      await reply?.sub.cancel();
      await this.t.close();
    })();
    return this.closing;
  }
}
