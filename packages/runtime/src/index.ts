// Process runtime: logger, runnables and their manager, health/readiness/metrics, caches.
export * from './logger.js';
export * from './runnable.js';
export * from './health.js';
export * from './http-runnable.js';
export * from './cache/index.js';
