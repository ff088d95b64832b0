// The Bus contract every service uses for RPC between components and for notifications, modelled on oslo.messaging.
import type { Clock, JsonObject, JsonValue, RequestContext } from '@alto/kernel';

/**
 * Where an RPC message goes, as oslo.messaging's Target: the topic names a service's queue
 * (e.g. `compute`), `server` picks one host's queue (`compute.host1`), `fanout` reaches every
 * server of the topic (casts only).
 */
export interface Target {
  topic: string;
  server?: string | undefined;
  fanout?: boolean | undefined;
}

/** What a server consumes: the shared `<topic>` queue, its own `<topic>.<server>` queue and the topic's fanout. */
export interface ServerTarget {
  topic: string;
  server: string;
}

/** Who is asking, carried in the message as oslo's `_context_*` keys. */
export interface MessageOrigin {
  /** The caller's request id (`req-<uuid>`); a new one is made when absent. */
  requestId?: string | undefined;
  /** The caller's full context, when the handler needs to act on its behalf (policy, quotas). */
  context?: RequestContext | undefined;
}

export interface CallOptions extends MessageOrigin {
  /** How long to wait for the answer; default `rpcResponseTimeout`. Also the message's TTL in the queue. */
  timeoutMs?: number | undefined;
}

export interface SendOptions extends MessageOrigin {
  /** How long to wait for the broker to take the message; default `rpcResponseTimeout`. */
  timeoutMs?: number | undefined;
}

/** An RPC message as the handler sees it. */
export interface RpcRequest {
  method: string;
  /** `call` (an answer is expected) or `cast` (fire and forget, fanout included). */
  kind: 'call' | 'cast';
  requestId: string;
  /** Present when the caller sent its context. */
  context: RequestContext | undefined;
}

/**
 * Handles one RPC method. Args and result are JSON (the result is serialised; `undefined`
 * becomes `null`). Throw an AltoError to make the caller see the same kind, code and message;
 * anything else reaches the caller as a generic InternalError and is logged here.
 */
export type RpcHandler = (args: JsonObject, request: RpcRequest) => JsonValue | void | Promise<JsonValue | void>;

/** Method name -> handler, like an oslo.messaging endpoint. */
export type RpcHandlers = Readonly<Record<string, RpcHandler>>;

/** oslo.messaging's notification priorities; the routing key uses them in lower case. */
export const NOTIFICATION_PRIORITIES = ['AUDIT', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SAMPLE'] as const;
export type NotificationPriority = (typeof NOTIFICATION_PRIORITIES)[number];

/** A notification to publish (Keystone's CADF audit events, Nova's instance.create.end ...). */
export interface NotificationInput extends MessageOrigin {
  /** `<service>.<host>`, e.g. `identity.host1`. */
  publisherId: string;
  /** e.g. `identity.project.created`. */
  eventType: string;
  /** Default INFO. */
  priority?: NotificationPriority | undefined;
  payload: JsonValue;
  /** A dashed UUID; generated when absent. */
  messageId?: string | undefined;
  /** oslo's `str(utcnow())` format, `2026-01-01 12:00:00.000000`; generated when absent. */
  timestamp?: string | undefined;
}

/** A notification as listeners receive it. */
export interface Notification {
  publisherId: string;
  eventType: string;
  priority: NotificationPriority;
  payload: JsonValue;
  messageId: string;
  timestamp: string;
  /** The publisher's request id, when it sent one. */
  requestId: string | undefined;
  context: RequestContext | undefined;
}

export type NotificationHandler = (notification: Notification) => void | Promise<void>;

export interface ListenOptions {
  /**
   * Listeners in the same pool share the notifications (each goes to one of them); every pool
   * gets every notification. Without a pool the listener joins the default pool, whose queues
   * the notifier itself declares so nothing is lost before the first listener starts.
   */
  pool?: string | undefined;
  /** The exchange to listen on; default the bus's control exchange (another service's to consume its events). */
  exchange?: string | undefined;
  /** Priorities to receive; default all of them. */
  priorities?: readonly NotificationPriority[] | undefined;
}

/** A running server or listener. */
export interface Subscription {
  /** Stops taking new messages and resolves once the handlers in flight have finished and been acknowledged. */
  stop(): Promise<void>;
}

export interface PingOptions {
  /** Default `rpcResponseTimeout`. */
  timeoutMs?: number | undefined;
}

export interface Bus {
  /** `inprocess` or `rabbit`. */
  readonly transport: string;
  /** Sends a request to one server of the topic (or the named server) and waits for its answer. */
  call(target: Target, method: string, args: JsonObject, options?: CallOptions): Promise<JsonValue>;
  /** Fire and forget; resolves once the transport has the message (for RabbitMQ: publisher-confirmed). */
  cast(target: Target, method: string, args: JsonObject, options?: SendOptions): Promise<void>;
  /** Starts a server for the topic under the given server name. */
  serve(target: ServerTarget, handlers: RpcHandlers): Promise<Subscription>;
  /** Publishes a notification on every configured notification topic; resolves once the transport has it. */
  notify(notification: NotificationInput, options?: SendOptions): Promise<void>;
  /** Listens for notifications on the given topics (e.g. `['notifications']`). */
  listen(topics: readonly string[], options: ListenOptions, handler: NotificationHandler): Promise<Subscription>;
  /** Sends a real message through the transport and back; resolves with the round trip in milliseconds. */
  ping(options?: PingOptions): Promise<number>;
  /** Stops servers and listeners (draining handlers in flight), waits for outstanding calls, then disconnects. */
  close(): Promise<void>;
}

/** The minimal logger the bus needs; pino's Logger fits. */
export interface BusLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface BusDeps {
  logger: BusLogger;
  /** Notification timestamps. */
  clock: Clock;
}
