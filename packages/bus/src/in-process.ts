// The embedded transport: an in-memory broker with RabbitMQ's routing rules (topic, fanout and default exchanges, round-robin consumers, prefetch, TTL, x-expires).
import { ServiceUnavailableError, type AltoError } from '@alto/kernel';
import type { BusLogger } from './bus.js';
import type { Delivery, OutgoingMessage, QueueSpec, Transport, TransportSubscription } from './transport.js';

interface StoredMessage {
  body: string;
  /** Wall-clock ms; TTLs only drop calls whose caller has given up, so clock steps hardly matter. */
  expiresAt: number | undefined;
}

/** basic.qos with global=true: the unacknowledged messages a channel's consumers share. */
export interface Credit {
  readonly prefetch: number;
  inFlight: number;
  readonly queues: Set<Queue>;
}

interface Consumer {
  queue: Queue;
  credit: Credit;
  onDelivery: (d: Delivery) => Promise<void>;
  inFlight: Set<Promise<void>>;
  active: boolean;
}

export interface Queue {
  name: string;
  messages: StoredMessage[];
  consumers: Consumer[];
  /** Index of the consumer that gets the next message (RabbitMQ's round-robin). */
  next: number;
  scheduled: boolean;
  expiresMs: number | undefined;
  expiry: NodeJS.Timeout | undefined;
  overflowWarned: boolean;
}

export interface InProcessBrokerOptions {
  /**
   * Messages a queue keeps while nobody consumes it; the oldest is dropped beyond that. RabbitMQ
   * has no such default, but the embedded cloud must not grow without bound when, say, no one
   * ever listens to the default notification pool. Default 10000.
   */
  maxQueueLength?: number | undefined;
  logger: BusLogger;
}

/**
 * One broker shared by every bus of a process (pass it to createBus as `deps.broker`), so that
 * the API and its workers in `alto up` talk to each other exactly as they would over RabbitMQ.
 * Exchanges are matched on exact routing keys, which is all oslo.messaging's topology uses.
 */
export class InProcessBroker {
  /** exchange name -> routing key (fanout: '') -> queue names */
  private readonly bindings = new Map<string, Map<string, Set<string>>>();
  private readonly fanouts = new Set<string>();
  private readonly queues = new Map<string, Queue>();
  private readonly maxQueueLength: number;
  private readonly logger: BusLogger;

  constructor(opts: InProcessBrokerOptions) {
    this.maxQueueLength = opts.maxQueueLength ?? 10000;
    this.logger = opts.logger;
  }

  declareQueue(spec: QueueSpec): void {
    let q = this.queues.get(spec.name);
    if (!q) {
      q = { name: spec.name, messages: [], consumers: [], next: 0, scheduled: false, expiresMs: spec.expiresMs, expiry: undefined, overflowWarned: false };
      this.queues.set(spec.name, q);
    }
    for (const b of spec.bindings) {
      if (b.exchange.type === 'fanout') this.fanouts.add(b.exchange.name);
      const key = b.exchange.type === 'fanout' ? '' : b.routingKey;
      let byKey = this.bindings.get(b.exchange.name);
      if (!byKey) this.bindings.set(b.exchange.name, (byKey = new Map<string, Set<string>>()));
      let names = byKey.get(key);
      if (!names) byKey.set(key, (names = new Set<string>()));
      names.add(spec.name);
    }
    // a declare counts as use for x-expires, as in RabbitMQ
    this.armExpiry(q);
  }

  private armExpiry(q: Queue): void {
    if (q.expiry) clearTimeout(q.expiry);
    q.expiry = undefined;
    if (q.expiresMs === undefined || q.consumers.length > 0) return;
    q.expiry = setTimeout(() => this.deleteQueue(q), q.expiresMs);
    q.expiry.unref();
  }

  private deleteQueue(q: Queue): void {
    if (q.consumers.length > 0 || this.queues.get(q.name) !== q) return;
    this.queues.delete(q.name);
    for (const byKey of this.bindings.values()) for (const names of byKey.values()) names.delete(q.name);
  }

  /** Routes the message; returns how many queues took it. */
  publish(msg: OutgoingMessage): number {
    let targets: Iterable<string>;
    if (msg.exchange === null) targets = this.queues.has(msg.routingKey) ? [msg.routingKey] : [];
    else {
      const key = this.fanouts.has(msg.exchange.name) ? '' : msg.routingKey;
      targets = this.bindings.get(msg.exchange.name)?.get(key) ?? [];
    }
    const expiresAt = msg.expirationMs === undefined ? undefined : Date.now() + msg.expirationMs;
    let routed = 0;
    for (const name of targets) {
      const q = this.queues.get(name);
      if (!q) continue;
      routed++;
      if (q.messages.length >= this.maxQueueLength) {
        q.messages.shift();
        if (!q.overflowWarned) {
          q.overflowWarned = true;
          this.logger.warn({ queue: q.name, maxQueueLength: this.maxQueueLength }, 'in-process queue is full, dropping its oldest messages');
        }
      }
      q.messages.push({ body: msg.body, expiresAt });
      this.schedule(q);
    }
    return routed;
  }

  /** A prefetch limit to share between the consumers of one subscription (0: none). */
  credit(prefetch: number): Credit {
    return { prefetch, inFlight: 0, queues: new Set() };
  }

  consume(queueName: string, credit: Credit, onDelivery: (d: Delivery) => Promise<void>): Consumer {
    const q = this.queues.get(queueName);
    if (!q) throw new Error(`no queue ${queueName}`);
    const c: Consumer = { queue: q, credit, onDelivery, inFlight: new Set(), active: true };
    credit.queues.add(q);
    q.consumers.push(c);
    this.armExpiry(q);
    this.schedule(q);
    return c;
  }

  /** Stops deliveries to the consumer and waits for the ones it is handling. */
  async cancel(c: Consumer): Promise<void> {
    if (c.active) {
      c.active = false;
      const q = c.queue;
      const i = q.consumers.indexOf(c);
      if (i >= 0) {
        q.consumers.splice(i, 1);
        if (q.next > i) q.next--;
      }
      this.armExpiry(q);
    }
    while (c.inFlight.size > 0) await Promise.allSettled([...c.inFlight]);
  }

  /** Delivery is always asynchronous, as over a socket: never inside the publisher's call stack. */
  private schedule(q: Queue): void {
    if (q.scheduled) return;
    q.scheduled = true;
    setImmediate(() => {
      q.scheduled = false;
      this.dispatch(q);
    });
  }

  private dispatch(q: Queue): void {
    const now = Date.now();
    while (q.messages.length > 0) {
      const head = q.messages[0];
      if (head && head.expiresAt !== undefined && head.expiresAt <= now) {
        q.messages.shift();
        continue;
      }
      const c = this.nextConsumer(q);
      if (!c || !head) return;
      q.messages.shift();
      const p: Promise<void> = Promise.resolve()
        .then(() => c.onDelivery({ body: head.body, queue: q.name, redelivered: false }))
        .catch((err: unknown) => this.logger.error({ queue: q.name, err: String(err) }, 'in-process delivery handler failed'))
        .finally(() => {
          c.inFlight.delete(p);
          c.credit.inFlight--;
          // the freed credit may unblock any queue of the subscription
          for (const other of c.credit.queues) this.schedule(other);
        });
      c.inFlight.add(p);
      c.credit.inFlight++;
    }
  }

  private nextConsumer(q: Queue): Consumer | undefined {
    const n = q.consumers.length;
    for (let i = 0; i < n; i++) {
      const idx = (q.next + i) % n;
      const c = q.consumers[idx];
      if (c && c.active && (c.credit.prefetch === 0 || c.credit.inFlight < c.credit.prefetch)) {
        q.next = (idx + 1) % n;
        return c;
      }
    }
    return undefined;
  }
}

/** One bus's handle on a shared InProcessBroker. It never loses its connection. */
export class InProcessTransport implements Transport {
  readonly kind = 'inprocess' as const;
  private readonly subs = new Set<TransportSubscription>();
  private closed = false;

  private readonly broker: InProcessBroker;

  constructor(broker: InProcessBroker) {
    this.broker = broker;
  }

  async publish(msg: OutgoingMessage, _timeoutMs: number): Promise<void> {
    if (this.closed) throw new ServiceUnavailableError('The message bus is closed.', 'bus.closed');
    if (msg.ensureQueue) this.broker.declareQueue(msg.ensureQueue);
    const routed = this.broker.publish(msg);
    if (routed === 0 && msg.mandatory) {
      throw new ServiceUnavailableError(`No queue is bound to ${msg.exchange?.name ?? '(default exchange)'} with key ${msg.routingKey}.`, 'bus.unroutable');
    }
  }

  async subscribe(queues: readonly QueueSpec[], prefetch: number, onDelivery: (d: Delivery) => Promise<void>): Promise<TransportSubscription> {
    if (this.closed) throw new ServiceUnavailableError('The message bus is closed.', 'bus.closed');
    const names = new Set<string>();
    for (const q of queues) {
      this.broker.declareQueue(q);
      names.add(q.name);
    }
    const credit = this.broker.credit(prefetch);
    const consumers = [...names].map((n) => this.broker.consume(n, credit, onDelivery));
    let cancelling: Promise<void> | undefined;
    const sub: TransportSubscription = {
      cancel: () => {
        cancelling ??= Promise.all(consumers.map((c) => this.broker.cancel(c))).then(() => {
          this.subs.delete(sub);
        });
        return cancelling;
      },
    };
    this.subs.add(sub);
    return sub;
  }

  onConnectionLost(_listener: (err: AltoError) => void): void {
    // nothing to lose
  }

  async close(): Promise<void> {
    await Promise.all([...this.subs].map((s) => s.cancel()));
    this.closed = true;
  }
}
