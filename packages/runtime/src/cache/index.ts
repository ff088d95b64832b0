// Cache backends behind the kernel's Cache contract, chosen from [cache] config.
import type { Cache } from '@alto/kernel';
import type { Logger } from '../logger.js';
import { createMemoryCache } from './memory-cache.js';
import { createMemcachedCache } from './memcached-cache.js';

export { createMemoryCache, createMemcachedCache };

export interface CacheOptions {
  backend: 'memory' | 'memcached';
  memcache_servers: string[];
  expiration_time: number;
  memory_max_entries: number;
}

export function createCache(cfg: CacheOptions, log: Logger): Cache {
  return cfg.backend === 'memcached'
    ? createMemcachedCache({ servers: cfg.memcache_servers, defaultTtlSeconds: cfg.expiration_time, log })
    : createMemoryCache({ maxEntries: cfg.memory_max_entries, defaultTtlSeconds: cfg.expiration_time });
}
