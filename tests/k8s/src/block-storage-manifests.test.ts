// Checks the block storage objects of both overlays: volume-api, volume-scheduler, the volume-worker StatefulSet with its backup container and claims, the Jobs, the database init scripts and the ha properties.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { loadAltoConfig } from '../../../apps/cli/dist/config.js';
import { OVERLAYS, copyDeployWithSecrets, getGeneratedOrThrow, getObjectOrThrow, kubectlMissing, render, type DeployCopy, type K8sObject, type Overlay } from './render.js';
import { dataOf, resolveEnv, type IContainer, type IPodSpec } from './pod.js';
import { readContainerfile } from './containerfile.js';

const NAMESPACE = 'altostratus';
const GENERATED_SUFFIX = /-[a-z0-9]{10}$/;

type AltoConfig = ReturnType<typeof loadAltoConfig>;

/** What a container's process loads: the rendered alto.yaml with its rendered env (pod name `pod`), through the real loader. */
async function effectiveConfig(objects: readonly K8sObject[], c: IContainer, pod: string): Promise<AltoConfig> {
  const dir = await mkdtemp(join(tmpdir(), 'alto-k8s-bs-'));
  try {
    const file = join(dir, 'alto.yaml');
    const text = dataOf(getGeneratedOrThrow(objects, 'ConfigMap', 'alto-config'))['alto.yaml'];
    assert.ok(text, 'alto-config has alto.yaml');
    await writeFile(file, text);
    const env = resolveEnv(objects, NAMESPACE, c, { 'metadata.name': pod, 'metadata.namespace': NAMESPACE, 'status.podIP': '10.1.2.3' }).env;
    return loadAltoConfig({ file, env: Object.fromEntries(env) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function containerPortOf(c: IContainer, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return c.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** The three probes of a container as path and the container port they reach. */
function probesOf(c: IContainer): Record<'startup' | 'liveness' | 'readiness', { path: string | undefined; port: number | undefined }> {
  const one = (p: IProbe | undefined) => ({ path: p?.httpGet?.path, port: containerPortOf(c, p?.httpGet?.port) });
  return { startup: one(c.startupProbe), liveness: one(c.livenessProbe), readiness: one(c.readinessProbe) };
}

function assertHealthProbes(c: IContainer, port: number, where: string): void {
  const p = probesOf(c);
  assert.deepEqual(p, { startup: { path: '/healthz', port }, liveness: { path: '/healthz', port }, readiness: { path: '/readyz', port } }, `${where} probes`);
}

function containerOf(spec: IPodSpec | undefined, name: string): IContainer {
  const c = spec?.containers.find((x) => x.name === name);
  assert.ok(c, `container ${name}`);
  return c;
}

const secretRefOf = (c: IContainer | undefined, name: string) => {
  const ref = c?.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
  return ref ? `${ref.name?.replace(GENERATED_SUFFIX, '')}/${ref.key}` : undefined;
};

describe('deploy/kubernetes: block storage', { skip: kubectlMissing() }, () => {
  let copy: DeployCopy;
  const renders = new Map<Overlay, K8sObject[]>();
  const objectsOf = (overlay: Overlay): K8sObject[] => {
    const objects = renders.get(overlay);
    assert.ok(objects, `${overlay} rendered`);
    return objects;
  };
  before(async () => {
    copy = await copyDeployWithSecrets();
    for (const overlay of OVERLAYS) renders.set(overlay, render(copy.overlayDir(overlay)));
  });
  after(async () => {
    await copy?.cleanup();
  });

  for (const overlay of OVERLAYS) {
    describe(overlay, () => {
      test('volume-api: `alto serve volume-api`, probes on /healthz and /readyz at block_storage.api.port 8776, the Service and the Ingress reach it, public_endpoint is the Ingress host', async () => {
        const objects = objectsOf(overlay);
        const deployment = getObjectOrThrow<IDeployment>(objects, 'Deployment', 'volume-api');
        const c = containerOf(deployment.spec?.template.spec, 'volume-api');
        const config = await effectiveConfig(objects, c, 'volume-api-0');
        const api = config.block_storage.api;
        assert.deepEqual(c.args, ['serve', 'volume-api', '--config', '/etc/alto/alto.yaml']);
        assert.equal(api.port, 8776, "Cinder's port");
        assert.equal(api.host, '0.0.0.0', 'listens on the pod address, not loopback');
        assertHealthProbes(c, api.port, 'volume-api');
        assert.equal(Number(deployment.spec?.template.metadata?.annotations?.['prometheus.io/port']), api.port);
        assert.ok(c.resources?.requests?.cpu && c.resources.limits?.memory, 'resources');

        const service = getObjectOrThrow<IService>(objects, 'Service', 'volume-api');
        assert.equal(service.spec?.ports?.[0]?.port, 8776);
        assert.equal(containerPortOf(c, service.spec?.ports?.[0]?.targetPort), api.port, 'the Service targets the API port');
        const ingress = getObjectOrThrow<IIngress>(objects, 'Ingress', 'block-storage');
        const rule = ingress.spec?.rules?.[0];
        const backend = rule?.http?.paths[0]?.backend.service;
        assert.equal(backend?.name, 'volume-api');
        assert.ok(service.spec?.ports?.some((p) => p.name === backend?.port?.name), 'the Ingress names a Service port');
        assert.equal(new URL(api.public_endpoint ?? '').host, rule?.host, 'public_endpoint (the catalog public URL the register Job writes) is the Ingress host');
        const identityHost = getObjectOrThrow<IIngress>(objects, 'Ingress', 'identity').spec?.rules?.[0]?.host;
        assert.equal(new URL(config.block_storage.keystone_authtoken.www_authenticate_uri ?? '').host, identityHost, 'a 401 sends clients to the public identity endpoint');
        // images move inside the cluster, through the image Service
        const glance = new URL(config.block_storage.default.glance_api_servers ?? '');
        const imageService = getObjectOrThrow<IService>(objects, 'Service', glance.hostname);
        assert.ok(imageService.spec?.ports?.some((p) => p.port === Number(glance.port)), `glance_api_servers ${glance.href} is the image-api Service`);

        const replicas = deployment.spec?.replicas ?? 1;
        assert.equal(replicas, overlay === 'ha' ? 3 : 1);
        assert.equal(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable, 0, 'a new pod is ready before an old one goes');
      });

      test('volume-scheduler: `alto serve volume-scheduler`, probes on block_storage.health.scheduler_port 8786, the database and the bus', async () => {
        const objects = objectsOf(overlay);
        const deployment = getObjectOrThrow<IDeployment>(objects, 'Deployment', 'volume-scheduler');
        const c = containerOf(deployment.spec?.template.spec, 'volume-scheduler');
        const config = await effectiveConfig(objects, c, 'volume-scheduler-0');
        assert.deepEqual(c.args, ['serve', 'volume-scheduler', '--config', '/etc/alto/alto.yaml']);
        assert.equal(config.block_storage.health.scheduler_port, 8786);
        assert.equal(config.block_storage.health.host, '0.0.0.0', 'the kubelet reaches the health port');
        assertHealthProbes(c, 8786, 'volume-scheduler');
        assert.equal(Number(deployment.spec?.template.metadata?.annotations?.['prometheus.io/port']), 8786);
        assert.match(config.bus.transport_url, /^rabbit:\/\//);
        assert.equal(deployment.spec?.replicas ?? 1, overlay === 'ha' ? 2 : 1);
      });

      test('volume-worker: a StatefulSet whose pods are backend hosts named after themselves, volumes and conversions on their own claim, a backup container beside the worker on the same claim and host with backups on volume-backups', async () => {
        const objects = objectsOf(overlay);
        const sts = getObjectOrThrow<IStatefulSet>(objects, 'StatefulSet', 'volume-worker');
        const spec = sts.spec?.template.spec;
        const worker = containerOf(spec, 'volume-worker');
        const backup = containerOf(spec, 'volume-backup');
        assert.deepEqual(worker.args, ['serve', 'volume-worker', '--config', '/etc/alto/alto.yaml']);
        assert.deepEqual(backup.args, ['serve', 'volume-backup', '--config', '/etc/alto/alto.yaml']);
        assert.equal(sts.spec?.replicas ?? 1, overlay === 'ha' ? 3 : 1);
        assert.equal(getObjectOrThrow<IService>(objects, 'Service', sts.spec?.serviceName ?? '').spec?.clusterIP, 'None', 'a headless governing Service');

        // two pods, two hosts: the host is the pod's own name (downward API), the same in both containers
        for (const pod of ['volume-worker-0', 'volume-worker-2']) {
          const w = await effectiveConfig(objects, worker, pod);
          const b = await effectiveConfig(objects, backup, pod);
          assert.equal(w.block_storage.default.host, pod, `${pod}: [DEFAULT] host is the pod name`);
          assert.equal(b.block_storage.default.host, pod, `${pod}: the backup container serves the same host`);
          assert.equal(b.data_dir, w.data_dir, 'the same data_dir, so the same backend directories');
        }
        for (const c of [worker, backup]) {
          const ref = c.env?.find((e) => e.name === 'ALTO_BLOCK_STORAGE__DEFAULT__HOST')?.valueFrom?.fieldRef?.fieldPath;
          assert.equal(ref, 'metadata.name', `${c.name}: host from the downward API`);
        }

        // data_dir (volumes/, volume-conversion/) is the volumeClaimTemplate, mounted whole and writable in both
        const config = await effectiveConfig(objects, worker, 'volume-worker-0');
        const templates = (sts.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name);
        assert.deepEqual(templates, ['data']);
        const dataMount = (c: IContainer) => c.volumeMounts?.find((m) => m.name === 'data');
        for (const c of [worker, backup]) {
          const m = dataMount(c);
          assert.ok(m && m.readOnly !== true && m.subPath === undefined, `${c.name} mounts the data claim writable, whole`);
          assert.equal(m.mountPath, config.data_dir, `${c.name}: the claim is data_dir`);
        }
        const bs = config.block_storage.default;
        assert.deepEqual(bs.enabled_backends, {}, 'the default file backend in ${data_dir}/volumes');
        assert.ok(bs.image_conversion_dir.startsWith(`${config.data_dir}/`), `image_conversion_dir ${bs.image_conversion_dir} is on the claim (images are volume-sized)`);
        const template = sts.spec?.volumeClaimTemplates?.[0];
        assert.deepEqual(template?.spec?.accessModes, ['ReadWriteOnce'], 'only its own pod mounts a host’s claim');
        assert.match(String(template?.spec?.resources?.requests?.storage), /^\d+Gi$/);

        // backups: the volume-backups claim, only in the backup container, at backup_posix_path
        const backupVolume = spec?.volumes?.find((v) => v.persistentVolumeClaim?.claimName === 'volume-backups');
        assert.ok(backupVolume, 'the pod mounts the volume-backups claim');
        const backupMount = backup.volumeMounts?.find((m) => m.name === backupVolume.name);
        assert.ok(backupMount && backupMount.readOnly !== true);
        assert.ok(`${bs.backup_posix_path}/`.startsWith(`${backupMount.mountPath}/`), `backup_posix_path ${bs.backup_posix_path} is on the claim`);
        assert.equal(worker.volumeMounts?.some((m) => m.name === backupVolume.name), false, 'the volume worker does not touch backups');
        const pvc = getObjectOrThrow<K8sObject & { spec: { accessModes: string[] } }>(objects, 'PersistentVolumeClaim', 'volume-backups');
        assert.deepEqual(pvc.spec.accessModes, [overlay === 'ha' ? 'ReadWriteMany' : 'ReadWriteOnce'], 'every host restores every backup in ha');
        assert.equal(spec?.securityContext?.fsGroup, spec?.securityContext?.runAsGroup, 'the claims are writable by the group alto runs as');
        assert.equal(spec?.securityContext?.fsGroupChangePolicy, 'OnRootMismatch', 'volumes are not chowned on every mount');

        // health ports: block_storage.health.worker_port and backup_port, one per container of the shared network namespace
        assert.equal(config.block_storage.health.worker_port, 8787);
        assert.equal(config.block_storage.health.backup_port, 8788);
        assertHealthProbes(worker, 8787, 'volume-worker');
        assertHealthProbes(backup, 8788, 'volume-backup');
        assert.equal(Number(sts.spec?.template.metadata?.annotations?.['prometheus.io/port']), 8787);
      });

      test('block storage Jobs: db-sync runs `alto db sync block-storage`; register runs `alto register block-storage` with the passwords bootstrap and volume-api use, internal and admin URLs through the Service', async () => {
        const objects = objectsOf(overlay);
        const dbSync = getObjectOrThrow<IJob>(objects, 'Job', 'block-storage-db-sync');
        const register = getObjectOrThrow<IJob>(objects, 'Job', 'block-storage-register');
        for (const job of [dbSync, register]) {
          const id = `Job/${job.metadata?.name}`;
          assert.ok((job.spec?.backoffLimit ?? 6) > 0 && (job.spec?.backoffLimit ?? 0) <= 20, `${id} backoffLimit`);
          assert.ok((job.spec?.ttlSecondsAfterFinished ?? 0) > 0, `${id} ttlSecondsAfterFinished`);
          assert.ok((job.spec?.activeDeadlineSeconds ?? 0) > 0, `${id} activeDeadlineSeconds`);
          assert.equal(job.spec?.template.spec?.restartPolicy, 'Never', `${id} restartPolicy`);
        }
        assert.deepEqual(dbSync.spec?.template.spec?.containers.map((c) => c.args?.slice(0, 3)), [['db', 'sync', 'block-storage']]);
        const rc = register.spec?.template.spec?.containers[0];
        assert.ok(rc);
        assert.deepEqual(rc.args?.slice(0, 2), ['register', 'block-storage']);
        const option = (name: string) => rc.args?.[(rc.args.indexOf(name) ?? -2) + 1];
        const wait = Number(option('--wait'));
        assert.ok(wait > 0 && wait < (register.spec?.activeDeadlineSeconds ?? 0), `--wait ${wait} s within activeDeadlineSeconds`);
        assert.equal(rc.args?.includes('--public-url'), false, 'the public URL is block_storage.api.public_endpoint, the one checked against the Ingress');
        for (const name of ['--internal-url', '--admin-url']) {
          const url = new URL(option(name) ?? '');
          const service = getObjectOrThrow<IService>(objects, 'Service', url.hostname);
          assert.equal(service.metadata?.name, 'volume-api', `${name} ${url.href}`);
          assert.ok(service.spec?.ports?.some((p) => p.port === Number(url.port)), `${name} ${url.href} is a port of the Service`);
        }
        const config = await effectiveConfig(objects, rc, 'block-storage-register-0');
        assert.equal(config.block_storage.keystone_authtoken.project_name, config.bootstrap.service_project_name, 'cinder gets its roles on the project bootstrap makes');
        const bootstrap = getObjectOrThrow<IJob>(objects, 'Job', 'identity-bootstrap').spec?.template.spec?.containers[0];
        assert.equal(secretRefOf(rc, 'ALTO_ADMIN_PASSWORD'), secretRefOf(bootstrap, 'ALTO_ADMIN_PASSWORD'));
        const api = containerOf(getObjectOrThrow<IDeployment>(objects, 'Deployment', 'volume-api').spec?.template.spec, 'volume-api');
        const worker = containerOf(getObjectOrThrow<IStatefulSet>(objects, 'StatefulSet', 'volume-worker').spec?.template.spec, 'volume-worker');
        const password = 'ALTO_BLOCK_STORAGE__KEYSTONE_AUTHTOKEN__PASSWORD';
        assert.equal(secretRefOf(rc, password), 'alto-secrets/cinder-password');
        assert.equal(secretRefOf(api, password), secretRefOf(rc, password), 'volume-api validates tokens as the user register made');
        assert.equal(secretRefOf(worker, password), secretRefOf(rc, password), 'the worker moves images as that user');
      });

      test('the block storage database: the init scripts create it with the user and password block storage pods connect with', () => {
        const objects = objectsOf(overlay);
        const db = getObjectOrThrow<IStatefulSet>(objects, 'StatefulSet', overlay === 'ha' ? 'mariadb' : 'postgres');
        const dbSpec = db.spec?.template.spec;
        const c = dbSpec?.containers[0];
        assert.ok(dbSpec && c);
        const env = resolveEnv(objects, NAMESPACE, c, { 'metadata.name': `${db.metadata?.name}-0`, 'status.podIP': '10.1.2.3' }).env;
        const api = resolveEnv(objects, NAMESPACE, containerOf(getObjectOrThrow<IDeployment>(objects, 'Deployment', 'volume-api').spec?.template.spec, 'volume-api')).env;
        for (const key of ['BLOCK_STORAGE_DB_USER', 'BLOCK_STORAGE_DB_NAME', 'BLOCK_STORAGE_DB_PASSWORD']) {
          assert.ok(env.get(key), `${db.metadata?.name} has ${key} for its init script`);
          assert.equal(env.get(key), api.get(key), `${key}: the database creates what volume-api logs in with`);
        }
        assert.notEqual(api.get('BLOCK_STORAGE_DB_PASSWORD'), api.get('IMAGE_DB_PASSWORD'), 'its own password');
        const initMount = c.volumeMounts?.find((m) => m.mountPath === '/docker-entrypoint-initdb.d');
        const initVolume = dbSpec.volumes?.find((v) => v.name === initMount?.name);
        const cm = getObjectOrThrow(objects, 'ConfigMap', initVolume?.configMap?.name ?? '(no init volume)');
        const items = initVolume?.configMap?.items?.map((i) => i.key) ?? Object.keys(dataOf(cm));
        const script = items.map((k) => dataOf(cm)[k] ?? '').find((text) => text.includes('BLOCK_STORAGE_DB_NAME'));
        assert.ok(script, 'an init script the database mounts creates the block storage database');
        // idempotent, so a cluster that predates block storage runs it by hand (docs/block-storage-kubernetes.md)
        assert.match(script, overlay === 'ha' ? /IF NOT EXISTS[\s\S]*IF NOT EXISTS/ : /WHERE NOT EXISTS[\s\S]*WHERE NOT EXISTS/);
      });
    });
  }

  test('the image the volume-worker pods run has qemu-img: the Containerfile’s final stage installs qemu-utils (the file backend makes and converts volumes with it)', () => {
    const final = readContainerfile().stages.at(-1);
    assert.ok(final, 'the Containerfile has a final stage');
    const installs = final.instructions.filter((i) => i.keyword === 'RUN' && /apt-get\s+install/.test(i.rest));
    assert.ok(installs.some((i) => /(^|\s)qemu-utils(\s|$)/.test(i.rest)), `a RUN apt-get install of qemu-utils in the final stage; it has: ${installs.map((i) => i.rest).join(' | ') || 'no apt-get install'}`);
  });

  test('ha: volume-api spreads 3 replicas over nodes, schedulers and worker hosts prefer different nodes, and PDBs let a drain take one of each at a time', () => {
    const objects = objectsOf('ha');
    const api = getObjectOrThrow<IDeployment>(objects, 'Deployment', 'volume-api').spec?.template.spec;
    assert.ok((api?.topologySpreadConstraints ?? []).some((t) => t.topologyKey === 'kubernetes.io/hostname' && t.whenUnsatisfiable === 'DoNotSchedule'), 'volume-api spread over nodes');
    const pdbs = objects.filter((o): o is K8sObject & IPodDisruptionBudget => o.kind === 'PodDisruptionBudget');
    for (const [kind, name] of [['Deployment', 'volume-api'], ['Deployment', 'volume-scheduler'], ['StatefulSet', 'volume-worker']] as const) {
      const workload = getObjectOrThrow<IDeployment | IStatefulSet>(objects, kind, name);
      const terms = workload.spec?.template.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      assert.ok(terms.some((t) => t.podAffinityTerm.topologyKey === 'kubernetes.io/hostname' && t.podAffinityTerm.labelSelector?.matchLabels?.['app.kubernetes.io/name'] === name), `${name} anti-affinity`);
      const labels = workload.spec?.template.metadata?.labels ?? {};
      const pdb = pdbs.find((p) => Object.entries(p.spec?.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v));
      assert.equal(pdb?.spec?.maxUnavailable, 1, `a PodDisruptionBudget covers ${name}`);
      assert.ok((workload.spec?.replicas ?? 1) >= 2, `${name}: a drain leaves one serving`);
    }
    assert.equal(objectsOf('single-node').some((o) => o.kind === 'PodDisruptionBudget'), false, 'a PDB on one replica would block node drains');
  });
});
