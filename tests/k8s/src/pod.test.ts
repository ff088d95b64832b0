// Unit tests of the kubelet stand-ins the manifest tests rely on: $(VAR) expansion, env resolution, path and host mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandK8s, mapPaths, mapServiceHosts, resolveEnv } from './pod.js';
import type { K8sObject } from './render.js';

test('expandK8s follows Kubernetes: defined $(VAR) replaced, undefined kept and reported, $$ escapes', () => {
  const vars = new Map([
    ['A', 'x'],
    ['B', 'y:z'],
  ]);
  assert.deepEqual(expandK8s('$(A)-$(B)', vars), { value: 'x-y:z', undefinedRefs: [] });
  assert.deepEqual(expandK8s('$(C)/$(A)', vars), { value: '$(C)/x', undefinedRefs: ['C'] });
  assert.deepEqual(expandK8s('$$(A) $ $x $(A', vars), { value: '$(A) $ $x $(A', undefinedRefs: [] });
});

test('resolveEnv: envFrom first, then env in order, each seeing only what came before; Secret values decoded', () => {
  const objects: K8sObject[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ns' }, data: { HOST: 'db', 'bad key': 'skipped' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' }, data: { pw: Buffer.from('sekret').toString('base64') } },
  ];
  const r = resolveEnv(objects, 'ns', {
    name: 'c',
    envFrom: [{ configMapRef: { name: 'cm' } }],
    env: [
      { name: 'URL', value: 'pg://u:$(PW)@$(HOST)' },
      { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
      { name: 'URL2', value: 'pg://u:$(PW)@$(HOST)' },
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
  }, { 'metadata.name': 'p-0' });
  assert.equal(r.env.get('URL'), 'pg://u:$(PW)@db');
  assert.deepEqual(r.undefinedRefs, ['URL: $(PW)']);
  assert.equal(r.env.get('URL2'), 'pg://u:sekret@db');
  assert.equal(r.env.get('POD'), 'p-0');
  assert.equal(r.env.has('bad key'), false);
  assert.deepEqual([...r.fromSecrets], ['sekret']);
  assert.throws(() => resolveEnv(objects, 'other', { name: 'c', envFrom: [{ configMapRef: { name: 'cm' } }] }), /not in the render/);
});

test('mapPaths replaces whole mount paths, longest first, in one pass', () => {
  const mounts = [
    { mountPath: '/etc/alto/alto.yaml', localPath: '/tmp/x/cfg/alto.yaml', source: 'ConfigMap' as const },
    { mountPath: '/etc/alto/fernet-keys', localPath: '/tmp/x/keys', source: 'Secret' as const },
    { mountPath: '/tmp', localPath: '/tmp/x/tmp', source: 'emptyDir' as const },
  ];
  assert.equal(mapPaths('--config /etc/alto/alto.yaml', mounts), '--config /tmp/x/cfg/alto.yaml');
  assert.equal(mapPaths('key_repository: /etc/alto/fernet-keys\ndata_dir: /tmp/alto', mounts), 'key_repository: /tmp/x/keys\ndata_dir: /tmp/x/tmp/alto');
  assert.equal(mapPaths('/opt/etc/alto/alto.yaml /tmpfoo', mounts), '/opt/etc/alto/alto.yaml /tmpfoo');
});

test('mapServiceHosts rewrites only in-namespace Service names with a known port', () => {
  const endpoints = new Map([['postgres:5432', '127.0.0.1:6000']]);
  const map = (s: string) => mapServiceHosts(s, endpoints, 'altostratus');
  assert.equal(map('postgresql://u:p@postgres:5432/identity'), 'postgresql://u:p@127.0.0.1:6000/identity');
  assert.equal(map('postgresql://u:p@postgres.altostratus.svc.cluster.local:5432/x'), 'postgresql://u:p@127.0.0.1:6000/x');
  assert.equal(map('postgresql://u:p@postgres.other:5432/x'), 'postgresql://u:p@postgres.other:5432/x');
  assert.equal(map('postgresql://u:p@postgres:5433/x'), 'postgresql://u:p@postgres:5433/x');
  assert.equal(map('http://mypostgres:5432'), 'http://mypostgres:5432');
});
