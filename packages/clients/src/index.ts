// Typed HTTP clients for talking to services the way OpenStack services talk to each other.
export * from './http-client.js';
export * from './identity.js';
