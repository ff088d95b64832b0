// HTTP frame shared by every API: server factory, envelopes, routes, auth, microversions, pagination.
export * from './server.js';
export * from './errors.js';
export * from './validation.js';
export * from './route.js';
export * from './auth.js';
export * from './microversion.js';
export * from './pagination.js';
export * from './urls.js';
export * from './versions.js';
export * from './py-repr.js';
