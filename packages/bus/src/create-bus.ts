// createBus: picks the transport from the transport_url scheme, as oslo.messaging picks its driver.
import { ValidationError } from '@alto/kernel';
import { AmqpTransport, rabbitEndpoints } from './amqp.js';
import type { Bus, BusDeps } from './bus.js';
import { InProcessBroker, InProcessTransport } from './in-process.js';
import { MessagingBus } from './messaging-bus.js';
import { resolveBusOptions, type BusOptions } from './options.js';
import { parseTransportUrl, redactTransportUrl } from './transport-url.js';

/** The schemes createBus understands. */
export const KNOWN_TRANSPORTS = ['inprocess', 'rabbit'] as const;

export interface CreateBusDeps extends BusDeps {
  /**
   * The broker `inprocess://` buses share. Every bus of one process should get the same one
   * (the composition root makes it); without it the bus gets a private broker.
   */
  broker?: InProcessBroker | undefined;
}

/**
 * Makes a bus from oslo-style options. `rabbit://` connects before resolving (every listed
 * broker is tried once; none answering is a ServiceUnavailableError `bus.unavailable`); later
 * connection losses are healed in the background.
 */
export async function createBus(options: BusOptions, deps: CreateBusDeps): Promise<Bus> {
  const opts = resolveBusOptions(options);
  const url = parseTransportUrl(opts.transportUrl);
  switch (url.scheme) {
    case 'inprocess': {
      const broker = deps.broker ?? new InProcessBroker({ logger: deps.logger });
      return new MessagingBus(new InProcessTransport(broker), opts, deps);
    }
    case 'rabbit': {
      const withCreds = url.hosts.filter((h) => h.username !== undefined && h.password !== undefined).length;
      if (withCreds > 0 && withCreds < url.hosts.length) {
        // COMPAT(oslo.messaging TransportURL.parse): same warning; such hosts log in as guest
        deps.logger.warn({ transportUrl: redactTransportUrl(opts.transportUrl) }, 'all hosts must be set with username/password or not at the same time');
      }
      const transport = await AmqpTransport.connect(rabbitEndpoints(url), opts, deps);
      return new MessagingBus(transport, opts, deps);
    }
    default: {
      const hint = url.scheme === 'amqp' ? ' (amqp:// is oslo.messaging\'s AMQP 1.0 driver; RabbitMQ is rabbit://)' : '';
      throw new ValidationError(
        `unknown transport ${url.scheme}:// in transport_url; known: ${KNOWN_TRANSPORTS.map((k) => `${k}://`).join(', ')}${hint}`,
        'bus.unknown_transport',
      );
    }
  }
}
