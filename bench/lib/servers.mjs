// Starting and stopping the systems under test: Altostratus through the ./alto launcher, and
// upstream Keystone through ../shared/tools/keystone-ref (uwsgi, SQLite, optional memcached).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { log, sleep, treePids } from './common.mjs';

export const ROOT = resolve(import.meta.dirname, '../..');
export const KS_REF = process.env.KEYSTONE_REF ?? resolve(ROOT, '../shared/tools/keystone-ref');

/** A password token for admin on the admin project (the subject token is in the header). */
export async function passwordToken(base, password, { user = 'admin', project = 'admin' } = {}) {
  const scope = project === null ? {} : { scope: { project: { name: project, domain: { id: 'default' } } } };
  const body = { auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } }, ...scope } };
  const r = await fetch(`${base}/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (r.status !== 201) throw new Error(`token issue at ${base}: ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
  return r.headers.get('x-subject-token');
}

export async function waitFor(fn, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await sleep(50);
    }
  }
}

/**
 * `./alto up` on a data directory, exactly as a user starts it (the launcher execs node, so the pid
 * is the server's). The launcher rebuilds when a source changed: another helper's half-edited file
 * can fail that build, so a failed start is retried for a few minutes.
 */
export async function startAlto({ dataDir, port, password }) {
  const env = { ...process.env, ALTO_DATA_DIR: dataDir, ALTO_IDENTITY__API__PORT: String(port), ALTO_ADMIN_PASSWORD: password, ALTO_LOG__LEVEL: 'warn' };
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 1; ; attempt++) {
    const proc = spawn(join(ROOT, 'alto'), ['up'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    // kept, and shown only when the start fails (the launcher and the banner write here)
    proc.stderr.on('data', (c) => {
      stderr += c;
    });
    const exited = new Promise((r) => proc.once('exit', (code) => r(code)));
    const up = waitFor(() => passwordToken(base, password), 180_000).then(() => 'up');
    const first = await Promise.race([up, exited]);
    if (first === 'up') return { proc, base, pids: () => treePids(proc.pid) };
    if (attempt >= 6 || !/build failed/.test(stderr)) throw new Error(`alto up exited (${first}):\n${stderr.slice(-2000)}`);
    log(`alto: the launcher's build failed (another helper's edit?); retrying in 30 s (attempt ${attempt})`);
    await sleep(30_000);
  }
}

export async function stopAlto(alto) {
  if (alto.proc.exitCode !== null) return;
  alto.proc.kill('SIGTERM');
  await new Promise((r) => alto.proc.once('exit', r));
}

/** Environment for keystone-ref's start.sh/stop.sh. */
export function keystoneEnv({ dir, port, processes, cache, password, memcachedPort, keep }) {
  return {
    ...process.env,
    KS_DIR: dir,
    KS_PORT: String(port),
    KS_PROCESSES: String(processes),
    KS_ADMIN_PASSWORD: password,
    KS_CACHE: cache,
    KS_MEMCACHED_PORT: String(memcachedPort),
    KS_KEEP: keep ? '1' : '0',
  };
}

/** start.sh (from scratch, or KS_KEEP=1 to reuse the database with a new configuration). */
export async function startKeystone(opts) {
  const env = keystoneEnv(opts);
  log(`keystone: start (${opts.processes} worker${opts.processes > 1 ? 's' : ''}, cache ${opts.cache}${opts.keep ? ', existing database' : ', from scratch'})`);
  const s = spawnSync(join(KS_REF, 'start.sh'), [], { env, encoding: 'utf8' });
  if (s.status !== 0) throw new Error(`keystone-ref start failed:\n${s.stdout}\n${s.stderr}`);
  const base = `http://127.0.0.1:${opts.port}`;
  await waitFor(() => passwordToken(base, opts.password));
  const master = Number(readFileSync(join(opts.dir, 'uwsgi.pid'), 'utf8'));
  const pids = () => {
    const all = treePids(master);
    if (opts.cache === 'memcached') {
      try {
        all.push(Number(readFileSync(join(opts.dir, 'memcached.pid'), 'utf8')));
      } catch {
        // not written
      }
    }
    return all;
  };
  return { base, pids, env };
}

export function stopKeystone(ks) {
  spawnSync(join(KS_REF, 'stop.sh'), [], { env: ks.env, encoding: 'utf8' });
}
