// Bus configuration: oslo.messaging's option names and defaults ([DEFAULT], [oslo_messaging_rabbit], [oslo_messaging_notifications]).
import { ValidationError } from '@alto/kernel';

/** `[oslo_messaging_rabbit]`; times in seconds as upstream (fractions allowed). */
export interface RabbitOptions {
  /** Durable exchanges and `<topic>`/`<topic>.<server>`/notification queues, persistent messages. Default false. */
  amqpDurableQueues?: boolean | undefined;
  /** Auto-delete the control exchange and topic queues. Default false. */
  amqpAutoDelete?: boolean | undefined;
  /** AMQP heartbeat in seconds; 0 disables. Default 60. */
  heartbeatTimeoutThreshold?: number | undefined;
  /** First reconnect delay in seconds (after an immediate first retry). Default 1. */
  rabbitRetryInterval?: number | undefined;
  /** Reconnect delay cap in seconds. Default 30. */
  rabbitIntervalMax?: number | undefined;
  /** Unacknowledged messages per server or listener; 0 means `executorThreadPoolSize`. Default 0. */
  rabbitQosPrefetchCount?: number | undefined;
  /** x-expires of reply and fanout queues, in seconds. Default 1800. */
  rabbitTransientQueuesTtl?: number | undefined;
  /** Which broker to try next when several are listed. Default round-robin. */
  kombuFailoverStrategy?: 'round-robin' | 'shuffle' | undefined;
  /** Socket connect timeout in seconds. Default 10. */
  connectTimeout?: number | undefined;
}

/** `[oslo_messaging_notifications]`. */
export interface NotificationOptions {
  /** Topics every notification is published on. Default `['notifications']`. */
  topics?: readonly string[] | undefined;
}

export interface BusOptions {
  /** oslo's transport_url: `inprocess://` or `rabbit://user:pass@host:port[,user:pass@host2:port2]/vhost`. */
  transportUrl: string;
  /** The exchange topics are scoped under. Default `openstack`. */
  controlExchange?: string | undefined;
  /** Seconds to wait for an answer to a call. Default 60. */
  rpcResponseTimeout?: number | undefined;
  /** Servers answer the reserved method `oslo_rpc_server_ping` with `pong`. Default false. */
  rpcPingEnabled?: boolean | undefined;
  /** Handlers one server or listener runs at the same time (over all its queues). Default 64. */
  executorThreadPoolSize?: number | undefined;
  /** Shown by `rabbitmqctl list_connections`; default `<hostname>:<pid>`. */
  connectionName?: string | undefined;
  rabbit?: RabbitOptions | undefined;
  notifications?: NotificationOptions | undefined;
}

/** BusOptions with every default filled in and times converted to milliseconds. */
export interface ResolvedBusOptions {
  transportUrl: string;
  controlExchange: string;
  rpcResponseTimeoutMs: number;
  rpcPingEnabled: boolean;
  executorThreadPoolSize: number;
  connectionName: string | undefined;
  notificationTopics: readonly string[];
  rabbit: {
    amqpDurableQueues: boolean;
    amqpAutoDelete: boolean;
    heartbeatSeconds: number;
    retryIntervalMs: number;
    intervalMaxMs: number;
    prefetchCount: number;
    transientQueuesTtlMs: number;
    failoverStrategy: 'round-robin' | 'shuffle';
    connectTimeoutMs: number;
  };
}

function seconds(name: string, value: number | undefined, fallback: number, min = 0): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < min) throw new ValidationError(`bus option ${name} must be a number >= ${min}, got ${String(value)}`, 'bus.invalid_option');
  return Math.round(v * 1000);
}

function count(name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new ValidationError(`bus option ${name} must be an integer >= ${min}, got ${String(value)}`, 'bus.invalid_option');
  return v;
}

export function resolveBusOptions(opts: BusOptions): ResolvedBusOptions {
  const r = opts.rabbit ?? {};
  const controlExchange = opts.controlExchange ?? 'openstack';
  if (controlExchange === '') throw new ValidationError('bus option controlExchange must not be empty', 'bus.invalid_option');
  const topics = opts.notifications?.topics ?? ['notifications'];
  for (const t of topics) {
    if (t === '') throw new ValidationError('bus option notifications.topics must not contain an empty topic', 'bus.invalid_option');
  }
  const strategy = r.kombuFailoverStrategy ?? 'round-robin';
  if (strategy !== 'round-robin' && strategy !== 'shuffle') {
    throw new ValidationError(`bus option rabbit.kombuFailoverStrategy must be round-robin or shuffle, got ${String(strategy)}`, 'bus.invalid_option');
  }
  return {
    transportUrl: opts.transportUrl,
    controlExchange,
    rpcResponseTimeoutMs: seconds('rpcResponseTimeout', opts.rpcResponseTimeout, 60, 0.001),
    rpcPingEnabled: opts.rpcPingEnabled ?? false,
    executorThreadPoolSize: count('executorThreadPoolSize', opts.executorThreadPoolSize, 64, 1),
    connectionName: opts.connectionName,
    notificationTopics: [...topics],
    rabbit: {
      amqpDurableQueues: r.amqpDurableQueues ?? false,
      amqpAutoDelete: r.amqpAutoDelete ?? false,
      heartbeatSeconds: count('rabbit.heartbeatTimeoutThreshold', r.heartbeatTimeoutThreshold, 60, 0),
      retryIntervalMs: seconds('rabbit.rabbitRetryInterval', r.rabbitRetryInterval, 1),
      intervalMaxMs: seconds('rabbit.rabbitIntervalMax', r.rabbitIntervalMax, 30),
      prefetchCount: count('rabbit.rabbitQosPrefetchCount', r.rabbitQosPrefetchCount, 0, 0),
      transientQueuesTtlMs: seconds('rabbit.rabbitTransientQueuesTtl', r.rabbitTransientQueuesTtl, 1800, 0.001),
      failoverStrategy: strategy,
      connectTimeoutMs: seconds('rabbit.connectTimeout', r.connectTimeout, 10, 0.001),
    },
  };
}
