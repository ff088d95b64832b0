// An HTTP server as a Runnable: listen on start; on stop, refuse new connections and finish
// the requests in flight (fastify's close drains).
import type { FastifyInstance } from 'fastify';
import { ConflictError, ValidationError } from '@alto/kernel';
import type { Runnable } from './runnable.js';

export interface ListenOn {
  host: string;
  port: number;
  /** The config key that sets the port (e.g. identity.api.port), named when the port is taken. */
  setting?: string;
}

/** A failed listen said the way a person fixes it: what is taken or refused, and which setting moves it. */
function listenError(err: unknown, name: string, listen: ListenOn): unknown {
  const code = (err as { code?: string }).code;
  const where = `${listen.host}:${listen.port}`;
  const env = listen.setting ? `ALTO_${listen.setting.toUpperCase().replaceAll('.', '__')}` : undefined;
  const move = listen.setting ? ` or give ${name} another port (${listen.setting} in the config file, or ${env}=<port>)` : '';
  if (code === 'EADDRINUSE') return new ConflictError(`${name} cannot listen on ${where}: the port is in use. Stop what uses it (is another alto running? ss -ltnp 'sport = :${listen.port}' tells)${move}.`, 'runtime.port_in_use', { cause: err });
  if (code === 'EACCES') return new ValidationError(`${name} may not listen on ${where} (ports below 1024 need root)${move}.`, 'runtime.port_refused', { cause: err });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new ValidationError(`${name} cannot listen on ${where}: no interface of this machine has that address (check --host or the api.host setting).`, 'runtime.bad_host', { cause: err });
  return err;
}

export function httpServerRunnable(name: string, app: FastifyInstance, listen: ListenOn): Runnable & { address(): string } {
  let bound = '';
  return {
    name,
    async start() {
      bound = await app.listen({ host: listen.host, port: listen.port }).catch((err: unknown) => {
        throw listenError(err, name, listen);
      });
    },
    async stop() {
      await app.close();
    },
    address: () => bound,
  };
}
