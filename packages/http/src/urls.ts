// The base URL clients used to reach us: configured public endpoint, else derived from the request.
import type { FastifyRequest } from 'fastify';

export function requestBaseUrl(req: FastifyRequest, configured?: string): string {
  if (configured) return configured.replace(/\/+$/, '');
  const proto = (req.headers['x-forwarded-proto'] as string | undefined)?.split(',')[0]?.trim() || req.protocol;
  const host = (req.headers['x-forwarded-host'] as string | undefined)?.split(',')[0]?.trim() || req.host;
  return `${proto}://${host}`;
}
