// An HTTP server as a Runnable: listen on start; on stop, refuse new connections and finish
// the requests in flight (fastify's close drains).
import type { FastifyInstance } from 'fastify';
import type { Runnable } from './runnable.js';

export function httpServerRunnable(name: string, app: FastifyInstance, listen: { host: string; port: number }): Runnable & { address(): string } {
  let bound = '';
  return {
    name,
    async start() {
      bound = await app.listen({ host: listen.host, port: listen.port });
    },
    async stop() {
      await app.close();
    },
    address: () => bound,
  };
}
