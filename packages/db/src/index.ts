// Database access shared by every service: one Kysely database per service, three engines.
export * from './connection-url.js';
export * from './database.js';
export * from './migrator.js';
export * from './errors.js';
