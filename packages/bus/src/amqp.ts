// The RabbitMQ transport (amqplib): one connection with publisher confirms, a channel per consumer, heartbeats, and reconnect with capped exponential backoff.
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { ServiceUnavailableError, type AltoError } from '@alto/kernel';
import type { BusDeps } from './bus.js';
import type { ResolvedBusOptions } from './options.js';
import type { TransportUrl } from './transport-url.js';
import type { Delivery, ExchangeSpec, OutgoingMessage, QueueSpec, Transport, TransportSubscription } from './transport.js';

export interface RabbitEndpoint {
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
}

/**
 * The brokers a rabbit:// URL names. As oslo (through kombu) does: port 5672 by default, a host
 * without credentials logs in as guest, an empty virtual host is `/`, no host is localhost.
 */
export function rabbitEndpoints(url: TransportUrl): RabbitEndpoint[] {
  const vhost = url.virtualHost === undefined || url.virtualHost === '' ? '/' : url.virtualHost;
  const hosts = url.hosts.length > 0 ? url.hosts : [{ hostname: 'localhost', port: undefined, username: undefined, password: undefined }];
  return hosts.map((h) => ({
    hostname: h.hostname === '' ? 'localhost' : h.hostname,
    port: h.port ?? 5672,
    username: h.username ?? 'guest',
    password: h.password ?? 'guest',
    vhost,
  }));
}

/**
 * Delay before reconnect attempt n (1-based): the first retry is immediate (a dropped connection
 * to a live broker comes back at once), then retryInterval doubling per attempt up to the cap,
 * with ±20% jitter kept under the cap so that many clients do not reconnect in lockstep.
 * COMPAT(oslo.messaging): kombu steps linearly by rabbit_retry_backoff; we double instead.
 */
export function reconnectDelayMs(attempt: number, retryIntervalMs: number, intervalMaxMs: number, random: () => number = Math.random): number {
  if (attempt <= 1) return 0;
  const base = Math.min(intervalMaxMs, retryIntervalMs * 2 ** Math.min(attempt - 2, 30));
  return Math.min(intervalMaxMs, Math.round(base * (0.8 + random() * 0.4)));
}

const where = (ep: RabbitEndpoint): string => `${ep.hostname.includes(':') ? `[${ep.hostname}]` : ep.hostname}:${ep.port}`;

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const closedError = (): ServiceUnavailableError => new ServiceUnavailableError('The message bus is closed.', 'bus.closed');
const lostError = (cause?: unknown): ServiceUnavailableError =>
  new ServiceUnavailableError('The connection to the message bus was lost.', 'bus.connection_lost', cause === undefined ? {} : { cause });

function queueArguments(q: QueueSpec): Record<string, unknown> | undefined {
  return q.expiresMs === undefined ? undefined : { 'x-expires': q.expiresMs };
}

/** The confirm channel of one connection, with what it has already declared. */
class Publisher {
  private readonly declared = new Set<string>();
  private readonly returned = new Set<string>();
  closed = false;

  readonly ch: ConfirmChannel;

  private constructor(ch: ConfirmChannel) {
    this.ch = ch;
  }

  static async open(conn: ChannelModel, deps: BusDeps): Promise<Publisher> {
    const ch = await conn.createConfirmChannel();
    const p = new Publisher(ch);
    ch.on('error', (err: Error) => deps.logger.warn({ err: err.message }, 'publisher channel error'));
    ch.on('close', () => {
      p.closed = true;
    });
    // basic.return arrives before the confirm of the same message: remember it for send()
    ch.on('return', (m: { properties: { messageId?: unknown } }) => {
      if (typeof m.properties.messageId === 'string') p.returned.add(m.properties.messageId);
    });
    return p;
  }

  /** Declares what the message needs, once per channel (always for auto-delete exchanges, which may vanish). */
  async prepare(msg: OutgoingMessage): Promise<void> {
    if (msg.exchange) await this.declareExchange(msg.exchange);
    const q = msg.ensureQueue;
    if (q && !this.declared.has(`q:${q.name}`)) {
      await this.ch.assertQueue(q.name, { durable: q.durable, autoDelete: q.autoDelete, arguments: queueArguments(q) });
      for (const b of q.bindings) {
        await this.declareExchange(b.exchange);
        await this.ch.bindQueue(q.name, b.exchange.name, b.routingKey);
      }
      this.declared.add(`q:${q.name}`);
    }
  }

  private async declareExchange(x: ExchangeSpec): Promise<void> {
    if (!x.autoDelete && this.declared.has(`x:${x.name}`)) return;
    await this.ch.assertExchange(x.name, x.type, { durable: x.durable, autoDelete: x.autoDelete });
    if (!x.autoDelete) this.declared.add(`x:${x.name}`);
  }

  /** Publishes and waits for the broker's confirm (or its return, for an unroutable mandatory message). */
  send(msg: OutgoingMessage, deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: AltoError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => finish(new ServiceUnavailableError('The message broker did not confirm the message in time.', 'bus.unavailable')),
        Math.max(0, deadline - performance.now()),
      );
      try {
        this.ch.publish(
          msg.exchange?.name ?? '',
          msg.routingKey,
          Buffer.from(msg.body, 'utf8'),
          {
            contentType: 'application/json',
            contentEncoding: 'utf-8',
            messageId: msg.messageId,
            mandatory: msg.mandatory,
            persistent: msg.persistent,
            expiration: msg.expirationMs === undefined ? undefined : String(Math.max(0, Math.ceil(msg.expirationMs))),
          },
          (err: unknown) => {
            const returned = this.returned.delete(msg.messageId);
            if (err) {
              // amqplib: 'message nacked' from the broker, anything else means the channel closed under it
              const nacked = err instanceof Error && err.message === 'message nacked';
              finish(nacked ? new ServiceUnavailableError('The message broker refused the message.', 'bus.nack', { cause: err }) : lostError(err));
            } else if (returned) {
              const to = msg.exchange ? `exchange ${msg.exchange.name}` : 'the default exchange';
              finish(new ServiceUnavailableError(`No queue is bound to ${to} with key ${msg.routingKey}.`, 'bus.unroutable'));
            } else finish();
          },
        );
      } catch (err) {
        // amqplib throws synchronously on a closed channel
        finish(lostError(err));
      }
    });
  }
}

/** One server's or listener's consumer: its own channel, re-established after every reconnect. */
class AmqpSubscription implements TransportSubscription {
  private ch: Channel | undefined;
  /** The connection `ch` belongs to. */
  private chConn: ChannelModel | undefined;
  private attaching: { conn: ChannelModel; promise: Promise<void> } | undefined;
  /** Consumer tags on `ch`. */
  private tags: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private cancelled = false;
  private retry: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  /** The connection the transport last attached us to. */
  private tried: ChannelModel | undefined;

  private readonly transport: AmqpTransport;
  private readonly queues: readonly QueueSpec[];
  private readonly prefetch: number;
  private readonly onDelivery: (d: Delivery) => Promise<void>;
  private readonly deps: BusDeps;

  constructor(transport: AmqpTransport, queues: readonly QueueSpec[], prefetch: number, onDelivery: (d: Delivery) => Promise<void>, deps: BusDeps) {
    this.transport = transport;
    this.queues = queues;
    this.prefetch = prefetch;
    this.onDelivery = onDelivery;
    this.deps = deps;
  }

  get names(): string[] {
    return [...new Set(this.queues.map((q) => q.name))];
  }

  /**
   * Opens a channel on conn, declares the topology and starts consuming. At most one attach
   * runs per connection (a retry timer and a reconnect can ask at the same time), and a live
   * channel on conn is kept: two channels would mean two consumers for one subscription.
   */
  attach(conn: ChannelModel): Promise<void> {
    if (this.attaching?.conn === conn) return this.attaching.promise;
    if (this.ch && this.chConn === conn) return Promise.resolve();
    const promise = this.doAttach(conn).finally(() => {
      if (this.attaching?.promise === promise) this.attaching = undefined;
    });
    this.attaching = { conn, promise };
    return promise;
  }

  private async doAttach(conn: ChannelModel): Promise<void> {
    const ch = await conn.createChannel();
    ch.on('error', (err: Error) => this.deps.logger.warn({ queues: this.names, err: err.message }, 'consumer channel error'));
    ch.on('close', () => this.onChannelClosed(ch));
    try {
      // global: RabbitMQ then counts the limit per channel, i.e. per server or listener, across its queues
      if (this.prefetch > 0) await ch.prefetch(this.prefetch, true);
      const exchanges = new Set<string>();
      const queues = new Set<string>();
      for (const q of this.queues) {
        if (!queues.has(q.name)) {
          await ch.assertQueue(q.name, { durable: q.durable, autoDelete: q.autoDelete, arguments: queueArguments(q) });
          queues.add(q.name);
        }
        for (const b of q.bindings) {
          if (!exchanges.has(b.exchange.name)) {
            await ch.assertExchange(b.exchange.name, b.exchange.type, { durable: b.exchange.durable, autoDelete: b.exchange.autoDelete });
            exchanges.add(b.exchange.name);
          }
          await ch.bindQueue(q.name, b.exchange.name, b.routingKey);
        }
      }
      if (this.cancelled) throw new Error('cancelled while attaching');
      this.ch = ch;
      this.chConn = conn;
      this.tags = [];
      for (const name of queues) {
        const { consumerTag } = await ch.consume(name, (m) => this.onMessage(ch, name, m), { noAck: false });
        if (this.ch === ch) this.tags.push(consumerTag);
      }
      this.retryAttempt = 0;
    } catch (err) {
      if (this.ch === ch) this.ch = undefined;
      await ch.close().catch(() => undefined);
      throw err;
    }
  }

  private onMessage(ch: Channel, queue: string, m: ConsumeMessage | null): void {
    if (m === null) {
      // basic.cancel from the broker: the queue was deleted (or its node failed); declare it again
      this.deps.logger.warn({ queue }, 'the broker cancelled our consumer; re-subscribing');
      if (this.ch === ch) {
        this.ch = undefined;
        ch.close().catch(() => undefined);
      }
      this.scheduleReattach();
      return;
    }
    const p: Promise<void> = this.onDelivery({ body: m.content.toString('utf8'), queue, redelivered: m.fields.redelivered })
      .catch((err: unknown) => this.deps.logger.error({ queue, err: errText(err) }, 'delivery handler failed'))
      .finally(() => {
        this.inFlight.delete(p);
        try {
          // ack after the handler, on the channel the message came from
          ch.ack(m);
        } catch {
          this.deps.logger.debug({ queue }, 'could not acknowledge (channel closed); the broker will redeliver the message');
        }
      });
    this.inFlight.add(p);
  }

  private onChannelClosed(ch: Channel): void {
    if (this.ch !== ch) return;
    this.ch = undefined;
    // with the connection gone the transport re-attaches everyone; a channel that died on its own is ours to fix
    if (!this.cancelled && this.transport.isUp) this.scheduleReattach();
  }

  /** Called by the transport when the connection dropped: the channel is gone with it. */
  detach(): void {
    this.ch = undefined;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
  }

  /** Re-attaches after a delay, retrying with the transport's backoff until it works or we are cancelled. */
  scheduleReattach(): void {
    if (this.retry || this.cancelled) return;
    const delay = this.retryAttempt === 0 ? 1000 : this.transport.backoffMs(this.retryAttempt + 1);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      const conn = this.transport.connection;
      if (this.cancelled || !conn || this.ch) return;
      this.attach(conn).catch((err: unknown) => {
        this.retryAttempt++;
        this.deps.logger.error({ queues: this.names, attempt: this.retryAttempt, err: errText(err) }, 're-subscribing failed; will retry');
        this.scheduleReattach();
      });
    }, delay);
  }

  /** Whether the transport still has to attach this subscription to conn after a reconnect. */
  needsAttach(conn: ChannelModel): boolean {
    return !this.cancelled && this.tried !== conn;
  }

  /** After a reconnect; never rejects (a failure retries in the background). */
  async reattach(conn: ChannelModel): Promise<void> {
    this.tried = conn;
    if (this.cancelled) return;
    try {
      await this.attach(conn);
    } catch (err) {
      this.retryAttempt++;
      this.deps.logger.error({ queues: this.names, err: errText(err) }, 're-subscribing after reconnect failed; will retry');
      this.scheduleReattach();
    }
  }

  async cancel(): Promise<void> {
    if (!this.cancelled) {
      this.cancelled = true;
      if (this.retry) clearTimeout(this.retry);
      this.retry = undefined;
      // an attach under way finishes first, so that its consumers are known and cancelled too
      await this.attaching?.promise.catch(() => undefined);
      const ch = this.ch;
      if (ch) {
        // closing the channel would requeue what is in flight; cancel the consumers and drain first
        for (const tag of this.tags) await ch.cancel(tag).catch(() => undefined);
      }
    }
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    const ch = this.ch;
    this.ch = undefined;
    if (ch) await ch.close().catch(() => undefined);
    this.transport.forget(this);
  }
}

/**
 * Connects to one of the brokers (round-robin or shuffled, as kombu_failover_strategy says),
 * keeps publishing on a confirm channel, and when the connection drops: fails everything that
 * waits on it, reconnects with capped exponential backoff, and re-attaches every subscription
 * (which re-declares its exchanges, queues and bindings).
 */
export class AmqpTransport implements Transport {
  readonly kind = 'rabbit' as const;
  private conn: ChannelModel | undefined;
  private current: RabbitEndpoint | undefined;
  private state: 'up' | 'down' | 'closed' = 'down';
  private publisher: Promise<Publisher> | undefined;
  private readonly subs = new Set<AmqpSubscription>();
  private readonly waiters = new Set<() => void>();
  private readonly lostListeners: ((err: AltoError) => void)[] = [];
  private nextHost = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;

  private readonly endpoints: readonly RabbitEndpoint[];
  private readonly opts: ResolvedBusOptions;
  private readonly deps: BusDeps;

  private constructor(endpoints: readonly RabbitEndpoint[], opts: ResolvedBusOptions, deps: BusDeps) {
    this.endpoints = endpoints;
    this.opts = opts;
    this.deps = deps;
  }

  /** Tries every broker once; fails with ServiceUnavailableError `bus.unavailable` when none answers. */
  static async connect(endpoints: readonly RabbitEndpoint[], opts: ResolvedBusOptions, deps: BusDeps): Promise<AmqpTransport> {
    if (endpoints.length === 0) throw new ServiceUnavailableError('No message broker configured.', 'bus.unavailable');
    const t = new AmqpTransport(endpoints, opts, deps);
    if (opts.rabbit.failoverStrategy === 'shuffle') t.nextHost = Math.floor(Math.random() * endpoints.length);
    const failures: string[] = [];
    for (let i = 0; i < endpoints.length; i++) {
      const ep = t.pickEndpoint();
      try {
        t.adopt(await t.open(ep), ep, true);
        return t;
      } catch (err) {
        failures.push(`${where(ep)}: ${errText(err)}`);
      }
    }
    throw new ServiceUnavailableError(`Cannot connect to the message broker (${failures.join('; ')}).`, 'bus.unavailable');
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  get connection(): ChannelModel | undefined {
    return this.state === 'up' ? this.conn : undefined;
  }

  backoffMs(attempt: number): number {
    return reconnectDelayMs(attempt, this.opts.rabbit.retryIntervalMs, this.opts.rabbit.intervalMaxMs);
  }

  private pickEndpoint(): RabbitEndpoint {
    const n = this.endpoints.length;
    const i = this.opts.rabbit.failoverStrategy === 'shuffle' && n > 1 ? Math.floor(Math.random() * n) : this.nextHost++ % n;
    const ep = this.endpoints[i];
    if (!ep) throw new Error('no endpoint');
    return ep;
  }

  private async open(ep: RabbitEndpoint): Promise<ChannelModel> {
    // loaded on first use: a process on the in-process bus never pays for amqplib
    const { connect } = await import('amqplib');
    return connect(
      {
        protocol: 'amqp',
        hostname: ep.hostname,
        port: ep.port,
        username: ep.username,
        password: ep.password,
        vhost: ep.vhost,
        heartbeat: this.opts.rabbit.heartbeatSeconds,
      },
      {
        timeout: this.opts.rabbit.connectTimeoutMs,
        clientProperties: { connection_name: this.opts.connectionName ?? `${hostname()}:${process.pid}`, product: 'altostratus' },
      },
    );
  }

  /** Takes conn as the connection; `up` lets publishing start (after a reconnect, only once consumers are back). */
  private adopt(conn: ChannelModel, ep: RabbitEndpoint, up: boolean): void {
    this.conn = conn;
    this.current = ep;
    this.publisher = undefined;
    conn.on('error', (err: Error) => this.deps.logger.warn({ broker: where(ep), err: err.message }, 'message broker connection error'));
    conn.on('close', (err?: Error) => this.onClose(conn, err));
    conn.on('blocked', (reason: string) => this.deps.logger.warn({ broker: where(ep), reason }, 'the broker blocked publishing (resource alarm)'));
    conn.on('unblocked', () => this.deps.logger.info({ broker: where(ep) }, 'the broker unblocked publishing'));
    if (up) {
      this.state = 'up';
      this.wake();
    }
  }

  /**
   * Re-attaches every subscription (re-declaring its queues, exchanges and bindings) before
   * publishing resumes, so that a reply queue or a server's queue exists again before anything
   * is sent to it. Subscriptions made meanwhile are picked up by the loop.
   */
  private async resume(conn: ChannelModel, ep: RabbitEndpoint, attempt: number): Promise<void> {
    this.adopt(conn, ep, false);
    for (;;) {
      const todo = [...this.subs].filter((s) => s.needsAttach(conn));
      if (todo.length === 0) break;
      await Promise.all(todo.map((s) => s.reattach(conn)));
      if (this.conn !== conn || this.state !== 'down') return;
    }
    this.state = 'up';
    this.wake();
    this.deps.logger.info({ broker: where(ep), attempt, subscriptions: this.subs.size }, 'reconnected to the message broker');
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
    this.waiters.clear();
  }

  private onClose(conn: ChannelModel, err: Error | undefined): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    this.publisher = undefined;
    if (this.state === 'closed') return;
    this.state = 'down';
    this.deps.logger.warn({ broker: this.current ? where(this.current) : undefined, err: err?.message }, 'lost the connection to the message broker; reconnecting');
    const lost = lostError(err);
    for (const l of this.lostListeners) l(lost);
    for (const s of this.subs) s.detach();
    this.scheduleReconnect(1);
  }

  private scheduleReconnect(attempt: number, delay = this.backoffMs(attempt)): void {
    if (this.state === 'closed') return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      const ep = this.pickEndpoint();
      this.open(ep).then(
        (conn) => {
          if (this.state === 'closed') {
            conn.close().catch(() => undefined);
            return;
          }
          void this.resume(conn, ep, attempt);
        },
        (err: unknown) => {
          const next = this.backoffMs(attempt + 1);
          this.deps.logger.warn({ broker: where(ep), attempt, nextInMs: next, err: errText(err) }, 'reconnect failed');
          this.scheduleReconnect(attempt + 1, next);
        },
      );
    }, delay);
  }

  /** Waits until connected or the deadline; false on timeout. */
  private async waitUp(deadline: number): Promise<boolean> {
    while (this.state === 'down') {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiters.delete(done);
          resolve();
        }, left);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        this.waiters.add(done);
      });
    }
    return true;
  }

  private getPublisher(conn: ChannelModel): Promise<Publisher> {
    const existing = this.publisher;
    if (existing) {
      return existing.then((p) => {
        if (!p.closed) return p;
        if (this.publisher === existing) this.publisher = undefined;
        return this.getPublisher(conn);
      });
    }
    const opened = Publisher.open(conn, this.deps);
    this.publisher = opened;
    opened.catch(() => {
      if (this.publisher === opened) this.publisher = undefined;
    });
    return opened;
  }

  async publish(msg: OutgoingMessage, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.state === 'closed') throw closedError();
      if (!(await this.waitUp(deadline))) throw new ServiceUnavailableError('The message broker is unreachable.', 'bus.unavailable');
      const conn = this.conn;
      if (this.state !== 'up' || !conn) continue;
      let pub: Publisher;
      try {
        pub = await this.getPublisher(conn);
        await pub.prepare(msg);
      } catch (err) {
        // nothing was published yet: if the connection went away meanwhile, wait for the next one
        if (this.conn !== conn || this.state !== 'up') continue;
        this.deps.logger.error({ exchange: msg.exchange?.name, routingKey: msg.routingKey, err: errText(err) }, 'the message broker refused a declaration');
        throw new ServiceUnavailableError('The message broker refused the operation.', 'bus.broker_error', { cause: err });
      }
      return pub.send(msg, deadline);
    }
  }

  async subscribe(queues: readonly QueueSpec[], prefetch: number, onDelivery: (d: Delivery) => Promise<void>): Promise<TransportSubscription> {
    if (this.state === 'closed') throw closedError();
    const sub = new AmqpSubscription(this, queues, prefetch, onDelivery, this.deps);
    // registered first, so a reconnect during attach re-attaches it too
    this.subs.add(sub);
    const conn = this.conn;
    if (this.state === 'up' && conn) {
      try {
        await sub.attach(conn);
      } catch (err) {
        if (this.conn === conn && this.state === 'up') {
          this.subs.delete(sub);
          throw new ServiceUnavailableError(`The message broker refused to set up ${sub.names.join(', ')}: ${errText(err)}`, 'bus.broker_error', { cause: err });
        }
        // the connection dropped meanwhile: the reconnect will attach it
      }
    }
    return sub;
  }

  forget(sub: AmqpSubscription): void {
    this.subs.delete(sub);
  }

  onConnectionLost(listener: (err: AltoError) => void): void {
    this.lostListeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    await Promise.allSettled([...this.subs].map((s) => s.cancel()));
    this.state = 'closed';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.wake();
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await conn.close().catch(() => undefined);
  }
}
