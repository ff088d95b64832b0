// The shared kernel: knows no service.
export * from './ids.js';
export * from './clock.js';
export * from './json.js';
export * from './errors.js';
export * from './context.js';
export * from './cache.js';
