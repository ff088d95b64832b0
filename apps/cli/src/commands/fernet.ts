// `alto fernet setup|rotate`: manage the token key repository (keystone-manage fernet_*).
import { rotateKeyRepository, setupKeyRepository } from '@alto/identity';
import { loadAltoConfig, type ConfigSources } from '../config.js';
import { progress } from '../progress.js';

export async function fernetSetup(sources: ConfigSources): Promise<void> {
  const config = loadAltoConfig(sources);
  const repo = config.identity.fernet_tokens.key_repository;
  await progress().step(`fernet key repository ${repo}`, () => setupKeyRepository(repo, { maxActiveKeys: config.identity.fernet_tokens.max_active_keys }), (r) =>
    r.created ? `created keys ${r.keyIds.join(', ')}` : `already set up (keys ${r.keyIds.join(', ')})`,
  );
}

export async function fernetRotate(sources: ConfigSources): Promise<void> {
  const config = loadAltoConfig(sources);
  const repo = config.identity.fernet_tokens.key_repository;
  await progress().step(`rotate ${repo}`, () => rotateKeyRepository(repo, config.identity.fernet_tokens.max_active_keys), (r) =>
    `key ${r.promoted} is now primary; keys ${r.keyIds.join(', ')}${r.purged.length ? `; removed ${r.purged.join(', ')}` : ''}. Tokens made with removed keys no longer validate.`,
  );
}
