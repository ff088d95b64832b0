// Runs what the single-node overlay says, as local processes: the identity, image and block storage Jobs, the identity-api, image-api, volume-api and volume-scheduler Deployments and the volume-worker StatefulSet, against a local PostgreSQL (and RabbitMQ and memcached when installed).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { copyDeployWithSecrets, getObjectOrThrow, kubectlMissing, render, repoRoot, type DeployCopy, type K8sObject } from './render.js';
import { allContainers, dataOf, mapPaths, mapServiceHosts, materializeMounts, podSpecOf, resolveEnv, type IContainer, type IPodSpec, type MountedPath } from './pod.js';
import { envOf, execForm, lastOf, readContainerfile } from './containerfile.js';
import { opensslMissing, startKubeApi, type KubeApiStandIn } from './kube-api.js';

/**
 * What stands in for the cluster, and nothing else:
 * - the image: its ENTRYPOINT, WORKDIR and ENV come from the Containerfile, with /opt/alto
 *   mapped to this checkout (its apps/cli/dist/main.js, built by tsc -b);
 * - volumes: ConfigMap and Secret contents written to a temporary directory, their mountPaths
 *   mapped there in args, env values and the mounted config files;
 * - cluster DNS: Service names (postgres:5432, rabbitmq:5672, memcached:11211) mapped to the
 *   services started here on loopback, with the users, passwords and vhost the render gives
 *   their StatefulSets;
 * - the API's port: the container port is published on a free local port (as a port-forward
 *   would), because 5000 may be taken on a developer machine;
 * - a PersistentVolumeClaim: one local directory for every process that mounts it, kept across
 *   restarts as a volume is;
 * - the Kubernetes API, for the pods whose service account talks to it (the key Jobs): a
 *   stand-in serving Secrets (kube-api.ts) that allows exactly what the render's Role allows;
 *   Secrets it holds are what the kubelet mounts into the pods that name them.
 * Command, args and env otherwise come from the render as they are.
 */

const NAMESPACE = 'altostratus';
const svcScripts = join(repoRoot, 'scripts', 'services');

function postgresMissing(): string | undefined {
  const bins = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'pg_ctl'))) : [];
  if (bins.length === 0) return 'PostgreSQL server is not installed (scripts/services/install-debs.sh postgres); the run-what-the-manifests-say test needs one';
  return undefined;
}
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Runs a scripts/services/<name>.sh command and returns its KEY=value lines. */
function serviceScript(name: string, action: 'start' | 'stop', env: Record<string, string>): Map<string, string> {
  const r = spawnSync(join(svcScripts, `${name}.sh`), [action], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`${name}.sh ${action} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return new Map(
    r.stdout
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
      .flatMap((m) => (m?.[1] && m[2] !== undefined ? [[m[1], m[2]] as [string, string]] : [])),
  );
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  ms: number;
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<Finished>;
}

function start(argv: readonly string[], env: Record<string, string>, cwd: string): Running {
  const [cmd, ...args] = argv;
  assert.ok(cmd, 'a command to run');
  const t0 = performance.now();
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, output, ms: Math.round(performance.now() - t0) }));
  });
  return { child, output: () => output, exited };
}

async function run(argv: readonly string[], env: Record<string, string>, cwd: string, timeoutMs: number): Promise<Finished> {
  const p = start(argv, env, cwd);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** A probe's HTTP GET, polled as the kubelet would: every periodSeconds, up to failureThreshold times. */
async function probeUntilOk(probe: IProbe, port: number, label: string, running: Running): Promise<{ status: number; body: string; ms: number }> {
  const period = (probe.periodSeconds ?? 10) * 1000;
  const attempts = probe.failureThreshold ?? 3;
  const path = probe.httpGet?.path ?? '/';
  const t0 = performance.now();
  let last = 'no answer';
  // poll faster than the kubelet, within the same budget, so the test is quick when all is well
  const deadline = t0 + (probe.initialDelaySeconds ?? 0) * 1000 + period * attempts;
  while (performance.now() < deadline) {
    if (running.child.exitCode !== null) throw new Error(`${label}: the process exited (${running.child.exitCode}):\n${running.output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000) });
      const body = await res.text();
      if (res.status >= 200 && res.status < 400) return { status: res.status, body, ms: Math.round(performance.now() - t0) };
      last = `${res.status} ${body.slice(0, 300)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${label}: ${path} did not answer 2xx within the probe's budget (${(deadline - t0) / 1000}s); last: ${last}\n${running.output()}`);
}

describe('single-node overlay, run as local processes', { skip: kubectlMissing() ?? postgresMissing() ?? opensslMissing() }, () => {
  let copy: DeployCopy;
  let objects: K8sObject[];
  let work: string;
  let svcRoot: string | undefined;
  const started: { name: string; env: Record<string, string> }[] = [];
  /** Service host:port (as written in the render) -> 127.0.0.1:port here. */
  const endpoints = new Map<string, string>();
  const notes: string[] = [];
  /** The database and bus URLs each process was given, to show they reached the local stand-ins. */
  const connections: { process: string; url: string }[] = [];
  const image = { entrypoint: [] as string[], workdir: '', env: new Map<string, string>() };
  let kube: KubeApiStandIn;

  /** The Secrets the stand-in API holds become objects of the cluster, for the kubelet to mount. */
  function syncClusterSecrets(): void {
    for (const [name, secret] of kube.secrets) {
      const object = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: NAMESPACE },
        data: Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      } as unknown as K8sObject;
      const at = objects.findIndex((o) => o.kind === 'Secret' && o.metadata.name === name);
      if (at >= 0) objects[at] = object;
      else objects.push(object);
    }
  }

  const mapHosts = (text: string) => mapServiceHosts(text, endpoints, NAMESPACE);

  /** The process a container of the render becomes here: argv, env and working directory. */
  async function processFor(workload: K8sObject, c: IContainer, extraEnv: Record<string, string> = {}): Promise<{ argv: string[]; env: Record<string, string>; cwd: string; mounts: MountedPath[] }> {
    const spec = podSpecOf(workload) as IPodSpec;
    // the kubelet mounts the service account and sets KUBERNETES_SERVICE_* only where asked
    const kubeEnv: Record<string, string> =
      spec.automountServiceAccountToken === true
        ? { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(kube.port), ALTO_KUBE_SERVICE_ACCOUNT_DIR: kube.serviceAccountDir }
        : {};
    assert.match(c.image ?? '', /^altostratus\/alto[:@]/, `${c.name} runs the Altostratus image`);
    const root = await mkdtemp(join(work, `${workload.metadata.name}-${c.name}-`));
    const podName = `${workload.metadata.name}-test`;
    // a StatefulSet's volumeClaimTemplates: one claim per pod, <template>-<pod> as Kubernetes names it
    const templates = new Set(((workload as { spec?: { volumeClaimTemplates?: { metadata?: { name?: string } }[] } }).spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? ''));
    const mounts = await materializeMounts(objects, NAMESPACE, spec, c, root, templates);
    // a claim is one directory for every pod that mounts it, across restarts (a PersistentVolume)
    const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
    for (const [i, m] of (c.volumeMounts ?? []).entries()) {
      const claim = volumes.get(m.name)?.persistentVolumeClaim?.claimName ?? (templates.has(m.name) ? `${m.name}-${podName}` : undefined);
      const mounted = mounts[i];
      if (!claim || !mounted) continue;
      const dir = join(work, 'claims', claim);
      await mkdir(dir, { recursive: true });
      mounts[i] = { ...mounted, localPath: m.subPath ? join(dir, m.subPath) : dir };
    }
    // a mounted config file names other mounted paths (the key repository) and Services
    for (const m of mounts.filter((x) => x.source === 'ConfigMap')) {
      const files = statSync(m.localPath).isDirectory() ? readdirSync(m.localPath).map((f) => join(m.localPath, f)) : [m.localPath];
      for (const f of files.filter((x) => statSync(x).isFile())) await writeFile(f, mapHosts(mapPaths(await readFile(f, 'utf8'), mounts)));
    }
    const { env, undefinedRefs } = resolveEnv(objects, NAMESPACE, c, { 'metadata.name': podName, 'metadata.namespace': NAMESPACE, 'status.podIP': '127.0.0.1' });
    assert.deepEqual(undefinedRefs, []);
    const finalEnv: Record<string, string> = Object.fromEntries(image.env);
    for (const [k, v] of env) finalEnv[k] = mapHosts(mapPaths(v, mounts));
    Object.assign(finalEnv, kubeEnv, extraEnv);
    for (const key of ['ALTO_IDENTITY__DATABASE__CONNECTION', 'ALTO_IMAGE__DATABASE__CONNECTION', 'ALTO_BLOCK_STORAGE__DATABASE__CONNECTION', 'ALTO_BUS__TRANSPORT_URL']) {
      const url = finalEnv[key];
      if (url !== undefined) connections.push({ process: `${workload.metadata.name}/${c.name}`, url });
    }
    // Kubernetes: command replaces ENTRYPOINT, args replace CMD
    const entry = c.command ?? image.entrypoint;
    const argv = [...entry, ...(c.args ?? [])].map((a) => mapPaths(a, mounts));
    // the image's node and /opt/alto are this machine's node and this checkout
    const local = argv.map((a, i) => (i === 0 && a === 'node' ? process.execPath : a.replace(/^\/opt\/alto(?=\/|$)/, repoRoot)));
    return { argv: local, env: finalEnv, cwd: image.workdir.replace(/^\/opt\/alto(?=\/|$)/, repoRoot), mounts };
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'alto-k8s-run-'));
    copy = await copyDeployWithSecrets();
    objects = render(copy.overlayDir('single-node'));
    // the stand-in API allows what the render's Role grants the key Jobs' service account
    const role = getObjectOrThrow<K8sObject & { rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[] }>(objects, 'Role', 'identity-keys');
    const rbac: Record<string, string[]> = {};
    for (const r of role.rules.filter((x) => x.resources.includes('secrets'))) for (const v of r.verbs) rbac[v] = [...(rbac[v] ?? []), ...(r.resourceNames ?? ['*'])];
    kube = await startKubeApi({ namespace: NAMESPACE, rbac });

    const containerfile = readContainerfile();
    const final = containerfile.stages.at(-1);
    assert.ok(final, 'the Containerfile has a final stage');
    image.entrypoint = execForm(lastOf(final, 'ENTRYPOINT')) ?? [];
    image.workdir = lastOf(final, 'WORKDIR')?.rest ?? '/';
    image.env = envOf(final);
    // the script is the entrypoint's last word; node flags may come before it
    const main = join(repoRoot, (image.entrypoint.at(-1) ?? '').replace(/^\/opt\/alto\//, ''));
    assert.ok(existsSync(main), `${main} exists (build with: node node_modules/typescript/bin/tsc -b tests/k8s)`);

    // apart from the work directory (private): the daemons run as their own users and must reach it
    svcRoot = await mkdtemp(join(tmpdir(), 'alto-k8s-svc-'));
    await chmod(svcRoot, 0o755);
    // PostgreSQL as the StatefulSet would make it: the superuser and password it is given, then
    // the init script its ConfigMap mounts at /docker-entrypoint-initdb.d
    const pg = getObjectOrThrow(objects, 'StatefulSet', 'postgres');
    const pgContainer = podSpecOf(pg)?.containers[0];
    assert.ok(pgContainer);
    const pgEnv = resolveEnv(objects, NAMESPACE, pgContainer).env;
    const pgPort = await freePort();
    const pgEnvScript = { ALTO_SVC_ROOT: svcRoot, ALTO_SVC_RESERVE_PORTS: '0', PG_PORT: String(pgPort) };
    const pgOut = serviceScript('postgres', 'start', pgEnvScript);
    started.push({ name: 'postgres', env: pgEnvScript });
    const socketDir = /-h (\S+)/.exec(pgOut.get('PG_ADMIN') ?? '')?.[1];
    assert.ok(socketDir, 'postgres.sh printed PG_ADMIN with its socket directory');
    const initMount = pgContainer.volumeMounts?.find((m) => m.mountPath === '/docker-entrypoint-initdb.d');
    const initVolume = podSpecOf(pg)?.volumes?.find((v) => v.name === initMount?.name);
    const init = dataOf(getObjectOrThrow(objects, 'ConfigMap', initVolume?.configMap?.name ?? '(no init volume)'));
    for (const [name, script] of Object.entries(init).sort()) {
      const file = join(work, name);
      await writeFile(file, script, { mode: 0o755 });
      // the image runs executable *.sh files in order, as the postgres user, on the local socket
      const scriptEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...Object.fromEntries(pgEnv), PGHOST: socketDir, PGPORT: String(pgPort) };
      const r: SpawnSyncReturns<string> = spawnSync(file, [], { env: scriptEnv, encoding: 'utf8' });
      assert.equal(r.status, 0, `${name} failed:\n${r.stderr}`);
    }
    endpoints.set('postgres:5432', `127.0.0.1:${pgPort}`);

    // RabbitMQ with the user, password and vhost the StatefulSet's RABBITMQ_DEFAULT_* give it
    const rmq = getObjectOrThrow(objects, 'StatefulSet', 'rabbitmq');
    const rmqContainer = podSpecOf(rmq)?.containers.find((c) => c.name === 'rabbitmq');
    assert.ok(rmqContainer);
    const rmqEnv = resolveEnv(objects, NAMESPACE, rmqContainer, { 'metadata.name': 'rabbitmq-0' }).env;
    if (existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server')) {
      const [port, dist, epmd] = [await freePort(), await freePort(), await freePort()];
      const env = {
        ALTO_SVC_ROOT: svcRoot,
        ALTO_SVC_RESERVE_PORTS: '0',
        RMQ_PORT: String(port),
        RMQ_DIST_PORT: String(dist),
        RMQ_EPMD_PORT: String(epmd),
        RMQ_NODE: `alto-k8s-${process.pid}`,
        RMQ_USER: rmqEnv.get('RABBITMQ_DEFAULT_USER') ?? '',
        RMQ_PASSWORD: rmqEnv.get('RABBITMQ_DEFAULT_PASS') ?? '',
        RMQ_VHOST: rmqEnv.get('RABBITMQ_DEFAULT_VHOST') ?? '',
      };
      serviceScript('rabbitmq', 'start', env);
      started.push({ name: 'rabbitmq', env });
      endpoints.set('rabbitmq:5672', `127.0.0.1:${port}`);
    } else {
      notes.push('RabbitMQ is not installed: the bus runs in process (ALTO_BUS__TRANSPORT_URL=inprocess://)');
    }
    if (has('memcached')) {
      const port = await freePort();
      const env = { ALTO_SVC_ROOT: svcRoot, ALTO_SVC_RESERVE_PORTS: '0', MC_PORT: String(port) };
      serviceScript('memcached', 'start', env);
      started.push({ name: 'memcached', env });
      endpoints.set('memcached:11211', `127.0.0.1:${port}`);
    } else {
      notes.push('memcached is not installed: cache.memcache_servers points nowhere');
    }
  });

  after(async () => {
    for (const s of started.reverse()) {
      try {
        serviceScript(s.name, 'stop', s.env);
      } catch (err) {
        console.error(err);
      }
    }
    await kube?.close();
    await copy?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
    if (svcRoot) await rm(svcRoot, { recursive: true, force: true });
  });

  const busOverride = (): Record<string, string> => (endpoints.has('rabbitmq:5672') ? {} : { ALTO_BUS__TRANSPORT_URL: 'inprocess://' });

  test('the identity-keys Job creates the token and credential key Secrets through the API with its service account; run again, it changes nothing', async (t) => {
    const job = getObjectOrThrow(objects, 'Job', 'identity-keys');
    const spec = podSpecOf(job) as IPodSpec;
    for (const round of [1, 2]) {
      for (const c of allContainers(spec)) {
        const p = await processFor(job, c);
        const r = await run(p.argv, p.env, p.cwd, 60_000);
        assert.equal(r.code, 0, `${c.name} run ${round}:\n${r.output}`);
        t.diagnostic(`${c.name} run ${round}: exit 0 in ${r.ms} ms: ${r.output.trim().split('\n').at(-1)}`);
      }
      const fernet = kube.secrets.get('identity-fernet-keys');
      const credential = kube.secrets.get('identity-credential-keys');
      assert.ok(fernet && credential, 'both Secrets exist');
      assert.deepEqual(Object.keys(fernet.data).sort(), ['0', '1'], 'a staged and a primary token key');
      assert.ok(Object.keys(credential.data).length >= 1);
      for (const v of [...Object.values(fernet.data), ...Object.values(credential.data)]) assert.equal(Buffer.from(v, 'base64url').length, 32, 'each value is a Fernet key');
      if (round === 2) assert.deepEqual(kube.log.filter((l) => l.method !== 'GET').map((l) => `${l.method} ${l.status}`), ['POST 201', 'POST 201'], 'the second run only read');
    }
    syncClusterSecrets();
  });

  test('before db-sync: the bootstrap Job waits (its schema check fails on an empty database)', async (t) => {
    for (const n of notes) t.diagnostic(n);
    const job = getObjectOrThrow(objects, 'Job', 'identity-bootstrap');
    const wait = podSpecOf(job)?.initContainers?.[0];
    assert.ok(wait, 'the bootstrap Job has an init container');
    const p = await processFor(job, wait, busOverride());
    const r = await run(p.argv, p.env, p.cwd, 60_000);
    assert.notEqual(r.code, 0, `${wait.name} must fail on an empty database:\n${r.output}`);
    t.diagnostic(`${wait.name} on an empty database: exit ${r.code}: ${r.output.trim().split('\n').at(-1)}`);
  });

  test(
    'before db-sync: identity-api is alive (/healthz 200) but not ready (/readyz 503)',
    async (t) => {
      const deployment = getObjectOrThrow(objects, 'Deployment', 'identity-api');
      const c = podSpecOf(deployment)?.containers.find((x) => x.name === 'identity-api');
      assert.ok(c?.livenessProbe?.httpGet && c.readinessProbe?.httpGet);
      const hostPort = await freePort();
      const q = await processFor(deployment, c, { ...busOverride(), ALTO_IDENTITY__API__PORT: String(hostPort), ALTO_IDENTITY__API__HOST: '127.0.0.1' });
      const api = start(q.argv, q.env, q.cwd);
      try {
        await probeUntilOk(c.livenessProbe, hostPort, 'liveness before db-sync', api);
        const ready = await fetch(`http://127.0.0.1:${hostPort}${c.readinessProbe.httpGet.path ?? '/'}`);
        const body = await ready.text();
        assert.equal(ready.status, 503, body);
        t.diagnostic(`before db-sync: ${c.livenessProbe.httpGet.path} 200, ${c.readinessProbe.httpGet.path} ${ready.status} ${body.slice(0, 300)}`);
        api.child.kill('SIGTERM');
        assert.equal((await api.exited).code, 0);
      } finally {
        if (api.child.exitCode === null && api.child.signalCode === null) api.child.kill('SIGKILL');
      }
    },
  );

  test('the db-sync Job exits 0, and again 0 when run a second time', async (t) => {
    const job = getObjectOrThrow(objects, 'Job', 'identity-db-sync');
    const spec = podSpecOf(job) as IPodSpec;
    for (const c of allContainers(spec)) {
      for (const round of [1, 2]) {
        const p = await processFor(job, c, busOverride());
        const r = await run(p.argv, p.env, p.cwd, ((job as { spec?: { activeDeadlineSeconds?: number } }).spec?.activeDeadlineSeconds ?? 600) * 1000);
        assert.equal(r.code, 0, `${c.name} run ${round}:\n${r.output}`);
        t.diagnostic(`${c.name} run ${round}: exit 0 in ${r.ms} ms: ${r.output.trim().split('\n').at(-1)}`);
      }
    }
  });

  test('the bootstrap Job (its schema wait, then bootstrap) exits 0, and again 0 on a second run', async (t) => {
    const job = getObjectOrThrow(objects, 'Job', 'identity-bootstrap');
    const spec = podSpecOf(job) as IPodSpec;
    assert.ok((spec.initContainers ?? []).length > 0);
    for (const round of [1, 2]) {
      // the kubelet runs init containers one by one, then the containers
      for (const c of allContainers(spec)) {
        const p = await processFor(job, c, busOverride());
        const r = await run(p.argv, p.env, p.cwd, 120_000);
        assert.equal(r.code, 0, `${c.name} run ${round}:\n${r.output}`);
        t.diagnostic(`${c.name} run ${round}: exit 0 in ${r.ms} ms: ${r.output.trim().split('\n').at(-1)}`);
      }
    }
  });

  test('the identity-api Deployment answers its probes and metrics, issues a token with the bootstrap admin password, and exits 0 on SIGTERM', async (t) => {
    const deployment = getObjectOrThrow(objects, 'Deployment', 'identity-api');
    const spec = podSpecOf(deployment) as IPodSpec;
    const c = spec.containers.find((x) => x.name === 'identity-api');
    assert.ok(c?.startupProbe && c.livenessProbe && c.readinessProbe);
    const containerPort = c.ports?.find((p) => p.name === c.readinessProbe?.httpGet?.port || p.containerPort === c.readinessProbe?.httpGet?.port)?.containerPort;
    assert.ok(containerPort, 'the readiness probe names a container port');
    const hostPort = await freePort();
    // the one translation: publish the container port on a free local one (see the file comment)
    const p = await processFor(deployment, c, { ...busOverride(), ALTO_IDENTITY__API__PORT: String(hostPort), ALTO_IDENTITY__API__HOST: '127.0.0.1' });
    const config = parseYaml(await readFile(p.argv[p.argv.indexOf('--config') + 1] ?? '', 'utf8')) as { identity: { api: { port: number } }; bootstrap: { admin_username: string; admin_project_name: string; public_url: string } };
    assert.equal(config.identity.api.port, containerPort, 'alto.yaml listens on the port the probes use');
    endpoints.set(`identity-api:${containerPort}`, `127.0.0.1:${hostPort}`);
    const api = start(p.argv, p.env, p.cwd);
    try {
      const startup = await probeUntilOk(c.startupProbe, hostPort, 'startup probe', api);
      t.diagnostic(`startup probe ${c.startupProbe.httpGet?.path}: ${startup.status} after ${startup.ms} ms`);
      for (const [name, probe] of [['liveness', c.livenessProbe], ['readiness', c.readinessProbe]] as const) {
        const r = await probeUntilOk(probe, hostPort, `${name} probe`, api);
        assert.equal(r.status, 200, `${name} ${probe.httpGet?.path}`);
        t.diagnostic(`${name} probe ${probe.httpGet?.path}: ${r.status} ${r.body.slice(0, 300)}`);
      }
      const readyz = JSON.parse((await probeUntilOk(c.readinessProbe, hostPort, 'readiness', api)).body) as { checks?: { name: string; ok: boolean }[] };
      assert.ok(readyz.checks?.every((x) => x.ok), 'every readiness check passes');
      for (const want of ['database', 'bus', 'fernet keys']) assert.ok(readyz.checks?.some((x) => x.name === want), `readiness checks ${want}`);

      const annotations = (deployment as { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } }).spec?.template?.metadata?.annotations ?? {};
      assert.equal(Number(annotations['prometheus.io/port']), containerPort);
      const metrics = await fetch(`http://127.0.0.1:${hostPort}${annotations['prometheus.io/path'] ?? '/metrics'}`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^# (HELP|TYPE) /m, 'Prometheus text format');

      // the password the bootstrap Job was given, from the rendered Secret
      const bootstrapJob = getObjectOrThrow(objects, 'Job', 'identity-bootstrap');
      const bootstrapContainer = podSpecOf(bootstrapJob)?.containers[0];
      assert.ok(bootstrapContainer);
      const password = resolveEnv(objects, NAMESPACE, bootstrapContainer).env.get('ALTO_ADMIN_PASSWORD');
      assert.ok(password && password.length >= 16, 'the bootstrap Job has the generated admin password');
      const auth = {
        auth: {
          identity: { methods: ['password'], password: { user: { name: config.bootstrap.admin_username, domain: { id: 'default' }, password } } },
          scope: { project: { name: config.bootstrap.admin_project_name, domain: { id: 'default' } } },
        },
      };
      const issued = await fetch(`http://127.0.0.1:${hostPort}/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(auth) });
      const body = (await issued.json()) as { token?: { catalog?: { type: string; endpoints: { interface: string; url: string }[] }[]; roles?: { name: string }[] } };
      assert.equal(issued.status, 201, JSON.stringify(body));
      const token = issued.headers.get('x-subject-token');
      assert.ok(token, 'X-Subject-Token');
      assert.ok(body.token?.roles?.some((r) => r.name === 'admin'), 'the admin role on the admin project');
      const identity = body.token?.catalog?.find((s) => s.type === 'identity');
      assert.equal(identity?.endpoints.find((e) => e.interface === 'public')?.url, config.bootstrap.public_url, 'the catalog has the public URL of alto.yaml');
      const validated = await fetch(`http://127.0.0.1:${hostPort}/v3/auth/tokens`, { headers: { 'x-auth-token': token, 'x-subject-token': token } });
      assert.equal(validated.status, 200, 'the token validates');
      const wrong = await fetch(`http://127.0.0.1:${hostPort}/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth: { ...auth.auth, identity: { ...auth.auth.identity, password: { user: { ...auth.auth.identity.password.user, password: `${password}x` } } } } }) });
      assert.equal(wrong.status, 401, 'a wrong password is refused');
      t.diagnostic(`token issued (201) and validated (200) for ${config.bootstrap.admin_username}; a wrong password gets 401`);

      // the kubelet sends SIGTERM and waits terminationGracePeriodSeconds before SIGKILL
      const grace = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
      const t0 = performance.now();
      api.child.kill('SIGTERM');
      const timer = setTimeout(() => api.child.kill('SIGKILL'), grace);
      const exit = await api.exited;
      clearTimeout(timer);
      assert.equal(exit.signal, null, `exited by itself within the grace period, not killed:\n${exit.output}`);
      assert.equal(exit.code, 0, `SIGTERM exit code:\n${exit.output}`);
      t.diagnostic(`SIGTERM: exit 0 after ${Math.round(performance.now() - t0)} ms (grace ${grace / 1000} s)`);
    } finally {
      if (api.child.exitCode === null && api.child.signalCode === null) api.child.kill('SIGKILL');
    }
  });

  test('the identity-fernet-rotate CronJob rotates the Secret; a running identity-api picks the new keys up from its mounted Secret, and tokens from before keep validating', async (t) => {
    const deployment = getObjectOrThrow(objects, 'Deployment', 'identity-api');
    const c = podSpecOf(deployment)?.containers.find((x) => x.name === 'identity-api');
    assert.ok(c?.readinessProbe);
    const hostPort = await freePort();
    const p = await processFor(deployment, c, { ...busOverride(), ALTO_IDENTITY__API__PORT: String(hostPort), ALTO_IDENTITY__API__HOST: '127.0.0.1' });
    const keysDir = p.mounts.find((m) => m.mountPath === '/etc/alto/fernet-keys')?.localPath;
    assert.ok(keysDir, 'identity-api mounts the token keys');
    const bootstrapContainer = podSpecOf(getObjectOrThrow(objects, 'Job', 'identity-bootstrap'))?.containers[0];
    assert.ok(bootstrapContainer);
    const password = resolveEnv(objects, NAMESPACE, bootstrapContainer).env.get('ALTO_ADMIN_PASSWORD') ?? '';
    const issue = async () => {
      const r = await fetch(`http://127.0.0.1:${hostPort}/v3/auth/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password } } } } }),
      });
      assert.equal(r.status, 201, await r.text());
      return r.headers.get('x-subject-token') ?? '';
    };
    const validates = async (token: string) => (await fetch(`http://127.0.0.1:${hostPort}/v3/auth/tokens`, { headers: { 'x-auth-token': token, 'x-subject-token': token } })).status;
    const api = start(p.argv, p.env, p.cwd);
    try {
      await probeUntilOk(c.readinessProbe, hostPort, 'readiness', api);
      const before_ = await issue();
      const keysBefore = { ...kube.secrets.get('identity-fernet-keys')!.data };

      const cron = getObjectOrThrow(objects, 'CronJob', 'identity-fernet-rotate');
      const rotate = podSpecOf(cron)?.containers[0];
      assert.ok(rotate);
      const q = await processFor(cron, rotate);
      const r = await run(q.argv, q.env, q.cwd, 60_000);
      assert.equal(r.code, 0, r.output);
      t.diagnostic(`rotate: exit 0 in ${r.ms} ms: ${r.output.trim().split('\n').at(-1)}`);
      const keysAfter = kube.secrets.get('identity-fernet-keys')!.data;
      assert.deepEqual(Object.keys(keysAfter).sort(), ['0', '1', '2']);
      assert.equal(keysAfter['2'], keysBefore['0'], 'the staged key every replica already had became primary');
      assert.equal(keysAfter['1'], keysBefore['1']);

      // the kubelet refreshes the mounted Secret in place
      syncClusterSecrets();
      for (const [name, value] of Object.entries(keysAfter)) {
        await writeFile(join(keysDir, name), value);
        await chmod(join(keysDir, name), 0o440);
      }
      assert.equal(await validates(before_), 200, 'a token from before the rotation validates');
      // the reader re-reads its repository every few seconds; a token made after that uses the new primary
      await new Promise((res) => setTimeout(res, 5500));
      const after_ = await issue();
      assert.equal(await validates(after_), 200);
      assert.equal(await validates(before_), 200, 'and still validates after the reload');
      t.diagnostic('tokens issued before and after the rotation both validate on the running replica');
    } finally {
      api.child.kill('SIGTERM');
      await api.exited;
    }
  });

  // The image service. identity-api runs while the image processes do: the register Job talks to
  // it, and image-api validates tokens against it (keystone_authtoken.auth_url, identity-api:5000).
  let identityApi: Running | undefined;
  let identityPort = 0;
  after(async () => {
    if (identityApi && identityApi.child.exitCode === null && identityApi.child.signalCode === null) {
      identityApi.child.kill('SIGTERM');
      await identityApi.exited;
    }
  });

  const imageApi = () => {
    const deployment = getObjectOrThrow(objects, 'Deployment', 'image-api');
    const c = podSpecOf(deployment)?.containers.find((x) => x.name === 'image-api');
    assert.ok(c?.startupProbe && c.livenessProbe && c.readinessProbe);
    return { deployment, c, startupProbe: c.startupProbe, livenessProbe: c.livenessProbe, readinessProbe: c.readinessProbe };
  };

  /** A token from identity-api for a user of the Default domain, scoped to a project there. */
  async function projectToken(username: string, password: string, project: string): Promise<{ id: string; body: { token: { roles: { name: string }[]; catalog?: { type: string; endpoints: { interface: string; url: string }[] }[] } } }> {
    const r = await fetch(`http://127.0.0.1:${identityPort}/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: username, domain: { id: 'default' }, password } } }, scope: { project: { name: project, domain: { id: 'default' } } } } }),
    });
    const text = await r.text();
    assert.equal(r.status, 201, `token for ${username}: ${text}`);
    return { id: r.headers.get('x-subject-token') ?? '', body: JSON.parse(text) as never };
  }

  test('before image db-sync: image-api is alive (/healthz 200) but not ready (/readyz 503, the schema is missing)', async (t) => {
    const { deployment, c, livenessProbe, readinessProbe } = imageApi();
    const hostPort = await freePort();
    const p = await processFor(deployment, c, { ...busOverride(), ALTO_IMAGE__API__PORT: String(hostPort), ALTO_IMAGE__API__HOST: '127.0.0.1' });
    const api = start(p.argv, p.env, p.cwd);
    try {
      await probeUntilOk(livenessProbe, hostPort, 'image-api liveness before db-sync', api);
      const ready = await fetch(`http://127.0.0.1:${hostPort}${readinessProbe.httpGet?.path ?? '/'}`);
      const body = await ready.text();
      assert.equal(ready.status, 503, body);
      assert.match(body, /alto db sync image/, 'the readiness check says what to run');
      t.diagnostic(`image-api before db-sync: /healthz 200, /readyz ${ready.status} ${body.slice(0, 300)}`);
      api.child.kill('SIGTERM');
      assert.equal((await api.exited).code, 0);
    } finally {
      if (api.child.exitCode === null && api.child.signalCode === null) api.child.kill('SIGKILL');
    }
  });

  test('the image-db-sync Job exits 0, and again 0 when run a second time', async (t) => {
    const job = getObjectOrThrow(objects, 'Job', 'image-db-sync');
    for (const c of allContainers(podSpecOf(job) as IPodSpec)) {
      for (const round of [1, 2]) {
        const p = await processFor(job, c);
        const r = await run(p.argv, p.env, p.cwd, ((job as { spec?: { activeDeadlineSeconds?: number } }).spec?.activeDeadlineSeconds ?? 600) * 1000);
        assert.equal(r.code, 0, `${c.name} run ${round}:\n${r.output}`);
        assert.match(r.output, round === 1 ? /image database postgresql:\/\/image:\*\*\*@127\.0\.0\.1:\d+\/image: applied/ : /already up to date/);
        t.diagnostic(`${c.name} run ${round}: exit 0 in ${r.ms} ms: ${r.output.trim().split('\n').at(-1)}`);
      }
    }
  });

  test('the image-register Job waits while identity-api is down, registers glance and the image endpoints once it answers, and changes nothing on a second run', async (t) => {
    const job = getObjectOrThrow(objects, 'Job', 'image-register');
    const c = podSpecOf(job)?.containers[0];
    assert.ok(c);
    const identity = getObjectOrThrow(objects, 'Deployment', 'identity-api');
    const ic = podSpecOf(identity)?.containers.find((x) => x.name === 'identity-api');
    assert.ok(ic?.readinessProbe);
    const containerPort = ic.ports?.find((x) => x.name === 'api')?.containerPort;
    identityPort = await freePort();
    // identity-api:5000 (keystone_authtoken.auth_url) is this port; nothing listens there yet
    endpoints.set(`identity-api:${containerPort}`, `127.0.0.1:${identityPort}`);
    const p = await processFor(job, c);
    const register = start(p.argv, p.env, p.cwd);
    try {
      const t0 = performance.now();
      while (!/not yet/.test(register.output()) && register.child.exitCode === null && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
      assert.equal(register.child.exitCode, null, `waits instead of failing:\n${register.output()}`);
      assert.match(register.output(), /not yet \(.*127\.0\.0\.1:\d+.*\)/, 'says what it waits for');
      t.diagnostic(`while identity-api is down: ${register.output().trim().split('\n').at(-1)}`);

      const q = await processFor(identity, ic, { ...busOverride(), ALTO_IDENTITY__API__PORT: String(identityPort), ALTO_IDENTITY__API__HOST: '127.0.0.1' });
      identityApi = start(q.argv, q.env, q.cwd);
      await probeUntilOk(ic.readinessProbe, identityPort, 'identity-api readiness', identityApi);
      const timer = setTimeout(() => register.child.kill('SIGKILL'), 60_000);
      const r = await register.exited;
      clearTimeout(timer);
      assert.equal(r.code, 0, r.output);
      for (const made of ['user glance', 'service glance', 'public endpoint', 'internal endpoint', 'admin endpoint']) assert.ok(r.output.includes(made), `made ${made}:\n${r.output}`);
      t.diagnostic(`once identity-api answers: exit 0 after ${r.ms} ms: ${r.output.split('\n').find((l) => l.includes('✓'))?.trim()}`);
    } finally {
      if (register.child.exitCode === null && register.child.signalCode === null) register.child.kill('SIGKILL');
    }
    const again = await run(p.argv, p.env, p.cwd, 60_000);
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, /up to date/);
    t.diagnostic(`second run: exit 0 in ${again.ms} ms: ${again.output.split('\n').find((l) => l.includes('✓'))?.trim()}`);

    // glance logs in with the password image-api is given; the catalog has the Ingress and Service URLs
    const glancePassword = resolveEnv(objects, NAMESPACE, imageApi().c).env.get('ALTO_IMAGE__KEYSTONE_AUTHTOKEN__PASSWORD') ?? '';
    const glance = await projectToken('glance', glancePassword, 'service');
    assert.ok(glance.body.token.roles.some((x) => x.name === 'service'), 'glance has the service role');
    const adminPassword = resolveEnv(objects, NAMESPACE, c).env.get('ALTO_ADMIN_PASSWORD') ?? '';
    const admin = await projectToken('admin', adminPassword, 'admin');
    const entry = admin.body.token.catalog?.find((x) => x.type === 'image');
    const urls = Object.fromEntries((entry?.endpoints ?? []).map((e) => [e.interface, e.url]));
    assert.deepEqual(urls, { public: 'http://image.altostratus.example', internal: 'http://image-api:9292', admin: 'http://image-api:9292' });
    t.diagnostic(`catalog image: ${JSON.stringify(urls)}; glance gets a token on project service`);
  });

  test('the image-api Deployment: probes, an upload and a glance-direct import checked against their checksums, data and staging on its claim, the same image after a restart (Recreate), exit 0 on SIGTERM', async (t) => {
    assert.ok(identityApi && identityApi.child.exitCode === null, 'identity-api runs (started by the register test)');
    const { deployment, c, startupProbe, livenessProbe, readinessProbe } = imageApi();
    const spec = podSpecOf(deployment) as IPodSpec;
    const hostPort = await freePort();
    const p = await processFor(deployment, c, { ...busOverride(), ALTO_IMAGE__API__PORT: String(hostPort), ALTO_IMAGE__API__HOST: '127.0.0.1' });
    const config = parseYaml(await readFile(p.argv[p.argv.indexOf('--config') + 1] ?? '', 'utf8')) as { image: { glance_store: { filesystem_store_datadir: string }; os_glance_staging_store: { filesystem_store_datadir: string } } };
    const claim = p.mounts.find((m) => m.source === 'claim');
    assert.ok(claim, 'image-api mounts its claim');
    const imagesDir = config.image.glance_store.filesystem_store_datadir;
    const stagingDir = config.image.os_glance_staging_store.filesystem_store_datadir;
    for (const dir of [imagesDir, stagingDir]) assert.ok(dir.startsWith(`${claim.localPath}/`), `${dir} is on the claim`);

    const base = `http://127.0.0.1:${hostPort}`;
    const { id: token } = await projectToken('admin', resolveEnv(objects, NAMESPACE, podSpecOf(getObjectOrThrow(objects, 'Job', 'image-register'))!.containers[0]!).env.get('ALTO_ADMIN_PASSWORD') ?? '', 'admin');
    const h = { 'x-auth-token': token };
    const createImage = async (name: string) => {
      const r = await fetch(`${base}/v2/images`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ name, disk_format: 'raw', container_format: 'bare' }) });
      const body = await r.text();
      assert.equal(r.status, 201, body);
      return (JSON.parse(body) as { id: string }).id;
    };
    const getImage = async (id: string) => (await (await fetch(`${base}/v2/images/${id}`, { headers: h })).json()) as { status: string; size: number; checksum: string; os_hash_algo: string; os_hash_value: string };
    const data = randomBytes(300 * 1024 + 7);
    const md5 = createHash('md5').update(data).digest('hex');
    const sha512 = createHash('sha512').update(data).digest('hex');

    let api = start(p.argv, p.env, p.cwd);
    try {
      const startup = await probeUntilOk(startupProbe, hostPort, 'image-api startup probe', api);
      await probeUntilOk(livenessProbe, hostPort, 'image-api liveness probe', api);
      const ready = await probeUntilOk(readinessProbe, hostPort, 'image-api readiness probe', api);
      const readyz = JSON.parse(ready.body) as { checks?: { name: string; ok: boolean }[] };
      assert.ok(readyz.checks?.every((x) => x.ok), ready.body);
      // by topic, not exact name: the service names its checks
      for (const want of [/database/, /store/]) assert.ok(readyz.checks?.some((x) => want.test(x.name)), `readiness checks ${want.source}: ${ready.body}`);
      t.diagnostic(`startup ${startup.ms} ms; /readyz ${ready.status} ${ready.body.slice(0, 300)}`);

      const unauthenticated = await fetch(`${base}/v2/images`);
      assert.equal(unauthenticated.status, 401, 'tokens are required');

      // upload: PUT /file
      const uploaded = await createImage('k8s-upload');
      const put = await fetch(`${base}/v2/images/${uploaded}/file`, { method: 'PUT', headers: { ...h, 'content-type': 'application/octet-stream' }, body: data });
      assert.equal(put.status, 204, await put.text());
      const img = await getImage(uploaded);
      assert.deepEqual([img.status, img.size, img.checksum, img.os_hash_algo, img.os_hash_value], ['active', data.length, md5, 'sha512', sha512]);
      assert.equal((await stat(join(imagesDir, uploaded))).size, data.length, 'the data is a file in the store on the claim');

      // interoperable import: PUT /stage (staging store, on the claim), then glance-direct
      const staged = await createImage('k8s-import');
      const stage = await fetch(`${base}/v2/images/${staged}/stage`, { method: 'PUT', headers: { ...h, 'content-type': 'application/octet-stream' }, body: data });
      assert.equal(stage.status, 204, await stage.text());
      assert.ok((await readdir(stagingDir)).some((f) => f.startsWith(staged)), `staged data in ${stagingDir}`);
      const imp = await fetch(`${base}/v2/images/${staged}/import`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ method: { name: 'glance-direct' } }) });
      assert.equal(imp.status, 202, await imp.text());
      const t0 = performance.now();
      let imported = await getImage(staged);
      while (imported.status !== 'active' && performance.now() - t0 < 30_000) {
        await new Promise((r) => setTimeout(r, 200));
        imported = await getImage(staged);
      }
      assert.deepEqual([imported.status, imported.checksum, imported.os_hash_value], ['active', md5, sha512], 'glance-direct import finished');
      assert.ok(existsSync(join(imagesDir, staged)), 'imported into the store on the claim');
      t.diagnostic(`upload and glance-direct import of ${data.length} bytes: active, md5 and sha512 match; files under ${claim.mountPath}`);

      const grace = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
      api.child.kill('SIGTERM');
      const killer = setTimeout(() => api.child.kill('SIGKILL'), grace);
      const exit = await api.exited;
      clearTimeout(killer);
      assert.deepEqual([exit.code, exit.signal], [0, null], `SIGTERM: exit 0 within the grace period:\n${exit.output}`);

      // Recreate: a new pod on the same claim serves the same image
      const q = await processFor(deployment, c, { ...busOverride(), ALTO_IMAGE__API__PORT: String(hostPort), ALTO_IMAGE__API__HOST: '127.0.0.1' });
      api = start(q.argv, q.env, q.cwd);
      await probeUntilOk(readinessProbe, hostPort, 'image-api readiness after restart', api);
      const download = await fetch(`${base}/v2/images/${uploaded}/file`, { headers: h });
      assert.equal(download.status, 200);
      const got = Buffer.from(await download.arrayBuffer());
      assert.equal(createHash('md5').update(got).digest('hex'), md5, 'downloaded after the restart, byte for byte');
      assert.equal(download.headers.get('content-md5'), md5);
      t.diagnostic(`after a restart on the same claim: ${got.length} bytes downloaded, md5 matches`);
      api.child.kill('SIGTERM');
      const second = await api.exited;
      assert.equal(second.code, 0, `SIGTERM after the restart:\n${second.output}`);
    } finally {
      if (api.child.exitCode === null && api.child.signalCode === null) api.child.kill('SIGKILL');
    }
  });

  // Block storage: db-sync and register, then volume-api, volume-scheduler and the volume-worker
  // pod (its worker container, and its backup container once `alto serve volume-backup` exists)
  // over RabbitMQ when installed, up to a volume created through the API on the worker's claim.
  test('the block-storage-db-sync Job exits 0, and again 0 when run a second time', async (t) => {
    const job = getObjectOrThrow(objects, 'Job', 'block-storage-db-sync');
    for (const c of allContainers(podSpecOf(job) as IPodSpec)) {
      for (const round of [1, 2]) {
        const p = await processFor(job, c);
        const r = await run(p.argv, p.env, p.cwd, 120_000);
        assert.equal(r.code, 0, `${c.name} run ${round}:\n${r.output}`);
        assert.match(r.output, round === 1 ? /block-storage database postgresql:\/\/block_storage:\*\*\*@127\.0\.0\.1:\d+\/block_storage: applied/ : /already up to date/);
        t.diagnostic(`${c.name} run ${round}: exit 0 in ${r.ms} ms: ${r.output.trim().split('\n').at(-1)}`);
      }
    }
  });

  test('the block-storage-register Job registers cinder with the block-storage and volumev3 catalog entries, and changes nothing on a second run', async (t) => {
    assert.ok(identityApi && identityApi.child.exitCode === null, 'identity-api runs (started by the image-register test)');
    const job = getObjectOrThrow(objects, 'Job', 'block-storage-register');
    const c = podSpecOf(job)?.containers[0];
    assert.ok(c);
    const p = await processFor(job, c);
    const r = await run(p.argv, p.env, p.cwd, 120_000);
    assert.equal(r.code, 0, r.output);
    for (const made of ['user cinder', 'service cinder', 'service cinderv3']) assert.ok(r.output.includes(made), `made ${made}:\n${r.output}`);
    const again = await run(p.argv, p.env, p.cwd, 60_000);
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, /up to date/);
    t.diagnostic(`first run ${r.ms} ms; second run: exit 0 in ${again.ms} ms, up to date`);

    const cinderPassword = resolveEnv(objects, NAMESPACE, c).env.get('ALTO_BLOCK_STORAGE__KEYSTONE_AUTHTOKEN__PASSWORD') ?? '';
    const cinder = await projectToken('cinder', cinderPassword, 'service');
    assert.ok(cinder.body.token.roles.some((x) => x.name === 'service'), 'cinder has the service role');
    const admin = await projectToken('admin', resolveEnv(objects, NAMESPACE, c).env.get('ALTO_ADMIN_PASSWORD') ?? '', 'admin');
    const projectId = (admin.body.token as { project?: { id: string } }).project?.id ?? '';
    for (const type of ['block-storage', 'volumev3']) {
      const entry = admin.body.token.catalog?.find((x) => x.type === type);
      const urls = Object.fromEntries((entry?.endpoints ?? []).map((e) => [e.interface, e.url]));
      assert.deepEqual(urls, { public: `http://block-storage.altostratus.example/v3/${projectId}`, internal: `http://volume-api:8776/v3/${projectId}`, admin: `http://volume-api:8776/v3/${projectId}` }, type);
    }
    t.diagnostic(`catalog block-storage and volumev3: public through the Ingress host, internal and admin through volume-api:8776`);
  });

  test('volume-api, volume-scheduler and the volume-worker pod answer their probes; a volume created through the API is placed on host volume-worker-test@file and made on the pod’s claim, then deleted; all exit 0 on SIGTERM', async (t) => {
    assert.ok(identityApi && identityApi.child.exitCode === null, 'identity-api runs (started by the image-register test)');
    const { COMPONENTS } = await import('../../../apps/cli/dist/components.js');
    const apiDeployment = getObjectOrThrow(objects, 'Deployment', 'volume-api');
    const schedulerDeployment = getObjectOrThrow(objects, 'Deployment', 'volume-scheduler');
    const workerSet = getObjectOrThrow(objects, 'StatefulSet', 'volume-worker');
    // the one translation: each container port published on a free local one (see the file comment)
    const procs: { name: string; workload: K8sObject; c: IContainer; port: number; env: Record<string, string> }[] = [];
    const add = async (workload: K8sObject, name: string, env: (port: number) => Record<string, string>) => {
      const c = podSpecOf(workload)?.containers.find((x) => x.name === name);
      assert.ok(c?.startupProbe && c.livenessProbe && c.readinessProbe, `${name} has its three probes`);
      const port = await freePort();
      procs.push({ name, workload, c, port, env: { ...busOverride(), ...env(port) } });
    };
    const health = (key: string) => (port: number) => ({ [`ALTO_BLOCK_STORAGE__HEALTH__${key}`]: String(port), ALTO_BLOCK_STORAGE__HEALTH__HOST: '127.0.0.1' });
    await add(schedulerDeployment, 'volume-scheduler', health('SCHEDULER_PORT'));
    await add(workerSet, 'volume-worker', health('WORKER_PORT'));
    if ((COMPONENTS as readonly string[]).includes('volume-backup')) await add(workerSet, 'volume-backup', health('BACKUP_PORT'));
    else t.diagnostic('`alto serve volume-backup` is not a component of the built CLI yet: the volume-worker pod runs without its backup container here');
    await add(apiDeployment, 'volume-api', (port) => ({ ALTO_BLOCK_STORAGE__API__PORT: String(port), ALTO_BLOCK_STORAGE__API__HOST: '127.0.0.1' }));

    const running: { name: string; proc: Running; grace: number }[] = [];
    try {
      let dataDir = '';
      let backupsDir = '';
      for (const x of procs) {
        const p = await processFor(x.workload, x.c, x.env);
        if (x.name === 'volume-worker') {
          // the volumeClaimTemplate `data` is the worker's data_dir (ALTO_DATA_DIR, mapped like every path)
          dataDir = p.mounts[x.c.volumeMounts?.findIndex((m) => m.name === 'data') ?? -1]?.localPath ?? '';
          assert.equal(p.env.ALTO_DATA_DIR, dataDir, 'data_dir is the claim');
        }
        if (x.name === 'volume-backup') {
          const at = x.c.volumeMounts?.findIndex((m) => (podSpecOf(x.workload) as IPodSpec).volumes?.some((v) => v.name === m.name && v.persistentVolumeClaim?.claimName === 'volume-backups')) ?? -1;
          backupsDir = p.mounts[at]?.localPath ?? '';
          assert.equal(p.env.ALTO_DATA_DIR, dataDir, 'the backup container shares the worker’s data_dir');
        }
        running.push({ name: x.name, proc: start(p.argv, p.env, p.cwd), grace: ((podSpecOf(x.workload) as IPodSpec).terminationGracePeriodSeconds ?? 30) * 1000 });
      }
      assert.ok(dataDir.includes('data-volume-worker-test'), `the worker's data_dir is its own claim: ${dataDir}`);
      for (const [i, x] of procs.entries()) {
        const proc = running[i]!.proc;
        const startup = await probeUntilOk(x.c.startupProbe!, x.port, `${x.name} startup probe`, proc);
        await probeUntilOk(x.c.livenessProbe!, x.port, `${x.name} liveness probe`, proc);
        const ready = await probeUntilOk(x.c.readinessProbe!, x.port, `${x.name} readiness probe`, proc);
        const metrics = await fetch(`http://127.0.0.1:${x.port}/metrics`);
        assert.equal(metrics.status, 200, `${x.name} /metrics`);
        await metrics.text();
        t.diagnostic(`${x.name}: startup ${startup.ms} ms; /readyz ${ready.status} ${ready.body.slice(0, 200)}`);
      }

      const api = procs.find((x) => x.name === 'volume-api');
      assert.ok(api);
      const password = resolveEnv(objects, NAMESPACE, podSpecOf(getObjectOrThrow(objects, 'Job', 'block-storage-register'))!.containers[0]!).env.get('ALTO_ADMIN_PASSWORD') ?? '';
      const admin = await projectToken('admin', password, 'admin');
      const projectId = (admin.body.token as { project?: { id: string } }).project?.id ?? '';
      const base = `http://127.0.0.1:${api.port}/v3/${projectId}`;
      const h = { 'x-auth-token': admin.id, 'content-type': 'application/json' };
      assert.equal((await fetch(`${base}/volumes`)).status, 401, 'tokens are required');
      const created = await fetch(`${base}/volumes`, { method: 'POST', headers: h, body: JSON.stringify({ volume: { size: 1, name: 'k8s-volume' } }) });
      const createdBody = await created.text();
      assert.equal(created.status, 202, createdBody);
      const id = (JSON.parse(createdBody) as { volume: { id: string } }).volume.id;
      type Volume = { status: string; 'os-vol-host-attr:host'?: string };
      const getVolume = async () => {
        const r = await fetch(`${base}/volumes/${id}`, { headers: h });
        return { status: r.status, volume: r.status === 200 ? ((await r.json()) as { volume: Volume }).volume : (await r.text(), undefined) };
      };
      const t0 = performance.now();
      let v = await getVolume();
      while (v.volume && ['creating'].includes(v.volume.status) && performance.now() - t0 < 60_000) {
        await new Promise((r) => setTimeout(r, 250));
        v = await getVolume();
      }
      assert.equal(v.volume?.status, 'available', `the volume is made: ${JSON.stringify(v.volume)}\n${running.map((x) => `--- ${x.name}\n${x.proc.output().slice(-2000)}`).join('\n')}`);
      assert.match(v.volume?.['os-vol-host-attr:host'] ?? '', /^volume-worker-test@file(#|$)/, 'placed on the pod’s host (its name, from the downward API)');
      const files = await readdir(join(dataDir, 'volumes'));
      assert.ok(files.some((f) => f.includes(id)), `the volume file is on the worker's claim: ${files.join(', ')}`);
      t.diagnostic(`volume ${id} available in ${Math.round(performance.now() - t0)} ms on ${v.volume?.['os-vol-host-attr:host']}; files on the claim: ${files.join(', ')}`);

      // the backup container beside the worker reads the volume through the same backend and
      // writes the backup to the volume-backups claim
      const backupProc = procs.find((x) => x.name === 'volume-backup');
      if (backupProc) {
        assert.ok(backupsDir.endsWith('/claims/volume-backups'), `the backup container mounts the volume-backups claim: ${backupsDir}`);
        const made = await fetch(`${base}/backups`, { method: 'POST', headers: h, body: JSON.stringify({ backup: { volume_id: id, name: 'k8s-backup' } }) });
        const madeBody = await made.text();
        assert.equal(made.status, 202, madeBody);
        const backupId = (JSON.parse(madeBody) as { backup: { id: string } }).backup.id;
        const getBackup = async () => {
          const r = await fetch(`${base}/backups/${backupId}`, { headers: h });
          return r.status === 200 ? ((await r.json()) as { backup: { status: string; fail_reason?: string } }).backup : { status: `HTTP ${r.status}` };
        };
        const t2 = performance.now();
        let b = await getBackup();
        while (b.status === 'creating' && performance.now() - t2 < 60_000) {
          await new Promise((r) => setTimeout(r, 250));
          b = await getBackup();
        }
        assert.equal(b.status, 'available', `the backup is made: ${JSON.stringify(b)}\n${running.map((x) => `--- ${x.name}\n${x.proc.output().slice(-2000)}`).join('\n')}`);
        const backupFiles = (await readdir(backupsDir, { recursive: true })).map(String);
        assert.ok(backupFiles.length > 0, `backup data on the volume-backups claim (${backupsDir})`);
        t.diagnostic(`backup ${backupId} available in ${Math.round(performance.now() - t2)} ms; on the volume-backups claim: ${backupFiles.join(', ')}`);
        const gone = await fetch(`${base}/backups/${backupId}`, { method: 'DELETE', headers: { 'x-auth-token': admin.id } });
        assert.equal(gone.status, 202, await gone.text());
        const t3 = performance.now();
        while ((await getBackup()).status !== 'HTTP 404' && performance.now() - t3 < 60_000) await new Promise((r) => setTimeout(r, 250));
        assert.equal((await getBackup()).status, 'HTTP 404', 'the backup is deleted before its volume');
      }

      const deleted = await fetch(`${base}/volumes/${id}`, { method: 'DELETE', headers: { 'x-auth-token': admin.id } });
      assert.equal(deleted.status, 202, await deleted.text());
      const t1 = performance.now();
      while ((await getVolume()).status !== 404 && performance.now() - t1 < 60_000) await new Promise((r) => setTimeout(r, 250));
      assert.equal((await getVolume()).status, 404, 'the volume is deleted');
      assert.ok(!(await readdir(join(dataDir, 'volumes'))).some((f) => f.includes(id)), 'and its file is gone from the claim');

      // the kubelet sends SIGTERM to every container and waits terminationGracePeriodSeconds
      for (const x of running) x.proc.child.kill('SIGTERM');
      for (const x of running) {
        const timer = setTimeout(() => x.proc.child.kill('SIGKILL'), x.grace);
        const exit = await x.proc.exited;
        clearTimeout(timer);
        assert.deepEqual([exit.code, exit.signal], [0, null], `${x.name}: SIGTERM, exit 0 within the grace period:\n${exit.output.slice(-2000)}`);
      }
      t.diagnostic(`SIGTERM: ${running.map((x) => x.name).join(', ')} exit 0`);
    } finally {
      for (const x of running) if (x.proc.child.exitCode === null && x.proc.child.signalCode === null) x.proc.child.kill('SIGKILL');
    }
  });

  test('every database and bus URL the processes were given reached a local stand-in, not an in-cluster name', () => {
    const services = objects.filter((o): o is K8sObject & IService => o.kind === 'Service').map((s) => s.metadata.name);
    for (const key of endpoints.keys()) assert.ok(services.includes(key.split(':')[0] ?? ''), `${key} is a Service of the render`);
    assert.ok(connections.length >= 8, `${connections.length} connection URLs`);
    for (const { process, url } of connections) {
      assert.ok(url === 'inprocess://' || /@127\.0\.0\.1:\d+\//.test(url), `${process}: ${url.replace(/:[^:@/]*@/, ':***@')}`);
    }
  });
});
