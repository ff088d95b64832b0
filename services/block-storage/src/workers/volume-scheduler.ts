// volume-scheduler: places new volumes. A message (or a sweep) names a volume; the scheduler
// re-reads it, builds the request from its size, zone and type, the backend states from the
// workers' latest reports, runs the filter scheduler, records the choice with a compare-and-set
// (so two schedulers never place one volume twice) and tells that backend's worker.
import type { Bus, Subscription } from '@alto/bus';
import type { Clock } from '@alto/kernel';
import type { Logger, Runnable } from '@alto/runtime';
import { scheduleVolume } from '../scheduler/volume.scheduler.js';
import type { BackendState, CapabilityValue, RequestSpec, SchedulerOptions } from '../scheduler/scheduler.models.js';
import { allocatedByHost, reportService, selectServices, type ServiceRow } from '../store/service.repo.js';
import { deleteExpiredMessages, insertMessage } from '../store/message.repo.js';
import { selectVolume, type Db, type VolumeRow } from '../store/volume.repo.js';
import { VOLUME_TOPIC, WORKER_BINARY } from './volume-worker.js';

import { poolHostOf, SCHEDULER_TOPIC } from './topics.js';
export { SCHEDULER_TOPIC };

export interface VolumeSchedulerDeps {
  db: Db;
  bus: Bus;
  clock: Clock;
  log: Logger;
  /** This process's name on the bus. */
  host: string;
  options?: Partial<SchedulerOptions>;
  /** How often volumes waiting for a placement are looked for (a scheduler that died mid-way). */
  sweepMs?: number;
  /** A volume created longer ago than this without a backend is placed by the sweep. */
  unplacedAfterMs?: number;
  /** A worker not heard from for this long is down and gets no volumes (service_down_time). */
  serviceDownMs?: number;
  /** How long user messages (why a volume went to error) are kept (message_ttl). */
  messageTtlMs?: number;
  /** This scheduler's availability zone, shown by os-services. */
  availabilityZone?: string;
}

/** The binary name os-services shows for schedulers, as Cinder's. */
export const SCHEDULER_BINARY = 'cinder-scheduler';

const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v !== '' && !Number.isNaN(Number(v)) ? Number(v) : fallback);
const capacity = (v: unknown): number | 'infinite' | 'unknown' | null => (v === 'infinite' || v === 'unknown' ? v : v === undefined || v === null ? null : num(v, 0));

/**
 * A worker's report as the filter scheduler's backend state; none for disabled or frozen
 * services, or (given nowMs) ones not heard from within serviceDownMs (Cinder's service_is_up).
 */
export function backendStateOf(s: ServiceRow, allocatedGb: number, liveness?: { nowMs: number; serviceDownMs: number }): BackendState | undefined {
  if (!s.capabilities || s.disabled || s.frozen) return undefined;
  if (liveness && liveness.nowMs - Number(s.updated_at) > liveness.serviceDownMs) return undefined;
  const caps = JSON.parse(s.capabilities) as Record<string, CapabilityValue>;
  const total = capacity(caps.total_capacity_gb);
  return {
    host: s.host,
    availabilityZone: s.availability_zone,
    totalCapacityGb: total ?? 'unknown',
    freeCapacityGb: capacity(caps.free_capacity_gb),
    allocatedCapacityGb: allocatedGb,
    provisionedCapacityGb: num(caps.provisioned_capacity_gb, allocatedGb),
    reservedPercentage: num(caps.reserved_percentage, 0),
    // COMPAT(cinder): 'auto' and the [DEFAULT] max_over_subscription_ratio are resolved here; 20.0 is Cinder's default
    maxOverSubscriptionRatio: num(caps.max_over_subscription_ratio, 20),
    thinProvisioningSupport: caps.thin_provisioning_support === true,
    thickProvisioningSupport: caps.thick_provisioning_support === true,
    capabilities: caps,
    updatedAt: new Date(Number(s.updated_at)),
  };
}

export class VolumeScheduler implements Runnable {
  readonly name = 'volume-scheduler';
  private readonly d: VolumeSchedulerDeps;
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(d: VolumeSchedulerDeps) {
    this.d = d;
  }

  async start(): Promise<void> {
    this.subscription = await this.d.bus.serve(
      { topic: SCHEDULER_TOPIC, server: this.d.host },
      {
        create_volume: async (args: { volume_id?: unknown; request_id?: unknown }) => {
          if (typeof args.volume_id === 'string') await this.place(args.volume_id, typeof args.request_id === 'string' ? args.request_id : undefined);
          return null;
        },
      },
    );
    // os-services lists the scheduler from its first moment, not after the first sweep
    await reportService(this.d.db, { host: this.d.host, binary: SCHEDULER_BINARY, topic: SCHEDULER_TOPIC, availabilityZone: this.d.availabilityZone ?? 'nova', nowMs: this.d.clock.nowMs() });
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.subscription?.stop();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.sweep()
        .catch((err: unknown) => this.d.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'scheduler sweep failed'))
        .finally(() => {
          if (!this.stopped) this.schedule();
        });
    }, this.d.sweepMs ?? 10_000);
    this.timer.unref();
  }

  /**
   * Places volumes that have waited too long for a backend (their message was lost with a
   * scheduler); also this scheduler's heartbeat for os-services and expiring old user messages.
   */
  async sweep(): Promise<void> {
    const now = this.d.clock.nowMs();
    await reportService(this.d.db, { host: this.d.host, binary: SCHEDULER_BINARY, topic: SCHEDULER_TOPIC, availabilityZone: this.d.availabilityZone ?? 'nova', nowMs: now });
    await deleteExpiredMessages(this.d.db, now);
    const before = this.d.clock.nowMs() - (this.d.unplacedAfterMs ?? 30_000);
    const rows = await this.d.db.selectFrom('volume').select('id').where('deleted', '=', 0).where('status', '=', 'creating').where('host', 'is', null).where('created_at', '<', before).execute();
    for (const r of rows) await this.place(r.id);
  }

  /** Picks a backend for one volume, records it once, and tells its worker. */
  async place(volumeId: string, requestId?: string): Promise<void> {
    const row = await selectVolume(this.d.db, volumeId);
    if (!row || row.status !== 'creating') return;
    if (row.host) {
      // placed already (a retry): make sure its worker knows
      await this.tellWorker(row.host, volumeId);
      return;
    }
    const request = await this.requestOf(row);
    const allocated = await allocatedByHost(this.d.db);
    const liveness = { nowMs: this.d.clock.nowMs(), serviceDownMs: this.d.serviceDownMs ?? 60_000 };
    const backends = (await selectServices(this.d.db, WORKER_BINARY)).map((s) => backendStateOf(s, allocated.get(s.host) ?? 0, liveness)).filter((b): b is BackendState => !!b);
    const result = scheduleVolume({ request, backends, now: new Date(this.d.clock.nowMs()), ...(this.d.options ? { options: this.d.options } : {}) });
    if ('noValidHost' in result) {
      this.d.log.warn({ volume_id: volumeId, summary: result.noValidHost.summary }, result.noValidHost.message);
      const now = this.d.clock.nowMs();
      await this.d.db.transaction().execute(async (trx) => {
        const r = await trx.updateTable('volume').set({ status: 'error', updated_at: now }).where('id', '=', volumeId).where('status', '=', 'creating').where('host', 'is', null).executeTakeFirst();
        // the user learns why from /v3/messages: "schedule allocate volume: Could not find any available weighted backend."
        if (Number(r.numUpdatedRows) === 1) {
          await insertMessage(trx, { projectId: row.project_id, resourceType: 'VOLUME', resourceUuid: volumeId, actionId: '001', detailId: '003', requestId: requestId ?? null, nowMs: now, ttlMs: this.d.messageTtlMs ?? 30 * 86_400_000 });
        }
      });
      return;
    }
    // Cinder's host@backend#pool: the file backend has one pool, named by volume_backend_name,
    // which is also how its worker serves the bus (VolumeWorker.start)
    const caps = result.backend.capabilities;
    const pool = typeof caps.volume_backend_name === 'string' ? caps.volume_backend_name : 'default';
    const host = poolHostOf(result.backend.host, pool);
    const r = await this.d.db
      .updateTable('volume')
      .set({ host, availability_zone: result.backend.availabilityZone, updated_at: this.d.clock.nowMs() })
      .where('id', '=', volumeId)
      .where('status', '=', 'creating')
      .where('host', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return;
    await this.tellWorker(host, volumeId);
  }

  private async tellWorker(host: string, volumeId: string): Promise<void> {
    // a lost cast is not lost work: the worker's sweep finds the placed volume
    await this.d.bus.cast({ topic: VOLUME_TOPIC, server: host }, 'create_volume', { volume_id: volumeId }).catch((err: unknown) => {
      this.d.log.warn({ volume_id: volumeId, host, err: err instanceof Error ? err.message : String(err) }, 'could not tell the worker; its sweep will find the volume');
    });
  }

  private async requestOf(row: VolumeRow): Promise<RequestSpec> {
    const type = await this.d.db.selectFrom('volume_type').select(['id', 'name']).where('id', '=', row.volume_type_id).executeTakeFirst();
    const specs = type ? await this.d.db.selectFrom('volume_type_extra_spec').select(['key', 'value']).where('volume_type_id', '=', type.id).execute() : [];
    return {
      sizeGb: Number(row.size),
      operation: 'create_volume',
      availabilityZone: row.availability_zone,
      volumeType: type ? { name: type.name, extraSpecs: Object.fromEntries(specs.map((s) => [s.key, s.value])) } : null,
      volumeId: row.id,
    };
  }
}
