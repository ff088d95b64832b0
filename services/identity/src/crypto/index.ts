// Identity's cryptography: Fernet, the Fernet key repository, Keystone token payloads and password hashing.
export * from './fernet.js';
export * from './key-repository.js';
export * from './token-formatter.js';
export * from './passwords.js';
export { PackFloat, packb } from './msgpack-encode.js';
export type { Packable } from './msgpack-encode.js';
