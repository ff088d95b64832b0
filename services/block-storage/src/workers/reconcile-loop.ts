// What the volume and backup workers' reconcilers share: the report and sweep timers, one run at
// a time per object (a kick during a run runs it once more afterwards), and a task lease renewed
// while long work holds it.

export interface ReconcileLoopOptions {
  /** How often the heartbeat is written (Cinder's report_interval). */
  reportMs: number;
  /** How often unheld work is looked for. */
  sweepMs: number;
  report(): Promise<void>;
  sweep(): Promise<void>;
  /** Failures are logged by the worker, in its own words; the loop goes on. */
  reportFailed(err: unknown): void;
  sweepFailed(err: unknown): void;
  runFailed(key: string, err: unknown): void;
}

export class ReconcileLoop {
  private readonly o: ReconcileLoopOptions;
  private sweepTimer: NodeJS.Timeout | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Objects being converged now, so that a kick during the work does not start a second run. */
  private readonly busy = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(o: ReconcileLoopOptions) {
    this.o = o;
  }

  /** Reports every reportMs from now on, and sweeps now and then every sweepMs. */
  start(): void {
    this.tickReport();
    this.scheduleSweep(0);
  }

  /** No more timers or runs; what runs now goes on (see idle()). */
  halt(): void {
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    clearTimeout(this.reportTimer);
  }

  /** Resolves when nothing is being converged. */
  async idle(): Promise<void> {
    while (this.busy.size) await Promise.allSettled([...this.busy.values()]);
  }

  /** Runs `work` for `key` soon; a call while it is in progress runs it once more afterwards. */
  run(key: string, work: () => Promise<void>): void {
    if (this.stopped) return;
    if (this.busy.has(key)) {
      this.again.add(key);
      return;
    }
    const running = work()
      .catch((err: unknown) => this.o.runFailed(key, err))
      .finally(() => {
        this.busy.delete(key);
        if (this.again.delete(key)) this.run(key, work);
      });
    this.busy.set(key, running);
  }

  private tickReport(): void {
    this.reportTimer = setTimeout(() => {
      void this.o
        .report()
        .catch((err: unknown) => this.o.reportFailed(err))
        .finally(() => {
          if (!this.stopped) this.tickReport();
        });
    }, this.o.reportMs);
    this.reportTimer.unref();
  }

  private scheduleSweep(ms: number): void {
    clearTimeout(this.sweepTimer);
    this.sweepTimer = setTimeout(() => {
      void this.o
        .sweep()
        .catch((err: unknown) => this.o.sweepFailed(err))
        .finally(() => {
          if (!this.stopped) this.scheduleSweep(this.o.sweepMs);
        });
    }, ms);
    this.sweepTimer.unref();
  }
}

/** Runs `work` while renewing its task lease every third of the lease (minEveryMs at the least), so that long copies keep it. */
export async function holdingLease<T>(leaseMs: number, minEveryMs: number, renew: () => Promise<unknown>, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {
    void renew().catch(() => undefined);
  }, Math.max(minEveryMs, leaseMs / 3));
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
