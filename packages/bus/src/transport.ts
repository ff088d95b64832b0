// The broker-level contract the bus drives: AMQP 0-9-1 exchanges, queues and bindings, implemented by RabbitMQ or the in-process broker.
import type { AltoError } from '@alto/kernel';

export interface ExchangeSpec {
  name: string;
  type: 'topic' | 'fanout';
  durable: boolean;
  autoDelete: boolean;
}

export interface QueueSpec {
  name: string;
  durable: boolean;
  autoDelete: boolean;
  /** x-expires: the broker deletes the queue after this long without consumers. */
  expiresMs?: number | undefined;
  /** Bindings to declare with the queue; none for queues reached through the default exchange. */
  bindings: readonly { exchange: ExchangeSpec; routingKey: string }[];
}

export interface OutgoingMessage {
  /** null: the default exchange, which routes to the queue named by the routing key. */
  exchange: ExchangeSpec | null;
  routingKey: string;
  body: string;
  /** Per-message id (AMQP message-id property); used to match returns. */
  messageId: string;
  /** Message TTL: a call nobody can answer in time is dropped by the broker, not run late. */
  expirationMs?: number | undefined;
  /** Unroutable messages fail with ServiceUnavailableError `bus.unroutable` instead of vanishing. */
  mandatory: boolean;
  persistent: boolean;
  /** Declared (once per connection) before publishing, like oslo's notifier does for the default pool's queues. */
  ensureQueue?: QueueSpec | undefined;
}

export interface Delivery {
  body: string;
  queue: string;
  /** The broker delivered this message before (to someone) without an acknowledgement. */
  redelivered: boolean;
}

export interface TransportSubscription {
  /** Stops deliveries, waits for the handlers in flight, acknowledges them, releases the consumer. */
  cancel(): Promise<void>;
}

export interface Transport {
  readonly kind: 'inprocess' | 'rabbit';
  /**
   * Resolves once the broker has the message. Waits up to timeoutMs for a connection; rejects
   * with ServiceUnavailableError (`bus.unavailable`, `bus.connection_lost`, `bus.unroutable`,
   * `bus.closed`) otherwise.
   */
  publish(message: OutgoingMessage, timeoutMs: number): Promise<void>;
  /**
   * Declares the queues (and their exchanges and bindings) and consumes them. A message is
   * acknowledged once onDelivery settles; at most `prefetch` are in flight (0: unlimited). The
   * transport re-subscribes by itself after a reconnect.
   */
  subscribe(queues: readonly QueueSpec[], prefetch: number, onDelivery: (delivery: Delivery) => Promise<void>): Promise<TransportSubscription>;
  /** Called each time the connection drops, so callers waiting for replies can fail fast. */
  onConnectionLost(listener: (err: AltoError) => void): void;
  close(): Promise<void>;
}
