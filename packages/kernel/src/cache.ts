// The cache contract (oslo.cache's role): an in-process LRU by default, memcached when shared.
export interface Cache {
  get(key: string): Promise<string | undefined>;
  /** ttlSeconds 0 means the backend's default expiration. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
