// Key repositories kept in a Kubernetes Secret: the in-cluster API client for Secrets, and the
// bridge that lets `alto fernet|credential setup|rotate --k8s-secret` work on one.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AltoError } from '@alto/kernel';

/** Where a pod finds its service account (the kubelet mounts it there). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export class KubeError extends AltoError {
  readonly status: number;
  constructor(status: number, message: string, code = 'cli.kube_api') {
    super('service_unavailable', code, message);
    this.status = status;
  }
}

export interface SecretData {
  /** Values as text (the API's base64 is handled here). */
  data: Record<string, string>;
  resourceVersion: string;
}

/** The few Secret operations a key repository needs. */
export interface SecretStore {
  readonly namespace: string;
  get(name: string): Promise<SecretData | undefined>;
  /** Fails with a 409 KubeError when it exists already. */
  create(name: string, data: Record<string, string>, labels?: Record<string, string>): Promise<void>;
  /** Fails with a 409 KubeError when the Secret changed since resourceVersion was read. */
  replace(name: string, data: Record<string, string>, resourceVersion: string, labels?: Record<string, string>): Promise<void>;
}

export interface InClusterOptions {
  /** Default: $KUBERNETES_SERVICE_HOST, $KUBERNETES_SERVICE_PORT (set in every pod). */
  host?: string;
  port?: string;
  /** Default: $ALTO_KUBE_SERVICE_ACCOUNT_DIR or the kubelet's mount. */
  serviceAccountDir?: string;
}

/** The API server as a pod sees it: its service account's token, CA and namespace. */
export async function inClusterSecrets(opts: InClusterOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<SecretStore> {
  const host = opts.host ?? env.KUBERNETES_SERVICE_HOST;
  const port = opts.port ?? env.KUBERNETES_SERVICE_PORT ?? '443';
  const dir = opts.serviceAccountDir ?? env.ALTO_KUBE_SERVICE_ACCOUNT_DIR ?? SERVICE_ACCOUNT_DIR;
  if (!host) throw new KubeError(0, '--k8s-secret works inside a Kubernetes pod: KUBERNETES_SERVICE_HOST is not set.', 'cli.kube_not_in_cluster');
  const read = async (f: string) => {
    try {
      return (await readFile(join(dir, f), 'utf8')).trim();
    } catch {
      throw new KubeError(0, `No service account at ${dir} (${f} is missing): does the pod mount its service account token (automountServiceAccountToken)?`, 'cli.kube_no_service_account');
    }
  };
  const [token, ca, namespace] = [await read('token'), await readFile(join(dir, 'ca.crt')).catch(() => undefined), await read('namespace')];
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;

  const call = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host: host.includes(':') && !host.startsWith('[') ? `[${host}]` : host,
          port,
          path,
          method,
          ...(ca ? { ca } : {}),
          headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}) },
          timeout: 15_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: Record<string, unknown>;
            try {
              json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            } catch {
              json = { message: text.slice(0, 200) };
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`the Kubernetes API at ${host}:${port} did not answer in 15 s`)));
      req.on('error', (err) => reject(new KubeError(0, `Cannot reach the Kubernetes API at ${host}:${port}: ${err.message}`)));
      req.end(payload);
    });
  const fail = (what: string, r: { status: number; json: Record<string, unknown> }) => {
    const msg = typeof r.json.message === 'string' ? r.json.message : `HTTP ${r.status}`;
    const hint = r.status === 403 ? ' (the pod\'s service account needs get/create/update on this Secret: see deploy/kubernetes/base/identity-keys.yaml)' : '';
    return new KubeError(r.status, `${what}: ${msg}${hint}`);
  };
  const encode = (data: Record<string, string>) => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
  const object = (name: string, data: Record<string, string>, labels: Record<string, string> | undefined, resourceVersion?: string) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name, namespace, ...(labels ? { labels } : {}), ...(resourceVersion ? { resourceVersion } : {}) },
    data: encode(data),
  });

  return {
    namespace,
    async get(name) {
      const r = await call('GET', `${base}/${encodeURIComponent(name)}`);
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw fail(`reading Secret ${namespace}/${name}`, r);
      const raw = (r.json.data ?? {}) as Record<string, string>;
      const meta = (r.json.metadata ?? {}) as { resourceVersion?: string };
      return { data: Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])), resourceVersion: meta.resourceVersion ?? '' };
    },
    async create(name, data, labels) {
      const r = await call('POST', base, object(name, data, labels));
      if (r.status !== 201 && r.status !== 200) throw fail(`creating Secret ${namespace}/${name}`, r);
    },
    async replace(name, data, resourceVersion, labels) {
      const r = await call('PUT', `${base}/${encodeURIComponent(name)}`, object(name, data, labels, resourceVersion));
      if (r.status !== 200) throw fail(`updating Secret ${namespace}/${name}`, r);
    },
  };
}

const KEY_NAME = /^\d+$/;
export const KEY_SECRET_LABELS = { 'app.kubernetes.io/part-of': 'altostratus', 'app.kubernetes.io/component': 'key-repository' };

export interface SecretRepositoryResult<T> {
  result: T;
  /** The Secret was created (true), updated (true) or left as it was (false). */
  written: boolean;
}

/**
 * Runs a key-repository operation (setup, rotate) on a Secret: its key files are written to a
 * private temporary directory, the operation works there as it would on disk, and the result
 * goes back in one write that carries the resourceVersion read. Two rotations at once cannot
 * both win: the second gets a 409 and changes nothing. The directory is removed afterwards.
 */
export async function withSecretKeyRepository<T>(
  store: SecretStore,
  name: string,
  op: (dir: string) => Promise<T>,
  opts: { mustExist: boolean },
): Promise<SecretRepositoryResult<T>> {
  const current = await store.get(name);
  if (!current && opts.mustExist) {
    throw new KubeError(404, `Secret ${store.namespace}/${name} does not exist: run "alto fernet setup --k8s-secret ${name}" (the identity-keys Job) first.`, 'cli.kube_secret_missing');
  }
  const dir = await mkdtemp(join(tmpdir(), 'alto-keys-'));
  try {
    const before: Record<string, string> = {};
    for (const [k, v] of Object.entries(current?.data ?? {})) {
      if (!KEY_NAME.test(k)) continue;
      before[k] = v;
      await writeFile(join(dir, k), v, { mode: 0o600 });
    }
    const result = await op(dir);
    const after: Record<string, string> = {};
    for (const f of await readdir(dir)) if (KEY_NAME.test(f)) after[f] = await readFile(join(dir, f), 'utf8');
    const same = Object.keys(before).length === Object.keys(after).length && Object.entries(after).every(([k, v]) => before[k] === v);
    if (same && current) return { result, written: false };
    // keep anything else the Secret holds (labels aside, operators may annotate it)
    const others = Object.fromEntries(Object.entries(current?.data ?? {}).filter(([k]) => !KEY_NAME.test(k)));
    try {
      if (current) await store.replace(name, { ...others, ...after }, current.resourceVersion, KEY_SECRET_LABELS);
      else await store.create(name, after, KEY_SECRET_LABELS);
    } catch (err) {
      if (err instanceof KubeError && err.status === 409) {
        throw new KubeError(409, `Secret ${store.namespace}/${name} changed while this ran (another rotation or setup?); nothing was written. Run it again.`, 'cli.kube_secret_conflict');
      }
      throw err;
    }
    return { result, written: true };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
