// volume-worker: one per backend host. A level-based reconciler: a message (or a sweep) only
// names a volume; the worker takes the volume's task lease, re-reads the row and the backend's
// real state, converges (create, delete, extend), and releases the lease with the new state. A
// worker killed mid-way leaves a lease that lapses; the next sweep (here or on a restart) redoes
// the work, which the backend's idempotent, id-named operations make safe.
import type { Bus, Subscription } from '@alto/bus';
import type { Clock } from '@alto/kernel';
import type { Logger, Runnable } from '@alto/runtime';
import { VolumeBackendError, type VolumeBackend } from '../spi/volume-backend.js';
import { reportService } from '../store/service.repo.js';
import { claimVolumeTask, finishVolumeTask, renewVolumeTask, selectUnheldWork, selectVolume, TRANSITIONAL, type Db, type VolumeRow } from '../store/volume.repo.js';

export interface VolumeWorkerDeps {
  db: Db;
  bus: Bus;
  clock: Clock;
  log: Logger;
  backend: VolumeBackend;
  /** Cinder's `host@backend#pool` this worker serves (the scheduler writes it on the volume). */
  host: string;
  /** This process, as the holder of task leases. */
  owner: string;
  /** How long a task lease lasts without renewal. */
  leaseMs?: number;
  /** How often unheld work on this host is looked for. */
  sweepMs?: number;
  /** This backend's availability zone (Cinder's storage_availability_zone). */
  availabilityZone?: string;
  /** How often the worker reports its heartbeat and capacity (Cinder's report_interval). */
  reportMs?: number;
}

/** The binary name os-services shows for workers, as Cinder's. */
export const WORKER_BINARY = 'cinder-volume';

/** The bus topic a worker serves, as Cinder's `cinder-volume` with the host as server. */
import { VOLUME_TOPIC } from './topics.js';
export { VOLUME_TOPIC };

export class VolumeWorker implements Runnable {
  readonly name = 'volume-worker';
  private readonly d: VolumeWorkerDeps;
  private readonly leaseMs: number;
  private readonly sweepMs: number;
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Volumes being converged now, so a kick during the work does not start a second run. */
  private readonly busy = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(d: VolumeWorkerDeps) {
    this.d = d;
    this.leaseMs = d.leaseMs ?? 60_000;
    this.sweepMs = d.sweepMs ?? 10_000;
  }

  async start(): Promise<void> {
    await this.d.backend.open();
    // every method only names the volume: the row says what to do
    const kick = async (args: { volume_id?: unknown }) => {
      if (typeof args.volume_id === 'string') this.kick(args.volume_id);
      return null;
    };
    this.subscription = await this.d.bus.serve({ topic: VOLUME_TOPIC, server: this.d.host }, { create_volume: kick, delete_volume: kick, extend_volume: kick });
    await this.report();
    const tick = () => {
      this.reportTimer = setTimeout(() => {
        void this.report()
          .catch((err: unknown) => this.d.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'volume service report failed'))
          .finally(() => {
            if (!this.stopped) tick();
          });
      }, this.d.reportMs ?? 10_000);
      this.reportTimer.unref();
    };
    tick();
    this.schedule(0);
  }

  /** Heartbeat and capacity, where the scheduler and os-services read them. */
  async report(): Promise<void> {
    const s = await this.d.backend.stats();
    await reportService(this.d.db, {
      host: this.d.host,
      binary: WORKER_BINARY,
      topic: VOLUME_TOPIC,
      availabilityZone: this.d.availabilityZone ?? 'nova',
      capabilities: {
        volume_backend_name: s.backendName,
        vendor_name: s.vendorName,
        driver_version: s.driverVersion,
        storage_protocol: s.storageProtocol,
        total_capacity_gb: s.totalCapacityGb,
        free_capacity_gb: s.freeCapacityGb,
        ...s.capabilities,
      },
      nowMs: this.d.clock.nowMs(),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.reportTimer);
    await this.subscription?.stop();
    await this.idle();
  }

  /** Resolves when no volume is being converged (tests). */
  async idle(): Promise<void> {
    while (this.busy.size) await Promise.allSettled([...this.busy.values()]);
  }

  /** Converges one volume soon; a kick while it is in progress runs it once more afterwards. */
  kick(volumeId: string): void {
    if (this.stopped) return;
    if (this.busy.has(volumeId)) {
      this.again.add(volumeId);
      return;
    }
    const run = this.reconcile(volumeId)
      .catch((err: unknown) => this.d.log.error({ volume_id: volumeId, err: err instanceof Error ? err.message : String(err) }, 'volume reconcile failed; the next sweep retries'))
      .finally(() => {
        this.busy.delete(volumeId);
        if (this.again.delete(volumeId)) this.kick(volumeId);
      });
    this.busy.set(volumeId, run);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.sweep()
        .catch((err: unknown) => this.d.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'volume sweep failed'))
        .finally(() => {
          if (!this.stopped) this.schedule(this.sweepMs);
        });
    }, ms);
    this.timer.unref();
  }

  /** Kicks every volume on this host whose transitional work nobody holds. */
  async sweep(): Promise<void> {
    for (const row of await selectUnheldWork(this.d.db, this.d.host, this.d.clock.nowMs())) this.kick(row.id);
  }

  /** One pass for one volume: claim, converge, release. */
  async reconcile(volumeId: string): Promise<void> {
    const now = this.d.clock.nowMs();
    if (!(await claimVolumeTask(this.d.db, volumeId, TRANSITIONAL, this.d.owner, now, now + this.leaseMs))) return;
    const row = await selectVolume(this.d.db, volumeId);
    if (!row || row.host !== this.d.host) return;
    const renew = setInterval(() => {
      void renewVolumeTask(this.d.db, volumeId, this.d.owner, this.d.clock.nowMs() + this.leaseMs).catch(() => undefined);
    }, Math.max(1000, this.leaseMs / 3));
    try {
      await this.converge(row);
    } finally {
      clearInterval(renew);
    }
  }

  private async converge(row: VolumeRow): Promise<void> {
    const { backend } = this.d;
    const done = (set: Parameters<typeof finishVolumeTask>[3]) => finishVolumeTask(this.d.db, row.id, this.d.owner, { ...set, updated_at: this.d.clock.nowMs() });
    const failed = async (status: string, err: unknown) => {
      this.d.log.warn({ volume_id: row.id, was: row.status, err: err instanceof Error ? err.message : String(err) }, `volume ${row.status} failed`);
      await done({ status });
    };
    try {
      switch (row.status) {
        case 'creating': {
          await backend.createVolume({ volumeId: row.id, sizeGb: Number(row.size) });
          await done({ status: 'available', launched_at: this.d.clock.nowMs(), provider_location: null });
          return;
        }
        case 'deleting': {
          await backend.deleteVolume(row.id);
          const now = this.d.clock.nowMs();
          await done({ status: 'deleted', deleted: 1, deleted_at: now, terminated_at: now });
          return;
        }
        case 'extending': {
          const target = Number(row.target_size ?? row.size);
          await backend.extendVolume(row.id, target);
          await done({ status: row.attach_status === 'attached' ? 'in-use' : 'available', size: target, target_size: null });
          return;
        }
        default:
          await done({});
      }
    } catch (err) {
      // a refusal will not change on retry: the volume shows the error; anything else (the
      // backend down, a full disk) keeps the lease to lapse, so the work is retried later
      if (err instanceof VolumeBackendError && (err.code === 'invalid' || err.code === 'no_space')) {
        const status = row.status === 'creating' ? 'error' : row.status === 'deleting' ? 'error_deleting' : 'error_extending';
        await failed(status, err);
        return;
      }
      throw err;
    }
  }
}
