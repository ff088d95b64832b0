// The identity service (Keystone v3): composition, config section, migrations, key management.
export { createIdentity, IDENTITY_SYNC_TOPIC, passwordPolicyOf, type Identity, type IdentityDeps } from './plugin.js';
export { IdentitySection, type IdentityConfig } from './config.js';
export { identityMigrations } from './store/migrations/index.js';
export type { IdentityDB } from './store/schema.js';
export { identityPolicies } from './policies.js';
export type { BootstrapInput, BootstrapResult } from './domain/bootstrap.js';
export { setupKeyRepository, rotateKeyRepository, loadKeyRepository } from './crypto/key-repository.js';
export { generateFernetKey } from './crypto/fernet.js';
export { CREDENTIAL_MAX_ACTIVE_KEYS, CredentialCipher, credentialCipherFor } from './crypto/credential-cipher.js';
export { migrateCredentialKeys } from './domain/credentials.service.js';
