// What a kubelet would give a container, computed from the render: its environment, its volumes' files, and references to other objects.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { K8sObject } from './render.js';

export type { IContainer, IPodSpec };

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

/** The pod template of a workload, or undefined for objects that run no pods. */
export function podSpecOf(o: K8sObject): IPodSpec | undefined {
  if (o.kind === 'CronJob') {
    return (o as { spec?: { jobTemplate?: { spec?: { template?: { spec?: IPodSpec } } } } }).spec?.jobTemplate?.spec?.template?.spec;
  }
  if (!WORKLOAD_KINDS.has(o.kind)) return undefined;
  return (o as { spec?: { template?: { spec?: IPodSpec } } }).spec?.template?.spec;
}

export function podLabelsOf(o: K8sObject): Record<string, string> {
  if (o.kind === 'CronJob') {
    return (o as { spec?: { jobTemplate?: { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } } } }).spec?.jobTemplate?.spec?.template?.metadata?.labels ?? {};
  }
  return (o as { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }).spec?.template?.metadata?.labels ?? {};
}

export function allContainers(spec: IPodSpec): IContainer[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/** A ConfigMap's or Secret's data as text, Secret values base64-decoded, as a kubelet hands them out. */
export function dataOf(o: K8sObject): Record<string, string> {
  if (o.kind === 'ConfigMap') {
    const cm = o as unknown as IConfigMap;
    const binary = Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    return { ...(cm.data ?? {}), ...binary };
  }
  if (o.kind === 'Secret') {
    const s = o as unknown as ISecret;
    const decoded = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    return { ...decoded, ...(s.stringData ?? {}) };
  }
  throw new Error(`${o.kind} ${o.metadata.name} holds no data`);
}

/** A reference from a pod spec to a ConfigMap or Secret (optionally one key of it). */
export interface ObjectRef {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  key?: string;
  optional: boolean;
  /** Where in the pod spec, for messages. */
  where: string;
}

/** Every ConfigMap and Secret reference of a pod spec: env, envFrom, volumes (with their items), projected sources. */
export function objectRefs(spec: IPodSpec): ObjectRef[] {
  const refs: ObjectRef[] = [];
  for (const c of allContainers(spec)) {
    for (const [i, e] of (c.env ?? []).entries()) {
      const where = `container ${c.name} env[${i}] ${e.name}`;
      const cm = e.valueFrom?.configMapKeyRef;
      if (cm) refs.push({ kind: 'ConfigMap', name: cm.name ?? '', key: cm.key, optional: cm.optional ?? false, where });
      const s = e.valueFrom?.secretKeyRef;
      if (s) refs.push({ kind: 'Secret', name: s.name ?? '', key: s.key, optional: s.optional ?? false, where });
    }
    for (const [i, e] of (c.envFrom ?? []).entries()) {
      const where = `container ${c.name} envFrom[${i}]`;
      if (e.configMapRef) refs.push({ kind: 'ConfigMap', name: e.configMapRef.name ?? '', optional: e.configMapRef.optional ?? false, where });
      if (e.secretRef) refs.push({ kind: 'Secret', name: e.secretRef.name ?? '', optional: e.secretRef.optional ?? false, where });
    }
  }
  const fromVolume = (v: IVolume) => {
    const where = `volume ${v.name}`;
    if (v.configMap) {
      refs.push({ kind: 'ConfigMap', name: v.configMap.name ?? '', optional: v.configMap.optional ?? false, where });
      for (const item of v.configMap.items ?? []) refs.push({ kind: 'ConfigMap', name: v.configMap.name ?? '', key: item.key, optional: v.configMap.optional ?? false, where });
    }
    if (v.secret) {
      refs.push({ kind: 'Secret', name: v.secret.secretName ?? '', optional: v.secret.optional ?? false, where });
      for (const item of v.secret.items ?? []) refs.push({ kind: 'Secret', name: v.secret.secretName ?? '', key: item.key, optional: v.secret.optional ?? false, where });
    }
    for (const src of v.projected?.sources ?? []) {
      if (src.configMap) for (const item of src.configMap.items ?? [{ key: undefined }]) refs.push({ kind: 'ConfigMap', name: src.configMap.name ?? '', ...(item.key ? { key: item.key } : {}), optional: src.configMap.optional ?? false, where });
      if (src.secret) for (const item of src.secret.items ?? [{ key: undefined }]) refs.push({ kind: 'Secret', name: src.secret.name ?? '', ...(item.key ? { key: item.key } : {}), optional: src.secret.optional ?? false, where });
    }
  };
  for (const v of spec.volumes ?? []) fromVolume(v);
  return refs;
}

/** Resolves a reference in the render; a message when it does not resolve. */
export function resolveRef(objects: readonly K8sObject[], namespace: string | undefined, ref: ObjectRef): string | undefined {
  const target = objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name && o.metadata.namespace === namespace);
  if (!target) return ref.optional ? undefined : `${ref.where}: no ${ref.kind} ${ref.name} in namespace ${namespace ?? '(none)'}`;
  if (ref.key !== undefined && !(ref.key in dataOf(target))) return ref.optional ? undefined : `${ref.where}: ${ref.kind} ${ref.name} has no key ${ref.key}`;
  return undefined;
}

/** Environment variable names a kubelet accepts from envFrom (others are skipped with an event). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * Kubernetes' $(VAR) expansion (k8s.io/kubernetes third_party/forked/golang/expansion): `$$` is a
 * literal `$`, `$(NAME)` is replaced when NAME is defined so far and left as written otherwise.
 */
export function expandK8s(input: string, vars: ReadonlyMap<string, string>): { value: string; undefinedRefs: string[] } {
  let out = '';
  const undefinedRefs: string[] = [];
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = vars.get(name);
      if (v === undefined) {
        undefinedRefs.push(name);
        out += `$(${name})`;
      } else {
        out += v;
      }
      i = close;
    } else {
      out += c;
    }
  }
  return { value: out, undefinedRefs };
}

export interface ResolvedEnv {
  env: Map<string, string>;
  /** `NAME: $(REF)` references that nothing defined before them: Kubernetes would pass them on literally. */
  undefinedRefs: string[];
  /** Values that came from a Secret, to check that nothing else carries them. */
  fromSecrets: Set<string>;
}

/** Pod fields a downward-API fieldRef may read; the caller says what they are for this run. */
export type PodFields = Record<string, string>;

/** A container's environment as the kubelet builds it: envFrom in order, then env in order with expansion. */
export function resolveEnv(objects: readonly K8sObject[], namespace: string | undefined, c: IContainer, fields: PodFields = {}): ResolvedEnv {
  const env = new Map<string, string>();
  const undefinedRefs: string[] = [];
  const fromSecrets = new Set<string>();
  const lookup = (kind: 'ConfigMap' | 'Secret', name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
  for (const src of c.envFrom ?? []) {
    const ref = src.configMapRef ?? src.secretRef;
    const kind = src.configMapRef ? 'ConfigMap' : 'Secret';
    const target = lookup(kind, ref?.name ?? '');
    if (!target) {
      if (ref?.optional) continue;
      throw new Error(`container ${c.name}: envFrom ${kind} ${ref?.name} is not in the render`);
    }
    for (const [k, v] of Object.entries(dataOf(target))) {
      const name = `${src.prefix ?? ''}${k}`;
      if (!ENV_NAME.test(name)) continue;
      env.set(name, v);
      if (kind === 'Secret') fromSecrets.add(v);
    }
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) {
      const r = expandK8s(e.value, env);
      undefinedRefs.push(...r.undefinedRefs.map((n) => `${e.name}: $(${n})`));
      env.set(e.name, r.value);
      continue;
    }
    const vf = e.valueFrom;
    if (vf?.configMapKeyRef || vf?.secretKeyRef) {
      const ref = vf.configMapKeyRef ?? vf.secretKeyRef;
      const kind = vf.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const target = lookup(kind, ref?.name ?? '');
      const value = target ? dataOf(target)[ref?.key ?? ''] : undefined;
      if (value === undefined) {
        if (ref?.optional) continue;
        throw new Error(`container ${c.name}: env ${e.name} refers to ${kind} ${ref?.name} key ${ref?.key}, which the render does not have`);
      }
      env.set(e.name, value);
      if (kind === 'Secret') fromSecrets.add(value);
    } else if (vf?.fieldRef) {
      const value = fields[vf.fieldRef.fieldPath];
      if (value === undefined) throw new Error(`container ${c.name}: env ${e.name} reads pod field ${vf.fieldRef.fieldPath}, which this run does not provide`);
      env.set(e.name, value);
    } else if (vf?.resourceFieldRef) {
      throw new Error(`container ${c.name}: env ${e.name} uses resourceFieldRef, which this test does not model`);
    } else {
      env.set(e.name, '');
    }
  }
  return { env, undefinedRefs, fromSecrets };
}

/** A volume mount made real: the mountPath and where its content now is on this machine. */
export interface MountedPath {
  mountPath: string;
  localPath: string;
  /** What the volume is made of: a ConfigMap's files may name other paths and hosts and get mapped too. */
  source: 'ConfigMap' | 'Secret' | 'emptyDir' | 'claim';
}

/**
 * Writes what each of the container's volume mounts would show (ConfigMap and Secret files with
 * their modes, empty directories for emptyDir and claims) under `root`, and returns the mapping
 * from mountPath to local path.
 */
export async function materializeMounts(
  objects: readonly K8sObject[],
  namespace: string | undefined,
  spec: IPodSpec,
  c: IContainer,
  root: string,
  /** A StatefulSet's volumeClaimTemplates: empty directories here. */
  claims: ReadonlySet<string> = new Set(),
): Promise<MountedPath[]> {
  const mounted: MountedPath[] = [];
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  for (const [i, m] of (c.volumeMounts ?? []).entries()) {
    const volume = volumes.get(m.name);
    const volumeDir = join(root, 'volumes', `${i}-${m.name}`);
    await mkdir(volumeDir, { recursive: true });
    let source: MountedPath['source'] = volume?.emptyDir ? 'emptyDir' : 'claim';
    if (volume?.configMap || volume?.secret) {
      const kind = volume.configMap ? 'ConfigMap' : 'Secret';
      source = kind;
      const name = volume.configMap?.name ?? volume.secret?.secretName ?? '';
      const target = objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
      if (!target) throw new Error(`volume ${m.name}: ${kind} ${name} is not in the render`);
      const data = dataOf(target);
      const src = volume.configMap ?? volume.secret;
      const defaultMode = src?.defaultMode ?? 0o644;
      const items = src?.items ?? Object.keys(data).map((key) => ({ key, path: key, mode: undefined }));
      for (const item of items) {
        const content = data[item.key];
        if (content === undefined) throw new Error(`volume ${m.name}: ${kind} ${name} has no key ${item.key}`);
        const file = join(volumeDir, item.path);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, content);
        await chmod(file, item.mode ?? defaultMode);
      }
    } else if (!volume?.emptyDir && !claims.has(m.name) && !volume?.persistentVolumeClaim) {
      throw new Error(`volume ${m.name}: kind not modelled by this test`);
    }
    mounted.push({ mountPath: m.mountPath, localPath: m.subPath ? join(volumeDir, m.subPath) : volumeDir, source });
  }
  return mounted;
}

/**
 * Replaces mount paths in a string (args, env values, config files) with their local paths, in
 * one pass, longest first, only where a whole path starts: /etc/alto/alto.yaml, not /x/etc/alto.
 */
export function mapPaths(text: string, mounts: readonly MountedPath[]): string {
  if (mounts.length === 0) return text;
  const sorted = [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length);
  const escaped = sorted.map((m) => m.mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`(^|[\\s"'=:,\\[])(${escaped.join('|')})(?=$|[/\\s"',\\]])`, 'g');
  return text.replace(re, (_all, lead: string, path: string) => lead + (sorted.find((m) => m.mountPath === path)?.localPath ?? path));
}

/**
 * Stands in for cluster DNS: `name[.<namespace>[.svc[.cluster.local]]]:port` of a Service is
 * replaced with the local address started for it; other hosts are left alone.
 */
export function mapServiceHosts(text: string, endpoints: ReadonlyMap<string, string>, namespace: string): string {
  const suffixes = ['', `.${namespace}`, `.${namespace}.svc`, `.${namespace}.svc.cluster.local`];
  return text.replace(/(?<![A-Za-z0-9.-])([A-Za-z0-9-]+)((?:\.[A-Za-z0-9-]+)*):(\d+)/g, (all, name: string, suffix: string, port: string) => {
    if (!suffixes.includes(suffix)) return all;
    return endpoints.get(`${name}:${port}`) ?? all;
  });
}
