// Starts the cloud as separate processes, the way Kubernetes runs it: every component under
// `alto serve` on one PostgreSQL or MariaDB server (a scratch database per service) and
// RabbitMQ, after the one-shot steps (db sync, fernet setup, bootstrap, register).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { scratchDatabase, type ScratchDatabase } from '@alto/db/testing';
import { ALTO, freePort, run, waitReady } from './cloud.js';

export type SplitComponent = 'identity-api' | 'image-api' | 'volume-api' | 'volume-scheduler' | 'volume-worker' | 'volume-backup';

export interface SplitCloud {
  engine: 'postgres' | 'mysql';
  url: string;
  imageUrl: string;
  volumeUrl: string;
  dataDir: string;
  adminPassword: string;
  osEnv: NodeJS.ProcessEnv;
  /** The environment every component runs with (tests may start more with it). */
  env: NodeJS.ProcessEnv;
  proc(component: SplitComponent): ChildProcess;
  /** Starts a component again (after kill) and waits until it is ready. */
  restart(component: SplitComponent): Promise<void>;
  kill(component: SplitComponent, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
  output(component: SplitComponent): string;
}

/** Components started by default, in order (identity first: the others check tokens against it). */
const ALL: SplitComponent[] = ['identity-api', 'image-api', 'volume-api', 'volume-scheduler', 'volume-worker', 'volume-backup'];

export async function startSplitCloud(engine: 'postgres' | 'mysql', components: SplitComponent[] = ALL): Promise<SplitCloud> {
  const amqp = process.env.ALTO_TEST_AMQP_URL;
  if (!amqp) throw new Error('ALTO_TEST_AMQP_URL is not set (scripts/test starts RabbitMQ)');
  const dataDir = mkdtempSync(join(tmpdir(), 'alto-split-'));
  const [port, imagePort, volumePort, schedulerHealth, workerHealth, backupHealth] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const adminPassword = `split-${Math.random().toString(36).slice(2)}`;
  const scratches: ScratchDatabase[] = [];
  const scratch = async () => {
    const s = await scratchDatabase(engine);
    scratches.push(s);
    return s.connection;
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ALTO_DATA_DIR: dataDir,
    ALTO_ADMIN_PASSWORD: adminPassword,
    ALTO_IDENTITY__API__PORT: String(port),
    ALTO_IMAGE__API__PORT: String(imagePort),
    ALTO_BLOCK_STORAGE__API__PORT: String(volumePort),
    ALTO_BLOCK_STORAGE__HEALTH__SCHEDULER_PORT: String(schedulerHealth),
    ALTO_BLOCK_STORAGE__HEALTH__WORKER_PORT: String(workerHealth),
    ALTO_BLOCK_STORAGE__HEALTH__BACKUP_PORT: String(backupHealth),
    ALTO_IDENTITY__DATABASE__CONNECTION: await scratch(),
    ALTO_IMAGE__DATABASE__CONNECTION: await scratch(),
    ALTO_BLOCK_STORAGE__DATABASE__CONNECTION: await scratch(),
    ALTO_BUS__TRANSPORT_URL: amqp.replace(/^amqp:/, 'rabbit:'),
    // a private exchange per run, so concurrent suites on one broker never see each other
    ALTO_BUS__CONTROL_EXCHANGE: `split-${port}`,
    ALTO_IMAGE__KEYSTONE_AUTHTOKEN__USERNAME: 'glance',
    ALTO_IMAGE__KEYSTONE_AUTHTOKEN__PASSWORD: `glance-${adminPassword}`,
    ALTO_BLOCK_STORAGE__KEYSTONE_AUTHTOKEN__USERNAME: 'cinder',
    ALTO_BLOCK_STORAGE__KEYSTONE_AUTHTOKEN__PASSWORD: `cinder-${adminPassword}`,
    // short leases and sweeps, so a killed component's work is picked up within the test
    ALTO_BLOCK_STORAGE__DEFAULT__TASK_LEASE_SECONDS: '5',
    ALTO_BLOCK_STORAGE__DEFAULT__TASK_SWEEP_SECONDS: '1',
    ALTO_BLOCK_STORAGE__DEFAULT__REPORT_INTERVAL: '2',
    ALTO_IDENTITY__IDENTITY__PASSWORD_HASH_ROUNDS: '4',
    ALTO_LOG__FORMAT: 'json',
    ALTO_VALIDATE_RESPONSES: '1',
  };
  const url = `http://127.0.0.1:${port}`;
  const readyUrl: Record<SplitComponent, string> = {
    'identity-api': url,
    'image-api': `http://127.0.0.1:${imagePort}`,
    'volume-api': `http://127.0.0.1:${volumePort}`,
    'volume-scheduler': `http://127.0.0.1:${schedulerHealth}`,
    'volume-worker': `http://127.0.0.1:${workerHealth}`,
    'volume-backup': `http://127.0.0.1:${backupHealth}`,
  };
  const procs = new Map<SplitComponent, ChildProcess>();
  const out = new Map<SplitComponent, string>();
  const launch = async (c: SplitComponent) => {
    const p = spawn(process.execPath, [ALTO, 'serve', c], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    out.set(c, out.get(c) ?? '');
    p.stdout.on('data', (d: Buffer) => out.set(c, out.get(c)! + d.toString()));
    p.stderr.on('data', (d: Buffer) => out.set(c, out.get(c)! + d.toString()));
    procs.set(c, p);
    await waitReady(readyUrl[c], p, () => out.get(c)!);
  };
  const exited = (p: ChildProcess) =>
    new Promise<void>((res) => {
      if (p.exitCode !== null || p.signalCode !== null) return res();
      p.once('exit', () => res());
    });
  const cloud: SplitCloud = {
    engine,
    url,
    imageUrl: readyUrl['image-api'],
    volumeUrl: readyUrl['volume-api'],
    dataDir,
    adminPassword,
    env,
    osEnv: {},
    proc: (c) => procs.get(c)!,
    restart: launch,
    async kill(c, signal = 'SIGKILL') {
      const p = procs.get(c);
      if (!p) return;
      p.kill(signal);
      await exited(p);
    },
    async stop() {
      await Promise.all([...procs.values()].map(async (p) => {
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
        await exited(p);
      }));
      for (const s of scratches) await s.drop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
    output: (c) => out.get(c) ?? '',
  };
  try {
    for (const service of ['identity', 'image', 'block-storage']) run(['db', 'sync', service], env);
    run(['fernet', 'setup'], env);
    run(['bootstrap'], env);
    for (const c of components) {
      await launch(c);
      // the services' users and catalog entries, once identity answers (the register Jobs)
      if (c === 'identity-api') for (const service of ['image', 'block-storage']) run(['register', service], env);
    }
  } catch (err) {
    await cloud.stop();
    throw err;
  }
  const cloudsYaml = join(dataDir, 'clouds-split.yaml');
  writeFileSync(
    cloudsYaml,
    stringify({
      clouds: {
        altostratus: {
          auth: { auth_url: `${url}/v3`, username: 'admin', password: adminPassword, project_name: 'admin', user_domain_name: 'Default', project_domain_name: 'Default' },
          region_name: 'RegionOne',
          identity_api_version: 3,
        },
      },
    }),
    { mode: 0o600 },
  );
  cloud.osEnv = { ...process.env, OS_CLIENT_CONFIG_FILE: cloudsYaml, OS_CLOUD: 'altostratus', PYTHONWARNINGS: 'ignore' };
  return cloud;
}
