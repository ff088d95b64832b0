// The image service (Glance v2): configuration, composition, and the store contract for drivers.
export * from './config.js';
export * from './spi/store.js';
export * from './plugin.js';
export * from './keystone-limits.js';
export * from './drivers/filesystem-store.js';
export type { StoreSet, LimitSource, ProjectLimits } from './domain/deps.js';
export { imageMigrations } from './store/migrations/index.js';
export type { ImageDB } from './store/schema.js';
