// The image service (Glance v2): configuration, composition, and the store contract for drivers.
export * from './config.js';
export * from './spi/store.js';
