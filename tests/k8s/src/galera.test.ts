// Runs the ha overlay's Galera start script (as its ConfigMap mounts it) with a stand-in for the mariadb image's entrypoint: who creates the cluster, who joins, where the SST password goes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { copyDeployWithSecrets, getObjectOrThrow, kubectlMissing, render, type DeployCopy, type K8sObject } from './render.js';
import { mapPaths, materializeMounts, resolveEnv, type MountedPath } from './pod.js';

const NAMESPACE = 'altostratus';

describe('ha overlay: the Galera member start script', { skip: kubectlMissing() }, () => {
  let copy: DeployCopy;
  let objects: K8sObject[];
  let work: string;

  before(async () => {
    copy = await copyDeployWithSecrets();
    objects = render(copy.overlayDir('ha'));
    work = await mkdtemp(join(tmpdir(), 'alto-k8s-galera-'));
  });
  after(async () => {
    await copy?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /**
   * Runs the mariadb container's command for pod `pod` with a fake `docker-entrypoint.sh` on
   * PATH that records its arguments. The data and run directories are the materialized volumes.
   */
  async function startMember(pod: string, opts: { podIp: string; service: string; grastate?: boolean }) {
    const sts = getObjectOrThrow<IStatefulSet>(objects, 'StatefulSet', 'mariadb');
    const spec = sts.spec?.template.spec;
    const c = spec?.containers.find((x) => x.name === 'mariadb');
    assert.ok(spec && c?.command, 'the mariadb container has a command');
    const root = await mkdtemp(join(work, `${pod}-`));
    const claims = new Set((sts.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? ''));
    const mounts: MountedPath[] = await materializeMounts(objects, NAMESPACE, spec, c, root, claims);
    const local = (path: string) => mounts.find((m) => m.mountPath === path)?.localPath ?? assert.fail(`${path} is not mounted`);
    if (opts.grastate) await writeFile(join(local('/var/lib/mysql'), 'grastate.dat'), '# GALERA saved state\nversion: 2.1\nsafe_to_bootstrap: 0\n');
    const bin = join(root, 'bin');
    await mkdir(bin);
    const record = join(root, 'entrypoint-args');
    await writeFile(join(bin, 'docker-entrypoint.sh'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > '${record}'\n`);
    await chmod(join(bin, 'docker-entrypoint.sh'), 0o755);
    const { env } = resolveEnv(objects, NAMESPACE, c, { 'metadata.name': pod, 'status.podIP': opts.podIp });
    const r = spawnSync(c.command[0] ?? 'bash', c.command.slice(1).map((a) => mapPaths(a, mounts)), {
      env: {
        ...Object.fromEntries(env),
        HOSTNAME: pod,
        // what the script's defaults point at, made local
        DATADIR: local('/var/lib/mysql'),
        RUNDIR: local('/run/galera'),
        GALERA_SERVICE: opts.service,
        PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, `start.sh for ${pod}: ${r.stderr}`);
    const args = readFileSync(record, 'utf8').trim().split('\n');
    const memberCnf = join(local('/run/galera'), 'member.cnf');
    return { args, stderr: r.stderr, memberCnf, sstPassword: env.get('GALERA_SST_PASSWORD') ?? '' };
  }

  test('mariadb-0 with no data and no member answering creates the cluster; the SST password is only in a 0600 file', async () => {
    const m = await startMember('mariadb-0', { podIp: '127.0.0.3', service: 'nothing-resolves.invalid' });
    assert.equal(m.args[0], 'mariadbd');
    assert.ok(m.args.includes('--wsrep-new-cluster'), m.args.join(' '));
    assert.ok(m.args.includes(`--defaults-extra-file=${m.memberCnf}`), m.args.join(' '));
    assert.ok(m.sstPassword.length >= 16);
    assert.ok(!m.args.some((a) => a.includes(m.sstPassword)), 'the password is not on the command line');
    const cnf = readFileSync(m.memberCnf, 'utf8');
    assert.match(cnf, new RegExp(`^wsrep_sst_auth = mariabackup:${m.sstPassword}$`, 'm'));
    assert.match(cnf, /^wsrep_node_name = mariadb-0$/m);
    assert.match(cnf, /^wsrep_node_address = 127\.0\.0\.3$/m);
    assert.equal(statSync(m.memberCnf).mode & 0o777, 0o600);
  });

  test('mariadb-1 joins, never creates a cluster', async () => {
    const m = await startMember('mariadb-1', { podIp: '127.0.0.4', service: 'nothing-resolves.invalid' });
    assert.ok(!m.args.includes('--wsrep-new-cluster'), m.args.join(' '));
    assert.ok(m.args.includes('--wsrep-cluster-address=gcomm://nothing-resolves.invalid'), m.args.join(' '));
  });

  test('mariadb-0 with data (a restart) joins the others instead of creating a second cluster', async () => {
    const m = await startMember('mariadb-0', { podIp: '127.0.0.3', service: 'nothing-resolves.invalid', grastate: true });
    assert.ok(!m.args.includes('--wsrep-new-cluster'), m.args.join(' '));
  });

  test('mariadb-0 with an empty (replaced) volume joins when another member answers on 4567, listing the members by address', async () => {
    // another member, reachable at the address the headless Service name resolves to
    const peer: Server = createServer((s) => s.destroy());
    await new Promise<void>((resolve, reject) => {
      peer.once('error', reject);
      peer.listen(4567, '127.0.0.2', resolve);
    });
    try {
      const m = await startMember('mariadb-0', { podIp: '127.0.0.3', service: '127.0.0.2' });
      assert.ok(!m.args.includes('--wsrep-new-cluster'), `${m.args.join(' ')}\n${m.stderr}`);
      assert.ok(m.args.includes('--wsrep-cluster-address=gcomm://127.0.0.2'), m.args.join(' '));
    } finally {
      await new Promise((resolve) => peer.close(resolve));
    }
  });

  test('the probe and SST-user scripts are valid bash', () => {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('mariadb-galera-')) as { data?: Record<string, string> } | undefined;
    for (const key of ['probe.sh', '10-sst-user.sh', 'start.sh']) {
      const script = cm?.data?.[key];
      assert.ok(script, key);
      const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
      assert.equal(r.status, 0, `${key}: ${r.stderr}`);
    }
  });
});
