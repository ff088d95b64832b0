// Renders the base and both overlays with kubectl kustomize, validates every object against the Kubernetes API schemas, and checks what matters about them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { loadAltoConfig } from '../../../apps/cli/dist/config.js';
import { OVERLAY_SECRETS } from '../../../apps/cli/dist/commands/k8s.js';
import { OVERLAYS, copyDeployWithSecrets, deployDir, repoRoot, getGeneratedOrThrow, getObjectOrThrow, kubectlMissing, render, type DeployCopy, type K8sObject, type Overlay } from './render.js';
import { checkSchemas } from './schema.js';
import { allContainers, dataOf, objectRefs, podLabelsOf, podSpecOf, resolveEnv, resolveRef, type IContainer, type IPodSpec } from './pod.js';
import { execForm, lastOf, readContainerfile } from './containerfile.js';

const NAMESPACE = 'altostratus';
const execFileAsync = promisify(execFile);
const ALTO_IMAGE = 'altostratus/alto';
/** Pod fields the downward API hands out, for resolving env (values are stand-ins). */
const FIELDS = (pod: string) => ({ 'metadata.name': pod, 'metadata.namespace': NAMESPACE, 'status.podIP': '10.1.2.3' });

const workloads = (objects: readonly K8sObject[]) =>
  objects.flatMap((o) => {
    const spec = podSpecOf(o);
    return spec ? [{ object: o, spec }] : [];
  });

/** The hash kustomize's generators append to a ConfigMap's or Secret's name. */
const GENERATED_SUFFIX = /-[a-z0-9]{10}$/;

const isAltoImage = (image: string | undefined) => image !== undefined && (image === ALTO_IMAGE || image.startsWith(`${ALTO_IMAGE}:`) || image.startsWith(`${ALTO_IMAGE}@`));

/** The identity-api container of an overlay's render. */
function identityApiContainer(objects: readonly K8sObject[]): { deployment: IDeployment; spec: IPodSpec; container: IContainer } {
  const deployment = getObjectOrThrow<IDeployment>(objects, 'Deployment', 'identity-api');
  const spec = deployment.spec?.template.spec;
  const container = spec?.containers.find((c) => c.name === 'identity-api');
  assert.ok(spec && container, 'identity-api Deployment has an identity-api container');
  return { deployment, spec, container };
}

/** The image-api container of an overlay's render. */
function imageApiContainer(objects: readonly K8sObject[]): { deployment: IDeployment; spec: IPodSpec; container: IContainer } {
  const deployment = getObjectOrThrow<IDeployment>(objects, 'Deployment', 'image-api');
  const spec = deployment.spec?.template.spec;
  const container = spec?.containers.find((c) => c.name === 'image-api');
  assert.ok(spec && container, 'image-api Deployment has an image-api container');
  return { deployment, spec, container };
}

/** Which service an alto container works for, from the command it runs. */
function serviceOf(c: IContainer): 'keys' | 'identity' | 'image' | 'block-storage' {
  const [a0, a1, a2] = c.args ?? [];
  if (a0 === 'fernet' || a0 === 'credential') return 'keys';
  if ((a0 === 'db' && a2 === 'block-storage') || (a0 === 'serve' && a1?.startsWith('volume-')) || (a0 === 'register' && a1 === 'block-storage')) return 'block-storage';
  if ((a0 === 'db' && a2 === 'image') || (a0 === 'serve' && a1 === 'image-api') || (a0 === 'register' && a1 === 'image')) return 'image';
  return 'identity';
}

/** What a container's process loads: the rendered alto.yaml with its rendered env, through the real loader. */
async function effectiveConfig(objects: readonly K8sObject[], c: IContainer, pod: string): Promise<ReturnType<typeof loadAltoConfig>> {
  const dir = await mkdtemp(join(tmpdir(), 'alto-k8s-config-'));
  try {
    const file = join(dir, 'alto.yaml');
    await writeFile(file, altoYaml(objects).text);
    return loadAltoConfig({ file, env: Object.fromEntries(resolveEnv(objects, NAMESPACE, c, FIELDS(pod)).env) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The value after an option in a container's args (`--wait 600`). */
function optionValue(c: IContainer, name: string): string | undefined {
  const args = c.args ?? [];
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

function altoYaml(objects: readonly K8sObject[]): { text: string; doc: Record<string, unknown> } {
  const text = dataOf(getGeneratedOrThrow(objects, 'ConfigMap', 'alto-config'))['alto.yaml'];
  assert.ok(text, 'alto-config has alto.yaml');
  return { text, doc: parseYaml(text) as Record<string, unknown> };
}

/** The containerPort a probe or Service targets by name or number. */
function containerPortOf(c: IContainer, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return c.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

function httpProbe(p: IProbe | undefined): { path: string | undefined; port: string | number } | undefined {
  return p?.httpGet ? { path: p.httpGet.path, port: p.httpGet.port } : undefined;
}

/** host:port of a URL-like string (postgresql://u:p@h:5432/db, rabbit://u:p@h:5672/v, h:11211). */
function hostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:[^@/]*@)?([^:/,]+):(\d+)/i.exec(s);
  return m?.[1] && m[2] ? { host: m[1], port: Number(m[2]) } : undefined;
}

/** A Service of the render that serves host:port inside the namespace (short name or FQDN). */
function serviceFor(objects: readonly K8sObject[], host: string, port: number): IService | undefined {
  const name = host.split('.')[0];
  const rest = host.split('.').slice(1).join('.');
  if (rest !== '' && !['', NAMESPACE, `${NAMESPACE}.svc`, `${NAMESPACE}.svc.cluster.local`].includes(rest)) return undefined;
  return objects.find((o): o is K8sObject & IService => o.kind === 'Service' && o.metadata.name === name && ((o as IService).spec?.ports ?? []).some((p) => p.port === port));
}

/** A snapshot of deploy/kubernetes (paths, sizes, mtimes) to prove the tests leave it alone. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.push(`${relative(dir, p)} ${st.size} ${st.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

const skip = kubectlMissing();

describe('deploy/kubernetes', { skip }, () => {
  let copy: DeployCopy;
  const renders = new Map<Overlay, K8sObject[]>();
  let before_: string[] = [];
  const objectsOf = (overlay: Overlay): K8sObject[] => {
    const objects = renders.get(overlay);
    assert.ok(objects, `${overlay} rendered`);
    return objects;
  };

  before(async () => {
    before_ = snapshot(deployDir);
    copy = await copyDeployWithSecrets();
    for (const overlay of OVERLAYS) renders.set(overlay, render(copy.overlayDir(overlay)));
  });
  after(async () => {
    await copy?.cleanup();
  });

  test('the base renders, and every object validates against its API schema with no unknown field', async () => {
    const objects = render(join(copy.dir, 'base'));
    assert.ok(objects.length >= 10, `base has ${objects.length} objects`);
    assert.deepEqual(await checkSchemas(objects), []);
  });

  test('the schema check is not a rubber stamp: it rejects an unknown field, a wrong type and an unknown kind', async () => {
    const objects = structuredClone(objectsOf('single-node'));
    const { container } = identityApiContainer(objects);
    (container as unknown as Record<string, unknown>).livenesProbe = { httpGet: { path: '/healthz', port: 5000 } };
    (container.ports ?? [])[0]!.containerPort = 'api' as unknown as number;
    objects.push({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
    const problems = (await checkSchemas(objects)).map((p) => `${p.object}: ${p.problem}`);
    assert.ok(problems.some((p) => p.includes('livenesProbe: unknown field')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('containerPort must be integer')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('Widget/w: no kubernetes-models schema')), problems.join('\n'));
  });

  for (const overlay of OVERLAYS) {
    describe(overlay, () => {
      test('every object validates against its API schema, with no unknown field', async () => {
        assert.deepEqual(await checkSchemas(objectsOf(overlay)), []);
      });

      test('everything lives in the altostratus namespace, which the render creates', () => {
        const objects = objectsOf(overlay);
        getObjectOrThrow(objects, 'Namespace', NAMESPACE);
        const outside = objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== NAMESPACE).map((o) => `${o.kind}/${o.metadata.name}`);
        assert.deepEqual(outside, []);
      });

      test('labels follow app.kubernetes.io/*, and selectors match their pod templates', () => {
        const objects = objectsOf(overlay);
        for (const o of objects) {
          const labels = o.metadata.labels ?? {};
          const id = `${o.kind}/${o.metadata.name}`;
          assert.equal(labels['app.kubernetes.io/part-of'], 'altostratus', `${id} part-of`);
          assert.equal(labels['app.kubernetes.io/managed-by'], 'kustomize', `${id} managed-by`);
          if (o.kind !== 'ConfigMap' && o.kind !== 'Secret') assert.ok(labels['app.kubernetes.io/name'], `${id} has app.kubernetes.io/name`);
          if (!['ConfigMap', 'Secret', 'Namespace'].includes(o.kind)) assert.ok(labels['app.kubernetes.io/component'], `${id} has app.kubernetes.io/component`);
        }
        for (const { object } of workloads(objects)) {
          const id = `${object.kind}/${object.metadata.name}`;
          const pod = podLabelsOf(object);
          for (const key of ['app.kubernetes.io/name', 'app.kubernetes.io/component', 'app.kubernetes.io/part-of']) assert.ok(pod[key], `${id} pod template has ${key}`);
          const selector = (object as { spec?: { selector?: { matchLabels?: Record<string, string> } } }).spec?.selector?.matchLabels;
          if (object.kind === 'Job' || object.kind === 'CronJob') continue; // the Job controller makes its own selector
          assert.ok(selector && Object.keys(selector).length > 0, `${id} has a selector`);
          for (const [k, v] of Object.entries(selector)) assert.equal(pod[k], v, `${id} selector ${k}=${v} matches its pods`);
          assert.equal(selector['app.kubernetes.io/part-of'], undefined, `${id}: part-of stays out of the immutable selector`);
        }
      });

      test('every ConfigMap and Secret a pod refers to (env, envFrom, volumes, keys) is in the render, or made by the identity-keys Job', () => {
        const objects = objectsOf(overlay);
        let count = 0;
        const problems: string[] = [];
        const madeInCluster = new Set(['identity-fernet-keys', 'identity-credential-keys']);
        for (const { object, spec } of workloads(objects)) {
          for (const ref of objectRefs(spec)) {
            if (ref.kind === 'Secret' && madeInCluster.has(ref.name)) continue;
            count++;
            const problem = resolveRef(objects, object.metadata.namespace, ref);
            if (problem) problems.push(`${object.kind}/${object.metadata.name} ${problem}`);
          }
        }
        assert.deepEqual(problems, []);
        assert.ok(count >= 20, `${count} references checked`);
      });

      test('every $(VAR) in an env value names a variable defined before it (else Kubernetes passes it on literally)', () => {
        const objects = objectsOf(overlay);
        for (const { object, spec } of workloads(objects)) {
          for (const c of allContainers(spec)) {
            const r = resolveEnv(objects, object.metadata.namespace, c, FIELDS(`${object.metadata.name}-0`));
            assert.deepEqual(r.undefinedRefs, [], `${object.kind}/${object.metadata.name} container ${c.name}`);
          }
        }
      });

      test('no credentials outside Secrets: ConfigMaps, literal env values and the Containerfile carry none', () => {
        const objects = objectsOf(overlay);
        const secretValues = objects
          .filter((o) => o.kind === 'Secret')
          .flatMap((o) => Object.values(dataOf(o)))
          .filter((v) => v.length >= 8);
        assert.ok(secretValues.length >= OVERLAY_SECRETS.length, 'the render has the generated secrets');
        for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
          for (const [key, value] of Object.entries(dataOf(cm))) {
            const where = `ConfigMap ${cm.metadata.name} key ${key}`;
            assert.ok(!secretValues.some((s) => value.includes(s)), `${where} contains a Secret's value`);
            assert.doesNotMatch(value, /:\/\/[^/\s:@]+:[^/\s@$]+@/, `${where} has a URL with a password`);
            assert.doesNotMatch(key, /password|secret|token|cookie|credential/i, `${where} looks like a credential`);
            assert.doesNotMatch(value, /^\s*[\w.-]*(password|passwd|secret|cookie)[\w.-]*\s*[:=]\s*\S/im, `${where} sets a password`);
          }
        }
        for (const { object, spec } of workloads(objects)) {
          for (const c of allContainers(spec)) {
            for (const e of c.env ?? []) {
              if (e.value === undefined) continue;
              assert.ok(!secretValues.some((s) => e.value?.includes(s)), `${object.metadata.name}/${c.name} env ${e.name} has a Secret's value as a literal`);
              if (/PASSWORD|PASS$|SECRET|COOKIE/.test(e.name)) assert.match(e.value, /^\$\([A-Z_]+\)$/, `${object.metadata.name}/${c.name} env ${e.name} is a literal credential`);
            }
          }
        }
        for (const stage of readContainerfile().stages) {
          for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
            assert.doesNotMatch(ins.rest, /PASSWORD|SECRET|TOKEN|COOKIE|CONNECTION|TRANSPORT_URL/i, `Containerfile line ${ins.line}`);
          }
        }
      });

      test('images are pinned: third-party ones to a version, Altostratus to the tag set by kustomize images:', () => {
        const objects = objectsOf(overlay);
        const seen = new Set<string>();
        for (const { object, spec } of workloads(objects)) {
          for (const c of allContainers(spec)) {
            const image = c.image ?? '';
            seen.add(image);
            const where = `${object.kind}/${object.metadata.name} container ${c.name}: ${image}`;
            const [name = '', digest] = image.split('@');
            const lastSlash = name.lastIndexOf('/');
            const colon = name.indexOf(':', lastSlash + 1);
            const tag = colon >= 0 ? name.slice(colon + 1) : undefined;
            assert.ok(tag !== undefined || digest !== undefined, `${where} has no tag or digest`);
            assert.notEqual(tag, 'latest', where);
            assert.equal(c.imagePullPolicy === 'Always' && digest === undefined, false, `${where}: Always with a tag re-pulls a moving target`);
            if (isAltoImage(image)) continue;
            assert.match(tag ?? '', /\d/, `${where}: third-party tag is a version`);
            assert.match(name, /^[a-z0-9.-]+\.[a-z]+(:\d+)?\//, `${where}: fully qualified (registry named)`);
          }
        }
        assert.ok([...seen].some(isAltoImage), 'the Altostratus image is used');
      });

      test('every pod meets the restricted Pod Security Standard the namespace enforces, and every container has resources', () => {
        const objects = objectsOf(overlay);
        const ns = getObjectOrThrow(objects, 'Namespace', NAMESPACE);
        assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
        const allowedVolumes = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret', 'name']);
        for (const { object, spec } of workloads(objects)) {
          const id = `${object.kind}/${object.metadata.name}`;
          assert.notEqual(spec.hostNetwork, true, id);
          assert.notEqual(spec.hostPID, true, id);
          assert.notEqual(spec.hostIPC, true, id);
          // only the key repository pods talk to the Kubernetes API, with their own least-privilege account
          if (spec.serviceAccountName === 'identity-keys') assert.equal(spec.automountServiceAccountToken, true, id);
          else assert.equal(spec.automountServiceAccountToken, false, `${id}: no API credentials in pods that do not talk to the API`);
          for (const v of spec.volumes ?? []) for (const k of Object.keys(v)) assert.ok(allowedVolumes.has(k), `${id} volume ${v.name}: ${k}`);
          const pod = spec.securityContext ?? {};
          for (const c of allContainers(spec)) {
            const where = `${id} container ${c.name}`;
            const sc = c.securityContext ?? {};
            assert.equal(sc.allowPrivilegeEscalation, false, `${where} allowPrivilegeEscalation`);
            assert.notEqual(sc.privileged, true, where);
            assert.ok(sc.capabilities?.drop?.includes('ALL'), `${where} drops ALL capabilities`);
            assert.deepEqual((sc.capabilities?.add ?? []).filter((a) => a !== 'NET_BIND_SERVICE'), [], where);
            assert.equal(sc.runAsNonRoot ?? pod.runAsNonRoot, true, `${where} runAsNonRoot`);
            assert.notEqual(sc.runAsUser ?? pod.runAsUser, 0, `${where} runAsUser`);
            assert.ok(['RuntimeDefault', 'Localhost'].includes(sc.seccompProfile?.type ?? pod.seccompProfile?.type ?? ''), `${where} seccompProfile`);
            assert.equal(sc.readOnlyRootFilesystem, true, `${where} readOnlyRootFilesystem`);
            assert.ok(c.resources?.requests?.cpu !== undefined && c.resources.requests.memory !== undefined, `${where} requests cpu and memory`);
            assert.ok(c.resources?.limits?.memory !== undefined, `${where} limits memory`);
          }
        }
      });

      test('identity-api: probes on /healthz and /readyz at the port alto.yaml listens on, the Service and the Ingress reach it', async () => {
        const objects = objectsOf(overlay);
        const { spec, container, deployment } = identityApiContainer(objects);
        // the effective config: alto.yaml with the container's env (an overlay may override keys there)
        const dir = await mkdtemp(join(tmpdir(), 'alto-k8s-config-'));
        const file = join(dir, 'alto.yaml');
        await writeFile(file, altoYaml(objects).text);
        const env = resolveEnv(objects, NAMESPACE, container, FIELDS('identity-api-0')).env;
        const config = loadAltoConfig({ file, env: Object.fromEntries(env) });
        const bootstrapJob = getObjectOrThrow<IJob>(objects, 'Job', 'identity-bootstrap');
        const bootstrapContainer = bootstrapJob.spec?.template.spec?.containers[0];
        assert.ok(bootstrapContainer);
        const bootstrapEnv = resolveEnv(objects, NAMESPACE, bootstrapContainer, FIELDS('identity-bootstrap-0')).env;
        const bootstrap = loadAltoConfig({ file, env: Object.fromEntries(bootstrapEnv) }).bootstrap;
        await rm(dir, { recursive: true, force: true });
        const identity = config.identity;
        assert.deepEqual(container.args, ['serve', 'identity-api', '--config', '/etc/alto/alto.yaml']);
        assert.equal(container.command, undefined, 'the image entrypoint (alto) runs');
        const probes = { startup: httpProbe(container.startupProbe), liveness: httpProbe(container.livenessProbe), readiness: httpProbe(container.readinessProbe) };
        assert.equal(probes.startup?.path, '/healthz');
        assert.equal(probes.liveness?.path, '/healthz');
        assert.equal(probes.readiness?.path, '/readyz');
        for (const [name, p] of Object.entries(probes)) assert.equal(containerPortOf(container, p?.port), identity.api.port, `${name} probe port`);
        assert.equal(identity.api.port, 5000);
        const annotations = deployment.spec?.template.metadata?.annotations ?? {};
        assert.equal(Number(annotations['prometheus.io/port']), identity.api.port);
        assert.equal(annotations['prometheus.io/path'], '/metrics');
        assert.ok((spec.terminationGracePeriodSeconds ?? 30) >= 10, 'time to drain on SIGTERM');

        const service = getObjectOrThrow<IService>(objects, 'Service', 'identity-api');
        const sport = service.spec?.ports?.[0];
        assert.equal(containerPortOf(container, sport?.targetPort), identity.api.port, 'the Service targets the API port');
        const ingress = getObjectOrThrow<IIngress>(objects, 'Ingress', 'identity');
        const rule = ingress.spec?.rules?.[0];
        const backend = rule?.http?.paths[0]?.backend.service;
        assert.equal(backend?.name, 'identity-api');
        assert.ok(service.spec?.ports?.some((p) => p.name === backend?.port?.name || p.port === backend?.port?.number), 'the Ingress names a Service port');
        assert.equal(new URL(bootstrap.public_url ?? '').host, rule?.host, 'the catalog public URL (bootstrap Job) is the Ingress host');
        assert.equal(new URL(identity.api.public_endpoint ?? '').host, rule?.host, 'public_endpoint is the Ingress host');
      });

      test('every alto container loads its config (alto.yaml plus its rendered env) with the real loader, and reaches in-cluster Services', async () => {
        const objects = objectsOf(overlay);
        const { text } = altoYaml(objects);
        const dir = await mkdtemp(join(tmpdir(), 'alto-k8s-config-'));
        try {
          const file = join(dir, 'alto.yaml');
          await writeFile(file, text);
          let checked = 0;
          for (const { object, spec } of workloads(objects)) {
            for (const c of allContainers(spec).filter((x) => isAltoImage(x.image))) {
              const where = `${object.kind}/${object.metadata.name} container ${c.name}`;
              assert.ok(c.args?.includes('--config') && c.args[c.args.indexOf('--config') + 1] === '/etc/alto/alto.yaml', `${where} reads /etc/alto/alto.yaml`);
              assert.ok(c.volumeMounts?.some((m) => m.mountPath === '/etc/alto/alto.yaml'), `${where} mounts alto.yaml`);
              const { env } = resolveEnv(objects, object.metadata.namespace, c, FIELDS(`${object.metadata.name}-0`));
              const config = loadAltoConfig({ file, env: Object.fromEntries(env) });
              const kind = serviceOf(c);
              const credentials = [...env.keys()].filter((k) => /PASSWORD|CONNECTION|TRANSPORT_URL/.test(k)).sort();
              if (kind === 'keys') {
                // key repository work needs the Kubernetes API, not the database, the bus or a password
                assert.deepEqual(credentials, [], `${where} gets no database or bus credentials`);
                checked++;
                continue;
              }
              for (const server of config.cache.memcache_servers) {
                const hp = hostPort(server);
                assert.ok(hp && serviceFor(objects, hp.host, hp.port), `${where}: memcached ${server} is a Service of the render`);
              }
              if (kind === 'block-storage') {
                // least privilege: nothing of identity's or image's database or service user
                assert.deepEqual(credentials.filter((k) => /IDENTITY|IMAGE/.test(k)), [], `${where} gets no identity or image credentials`);
                const bs = config.block_storage;
                if (c.args?.[0] === 'register') {
                  assert.deepEqual(credentials, ['ALTO_ADMIN_PASSWORD', 'ALTO_BLOCK_STORAGE__KEYSTONE_AUTHTOKEN__PASSWORD'], `${where} gets the admin and cinder passwords only`);
                } else {
                  const db = hostPort(bs.database.connection);
                  assert.ok(db && serviceFor(objects, db.host, db.port), `${where}: the block storage database ${db?.host}:${db?.port} is a Service of the render`);
                  assert.match(bs.database.connection, overlay === 'ha' ? /^mysql\+pymysql:\/\// : /^postgresql:\/\//);
                  assert.match(bs.database.connection, /\/block_storage$/, `${where}: its own database`);
                }
                if (c.args?.[0] === 'serve') {
                  // the API, the scheduler and the workers talk over the broker, never in process
                  const bus = hostPort(config.bus.transport_url);
                  assert.ok(bus && serviceFor(objects, bus.host, bus.port)?.metadata?.name === 'rabbitmq', `${where}: the bus is the rabbitmq Service`);
                  assert.equal(config.bus.amqp_durable_queues, overlay === 'ha');
                }
                // the service password only where tokens are validated or images moved
                const needsPassword = c.args?.[0] === 'register' || c.args?.[1] === 'volume-api' || c.args?.[1] === 'volume-worker';
                assert.equal(credentials.includes('ALTO_BLOCK_STORAGE__KEYSTONE_AUTHTOKEN__PASSWORD'), needsPassword, `${where}: the cinder password only if it needs it`);
                if (needsPassword) {
                  const auth = hostPort(bs.keystone_authtoken.auth_url ?? '');
                  assert.ok(auth && serviceFor(objects, auth.host, auth.port)?.metadata?.name === 'identity-api', `${where}: keystone_authtoken.auth_url is the identity Service`);
                  assert.equal(bs.keystone_authtoken.username, 'cinder');
                  assert.ok((bs.keystone_authtoken.password ?? '').length >= 16, `${where}: the generated cinder password`);
                }
                checked++;
                continue;
              }
              if (kind === 'image') {
                // least privilege: nothing of identity's database; the broker only for image-api,
                // which hears identity's changes there (its Jobs send and hear nothing)
                assert.deepEqual(credentials.filter((k) => /IDENTITY/.test(k)), [], `${where} gets no identity database credentials`);
                if (c.args?.[0] === 'serve') {
                  const bus = hostPort(config.bus.transport_url);
                  assert.ok(bus && serviceFor(objects, bus.host, bus.port)?.metadata?.name === 'rabbitmq', `${where}: the bus is the rabbitmq Service`);
                } else {
                  assert.deepEqual(credentials.filter((k) => /TRANSPORT_URL|RABBITMQ/.test(k)), [], `${where} gets no bus credentials`);
                  assert.equal(config.bus.transport_url, 'inprocess://', `${where} uses no broker`);
                }
                const ka = config.image.keystone_authtoken;
                if (c.args?.[0] === 'register') {
                  // talks to identity over HTTP only, as the admin, to give glance its password
                  assert.deepEqual(credentials, ['ALTO_ADMIN_PASSWORD', 'ALTO_IMAGE__KEYSTONE_AUTHTOKEN__PASSWORD'], `${where} gets the admin and glance passwords only`);
                } else {
                  const db = hostPort(config.image.database.connection);
                  assert.ok(db && serviceFor(objects, db.host, db.port), `${where}: the image database ${db?.host}:${db?.port} is a Service of the render`);
                  assert.match(config.image.database.connection, overlay === 'ha' ? /^mysql\+pymysql:\/\// : /^postgresql:\/\//);
                  assert.match(config.image.database.connection, /\/image$/, `${where}: its own database`);
                }
                if (c.args?.[0] === 'db') {
                  assert.equal(ka.password, undefined, `${where}: db-sync needs no service password`);
                } else {
                  const auth = hostPort(ka.auth_url ?? '');
                  assert.ok(auth && serviceFor(objects, auth.host, auth.port)?.metadata?.name === 'identity-api', `${where}: keystone_authtoken.auth_url ${ka.auth_url} is the identity Service`);
                  assert.equal(ka.username, 'glance');
                  assert.ok((ka.password ?? '').length >= 16, `${where}: the generated glance password`);
                }
                checked++;
                continue;
              }
              assert.deepEqual(credentials.filter((k) => /IMAGE|BLOCK_STORAGE/.test(k)), [], `${where} gets no image or block storage credentials`);
              const db = hostPort(config.identity.database.connection);
              assert.ok(db && serviceFor(objects, db.host, db.port), `${where}: the database ${db?.host}:${db?.port} is a Service of the render`);
              assert.match(config.identity.database.connection, overlay === 'ha' ? /^mysql\+pymysql:\/\// : /^postgresql:\/\//);
              if (c.args?.[0] !== 'db') {
                const bus = hostPort(config.bus.transport_url);
                assert.ok(bus && serviceFor(objects, bus.host, bus.port), `${where}: the bus ${config.bus.transport_url.replace(/:[^:@/]*@/, ':***@')} is a Service of the render`);
                assert.equal(config.bus.amqp_durable_queues, overlay === 'ha');
              }
              // only the API signs and reads tokens; the Jobs get no keys
              const mountsKeys = c.volumeMounts?.some((m) => m.mountPath === config.identity.fernet_tokens.key_repository) ?? false;
              assert.equal(mountsKeys, c.args?.[0] === 'serve', `${where} mounts the key repository ${config.identity.fernet_tokens.key_repository} only if it serves`);
              checked++;
            }
          }
          assert.equal(checked, 16, 'identity-api, db-sync, bootstrap with its init container, identity-keys (2), identity-fernet-rotate; image-api, image-db-sync, image-register; volume-api, volume-scheduler, volume-worker with volume-backup, block-storage-db-sync, block-storage-register');
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });

      test('db-sync and bootstrap Jobs: the right commands, bounded retries, cleaned up, bootstrap waits for the schema', () => {
        const objects = objectsOf(overlay);
        const dbSync = getObjectOrThrow<IJob>(objects, 'Job', 'identity-db-sync');
        const bootstrap = getObjectOrThrow<IJob>(objects, 'Job', 'identity-bootstrap');
        for (const job of [dbSync, bootstrap]) {
          const id = `Job/${job.metadata?.name}`;
          assert.ok((job.spec?.backoffLimit ?? 6) > 0 && (job.spec?.backoffLimit ?? 0) <= 20, `${id} backoffLimit`);
          assert.ok((job.spec?.ttlSecondsAfterFinished ?? 0) > 0, `${id} ttlSecondsAfterFinished`);
          assert.ok((job.spec?.activeDeadlineSeconds ?? 0) > 0, `${id} activeDeadlineSeconds`);
          assert.ok(['Never', 'OnFailure'].includes(job.spec?.template.spec?.restartPolicy ?? ''), `${id} restartPolicy`);
        }
        assert.deepEqual(dbSync.spec?.template.spec?.containers.map((c) => c.args?.slice(0, 3)), [['db', 'sync', 'identity']]);
        const bspec = bootstrap.spec?.template.spec;
        assert.deepEqual(bspec?.containers.map((c) => c.args?.[0]), ['bootstrap']);
        assert.deepEqual(bspec?.initContainers?.map((c) => c.args?.slice(0, 4)), [['db', 'sync', 'identity', '--check']]);
        const admin = bspec?.containers[0]?.env?.find((e) => e.name === 'ALTO_ADMIN_PASSWORD');
        assert.equal(admin?.valueFrom?.secretKeyRef?.key, 'admin-password');
      });

      test('image-api: probes on /healthz and /readyz at image.api.port, the Service and the Ingress reach it, both stores on the image-store claim with the access mode of the overlay', async () => {
        const objects = objectsOf(overlay);
        const { spec, container, deployment } = imageApiContainer(objects);
        const config = await effectiveConfig(objects, container, 'image-api-0');
        const image = config.image;
        assert.deepEqual(container.args, ['serve', 'image-api', '--config', '/etc/alto/alto.yaml']);
        assert.equal(container.command, undefined, 'the image entrypoint (alto) runs');
        const probes = { startup: httpProbe(container.startupProbe), liveness: httpProbe(container.livenessProbe), readiness: httpProbe(container.readinessProbe) };
        assert.equal(probes.startup?.path, '/healthz');
        assert.equal(probes.liveness?.path, '/healthz');
        assert.equal(probes.readiness?.path, '/readyz');
        for (const [name, p] of Object.entries(probes)) assert.equal(containerPortOf(container, p?.port), image.api.port, `${name} probe port`);
        assert.equal(image.api.port, 9292);
        assert.equal(image.api.host, '0.0.0.0', 'listens on the pod address, not loopback');
        const annotations = deployment.spec?.template.metadata?.annotations ?? {};
        assert.equal(Number(annotations['prometheus.io/port']), image.api.port);
        assert.ok((spec.terminationGracePeriodSeconds ?? 30) >= 30, 'time to finish a transfer on SIGTERM');
        assert.ok(container.resources?.limits?.cpu && container.resources.requests?.cpu, 'cpu request and limit');

        const service = getObjectOrThrow<IService>(objects, 'Service', 'image-api');
        const sport = service.spec?.ports?.[0];
        assert.equal(sport?.port, 9292, "Glance's port");
        assert.equal(containerPortOf(container, sport?.targetPort), image.api.port, 'the Service targets the API port');
        const ingress = getObjectOrThrow<IIngress>(objects, 'Ingress', 'image');
        const rule = ingress.spec?.rules?.[0];
        const backend = rule?.http?.paths[0]?.backend.service;
        assert.equal(backend?.name, 'image-api');
        assert.ok(service.spec?.ports?.some((p) => p.name === backend?.port?.name || p.port === backend?.port?.number), 'the Ingress names a Service port');
        assert.equal(new URL(image.api.public_endpoint ?? '').host, rule?.host, 'public_endpoint (the catalog public URL the register Job writes) is the Ingress host');
        assert.equal(ingress.metadata?.annotations?.['nginx.ingress.kubernetes.io/proxy-body-size'], '0', 'image-sized uploads pass the Ingress');
        const identityHost = getObjectOrThrow<IIngress>(objects, 'Ingress', 'identity').spec?.rules?.[0]?.host;
        assert.equal(new URL(image.keystone_authtoken.www_authenticate_uri ?? '').host, identityHost, 'a 401 sends clients to the public identity endpoint');

        // both stores (and any enabled_backends) live on the claim, so an image outlives its pod
        const claimVolume = (spec.volumes ?? []).find((v) => v.persistentVolumeClaim?.claimName === 'image-store');
        assert.ok(claimVolume, 'image-api mounts the image-store claim');
        const mount = container.volumeMounts?.find((m) => m.name === claimVolume.name);
        assert.ok(mount && mount.readOnly !== true && mount.subPath === undefined, 'the claim is mounted writable, whole');
        const dirs = [image.glance_store.filesystem_store_datadir, image.os_glance_staging_store.filesystem_store_datadir, ...Object.values(image.default.enabled_backends).map((b) => b.filesystem_store_datadir)];
        for (const dir of dirs) assert.ok(dir.startsWith(`${mount.mountPath}/`), `${dir} is on the claim (${mount.mountPath})`);
        assert.equal(new Set(dirs).size, dirs.length, 'image data and staging are apart');
        assert.equal(spec.securityContext?.fsGroup, spec.securityContext?.runAsGroup, 'the claim is writable by the group alto runs as');
        assert.equal(spec.securityContext?.fsGroupChangePolicy, 'OnRootMismatch', 'a large store is not chowned on every mount');

        const pvc = getObjectOrThrow<K8sObject & { spec: { accessModes: string[]; resources: { requests: { storage: string } } } }>(objects, 'PersistentVolumeClaim', 'image-store');
        const replicas = deployment.spec?.replicas ?? 1;
        if (overlay === 'ha') {
          assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany'], 'every replica mounts the same store');
          assert.ok(replicas >= 2, `${replicas} replicas`);
          assert.equal(deployment.spec?.strategy?.type, 'RollingUpdate');
          assert.equal(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable, 0);
        } else {
          assert.deepEqual(pvc.spec.accessModes, ['ReadWriteOnce']);
          // a ReadWriteOnce claim has one writer: a second pod (scale or surge) could not mount it
          assert.equal(replicas, 1);
          assert.equal(deployment.spec?.strategy?.type, 'Recreate');
        }
        assert.match(pvc.spec.resources.requests.storage, /^\d+Gi$/);
      });

      test('image Jobs: db-sync runs `alto db sync image`; register runs `alto register image` after bootstrap, with the passwords bootstrap and image-api use; bounded retries, cleaned up', async () => {
        const objects = objectsOf(overlay);
        const dbSync = getObjectOrThrow<IJob>(objects, 'Job', 'image-db-sync');
        const register = getObjectOrThrow<IJob>(objects, 'Job', 'image-register');
        for (const job of [dbSync, register]) {
          const id = `Job/${job.metadata?.name}`;
          assert.ok((job.spec?.backoffLimit ?? 6) > 0 && (job.spec?.backoffLimit ?? 0) <= 20, `${id} backoffLimit`);
          assert.ok((job.spec?.ttlSecondsAfterFinished ?? 0) > 0, `${id} ttlSecondsAfterFinished`);
          assert.ok((job.spec?.activeDeadlineSeconds ?? 0) > 0, `${id} activeDeadlineSeconds`);
          assert.ok(['Never', 'OnFailure'].includes(job.spec?.template.spec?.restartPolicy ?? ''), `${id} restartPolicy`);
        }
        assert.deepEqual(dbSync.spec?.template.spec?.containers.map((c) => c.args?.slice(0, 3)), [['db', 'sync', 'image']]);
        const rspec = register.spec?.template.spec;
        assert.deepEqual(rspec?.containers.map((c) => c.args?.slice(0, 2)), [['register', 'image']]);
        const rc = rspec?.containers[0];
        assert.ok(rc);

        // ordering: kustomize applies every Job at once; register waits in its pod for identity
        // and bootstrap (--wait), within the Job's deadline
        const wait = Number(optionValue(rc, '--wait'));
        assert.ok(wait > 0 && wait < (register.spec?.activeDeadlineSeconds ?? 0), `--wait ${wait} s within activeDeadlineSeconds`);
        // the project glance gets its roles on is the one bootstrap creates
        const config = await effectiveConfig(objects, rc, 'image-register-0');
        assert.equal(config.image.keystone_authtoken.project_name, config.bootstrap.service_project_name);
        // catalog: public through the Ingress (image.api.public_endpoint), internal and admin through the Service
        assert.equal(optionValue(rc, '--public-url'), undefined, 'the public URL is image.api.public_endpoint, the one checked against the Ingress');
        for (const option of ['--internal-url', '--admin-url']) {
          const url: string = optionValue(rc, option) ?? '';
          const hp = hostPort(url);
          assert.equal(hp && serviceFor(objects, hp.host, hp.port)?.metadata?.name, 'image-api', `${option} ${url} is the image-api Service`);
        }

        // the admin password is bootstrap's, the glance password is the one image-api validates tokens with
        const refOf = (c: IContainer | undefined, name: string) => {
          const ref = c?.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
          // the generated Secret's name carries a content hash
          return ref ? `${ref.name?.replace(GENERATED_SUFFIX, '')}/${ref.key}` : undefined;
        };
        const bootstrap = getObjectOrThrow<IJob>(objects, 'Job', 'identity-bootstrap').spec?.template.spec?.containers[0];
        assert.equal(refOf(rc, 'ALTO_ADMIN_PASSWORD'), 'alto-secrets/admin-password');
        assert.equal(refOf(rc, 'ALTO_ADMIN_PASSWORD'), refOf(bootstrap, 'ALTO_ADMIN_PASSWORD'));
        assert.equal(refOf(rc, 'ALTO_IMAGE__KEYSTONE_AUTHTOKEN__PASSWORD'), 'alto-secrets/glance-password');
        assert.equal(refOf(rc, 'ALTO_IMAGE__KEYSTONE_AUTHTOKEN__PASSWORD'), refOf(imageApiContainer(objects).container, 'ALTO_IMAGE__KEYSTONE_AUTHTOKEN__PASSWORD'));
        // image-api becomes ready only on a migrated database: db-sync needs no ordering of its own,
        // and image-api's readiness probe is what waits for it
        assert.equal(httpProbe(imageApiContainer(objects).container.readinessProbe)?.path, '/readyz');
      });

      test('the image database: the init scripts create it with the user and password image pods connect with', () => {
        const objects = objectsOf(overlay);
        const db = overlay === 'ha' ? getObjectOrThrow<IStatefulSet>(objects, 'StatefulSet', 'mariadb') : getObjectOrThrow<IStatefulSet>(objects, 'StatefulSet', 'postgres');
        const dbSpec = db.spec?.template.spec;
        const c = dbSpec?.containers[0];
        assert.ok(dbSpec && c);
        const env = resolveEnv(objects, NAMESPACE, c, FIELDS(`${db.metadata?.name}-0`)).env;
        const api = resolveEnv(objects, NAMESPACE, imageApiContainer(objects).container, FIELDS('image-api-0')).env;
        for (const key of ['IMAGE_DB_USER', 'IMAGE_DB_NAME', 'IMAGE_DB_PASSWORD']) {
          assert.ok(env.get(key), `${db.metadata?.name} has ${key} for its init script`);
          assert.equal(env.get(key), api.get(key), `${key}: the database creates what image-api logs in with`);
        }
        const initMount = c.volumeMounts?.find((m) => m.mountPath === '/docker-entrypoint-initdb.d');
        const initVolume = dbSpec.volumes?.find((v) => v.name === initMount?.name);
        const cm = getObjectOrThrow(objects, 'ConfigMap', initVolume?.configMap?.name ?? '(no init volume)');
        const items = initVolume?.configMap?.items?.map((i) => i.key) ?? Object.keys(dataOf(cm));
        const script = items.map((k) => dataOf(cm)[k] ?? '').find((text) => text.includes('IMAGE_DB_NAME'));
        assert.ok(script, 'an init script creates the image database');
        for (const key of ['IMAGE_DB_USER', 'IMAGE_DB_NAME', 'IMAGE_DB_PASSWORD']) assert.ok(script.includes(key), `the script uses ${key}`);
        // idempotent, so a cluster that predates the image service runs it by hand (README)
        assert.match(script, overlay === 'ha' ? /IF NOT EXISTS[\s\S]*IF NOT EXISTS/ : /WHERE NOT EXISTS[\s\S]*WHERE NOT EXISTS/);
      });

      test('key repositories: the identity-keys Job creates both Secrets, the CronJob rotates the token keys one at a time, RBAC allows exactly that, identity-api mounts both', () => {
        const objects = objectsOf(overlay);
        const spec = podSpecOf(getObjectOrThrow(objects, 'Job', 'identity-keys')) as IPodSpec;
        const argsOf = (c: IContainer) => (c.args ?? []).slice(0, 4).join(' ');
        assert.deepEqual(allContainers(spec).map(argsOf), ['fernet setup --k8s-secret identity-fernet-keys', 'credential setup --k8s-secret identity-credential-keys']);
        assert.equal(spec.serviceAccountName, 'identity-keys');
        assert.equal(spec.automountServiceAccountToken, true, 'the Job talks to the API with its service account');
        const cron = getObjectOrThrow<K8sObject & { spec: { schedule: string; concurrencyPolicy?: string } }>(objects, 'CronJob', 'identity-fernet-rotate');
        assert.equal(cron.spec.concurrencyPolicy, 'Forbid', 'two rotations never run at once');
        const cronSpec = podSpecOf(cron) as IPodSpec;
        assert.deepEqual(cronSpec.containers.map(argsOf), ['fernet rotate --k8s-secret identity-fernet-keys']);
        assert.equal(cronSpec.serviceAccountName, 'identity-keys');
        // weekly: with max_active_keys 3, 1 h tokens and the 48 h allow_expired window Keystone's rule needs >= 49 h between rotations
        assert.match(cron.spec.schedule, /^\d+ \d+ \* \* \d$/, 'at most once a week');
        const role = getObjectOrThrow<K8sObject & { rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[] }>(objects, 'Role', 'identity-keys');
        for (const r of role.rules) {
          assert.deepEqual(r.resources, ['secrets']);
          if (r.resourceNames) assert.deepEqual([...r.resourceNames].sort(), ['identity-credential-keys', 'identity-fernet-keys']);
          else assert.deepEqual(r.verbs, ['create'], 'only create may go without resourceNames (RBAC cannot name what does not exist yet)');
          assert.ok(!r.verbs.some((v) => ['list', 'watch', 'delete', '*'].includes(v)), `no ${r.verbs.join(',')}`);
        }
        const binding = getObjectOrThrow<K8sObject & { roleRef: { name: string }; subjects: { kind: string; name: string }[] }>(objects, 'RoleBinding', 'identity-keys');
        assert.equal(binding.roleRef.name, 'identity-keys');
        assert.deepEqual(binding.subjects.map((x) => `${x.kind}/${x.name}`), ['ServiceAccount/identity-keys']);
        const api = podSpecOf(getObjectOrThrow(objects, 'Deployment', 'identity-api')) as IPodSpec;
        assert.notEqual(api.automountServiceAccountToken, true, 'identity-api cannot reach the Kubernetes API');
        const secretVolumes = (api.volumes ?? []).filter((v) => v.secret).map((v) => v.secret?.secretName).sort();
        assert.deepEqual(secretVolumes, ['identity-credential-keys', 'identity-fernet-keys']);
        for (const v of api.volumes ?? []) if (v.secret) assert.equal(v.secret.items, undefined, `${v.name}: every key file, however many rotation made`);
        // made in the cluster, never by the render: kubectl apply must not put old keys back
        assert.ok(!objects.some((o) => o.kind === 'Secret' && /identity-(fernet|credential)-keys/.test(o.metadata.name)));
      });

      test('StatefulSets: a headless Service each, PVCs, probes; Services select pods and target ports that exist', () => {
        const objects = objectsOf(overlay);
        const services = objects.filter((o): o is K8sObject & IService => o.kind === 'Service');
        for (const sts of objects.filter((o): o is K8sObject & IStatefulSet => o.kind === 'StatefulSet')) {
          const id = `StatefulSet/${sts.metadata.name}`;
          const headless = services.find((s) => s.metadata.name === sts.spec?.serviceName);
          assert.equal(headless?.spec?.clusterIP, 'None', `${id} serviceName is a headless Service`);
          assert.ok((sts.spec?.volumeClaimTemplates ?? []).length > 0, `${id} has PVCs`);
          const main = sts.spec?.template.spec?.containers[0];
          assert.ok(main?.readinessProbe && main.livenessProbe, `${id} probes`);
        }
        for (const s of services) {
          const selector = s.spec?.selector ?? {};
          const targets = workloads(objects).filter(({ object }) => Object.entries(selector).every(([k, v]) => podLabelsOf(object)[k] === v));
          assert.ok(Object.keys(selector).length > 0 && targets.length > 0, `Service ${s.metadata.name} selects pods`);
          for (const p of s.spec?.ports ?? []) {
            const ok = targets.some(({ spec }) => spec.containers.some((c) => containerPortOf(c, p.targetPort ?? p.port) !== undefined));
            assert.ok(ok, `Service ${s.metadata.name} port ${p.name} targets a container port`);
          }
        }
      });

      test('RabbitMQ: rabbitmq.conf names exactly the members the StatefulSet runs, under the node names they take', () => {
        const objects = objectsOf(overlay);
        const sts = getObjectOrThrow<IStatefulSet>(objects, 'StatefulSet', 'rabbitmq');
        const conf = dataOf(getGeneratedOrThrow(objects, 'ConfigMap', 'rabbitmq-config'))['rabbitmq.conf'] ?? '';
        const nodes = [...conf.matchAll(/^cluster_formation\.classic_config\.nodes\.\d+\s*=\s*(\S+)/gm)].map((m) => m[1]);
        const replicas = sts.spec?.replicas ?? 1;
        assert.equal(replicas, overlay === 'ha' ? 3 : 1);
        assert.deepEqual(nodes, Array.from({ length: replicas }, (_, i) => `rabbit@rabbitmq-${i}.${sts.spec?.serviceName}`));
        const c = sts.spec?.template.spec?.containers[0];
        assert.ok(c);
        const { env } = resolveEnv(objects, NAMESPACE, c, FIELDS('rabbitmq-1'));
        assert.equal(env.get('RABBITMQ_NODENAME'), `rabbit@rabbitmq-1.${sts.spec?.serviceName}`);
        assert.equal(env.get('RABBITMQ_USE_LONGNAME'), 'true');
      });
    });
  }

  test('ha: identity-api and image-api have 3 replicas, anti-affinity and topology spread; PDBs cover them, Galera and RabbitMQ', () => {
    const objects = objectsOf('ha');
    for (const { deployment, spec } of [identityApiContainer(objects), imageApiContainer(objects)]) {
      const name = deployment.metadata?.name;
      assert.equal(deployment.spec?.replicas, 3, name);
      assert.ok((spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).some((t) => t.podAffinityTerm.topologyKey === 'kubernetes.io/hostname' && t.podAffinityTerm.labelSelector?.matchLabels?.['app.kubernetes.io/name'] === name), `${name} anti-affinity`);
      assert.ok((spec.topologySpreadConstraints ?? []).some((t) => t.topologyKey === 'kubernetes.io/hostname' && t.whenUnsatisfiable === 'DoNotSchedule' && t.labelSelector?.matchLabels?.['app.kubernetes.io/name'] === name), `${name} spread`);
    }
    const pdbs = objects.filter((o): o is K8sObject & IPodDisruptionBudget => o.kind === 'PodDisruptionBudget');
    for (const name of ['identity-api', 'image-api', 'mariadb', 'rabbitmq']) {
      const workload = workloads(objects).find(({ object }) => object.metadata.name === name);
      assert.ok(workload, name);
      const replicas = (workload.object as { spec?: { replicas?: number } }).spec?.replicas ?? 1;
      const pdb = pdbs.find((p) => Object.entries(p.spec?.selector?.matchLabels ?? {}).every(([k, v]) => podLabelsOf(workload.object)[k] === v));
      assert.ok(pdb, `a PodDisruptionBudget covers ${name}`);
      const maxUnavailable = Number(pdb.spec?.maxUnavailable ?? replicas - Number(pdb.spec?.minAvailable ?? 0));
      assert.ok(maxUnavailable >= 1 && replicas - maxUnavailable > replicas / 2, `${name}: drains keep a majority of ${replicas} (maxUnavailable ${maxUnavailable})`);
    }
    for (const name of ['mariadb', 'rabbitmq']) {
      const sts = getObjectOrThrow<IStatefulSet>(objects, 'StatefulSet', name);
      assert.equal(sts.spec?.replicas, 3, name);
      const required = sts.spec?.template.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
      assert.ok(required.some((t) => t.topologyKey === 'kubernetes.io/hostname'), `${name} members never share a node`);
      const headless = getObjectOrThrow<IService>(objects, 'Service', sts.spec?.serviceName ?? '');
      assert.equal(headless.spec?.publishNotReadyAddresses, true, `${name} members find each other before they are ready`);
    }
    const galera = getObjectOrThrow<IStatefulSet>(objects, 'StatefulSet', 'mariadb');
    assert.equal(galera.spec?.podManagementPolicy ?? 'OrderedReady', 'OrderedReady', 'mariadb-0 creates the cluster before the others join');
    const cnf = dataOf(getGeneratedOrThrow(objects, 'ConfigMap', 'mariadb-galera'))['galera.cnf'] ?? '';
    assert.match(cnf, /^wsrep_on\s*=\s*ON/m);
    assert.match(cnf, new RegExp(`^wsrep_cluster_address\\s*=\\s*gcomm://${galera.spec?.serviceName}$`, 'm'));
  });

  test('single-node: one PostgreSQL member with a PVC is the identity database; no Galera, one RabbitMQ', () => {
    const objects = objectsOf('single-node');
    const pg = getObjectOrThrow<IStatefulSet>(objects, 'StatefulSet', 'postgres');
    assert.equal(pg.spec?.replicas, 1);
    assert.equal(pg.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, '10Gi');
    const c = pg.spec?.template.spec?.containers[0];
    assert.ok(c?.readinessProbe?.exec && c.livenessProbe?.exec && c.startupProbe?.exec);
    assert.equal(objects.some((o) => o.metadata.name === 'mariadb'), false);
    assert.equal(objects.some((o) => o.kind === 'PodDisruptionBudget'), false, 'a PDB on one replica would block node drains');
    assert.equal(identityApiContainer(objects).deployment.spec?.replicas, 1);
    assert.equal(imageApiContainer(objects).deployment.spec?.replicas, 1);
  });

  test('every command and option an alto container runs exists in the built CLI (`alto <command> --help`)', async () => {
    const main = join(repoRoot, 'apps', 'cli', 'dist', 'main.js');
    /** The lines of a help section (Arguments:, Options:) up to the next blank line. */
    const section = (text: string, title: string) => {
      const lines = text.split('\n');
      const at = lines.indexOf(`${title}:`);
      if (at < 0) return [];
      const end = lines.findIndex((l, i) => i > at && l.trim() === '');
      return lines.slice(at + 1, end < 0 ? undefined : end);
    };
    const runs = new Map<string, string[]>();
    for (const overlay of OVERLAYS) {
      for (const { spec } of workloads(objectsOf(overlay))) for (const c of allContainers(spec).filter((x) => isAltoImage(x.image))) runs.set(JSON.stringify(c.args ?? []), c.args ?? []);
    }
    assert.ok(runs.size >= 8, `${runs.size} distinct command lines`);
    const wordsOf = (args: readonly string[]) => {
      const firstOption = args.findIndex((a) => a.startsWith('-'));
      return args.slice(0, firstOption < 0 ? undefined : firstOption);
    };
    // commander prints the help of the deepest command the words name; one process per command line
    const helps = new Map<string, Promise<string>>();
    for (const args of runs.values()) {
      const words = wordsOf(args);
      const key = words.join(' ');
      if (!helps.has(key)) helps.set(key, execFileAsync(process.execPath, [main, ...words, '--help'], { encoding: 'utf8', timeout: 60_000 }).then((r) => r.stdout));
    }
    const checked: string[] = [];
    for (const args of runs.values()) {
      const words = wordsOf(args);
      const text = await helps.get(words.join(' '))!;
      // Usage: alto db sync [options] <service>  ->  the command is `db sync`, the rest are its arguments
      const usage = /^Usage: alto (.*)$/m.exec(text)?.[1]?.split(/\s+/) ?? [];
      const firstArgument = usage.findIndex((t) => /^[[<]/.test(t));
      const path = firstArgument < 0 ? usage : usage.slice(0, firstArgument);
      assert.ok(path.length > 0, `alto ${words.join(' ')}: ${words[0]} is an alto command (usage: ${usage.join(' ')})`);
      assert.deepEqual(words.slice(0, path.length), path, `alto ${args.join(' ')} names the command alto ${path.join(' ')}`);
      assert.ok(!/^Commands:$/m.test(text), `alto ${path.join(' ')} is a command, not a group`);
      // commander wraps a long description onto lines indented past the argument's name
      const argumentLines = section(text, 'Arguments').reduce<string[]>((acc, l) => (/^\s{3,}\S/.test(l) && acc.length > 0 ? [...acc.slice(0, -1), `${acc.at(-1)} ${l.trim()}`] : [...acc, l]), []);
      const argumentDocs = argumentLines.map((l) => new Set(l.trim().split(/[\s|,]+/).slice(1)));
      const positional = words.slice(path.length);
      assert.equal(positional.length, argumentDocs.length, `alto ${args.join(' ')}: ${argumentDocs.length} argument(s)`);
      positional.forEach((w, i) => assert.ok(argumentDocs[i]?.has(w), `alto ${path.join(' ')}: "${w}" is one of its documented values`));
      const options = new Set(section(text, 'Options').flatMap((l) => l.match(/--[a-z][a-z0-9-]*/g) ?? []));
      for (const a of args.filter((x) => x.startsWith('--'))) assert.ok(options.has(a), `alto ${path.join(' ')} has ${a}`);
      checked.push(words.join(' '));
    }
    for (const want of ['register image', 'db sync image', 'serve image-api', 'db sync identity', 'bootstrap', 'serve volume-api', 'serve volume-scheduler', 'serve volume-worker', 'serve volume-backup', 'db sync block-storage', 'register block-storage']) assert.ok(checked.includes(want), `${want} is run by a container`);
  });

  test('no credentials are committed: git tracks no secrets.env, ignores it, and every alto-secrets key a pod reads is one `alto k8s secrets` generates', (t) => {
    const git = spawnSync('git', ['ls-files', '--', 'deploy/kubernetes'], { cwd: repoRoot, encoding: 'utf8' });
    if (git.error || git.status !== 0) {
      t.skip('not a git checkout');
      return;
    }
    const tracked = git.stdout.split('\n').filter(Boolean);
    assert.ok(tracked.some((f) => f.endsWith('kustomization.yaml')), 'git lists the manifests');
    assert.deepEqual(tracked.filter((f) => /secrets\.env|\.env$|fernet-keys\//.test(f)), [], 'no secret inputs tracked');
    const generated = new Set(OVERLAY_SECRETS.map((s) => s.key));
    const read = new Set<string>();
    for (const overlay of OVERLAYS) {
      const ignored = spawnSync('git', ['check-ignore', '-q', `deploy/kubernetes/overlays/${overlay}/secrets.env`], { cwd: repoRoot });
      assert.equal(ignored.status, 0, `${overlay}/secrets.env is gitignored`);
      for (const { object, spec } of workloads(objectsOf(overlay))) {
        for (const ref of objectRefs(spec).filter((r) => r.kind === 'Secret' && r.name.replace(GENERATED_SUFFIX, '') === 'alto-secrets' && r.key !== undefined)) {
          assert.ok(generated.has(ref.key ?? ''), `${overlay} ${object.kind}/${object.metadata.name} ${ref.where} reads ${ref.key}, which alto k8s secrets does not generate`);
          read.add(ref.key ?? '');
        }
      }
    }
    for (const key of ['admin-password', 'identity-db-password', 'image-db-password', 'glance-password', 'block-storage-db-password', 'cinder-password']) assert.ok(read.has(key), `a pod reads ${key}`);
  });

  test('the Altostratus image is set with kustomize images: (newName and newTag reach every alto container)', async () => {
    const overlay = join(copy.dir, 'overlays', 'custom-image');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(overlay, { recursive: true });
    await writeFile(
      join(overlay, 'kustomization.yaml'),
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../single-node\nimages:\n  - name: altostratus/alto\n    newName: registry.example.com/cloud/alto\n    newTag: 1.2.3\n',
    );
    const objects = render(overlay);
    const images = workloads(objects).flatMap(({ spec }) => allContainers(spec).map((c) => c.image ?? ''));
    assert.equal(images.filter((i) => i === 'registry.example.com/cloud/alto:1.2.3').length, 16);
    assert.equal(images.filter((i) => i.includes('altostratus/alto')).length, 0);
  });

  test('the Containerfile runs what the manifests expect: the alto entrypoint as the user the pods run as', () => {
    const file = readContainerfile();
    const final = file.stages.at(-1);
    assert.ok(final);
    const entry = execForm(lastOf(final, 'ENTRYPOINT')) ?? [];
    assert.equal(entry[0], 'node');
    assert.equal(entry.at(-1), '/opt/alto/apps/cli/dist/main.js');
    const user = lastOf(final, 'USER')?.rest.split(':');
    const objects = objectsOf('single-node');
    for (const { object, spec } of workloads(objects)) {
      if (!allContainers(spec).some((c) => isAltoImage(c.image))) continue;
      assert.equal(String(spec.securityContext?.runAsUser), user?.[0], `${object.metadata.name} runs as the image's user`);
      assert.equal(String(spec.securityContext?.runAsGroup), user?.[1], `${object.metadata.name} runs as the image's group`);
    }
  });

  test('rendering left deploy/kubernetes in the checkout untouched', () => {
    assert.deepEqual(snapshot(deployDir), before_);
  });
});
