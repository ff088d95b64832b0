// Starts a real cloud for end-to-end tests: `alto up` (embedded), or the split deployment
// (`alto db sync`, `fernet setup`, `bootstrap`, `serve identity-api`) on PostgreSQL or MariaDB
// with RabbitMQ, exactly as an operator would run the commands.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { scratchDatabase, type ScratchDatabase } from '@alto/db/testing';

// packages/testing/dist -> the checkout
export const ROOT = resolve(import.meta.dirname, '../../..');
export const ALTO = join(ROOT, 'apps/cli/dist/main.js');

export type Mode = 'embedded' | 'postgres+rabbitmq' | 'mariadb+rabbitmq';

export interface ModeChoice {
  mode: Mode;
  /** Why the mode cannot run here; the tests are skipped (or fail when ALTO_E2E_REQUIRE_ALL=1). */
  unavailable?: string;
}

export function modes(env: NodeJS.ProcessEnv = process.env): ModeChoice[] {
  const requireAll = env.ALTO_E2E_REQUIRE_ALL === '1';
  const out: ModeChoice[] = [{ mode: 'embedded' }];
  for (const [mode, db] of [
    ['postgres+rabbitmq', 'ALTO_TEST_POSTGRES_URL'],
    ['mariadb+rabbitmq', 'ALTO_TEST_MYSQL_URL'],
  ] as const) {
    const missing = [db, 'ALTO_TEST_AMQP_URL'].filter((k) => !env[k]);
    if (missing.length && requireAll) throw new Error(`end-to-end mode ${mode} is required but ${missing.join(' and ')} unset (scripts/test sets them)`);
    out.push(missing.length ? { mode, unavailable: `${missing.join(' and ')} not set (scripts/test starts the servers)` } : { mode });
  }
  return out;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export interface Cloud {
  mode: Mode;
  url: string;
  dataDir: string;
  cloudsYaml: string;
  adminPassword: string;
  /** The image API (embedded mode). */
  imageUrl: string;
  /** The block storage API without /v3 (embedded mode). */
  volumeUrl: string;
  /** The environment the openstack CLI needs. */
  osEnv: NodeJS.ProcessEnv;
  /** The API process (alto up, or serve identity-api). */
  proc(): ChildProcess;
  /** Starts the API process again on the same state (after stop or kill). */
  restart(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  stop(): Promise<void>;
  output(): string;
}

export async function waitReady(url: string, proc: ChildProcess, log: () => string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`process exited with ${proc.exitCode}:\n${log()}`);
    try {
      const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready after ${timeoutMs} ms:\n${log()}`);
}

export function run(args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(process.execPath, [ALTO, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`alto ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
}

export async function startCloud(mode: Mode): Promise<Cloud> {
  const dataDir = mkdtempSync(join(tmpdir(), 'alto-e2e-'));
  const port = await freePort();
  const imagePort = await freePort();
  const volumePort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminPassword = `e2e-${Math.random().toString(36).slice(2)}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ALTO_DATA_DIR: dataDir,
    ALTO_IDENTITY__API__PORT: String(port),
    ALTO_IMAGE__API__PORT: String(imagePort),
    ALTO_BLOCK_STORAGE__API__PORT: String(volumePort),
    ALTO_ADMIN_PASSWORD: adminPassword,
    // fast hashes keep the suite quick; bench/ measures the real cost
    ALTO_IDENTITY__IDENTITY__PASSWORD_HASH_ROUNDS: '4',
    ALTO_LOG__FORMAT: 'json',
    ALTO_VALIDATE_RESPONSES: '1',
  };
  let scratch: ScratchDatabase | undefined;
  let args: string[];
  if (mode === 'embedded') {
    args = ['up'];
  } else {
    scratch = await scratchDatabase(mode.startsWith('postgres') ? 'postgres' : 'mysql');
    env.ALTO_IDENTITY__DATABASE__CONNECTION = scratch.connection;
    env.ALTO_BUS__TRANSPORT_URL = process.env.ALTO_TEST_AMQP_URL!.replace(/^amqp:/, 'rabbit:');
    // a private exchange per run, so concurrent suites on one broker never see each other
    env.ALTO_BUS__CONTROL_EXCHANGE = `e2e-${port}`;
    run(['db', 'sync', 'identity'], env);
    run(['fernet', 'setup'], env);
    run(['bootstrap'], env);
    args = ['serve', 'identity-api'];
  }
  const cloudsYaml = join(dataDir, mode === 'embedded' ? 'clouds.yaml' : 'clouds-e2e.yaml');
  if (mode !== 'embedded') {
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
  }
  let proc!: ChildProcess;
  let out = '';
  const launch = async () => {
    proc = spawn(process.execPath, [ALTO, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const before = out.length;
    await waitReady(url, proc, () => out);
    // `alto up` registers the other services after identity answers; it says when all is up
    if (mode === 'embedded') {
      const end = Date.now() + 60_000;
      while (!out.slice(before).includes('is up in')) {
        if (proc.exitCode !== null) throw new Error(`alto up exited with ${proc.exitCode}:\n${out}`);
        if (Date.now() > end) throw new Error(`alto up did not finish starting:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await launch();
  const exited = () =>
    new Promise<number | null>((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return res(proc.exitCode);
      proc.once('exit', (code) => res(code));
    });
  return {
    mode,
    url,
    imageUrl: `http://127.0.0.1:${imagePort}`,
    volumeUrl: `http://127.0.0.1:${volumePort}`,
    dataDir,
    cloudsYaml,
    adminPassword,
    osEnv: { ...process.env, OS_CLIENT_CONFIG_FILE: cloudsYaml, OS_CLOUD: 'altostratus', PYTHONWARNINGS: 'ignore' },
    proc: () => proc,
    restart: launch,
    async kill(signal = 'SIGKILL') {
      proc.kill(signal);
      return exited();
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited();
      }
      await scratch?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    output: () => out,
  };
}
