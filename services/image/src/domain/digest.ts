// Hashes and inspects image data while it streams to a store: md5 (Glance's checksum), sha512
// (os_hash_value), byte count and the format inspector's view, without holding the data.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** What the format inspector offers the data path (see format-inspector.ts). */
export interface StreamInspector {
  feed(chunk: Uint8Array): void;
}

export interface DigestResult {
  size: number;
  md5: string;
  sha512: string;
}

// md5 and sha512 one after the other on the event loop run at about 400 MB/s on one core,
// slower than the disk, and stall every other request meanwhile. They run in worker threads
// instead: one per algorithm where there are cores to spare, else one doing both (each thread
// costs about 16 MiB, and two hash threads beside the event loop would only take turns on
// two cores). The data reaches the threads through one copy into a ring of shared memory per
// upload, whose size bounds the bytes in flight, so a slow hash holds the upload back
// (backpressure) rather than letting memory grow.
const ALGORITHMS = ['md5', 'sha512'] as const;
type Algorithm = (typeof ALGORITHMS)[number];
/** Shared memory per upload; the store's own write batches are about as big. */
const RING_BYTES = 4 * 1024 * 1024;
/**
 * Bytes copied before the workers are told: one message per this much keeps the messaging
 * cost per byte negligible (socket chunks are 64 KiB), and a quarter of the ring keeps them busy.
 */
const POST_BYTES = 1024 * 1024;
const WORKER_ROLE = 'alto-image-digest';

// ---- messages between the data path and the hash workers

type ToWorker =
  | { op: 'open'; id: number; ring: SharedArrayBuffer }
  /** Hash the ring's bytes up to stream position `to` (positions count every byte of the stream). */
  | { op: 'data'; id: number; to: number }
  | { op: 'end'; id: number }
  | { op: 'drop'; id: number };

type FromWorker = { id: number; hashed: number } | { id: number; hex: Partial<Record<Algorithm, string>> } | { id: number; error: string };

// ---- the worker side (this same module, started with workerData.role)

function runWorker(algorithms: Algorithm[]): void {
  const port = parentPort!;
  const streams = new Map<number, { hashes: ReturnType<typeof createHash>[]; ring: Uint8Array; at: number }>();
  port.on('message', (m: ToWorker) => {
    try {
      if (m.op === 'open') {
        streams.set(m.id, { hashes: algorithms.map((a) => createHash(a)), ring: new Uint8Array(m.ring), at: 0 });
        return;
      }
      if (m.op === 'drop') {
        streams.delete(m.id);
        return;
      }
      const s = streams.get(m.id);
      if (!s) return;
      if (m.op === 'data') {
        const size = s.ring.length;
        while (s.at < m.to) {
          const start = s.at % size;
          const n = Math.min(m.to - s.at, size - start);
          const view = s.ring.subarray(start, start + n);
          for (const h of s.hashes) h.update(view);
          s.at += n;
        }
        port.postMessage({ id: m.id, hashed: s.at } satisfies FromWorker);
        return;
      }
      streams.delete(m.id);
      port.postMessage({ id: m.id, hex: Object.fromEntries(algorithms.map((a, i) => [a, s.hashes[i]!.digest('hex')])) } satisfies FromWorker);
    } catch (err) {
      streams.delete(m.id);
      port.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) } satisfies FromWorker);
    }
  });
}

const role = isMainThread ? undefined : (workerData as { role?: unknown; algorithms?: unknown } | null);
if (role?.role === WORKER_ROLE && Array.isArray(role.algorithms) && role.algorithms.every((a) => (ALGORITHMS as readonly unknown[]).includes(a))) {
  runWorker(role.algorithms as Algorithm[]);
}

// ---- the pool on the data path's side: one worker per algorithm, shared by every upload

interface StreamListener {
  hashed(worker: number, upTo: number): void;
  done(hex: Partial<Record<Algorithm, string>>): void;
  failed(err: Error): void;
}

class HashWorkers {
  readonly workers: Worker[];
  private readonly streams = new Map<number, StreamListener>();
  private nextId = 1;
  private broken = false;

  constructor(threads: number) {
    const layout: Algorithm[][] = threads >= 2 ? ALGORITHMS.map((a) => [a]) : [[...ALGORITHMS]];
    this.workers = layout.map((algorithms, index) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { role: WORKER_ROLE, algorithms }, stdout: false, stderr: false });
      const name = `${algorithms.join('+')} worker`;
      w.on('message', (m: FromWorker) => {
        const s = this.streams.get(m.id);
        if (!s) return;
        if ('hashed' in m) s.hashed(index, m.hashed);
        else if ('hex' in m) s.done(m.hex);
        else this.fail(new Error(`${name}: ${m.error}`));
      });
      w.on('error', (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))));
      w.on('exit', (code) => this.fail(new Error(`${name} exited with code ${code}`)));
      // idle workers must not keep the process alive; open() refs them while data flows
      w.unref();
      return w;
    });
  }

  open(ring: SharedArrayBuffer, listener: StreamListener): number {
    const id = this.nextId++;
    if (this.streams.size === 0) for (const w of this.workers) w.ref();
    this.streams.set(id, listener);
    for (const w of this.workers) w.postMessage({ op: 'open', id, ring } satisfies ToWorker);
    return id;
  }

  send(m: ToWorker): void {
    if (this.broken) return;
    for (const w of this.workers) w.postMessage(m);
  }

  close(id: number): void {
    if (!this.streams.delete(id) || this.streams.size > 0) return;
    // replaced (setDigestThreads) while this upload ran: nobody will use these threads again
    if (pool !== this) this.terminate();
    else for (const w of this.workers) w.unref();
  }

  get idle(): boolean {
    return this.streams.size === 0;
  }

  private fail(err: Error): void {
    if (this.broken) return;
    this.broken = true;
    // the next upload starts new workers
    if (pool === this) pool = undefined;
    this.terminate();
    const listeners = [...this.streams.values()];
    this.streams.clear();
    for (const l of listeners) l.failed(err);
  }

  terminate(): void {
    this.broken = true;
    for (const w of this.workers) void w.terminate();
  }
}

let pool: HashWorkers | undefined;
let threads = availableParallelism() > 2 ? 2 : 1;

/**
 * How many hash threads the next uploads use: 2 (one per algorithm) or 1 (both in one). The
 * default follows the cores; tests and benchmarks set it to try both. Idle threads are let go.
 */
export function setDigestThreads(count: 1 | 2): void {
  threads = count;
  if (pool?.idle) pool.terminate();
  pool = undefined;
}

/**
 * Starts the hash threads if they are not running: called when an image is created, so that an
 * upload, which follows, finds them ready and its memory is only its buffers, while a cloud that
 * never receives an image does not hold an isolate per thread (about 16 MiB each).
 */
export function warmDigestThreads(): void {
  pool ??= new HashWorkers(threads);
}

// ---- the digest

export class DataDigest {
  private readonly inspector: StreamInspector | undefined;
  size = 0;
  private ring: Uint8Array<SharedArrayBuffer> | undefined;
  /** Bytes copied into the ring, and announced to the workers. */
  private copied = 0;
  private posted = 0;
  private workers: HashWorkers | undefined;
  private id = 0;
  /** Stream position each worker has hashed up to. */
  private hashed: number[] = [];
  private readonly hex: Partial<Record<Algorithm, string>> = {};
  private failure: Error | undefined;
  /** Wakes the data path when a worker made progress, finished, or failed. */
  private wake: (() => void) | undefined;
  private sums: DigestResult | undefined;

  constructor(inspector?: StreamInspector) {
    this.inspector = inspector;
  }

  /**
   * Passes the data through unchanged, hashing each chunk on the way; the consumer's pace sets
   * the pace (backpressure), and so does the hashing's, so memory stays at a few MiB whatever
   * the image size. The generator ends once both hashes are known.
   */
  async *through(source: AsyncIterable<Uint8Array> | Readable, onChunk?: (bytesSoFar: number) => void): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of source as AsyncIterable<Uint8Array>) {
        for (let off = 0; off < chunk.length; ) {
          const room = this.room();
          if (room === 0) {
            await this.progress();
            continue;
          }
          const ring = (this.ring ??= new Uint8Array(new SharedArrayBuffer(RING_BYTES)));
          const at = this.copied % RING_BYTES;
          const n = Math.min(room, RING_BYTES - at, chunk.length - off);
          ring.set(chunk.subarray(off, off + n), at);
          this.copied += n;
          off += n;
          if (this.copied - this.posted >= POST_BYTES) this.post();
        }
        this.inspector?.feed(chunk);
        this.size += chunk.length;
        onChunk?.(this.size);
        yield chunk;
      }
      await this.finish();
    } finally {
      // abandoned (the store failed, the client went away): the workers forget this upload
      if (!this.sums && this.workers) {
        this.workers.send({ op: 'drop', id: this.id });
        this.workers.close(this.id);
      }
    }
  }

  /** The hashes, once through() has passed every byte. */
  result(): DigestResult {
    if (!this.sums) throw new Error('DataDigest.result() before through() reached the end of the data');
    return this.sums;
  }

  /** Free bytes in the ring: what neither worker still has to read. */
  private room(): number {
    if (this.failure) throw this.failure;
    const slowest = this.workers ? Math.min(...this.hashed) : this.posted;
    return RING_BYTES - (this.copied - slowest);
  }

  /** Tells the workers about the bytes copied since the last time, starting them on first use. */
  private post(): void {
    if (this.copied === this.posted) return;
    if (!this.workers) {
      this.workers = pool ??= new HashWorkers(threads);
      this.hashed = this.workers.workers.map(() => 0);
      this.id = this.workers.open(this.ring!.buffer, {
        hashed: (w, upTo) => {
          this.hashed[w] = upTo;
          this.wakeUp();
        },
        done: (hex) => {
          Object.assign(this.hex, hex);
          this.wakeUp();
        },
        failed: (err) => {
          this.failure = new Error(`image data hashing failed: ${err.message}`, { cause: err });
          this.wakeUp();
        },
      });
    }
    this.workers.send({ op: 'data', id: this.id, to: this.copied });
    this.posted = this.copied;
  }

  /** Waits for the next word from a worker (the ring is full, or the hashes are due). */
  private progress(): Promise<void> {
    this.post();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async finish(): Promise<void> {
    if (!this.workers) {
      // small data never left the ring: hashing it here is cheaper than a round trip
      const data = this.ring?.subarray(0, this.copied) ?? new Uint8Array(0);
      this.sums = { size: this.size, md5: createHash('md5').update(data).digest('hex'), sha512: createHash('sha512').update(data).digest('hex') };
      return;
    }
    this.post();
    this.workers.send({ op: 'end', id: this.id });
    while (this.hex.md5 === undefined || this.hex.sha512 === undefined) await this.progress();
    this.workers.close(this.id);
    this.sums = { size: this.size, md5: this.hex.md5, sha512: this.hex.sha512 };
  }
}
