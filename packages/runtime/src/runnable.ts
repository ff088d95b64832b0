// Runnables under a Manager: ordered start, reverse-ordered graceful stop, readiness checks.
import type { Logger } from './logger.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Round-trip time of the check, ms. */
  ms: number;
  detail?: string;
}

/** A dependency check for /readyz: it must exercise the dependency for real. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<string | void>;
}

export interface Runnable {
  readonly name: string;
  start(): Promise<void>;
  /** Stop taking new work, finish what is in flight, release resources. */
  stop(): Promise<void>;
}

export class Manager {
  private readonly runnables: Runnable[] = [];
  private readonly checks: ReadinessCheck[] = [];
  private started: Runnable[] = [];
  private stopping: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  add(r: Runnable): this {
    this.runnables.push(r);
    return this;
  }

  addCheck(c: ReadinessCheck): this {
    this.checks.push(c);
    return this;
  }

  async start(): Promise<void> {
    for (const r of this.runnables) {
      await r.start();
      this.started.push(r);
      this.log.debug({ runnable: r.name }, 'started');
    }
  }

  /** Idempotent; stops in reverse order and keeps going when one fails. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const r of [...this.started].reverse()) {
        try {
          await r.stop();
          this.log.debug({ runnable: r.name }, 'stopped');
        } catch (err) {
          this.log.error({ err, runnable: r.name }, 'stop failed');
        }
      }
      this.started = [];
    })();
    return this.stopping;
  }

  async readiness(timeoutMs = 5000): Promise<{ ok: boolean; checks: CheckResult[] }> {
    const results = await Promise.all(this.checks.map((c) => runCheck(c, timeoutMs)));
    return { ok: results.every((r) => r.ok), checks: results };
  }
}

export async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const detail = await Promise.race([
      c.check(),
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name: c.name, ok: true, ms: round(performance.now() - t0), ...(detail ? { detail } : {}) };
  } catch (err) {
    return { name: c.name, ok: false, ms: round(performance.now() - t0), detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * SIGTERM/SIGINT: stop the manager (draining in-flight work) and exit 0; a second signal or a
 * stop that takes longer than graceMs exits at once.
 */
export function exitOnSignals(manager: Manager, log: Logger, graceMs = 30_000): void {
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal: sig }, 'second signal, exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal: sig }, 'draining and stopping');
    const force = setTimeout(() => {
      log.error({ graceMs }, 'stop took too long, exiting');
      process.exit(1);
    }, graceMs);
    force.unref();
    manager.stop().then(
      () => {
        log.info('stopped');
        log.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
