// `alto credential setup|rotate`: the key repository that encrypts credential blobs (keystone-manage credential_*).
import { CREDENTIAL_MAX_ACTIVE_KEYS, credentialCipherFor, migrateCredentialKeys, rotateKeyRepository, setupKeyRepository } from '@alto/identity';
import { systemClock } from '@alto/kernel';
import { loadAltoConfig, type ConfigSources } from '../config.js';
import { openIdentityDatabase } from '../components.js';
import { progress } from '../progress.js';
import { onKeyRepository, type KeyCommandOptions } from './fernet.js';

export async function credentialSetup(sources: ConfigSources, opts: KeyCommandOptions = {}): Promise<void> {
  const config = loadAltoConfig(sources);
  const repo = config.identity.credential.key_repository;
  await progress().step(
    `credential key repository ${opts.k8sSecret ? `in Secret ${opts.k8sSecret}` : repo}`,
    () => onKeyRepository(repo, opts, (d) => setupKeyRepository(d, { maxActiveKeys: CREDENTIAL_MAX_ACTIVE_KEYS }), 'setup'),
    (r) => (r.created ? `created keys ${r.keyIds.join(', ')}` : `already set up (keys ${r.keyIds.join(', ')})`),
  );
}

/**
 * keystone-manage credential_migrate then credential_rotate in one step: every credential is
 * first re-encrypted with the current primary key, so the rotation can never purge a key that a
 * stored credential still needs (upstream refuses to rotate until you migrate; we just migrate).
 */
export async function credentialRotate(sources: ConfigSources, opts: KeyCommandOptions = {}): Promise<void> {
  const config = loadAltoConfig(sources);
  const repo = config.identity.credential.key_repository;
  const database = openIdentityDatabase(config);
  try {
    await progress().step(
      `rotate ${opts.k8sSecret ? `Secret ${opts.k8sSecret}` : repo}`,
      () =>
        onKeyRepository(
          repo,
          opts,
          async (d) => {
            const migrated = await migrateCredentialKeys(database.db, credentialCipherFor(d, systemClock));
            return { ...migrated, ...(await rotateKeyRepository(d, CREDENTIAL_MAX_ACTIVE_KEYS)) };
          },
          'rotate',
        ),
      (r) =>
        `${r.reencrypted} of ${r.total} credentials re-encrypted with the outgoing primary key; key ${r.promoted} is now primary; keys ${r.keyIds.join(', ')}${r.purged.length ? `; removed ${r.purged.join(', ')}` : ''}.`,
    );
  } finally {
    await database.close();
  }
}
