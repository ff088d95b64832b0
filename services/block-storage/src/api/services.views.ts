// os-services, availability zones, pools and backend capabilities on the wire (contrib/services.py,
// views/availability_zones.py, views/scheduler_stats.py, views/capabilities.py).
import type { FastifyRequest } from 'fastify';
import type { AvailabilityZone, Pool, ServiceStatus } from '../domain/os-services.service.js';
import { WORKER_BINARY } from '../workers/volume-worker.js';
import { atLeast, cinderTime } from './common.js';

export function serviceView(req: FastifyRequest, s: ServiceStatus): Record<string, unknown> {
  const r = s.row;
  const out: Record<string, unknown> = {
    binary: r.binary,
    host: r.host,
    zone: r.availability_zone,
    status: r.disabled ? 'disabled' : 'enabled',
    state: s.up ? 'up' : 'down',
    updated_at: cinderTime(r.updated_at),
  };
  if (atLeast(req, '3.49') && r.binary === WORKER_BINARY) out.backend_state = s.backendState;
  // no clusters here (3.7 cluster support): every service stands alone
  if (atLeast(req, '3.7')) out.cluster = null;
  out.disabled_reason = r.disabled_reason;
  if (r.binary === WORKER_BINARY) {
    // no replication between backends yet
    out.replication_status = 'disabled';
    out.active_backend_id = null;
    out.frozen = !!r.frozen;
  }
  return out;
}

export const availabilityZoneView = (z: AvailabilityZone) => ({ zoneName: z.name, zoneState: { available: z.available } });

/** Drivers may list every name of their protocol; users see the preferred (first) one. */
const firstProtocol = (p: unknown) => (Array.isArray(p) ? (p[0] as unknown) : p);

export function poolView(p: Pool, detail: boolean): Record<string, unknown> {
  if (!detail) return { name: p.name };
  const caps: Record<string, unknown> = { ...p.capabilities, timestamp: cinderTime(p.capabilities.timestamp as number | null | undefined) };
  if ('storage_protocol' in caps) caps.storage_protocol = firstProtocol(caps.storage_protocol);
  return { name: p.name, capabilities: caps };
}

export function capabilitiesView(namespace: string, c: Record<string, unknown>): Record<string, unknown> {
  return {
    namespace,
    vendor_name: c.vendor_name ?? null,
    volume_backend_name: c.volume_backend_name ?? null,
    pool_name: c.pool_name ?? null,
    driver_version: c.driver_version ?? null,
    storage_protocol: firstProtocol(c.storage_protocol) ?? null,
    display_name: c.display_name ?? null,
    description: c.description ?? null,
    visibility: c.visibility ?? null,
    replication_targets: c.replication_targets ?? [],
    properties: c.properties ?? null,
  };
}
