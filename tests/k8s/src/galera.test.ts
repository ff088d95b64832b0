// Runs the ha overlay's Galera start script (as its ConfigMap mounts it) with a stand-in for the mariadb image's entrypoint: who creates the cluster, who joins, where the SST password goes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { copyDeployWithSecrets, getObjectOrThrow, kubectlMissing, render, repoRoot, type DeployCopy, type K8sObject } from './render.js';
import { mapPaths, materializeMounts, resolveEnv, type MountedPath } from './pod.js';

const NAMESPACE = 'altostratus';

function mariadbMissing(): string | undefined {
  const found = ['/usr/sbin/mariadbd', '/usr/bin/mariadbd'].some((p) => existsSync(p)) && existsSync('/usr/bin/mariadb');
  return found ? undefined : 'MariaDB server is not installed (scripts/services/install-debs.sh mariadb)';
}

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

  test('the probe, SST-user, image-database and block-storage-database scripts are valid bash', () => {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('mariadb-galera-')) as { data?: Record<string, string> } | undefined;
    for (const key of ['probe.sh', '10-sst-user.sh', '20-image-database.sh', '30-block-storage-database.sh', 'start.sh']) {
      const script = cm?.data?.[key];
      assert.ok(script, key);
      const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
      assert.equal(r.status, 0, `${key}: ${r.stderr}`);
    }
  });

  test('the image-database and block-storage-database scripts create their databases and users on a real MariaDB, sourced by the entrypoint on first start and run again by hand (idempotent)', { skip: mariadbMissing() }, async (t) => {
    const sts = getObjectOrThrow<IStatefulSet>(objects, 'StatefulSet', 'mariadb');
    const spec = sts.spec?.template.spec;
    const c = spec?.containers.find((x) => x.name === 'mariadb');
    assert.ok(spec && c);
    const root = await mkdtemp(join(work, 'image-db-'));
    const mounts = await materializeMounts(objects, NAMESPACE, spec, c, root, new Set((sts.spec?.volumeClaimTemplates ?? []).map((x) => x.metadata?.name ?? '')));
    const script = join(mounts.find((m) => m.mountPath === '/docker-entrypoint-initdb.d')?.localPath ?? assert.fail('no initdb mount'), '20-image-database.sh');
    const env = Object.fromEntries(resolveEnv(objects, NAMESPACE, c, { 'metadata.name': 'mariadb-0', 'status.podIP': '127.0.0.1' }).env);
    const port = await freePort();
    const svcRoot = await mkdtemp(join(tmpdir(), 'alto-k8s-mariadb-'));
    await chmod(svcRoot, 0o755);
    const svcEnv = { ...process.env, ALTO_SVC_ROOT: svcRoot, ALTO_SVC_RESERVE_PORTS: '0', MY_PORT: String(port) };
    const started = spawnSync(join(repoRoot, 'scripts', 'services', 'mariadb.sh'), ['start'], { env: svcEnv, encoding: 'utf8', timeout: 180_000 });
    try {
      assert.equal(started.status, 0, `mariadb.sh start: ${started.stderr}`);
      // the server as the mariadb image leaves it: root has MARIADB_ROOT_PASSWORD; clients use the default socket
      const admin = /^MYSQL_ADMIN=mariadb (--defaults-file=\S+)/m.exec(started.stdout)?.[1];
      assert.ok(admin, started.stdout);
      const bin = join(root, 'bin');
      await mkdir(bin);
      await writeFile(join(bin, 'mariadb'), `#!/bin/sh\nexec /usr/bin/mariadb ${admin} "$@"\n`, { mode: 0o755 });
      const rootPassword = env.MARIADB_ROOT_PASSWORD ?? '';
      const setRoot = spawnSync('mariadb', [admin, '-uroot', '-e', `ALTER USER root@localhost IDENTIFIED BY '${rootPassword}'`], { encoding: 'utf8' });
      assert.equal(setRoot.status, 0, setRoot.stderr);
      const runEnv = { ...env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
      // 1. sourced by the entrypoint on the first initialisation: its docker_process_sql runs SQL as root
      const entrypoint = `docker_process_sql() { MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb --protocol=socket -uroot "$@"; }\nset -e\n. '${script}'\n`;
      const first = spawnSync('bash', ['-c', entrypoint], { env: runEnv, encoding: 'utf8', timeout: 60_000 });
      assert.equal(first.status, 0, `sourced: ${first.stderr}`);
      // 2. by hand on a running member (kubectl exec ... bash <script>), twice: nothing fails, nothing changes
      for (const round of [1, 2]) {
        const r = spawnSync('bash', [script], { env: runEnv, encoding: 'utf8', timeout: 60_000 });
        assert.equal(r.status, 0, `by hand, run ${round}: ${r.stderr}`);
      }
      // the image pods' login: over TCP, with their password, owning their database
      const login = spawnSync('/usr/bin/mariadb', ['--no-defaults', '-h127.0.0.1', `-P${port}`, `-u${env.IMAGE_DB_USER}`, `-p${env.IMAGE_DB_PASSWORD}`, env.IMAGE_DB_NAME ?? '', '-e', 'CREATE TABLE probe (id INT PRIMARY KEY); DROP TABLE probe; SELECT DATABASE()'], { encoding: 'utf8' });
      assert.equal(login.status, 0, login.stderr);
      assert.match(login.stdout, new RegExp(`^${env.IMAGE_DB_NAME}$`, 'm'));
      const other = spawnSync('/usr/bin/mariadb', ['--no-defaults', '-h127.0.0.1', `-P${port}`, `-u${env.IMAGE_DB_USER}`, `-p${env.IMAGE_DB_PASSWORD}`, '-e', 'CREATE DATABASE not_image'], { encoding: 'utf8' });
      assert.notEqual(other.status, 0, 'the image user has rights on its own database only');
      t.diagnostic(`${env.IMAGE_DB_USER}@${env.IMAGE_DB_NAME}: created when sourced, unchanged by two runs by hand, TCP login and DDL work`);

      // the block storage database and user, the same way, on the same server
      const bsScript = join(dirname(script), '30-block-storage-database.sh');
      const bsFirst = spawnSync('bash', ['-c', entrypoint.replace(script, bsScript)], { env: runEnv, encoding: 'utf8', timeout: 60_000 });
      assert.equal(bsFirst.status, 0, `block storage, sourced: ${bsFirst.stderr}`);
      for (const round of [1, 2]) {
        const r = spawnSync('bash', [bsScript], { env: runEnv, encoding: 'utf8', timeout: 60_000 });
        assert.equal(r.status, 0, `block storage by hand, run ${round}: ${r.stderr}`);
      }
      const bsLogin = spawnSync('/usr/bin/mariadb', ['--no-defaults', '-h127.0.0.1', `-P${port}`, `-u${env.BLOCK_STORAGE_DB_USER}`, `-p${env.BLOCK_STORAGE_DB_PASSWORD}`, env.BLOCK_STORAGE_DB_NAME ?? '', '-e', 'CREATE TABLE probe (id INT PRIMARY KEY); DROP TABLE probe; SELECT DATABASE()'], { encoding: 'utf8' });
      assert.equal(bsLogin.status, 0, bsLogin.stderr);
      assert.match(bsLogin.stdout, new RegExp(`^${env.BLOCK_STORAGE_DB_NAME}$`, 'm'));
      const bsOther = spawnSync('/usr/bin/mariadb', ['--no-defaults', '-h127.0.0.1', `-P${port}`, `-u${env.BLOCK_STORAGE_DB_USER}`, `-p${env.BLOCK_STORAGE_DB_PASSWORD}`, '-e', `USE \`${env.IMAGE_DB_NAME}\``], { encoding: 'utf8' });
      assert.notEqual(bsOther.status, 0, 'the block storage user cannot reach the image database');
      t.diagnostic(`${env.BLOCK_STORAGE_DB_USER}@${env.BLOCK_STORAGE_DB_NAME}: created when sourced, unchanged by two runs by hand, TCP login and DDL work`);
    } finally {
      spawnSync(join(repoRoot, 'scripts', 'services', 'mariadb.sh'), ['stop'], { env: svcEnv, encoding: 'utf8', timeout: 120_000 });
      await rm(svcRoot, { recursive: true, force: true });
    }
  });
});
