// In-process LRU cache with per-entry TTL: the embedded default.
import { LRUCache } from 'lru-cache';
import type { Cache } from '@alto/kernel';

export function createMemoryCache(opts: { maxEntries: number; defaultTtlSeconds: number }): Cache {
  const lru = new LRUCache<string, string>({ max: opts.maxEntries, ttl: opts.defaultTtlSeconds * 1000, ttlAutopurge: false });
  return {
    get: async (key) => lru.get(key),
    set: async (key, value, ttlSeconds) => {
      lru.set(key, value, ttlSeconds ? { ttl: ttlSeconds * 1000 } : undefined);
    },
    delete: async (key) => {
      lru.delete(key);
    },
    close: async () => lru.clear(),
  };
}
