// Both cache backends honour the contract; memcached is a real server when the binary exists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { Cache } from '@alto/kernel';
import { createLogger } from '../logger.js';
import { createMemcachedCache, createMemoryCache } from './index.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function contract(cache: Cache): Promise<void> {
  assert.equal(await cache.get('missing'), undefined);
  await cache.set('k'.repeat(400), 'long key ok');
  assert.equal(await cache.get('k'.repeat(400)), 'long key ok');
  const big = JSON.stringify({ token: 'x'.repeat(50_000), unicode: 'ünïcødé ✓' });
  await cache.set('big', big, 60);
  assert.equal(await cache.get('big'), big);
  await Promise.all(Array.from({ length: 50 }, (_, i) => cache.set(`p${i}`, String(i))));
  assert.deepEqual(await Promise.all(Array.from({ length: 50 }, (_, i) => cache.get(`p${i}`))), Array.from({ length: 50 }, (_, i) => String(i)));
  await cache.delete('big');
  assert.equal(await cache.get('big'), undefined);
}

test('memory cache', async () => {
  const c = createMemoryCache({ maxEntries: 1000, defaultTtlSeconds: 60 });
  await contract(c);
  await c.set('short', 'v', 1);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(await c.get('short'), undefined);
});

const hasMemcached = spawnSync('sh', ['-c', 'command -v memcached']).status === 0;
let server: ChildProcess | undefined;
let port = 0;
before(async () => {
  if (!hasMemcached) return;
  port = await freePort();
  const asUser = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  server = spawn('memcached', ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '16', ...asUser], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true)); // port taken: memcached is listening
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
});
after(() => server?.kill());

test('memcached cache against a real memcached', { skip: hasMemcached ? false : 'memcached is not installed (scripts/test installs it)' }, async () => {
  // a generous timeout: on a loaded machine a set that times out is dropped (by design), and the
  // contract's get would then miss for a reason that is not the contract's
  const c = createMemcachedCache({ servers: [`127.0.0.1:${port}`], defaultTtlSeconds: 60, log: createLogger({ level: 'silent' }), timeoutMs: 5000 });
  await contract(c);
  await c.close();
});

test('memcached down: reads miss, writes are dropped, nothing throws', async () => {
  const c = createMemcachedCache({ servers: [`127.0.0.1:${await freePort()}`], defaultTtlSeconds: 60, log: createLogger({ level: 'silent' }) });
  await c.set('a', 'b');
  assert.equal(await c.get('a'), undefined);
  await c.delete('a');
  await c.close();
});
