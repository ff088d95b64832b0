// API microversions as Nova, Cinder and Placement negotiate them (OpenStack-API-Version header).
import type { FastifyInstance } from 'fastify';
import { AltoError, ValidationError } from '@alto/kernel';

export interface Microversion {
  major: number;
  minor: number;
}

export function parseMicroversion(text: string): Microversion {
  const m = /^(\d+)\.(\d+)$/.exec(text.trim());
  if (!m) throw new ValidationError(`Invalid API version request: ${text}`, 'http.microversion_invalid');
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export const formatMicroversion = (v: Microversion) => `${v.major}.${v.minor}`;

export function compareMicroversions(a: Microversion, b: Microversion): number {
  return a.major - b.major || a.minor - b.minor;
}

export interface MicroversionPolicy {
  /** The service type named in the header, e.g. `compute`, `volume`, `placement`. */
  serviceType: string;
  min: string;
  max: string;
  /** Legacy headers still honoured, e.g. X-OpenStack-Nova-API-Version. */
  legacyHeaders?: string[];
  /** Refuse (400) an OpenStack-API-Version header that names only other services, as Cinder does. */
  refuseOtherServices?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    microversion: Microversion;
  }
}

/**
 * Reads the requested version (absent: the minimum; `latest`: the maximum), rejects versions
 * outside [min, max] with 406, and echoes the version used in the response headers with Vary.
 */
export function negotiateMicroversion(policy: MicroversionPolicy, headers: Record<string, string | string[] | undefined>): Microversion {
  const min = parseMicroversion(policy.min);
  const max = parseMicroversion(policy.max);
  let requested: string | undefined;
  const h = headers['openstack-api-version'];
  const values = (Array.isArray(h) ? h.join(',') : (h ?? '')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const v of values) {
    const [type, version] = v.split(/\s+/, 2);
    if (type?.toLowerCase() === policy.serviceType) requested = version;
  }
  if (requested === undefined && values.length && policy.refuseOtherServices) {
    throw new ValidationError('The server could not comply with the request since it is either malformed or otherwise incorrect.', 'http.microversion_other_service');
  }
  if (requested === undefined) {
    for (const name of policy.legacyHeaders ?? []) {
      const lv = headers[name.toLowerCase()];
      if (typeof lv === 'string' && lv.trim()) requested = lv.trim();
    }
  }
  if (requested === undefined) return min;
  if (requested.toLowerCase() === 'latest') return max;
  const v = parseMicroversion(requested);
  if (compareMicroversions(v, min) < 0 || compareMicroversions(v, max) > 0) {
    throw new AltoError(
      'not_acceptable',
      'http.microversion_unsupported',
      `Version ${requested} is not supported by the API. Minimum is ${policy.min} and maximum is ${policy.max}.`,
    );
  }
  return v;
}

export function registerMicroversions(app: FastifyInstance, policy: MicroversionPolicy): void {
  const vary = ['OpenStack-API-Version', ...(policy.legacyHeaders ?? [])].join(', ');
  app.decorateRequest('microversion', null as unknown as Microversion);
  app.addHook('onRequest', async (req, reply) => {
    void reply.header('vary', vary);
    req.microversion = negotiateMicroversion(policy, req.headers);
    const used = formatMicroversion(req.microversion);
    void reply.header('openstack-api-version', `${policy.serviceType} ${used}`);
    for (const name of policy.legacyHeaders ?? []) void reply.header(name, used);
  });
}

/** True when v lies within [min, max] (either bound optional). */
export function inMicroversionRange(v: Microversion, range: { min?: string; max?: string }): boolean {
  if (range.min && compareMicroversions(v, parseMicroversion(range.min)) < 0) return false;
  if (range.max && compareMicroversions(v, parseMicroversion(range.max)) > 0) return false;
  return true;
}
