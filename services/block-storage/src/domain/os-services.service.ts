// The services' side of the API: os-services (who runs, up or down, enabled or not),
// availability zones, and the pools and capabilities the volume workers report
// (cinder/api/contrib/services.py, availability_zones.py, scheduler_stats.py, capabilities.py).
import { capabilitiesFilter } from '../scheduler/backend.filters.js';
import type { CapabilityValue } from '../scheduler/scheduler.models.js';
import type { RequestContext } from '@alto/kernel';
import { pyRepr } from '@alto/http';
import { allocatedByHost, selectServicesWhere, setServiceDisabled, setServiceFrozen, type ServiceRow } from '../store/service.repo.js';
import { extraSpecsOf, selectTypeById, selectTypeByName } from '../store/type.repo.js';
import { backendStateOf } from '../workers/volume-scheduler.js';
import { WORKER_BINARY } from '../workers/volume-worker.js';
import type { BlockStorageCoreDeps } from './deps.js';
import { BadRequest, InvalidInput, NotFound, VolumeTypeNotFound, VolumeTypeNotFoundByName } from './errors.js';

/** A service row with what os-services derives from it. */
export interface ServiceStatus {
  row: ServiceRow;
  /** Heard from within service_down_time. */
  up: boolean;
  /** 3.49: the scheduler's view of a volume service's backend ('up', 'down'), null when it has none. */
  backendState: string | null;
}

export interface AvailabilityZone {
  name: string;
  available: boolean;
}

export interface Pool {
  /** host@backend#pool */
  name: string;
  capabilities: Record<string, unknown>;
}

export interface PoolQuery {
  /** 3.28+: exact pool name. */
  name?: string | undefined;
  /** 3.28+: capability key -> value (compared as Cinder's _equal_after_convert does). */
  capabilities?: Record<string, string> | undefined;
  /** 3.35+: only pools a volume of this type (name or id) could go to. */
  volumeType?: string | undefined;
}

/** The standard capability properties every Cinder driver describes (driver._init_standard_capabilities). */
const STANDARD_PROPERTIES = {
  thin_provisioning: { title: 'Thin Provisioning', description: 'Sets thin provisioning.', type: 'boolean' },
  compression: { title: 'Compression', description: 'Enables compression.', type: 'boolean' },
  qos: { title: 'QoS', description: 'Enables QoS.', type: 'boolean' },
  replication_enabled: { title: 'Replication', description: 'Enables replication.', type: 'boolean' },
};

const looksLikeUuid = (s: string) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(s);

/** oslo's bool_from_string (lenient: unknown words are false). */
const boolFromString = (v: string) => ['1', 't', 'true', 'on', 'y', 'yes'].includes(v.trim().toLowerCase());

/** Cinder's _equal_after_convert: a query string against a reported capability. */
function equalAfterConvert(cap: unknown, value: string): boolean {
  if (cap === undefined || cap === null) return false;
  if (typeof cap === 'string') return cap === value;
  if (typeof cap === 'boolean') return cap === boolFromString(value);
  // other types compare as text (python's str(); JSON loses 10.0's fraction, so 10 and 10.0 both read 10)
  if (typeof cap === 'number') return value === String(cap);
  return value === JSON.stringify(cap);
}

export class OsServicesService {
  private readonly d: BlockStorageCoreDeps;

  constructor(d: BlockStorageCoreDeps) {
    this.d = d;
  }

  private isUp(row: ServiceRow, nowMs: number): boolean {
    const last = Number(row.updated_at ?? row.created_at);
    return Math.abs(nowMs - last) <= this.d.config.serviceDownSeconds * 1000;
  }

  /** os-services index: every service, optionally by host (Cinder's host matching) and binary. */
  async list(filters: { host?: string | undefined; binary?: string | undefined }): Promise<ServiceStatus[]> {
    const now = this.d.clock.nowMs();
    const rows = await selectServicesWhere(this.d.db, filters);
    // the scheduler knows a backend only while it is up and enabled; its state is then 'up' unless the driver says otherwise
    return rows.map((row) => {
      const up = this.isUp(row, now);
      const caps = row.capabilities ? (JSON.parse(row.capabilities) as Record<string, unknown>) : undefined;
      const backendState = row.binary === WORKER_BINARY && up && !row.disabled && !row.frozen && caps ? (typeof caps.backend_state === 'string' ? caps.backend_state : 'up') : null;
      return { row, up, backendState };
    });
  }

  /**
   * Enables or disables a service (PUT os-services/enable|disable|disable-log-reason). The first
   * service of `binary` whose host matches, as Cinder's Service.get_by_args; 404 when none.
   */
  async setStatus(input: { host: string; binary: string; disabled: boolean; reason?: string | null | undefined }): Promise<ServiceRow> {
    const [row] = await selectServicesWhere(this.d.db, { host: input.host, binary: input.binary });
    if (!row) throw NotFound(`Service ${input.binary} could not be found on host ${input.host}.`);
    await setServiceDisabled(this.d.db, row.id, input.disabled, input.reason);
    return { ...row, disabled: input.disabled ? 1 : 0, ...(input.reason !== undefined ? { disabled_reason: input.reason } : {}) };
  }

  /**
   * Freezes (or thaws) the volume services of a host: the scheduler stops placing on them and
   * management calls are refused until thawed (volume/api.py freeze_host / thaw_host; without
   * clusters, the host's services). Worded as Cinder's _replication_db_change.
   */
  async setFrozen(ctx: RequestContext, host: string, frozen: boolean): Promise<void> {
    this.d.authz.enforce(frozen ? 'volume:freeze_host' : 'volume:thaw_host', ctx);
    const services = await selectServicesWhere(this.d.db, { host, binary: WORKER_BINARY });
    if (!services.length) throw InvalidInput(`No service found with host=${host}`);
    if (services.some((s) => s.host !== services[0]!.host)) throw BadRequest('Services from different clusters found.');
    const unchanged: string[] = [];
    for (const s of services) if (!(await setServiceFrozen(this.d.db, s.id, frozen))) unchanged.push(s.host);
    if (unchanged.length === services.length) throw InvalidInput(`frozen in ${pyRepr(unchanged)} must be ${frozen ? 'False' : 'True'} to failover.`);
  }

  /**
   * The zones of the volume services (up or down), available unless every service in it is
   * disabled (volume/api.py list_availability_zones).
   */
  async availabilityZones(): Promise<AvailabilityZone[]> {
    const rows = await selectServicesWhere(this.d.db, { binary: WORKER_BINARY });
    const disabled = new Map<string, boolean>();
    for (const r of rows) disabled.set(r.availability_zone, (disabled.get(r.availability_zone) ?? true) && !!r.disabled);
    // Volumes may be created in the configured zone before any worker has reported (embedded start): list it too
    if (!disabled.has(this.d.config.storageAvailabilityZone)) disabled.set(this.d.config.storageAvailabilityZone, false);
    return [...disabled].map(([name, off]) => ({ name, available: !off }));
  }

  /** The pools of the volume services that are up and enabled, as the scheduler sees them (get_pools). */
  async pools(q: PoolQuery = {}): Promise<Pool[]> {
    const now = this.d.clock.nowMs();
    const [rows, allocated] = await Promise.all([selectServicesWhere(this.d.db, { binary: WORKER_BINARY }), allocatedByHost(this.d.db)]);
    let pools = rows
      .filter((r) => r.capabilities && !r.disabled && !r.frozen && this.isUp(r, now))
      .map((r) => {
        const caps = JSON.parse(r.capabilities!) as Record<string, unknown>;
        const poolName = typeof caps.pool_name === 'string' ? caps.pool_name : typeof caps.volume_backend_name === 'string' ? caps.volume_backend_name : 'pool';
        const name = r.host.includes('#') ? r.host : `${r.host}#${poolName}`;
        const allocatedGb = allocated.get(r.host) ?? allocated.get(name) ?? 0;
        const capabilities: Record<string, unknown> = {
          pool_name: poolName,
          filter_function: null,
          goodness_function: null,
          ...caps,
          provisioned_capacity_gb: caps.provisioned_capacity_gb ?? allocatedGb,
          allocated_capacity_gb: allocatedGb,
          timestamp: r.updated_at,
        };
        return { name, capabilities, row: r };
      });
    if (q.name !== undefined) pools = pools.filter((p) => p.name === q.name);
    for (const [key, value] of Object.entries(q.capabilities ?? {})) pools = pools.filter((p) => equalAfterConvert(p.capabilities[key], value));
    if (q.volumeType !== undefined) {
      const ref = q.volumeType;
      const type = looksLikeUuid(ref) ? await selectTypeById(this.d.db, ref) : await selectTypeByName(this.d.db, ref);
      if (!type) throw looksLikeUuid(ref) ? VolumeTypeNotFound(ref) : VolumeTypeNotFoundByName(ref);
      const extraSpecs = await extraSpecsOf(this.d.db, type.id);
      pools = pools.filter((p) => {
        const state = backendStateOf({ ...p.row, capabilities: JSON.stringify(p.capabilities) }, Number(p.capabilities.allocated_capacity_gb));
        return !!state && capabilitiesFilter.check(state, { sizeGb: 0, volumeType: { name: type.name, extraSpecs } }) === null;
      });
    }
    return pools.map(({ name, capabilities }) => ({ name, capabilities }));
  }

  /** A volume backend's capabilities (GET /capabilities/{host}): its report and the standard properties. */
  async capabilities(host: string): Promise<{ namespace: string; capabilities: Record<string, CapabilityValue> }> {
    const [row] = await selectServicesWhere(this.d.db, { host, binary: WORKER_BINARY });
    if (!row) throw NotFound(`Can't find service: ${host}`);
    const caps = row.capabilities ? (JSON.parse(row.capabilities) as Record<string, CapabilityValue>) : {};
    return { namespace: `OS::Storage::Capabilities::${row.host}`, capabilities: { ...caps, properties: { ...STANDARD_PROPERTIES, ...(isMap(caps.properties) ? caps.properties : {}) } } };
  }

  /** Checks a pool filter key (3.31+: Cinder's resource_filters.json allows only these for pools, admins included). */
  static checkPoolFilters(keys: string[]): void {
    const invalid = keys.filter((k) => k !== 'name' && k !== 'volume_type');
    if (invalid.length) throw BadRequest(`Invalid filters ${invalid.join(',')} are found in query options.`);
  }
}

function isMap(v: unknown): v is Record<string, CapabilityValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
