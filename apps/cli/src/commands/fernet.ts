// `alto fernet setup|rotate`: manage the token key repository (keystone-manage fernet_*), on disk
// or, with --k8s-secret, in a Kubernetes Secret that every identity-api replica mounts.
import { rotateKeyRepository, setupKeyRepository } from '@alto/identity';
import { loadAltoConfig, type ConfigSources } from '../config.js';
import { progress } from '../progress.js';
import { inClusterSecrets, KubeError, withSecretKeyRepository } from '../kube-secrets.js';

export interface KeyCommandOptions {
  /** Work on this Secret of the pod's namespace instead of the configured directory. */
  k8sSecret?: string;
}

/**
 * Runs a repository operation where the keys live: the configured directory, or a Secret. A
 * setup that loses a race to create the Secret finds it made and leaves it alone.
 */
export async function onKeyRepository<T>(dir: string, opts: KeyCommandOptions, op: (dir: string) => Promise<T>, kind: 'setup' | 'rotate'): Promise<T & { where: string; written?: boolean }> {
  if (!opts.k8sSecret) return { ...(await op(dir)), where: dir };
  const store = await inClusterSecrets();
  const where = `Secret ${store.namespace}/${opts.k8sSecret}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await withSecretKeyRepository(store, opts.k8sSecret, op, { mustExist: kind === 'rotate' });
      return { ...r.result, where, written: r.written };
    } catch (err) {
      if (kind === 'setup' && attempt === 1 && err instanceof KubeError && err.status === 409) continue;
      throw err;
    }
  }
}

export async function fernetSetup(sources: ConfigSources, opts: KeyCommandOptions = {}): Promise<void> {
  const config = loadAltoConfig(sources);
  const { key_repository: repo, max_active_keys: maxActiveKeys } = config.identity.fernet_tokens;
  await progress().step(`fernet key repository ${opts.k8sSecret ? `in Secret ${opts.k8sSecret}` : repo}`, () => onKeyRepository(repo, opts, (d) => setupKeyRepository(d, { maxActiveKeys }), 'setup'), (r) =>
    r.created ? `created keys ${r.keyIds.join(', ')}` : `already set up (keys ${r.keyIds.join(', ')})`,
  );
}

export async function fernetRotate(sources: ConfigSources, opts: KeyCommandOptions = {}): Promise<void> {
  const config = loadAltoConfig(sources);
  const { key_repository: repo, max_active_keys: maxActiveKeys } = config.identity.fernet_tokens;
  await progress().step(`rotate ${opts.k8sSecret ? `Secret ${opts.k8sSecret}` : repo}`, () => onKeyRepository(repo, opts, (d) => rotateKeyRepository(d, maxActiveKeys), 'rotate'), (r) =>
    `key ${r.promoted} is now primary; keys ${r.keyIds.join(', ')}${r.purged.length ? `; removed ${r.purged.join(', ')}` : ''}. Tokens made with removed keys no longer validate.${opts.k8sSecret ? ' Replicas pick the new keys up when the kubelet refreshes the mounted Secret (about a minute).' : ''}`,
  );
}
