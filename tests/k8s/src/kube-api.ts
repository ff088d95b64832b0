// A stand-in for the Kubernetes API server's Secret endpoints (no kube-apiserver runs on this
// machine): TLS with its own CA, bearer-token auth, RBAC by Secret name and verb, resourceVersion
// conflicts. Enough to run the key Jobs' real commands against it, as their pods would.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StoredSecret {
  data: Record<string, string>;
  labels: Record<string, string>;
  resourceVersion: number;
}

export interface KubeApiStandIn {
  port: number;
  namespace: string;
  /** A service account directory (token, ca.crt, namespace) as the kubelet mounts it. */
  serviceAccountDir: string;
  secrets: Map<string, StoredSecret>;
  /** Every request: method, path, status. */
  log: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

export interface Rbac {
  /** verb -> Secret names it is allowed on ('*' for any name, as RBAC's create without resourceNames). */
  [verb: string]: readonly string[];
}

export function opensslMissing(): string | undefined {
  return spawnSync('sh', ['-c', 'command -v openssl']).status === 0 ? undefined : 'openssl is not installed (it makes the stand-in API server\'s certificate)';
}

export async function startKubeApi(opts: { namespace: string; rbac: Rbac }): Promise<KubeApiStandIn> {
  const dir = await mkdtemp(join(tmpdir(), 'alto-kube-api-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'ca.crt'), '-days', '1', '-subj', '/CN=kubernetes', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  const token = `sa-token-${Math.random().toString(36).slice(2)}`;
  const sa = join(dir, 'serviceaccount');
  await import('node:fs/promises').then((fs) => fs.mkdir(sa));
  await writeFile(join(sa, 'token'), token);
  await writeFile(join(sa, 'namespace'), opts.namespace);
  await writeFile(join(sa, 'ca.crt'), await readFile(join(dir, 'ca.crt')));

  const secrets = new Map<string, StoredSecret>();
  const log: KubeApiStandIn['log'] = [];
  let version = 100;
  const base = `/api/v1/namespaces/${opts.namespace}/secrets`;
  const allowed = (verb: string, name: string) => (opts.rbac[verb] ?? []).some((n) => n === '*' || n === name);
  const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });
  const view = (name: string, s: StoredSecret) => ({
    kind: 'Secret',
    apiVersion: 'v1',
    type: 'Opaque',
    metadata: { name, namespace: opts.namespace, labels: s.labels, resourceVersion: String(s.resourceVersion) },
    data: Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  });
  const decode = (d: Record<string, string> | undefined) => Object.fromEntries(Object.entries(d ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

  const server: Server = createServer({ key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'ca.crt')) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (code: number, body: unknown) => {
        log.push({ method: req.method ?? '', path: req.url ?? '', status: code });
        res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${token}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
      const url = req.url ?? '';
      const name = url.startsWith(`${base}/`) ? decodeURIComponent(url.slice(base.length + 1)) : undefined;
      if (!url.startsWith(base)) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string> }; data?: Record<string, string> }) : {};
      const forbidden = (verb: string, n: string) => send(403, status(403, 'Forbidden', `secrets "${n}" is forbidden: User "system:serviceaccount:${opts.namespace}:identity-keys" cannot ${verb} resource "secrets"`));
      if (req.method === 'GET' && name) {
        if (!allowed('get', name)) return forbidden('get', name);
        const s = secrets.get(name);
        return s ? send(200, view(name, s)) : send(404, status(404, 'NotFound', `secrets "${name}" not found`));
      }
      if (req.method === 'POST' && !name) {
        const n = body.metadata?.name ?? '';
        if (!allowed('create', n)) return forbidden('create', n);
        if (secrets.has(n)) return send(409, status(409, 'AlreadyExists', `secrets "${n}" already exists`));
        const s = { data: decode(body.data), labels: body.metadata?.labels ?? {}, resourceVersion: ++version };
        secrets.set(n, s);
        return send(201, view(n, s));
      }
      if (req.method === 'PUT' && name) {
        if (!allowed('update', name)) return forbidden('update', name);
        const s = secrets.get(name);
        if (!s) return send(404, status(404, 'NotFound', `secrets "${name}" not found`));
        if (body.metadata?.resourceVersion !== String(s.resourceVersion)) {
          return send(409, status(409, 'Conflict', `Operation cannot be fulfilled on secrets "${name}": the object has been modified; please apply your changes to the latest version and try again`));
        }
        const next = { data: decode(body.data), labels: body.metadata?.labels ?? {}, resourceVersion: ++version };
        secrets.set(name, next);
        return send(200, view(name, next));
      }
      return send(405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    namespace: opts.namespace,
    serviceAccountDir: sa,
    secrets,
    log,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
