// A small memcached client (text protocol, pipelined, one socket per server) for shared caches.
// A cache is an optimisation: when memcached is down, reads miss and writes are dropped, with a
// rate-limited warning, and nothing fails.
import { createConnection, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import type { Cache } from '@alto/kernel';
import type { Logger } from '../logger.js';

interface Pending {
  kind: 'get' | 'store' | 'delete';
  resolve(v: string | undefined | boolean): void;
  reject(e: Error): void;
}

class ServerConnection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private queue: Pending[] = [];
  private connecting: Promise<Socket> | undefined;
  private downUntil = 0;
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;

  constructor(address: string, timeoutMs: number) {
    const [h, p] = address.includes(':') ? [address.slice(0, address.lastIndexOf(':')), address.slice(address.lastIndexOf(':') + 1)] : [address, '11211'];
    this.host = h.replace(/^\[|\]$/g, '');
    this.port = Number(p);
    this.timeoutMs = timeoutMs;
  }

  private connect(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    if (Date.now() < this.downUntil) return Promise.reject(new Error(`memcached ${this.host}:${this.port} marked down`));
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ host: this.host, port: this.port });
      s.setNoDelay(true);
      const fail = (err: Error) => {
        this.connecting = undefined;
        this.downUntil = Date.now() + 2000;
        this.teardown(err);
        reject(err);
      };
      s.setTimeout(this.timeoutMs, () => s.destroy(new Error('memcached timeout')));
      s.once('connect', () => {
        s.setTimeout(0);
        this.socket = s;
        this.connecting = undefined;
        resolve(s);
      });
      s.on('data', (d: Buffer) => this.onData(d));
      s.on('error', fail);
      s.on('close', () => this.teardown(new Error('memcached connection closed')));
    });
    return this.connecting;
  }

  private teardown(err: Error): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.buffer = Buffer.alloc(0);
    const q = this.queue;
    this.queue = [];
    for (const p of q) p.reject(err);
  }

  private onData(d: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, d]) : d;
    for (;;) {
      const head = this.queue[0];
      if (!head) return;
      const eol = this.buffer.indexOf('\r\n');
      if (eol < 0) return;
      const line = this.buffer.subarray(0, eol).toString('latin1');
      if (head.kind === 'get') {
        if (line === 'END') {
          this.buffer = this.buffer.subarray(eol + 2);
          this.queue.shift();
          head.resolve(undefined);
          continue;
        }
        const m = /^VALUE \S+ \d+ (\d+)/.exec(line);
        if (!m) {
          this.teardown(new Error(`memcached protocol error: ${line}`));
          return;
        }
        const len = Number(m[1]);
        const need = eol + 2 + len + 2 + 5; // data\r\nEND\r\n
        if (this.buffer.length < need) return;
        const value = this.buffer.subarray(eol + 2, eol + 2 + len).toString('utf8');
        this.buffer = this.buffer.subarray(need);
        this.queue.shift();
        head.resolve(value);
        continue;
      }
      this.buffer = this.buffer.subarray(eol + 2);
      this.queue.shift();
      if (head.kind === 'store') head.resolve(line === 'STORED');
      else head.resolve(line === 'DELETED');
    }
  }

  async send(kind: Pending['kind'], command: Buffer): Promise<string | undefined | boolean> {
    const s = await this.connect();
    return new Promise((resolve, reject) => {
      this.queue.push({ kind, resolve, reject });
      s.write(command);
    });
  }

  close(): void {
    this.teardown(new Error('closed'));
  }
}

export function createMemcachedCache(opts: { servers: string[]; defaultTtlSeconds: number; log: Logger; timeoutMs?: number }): Cache {
  if (opts.servers.length === 0) throw new Error('cache.memcache_servers is empty; list host:port entries');
  const conns = opts.servers.map((s) => new ServerConnection(s, opts.timeoutMs ?? 1000));
  let lastWarn = 0;
  const warn = (err: unknown) => {
    if (Date.now() - lastWarn < 30_000) return;
    lastWarn = Date.now();
    opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'memcached unavailable; caching is off until it answers');
  };
  // Keys are hashed: memcached keys are limited to 250 printable bytes, ours may be longer.
  const keyOf = (k: string) => createHash('sha256').update(k).digest('hex');
  const pick = (key: string) => conns[Number.parseInt(key.slice(0, 8), 16) % conns.length]!;
  return {
    async get(key) {
      const k = keyOf(key);
      try {
        return (await pick(k).send('get', Buffer.from(`get ${k}\r\n`))) as string | undefined;
      } catch (err) {
        warn(err);
        return undefined;
      }
    },
    async set(key, value, ttlSeconds) {
      const k = keyOf(key);
      const data = Buffer.from(value, 'utf8');
      const ttl = ttlSeconds || opts.defaultTtlSeconds;
      try {
        await pick(k).send('store', Buffer.concat([Buffer.from(`set ${k} 0 ${ttl} ${data.length}\r\n`), data, Buffer.from('\r\n')]));
      } catch (err) {
        warn(err);
      }
    },
    async delete(key) {
      const k = keyOf(key);
      try {
        await pick(k).send('delete', Buffer.from(`delete ${k}\r\n`));
      } catch (err) {
        warn(err);
      }
    },
    async close() {
      for (const c of conns) c.close();
    },
  };
}
