#!/usr/bin/env node
// Identity benchmark, side by side in one run: Altostratus (`alto up`) and upstream Keystone from
// Debian (../shared/tools/keystone-ref: uwsgi, 2 workers, SQLite), once without cache and once
// with memcached, under the same wrk load scripts. Writes bench/results/identity-<date>.{md,json}.
//
//   node bench/identity.mjs            (or: bench/run identity)
//   BENCH_SECONDS=20 BENCH_STARTS=7 KEYSTONE_REF=/work/shared/tools/keystone-ref node bench/identity.mjs
//
// Measures: alto up on an existing data directory to the first token (median of BENCH_STARTS);
// idle RSS; token issue (password, bcrypt cost 12 on both sides) and token validation
// (GET /v3/auth/tokens with X-Auth-Token and X-Subject-Token) at concurrency 1 and 16.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { log, need, rssKiB, sleep, treePids, wrk as runWrk } from './lib/common.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const STARTS = Number(process.env.BENCH_STARTS ?? 7);
const KS_REF = process.env.KEYSTONE_REF ?? resolve(ROOT, '../shared/tools/keystone-ref');
const PASSWORD = 'bench-secret';
const ALTO_PORT = 5100;
const KS_PORT = 35357;

async function authBody() {
  return JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: PASSWORD } } },
      scope: { project: { name: 'admin', domain: { name: 'Default' } } },
    },
  });
}

async function issueToken(base) {
  const r = await fetch(`${base}/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: await authBody() });
  if (r.status !== 201) throw new Error(`token issue at ${base}: ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
  return r.headers.get('x-subject-token');
}

async function waitToken(base, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await issueToken(base);
    } catch (err) {
      if (Date.now() > end) throw err;
      await sleep(20);
    }
  }
}

const wrk = (url, script, concurrency) => runWrk(url, script, concurrency, SECONDS);

function luaScripts(dir, adminToken, subjectToken, body) {
  const issue = join(dir, 'issue.lua');
  const validate = join(dir, 'validate.lua');
  writeFileSync(issue, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[${body}]]\n`);
  writeFileSync(validate, `wrk.method = "GET"\nwrk.headers["X-Auth-Token"] = "${adminToken}"\nwrk.headers["X-Subject-Token"] = "${subjectToken}"\n`);
  return { issue, validate };
}

async function loadTests(name, base, pids, dir) {
  const admin = await issueToken(base);
  const subject = await issueToken(base);
  const v = await fetch(`${base}/v3/auth/tokens`, { headers: { 'x-auth-token': admin, 'x-subject-token': subject } });
  if (v.status !== 200) throw new Error(`${name}: validation answered ${v.status}`);
  const scripts = luaScripts(dir, admin, subject, await authBody());
  await sleep(3000);
  const idle = rssKiB(pids());
  const result = { name, idleRssMiB: +(idle / 1024).toFixed(1), issue: [], validate: [] };
  for (const c of [1, 16]) {
    log(`${name}: token issue c=${c} for ${SECONDS}s`);
    result.issue.push(wrk(`${base}/v3/auth/tokens`, scripts.issue, c));
  }
  for (const c of [1, 16]) {
    log(`${name}: token validation c=${c} for ${SECONDS}s`);
    result.validate.push(wrk(`${base}/v3/auth/tokens`, scripts.validate, c));
  }
  result.loadedRssMiB = +(rssKiB(pids()) / 1024).toFixed(1);
  return result;
}

async function benchAlto() {
  const dataDir = mkdtempSync(join(tmpdir(), 'alto-bench-'));
  const env = { ...process.env, ALTO_DATA_DIR: dataDir, ALTO_IDENTITY__API__PORT: String(ALTO_PORT), ALTO_ADMIN_PASSWORD: PASSWORD, ALTO_LOG__LEVEL: 'warn', };
  const base = `http://127.0.0.1:${ALTO_PORT}`;
  // through the ./alto launcher, exactly as a user starts it (it execs node, so the pid is the server's)
  const start = () => spawn(join(ROOT, 'alto'), ['up'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = async (p) => {
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  };
  log('alto: first start (bootstrap)');
  let proc = start();
  await waitToken(base);
  await stop(proc);
  const starts = [];
  for (let i = 0; i < STARTS; i++) {
    const t0 = performance.now();
    proc = start();
    await waitToken(base);
    starts.push(performance.now() - t0);
    if (i < STARTS - 1) await stop(proc);
  }
  starts.sort((a, b) => a - b);
  log(`alto: start to first token ${starts.map((s) => s.toFixed(0)).join(', ')} ms`);
  const r = await loadTests('altostratus', base, () => treePids(proc.pid), dataDir);
  r.startToFirstTokenMs = { median: +starts[Math.floor(starts.length / 2)].toFixed(0), all: starts.map((s) => +s.toFixed(0)) };
  await stop(proc);
  rmSync(dataDir, { recursive: true, force: true });
  return r;
}

async function benchKeystone(cache) {
  const dir = `/tmp/keystone-bench-${cache}`;
  const env = { ...process.env, KS_DIR: dir, KS_PORT: String(KS_PORT), KS_PROCESSES: '2', KS_ADMIN_PASSWORD: PASSWORD, KS_CACHE: cache };
  log(`keystone (${cache}): starting upstream Keystone from Debian`);
  const s = spawnSync(join(KS_REF, 'start.sh'), [], { env, encoding: 'utf8' });
  if (s.status !== 0) throw new Error(`keystone-ref start failed:\n${s.stderr}`);
  const base = `http://127.0.0.1:${KS_PORT}`;
  try {
    await waitToken(base);
    const master = Number(readFileSync(join(dir, 'uwsgi.pid'), 'utf8'));
    const pids = () => {
      const all = treePids(master);
      if (cache === 'memcached') {
        const m = spawnSync('pgrep', ['-f', `memcached.*${process.env.KS_MEMCACHED_PORT ?? 11211}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
        all.push(...m);
      }
      return all;
    };
    return await loadTests(`keystone (${cache === 'off' ? 'no cache' : 'memcached'})`, base, pids, dir);
  } finally {
    spawnSync(join(KS_REF, 'stop.sh'), [], { env, encoding: 'utf8' });
  }
}

const fmt = (v, d = 1) => (v === null || v === undefined ? 'n/a' : Number(v).toFixed(d));

function markdown(results, meta) {
  const lines = [];
  lines.push(`# Identity benchmark, ${meta.date}`, '');
  lines.push(`${meta.cpus} cores, ${meta.node}; wrk -t1, ${SECONDS} s per run, on 127.0.0.1. Both sides hash passwords with bcrypt cost 12.`);
  lines.push(`Keystone: Debian python3-keystone under uwsgi, 2 workers, SQLite (../shared/tools/keystone-ref). Altostratus: \`alto up\` (one process, SQLite).`, '');
  const a = results.find((r) => r.name === 'altostratus');
  if (a) {
    lines.push('## Goals (foundation issue)', '');
    const v16 = a.validate.find((x) => x.concurrency === 16);
    lines.push('| Goal | Target | Measured | Met |', '|---|---|---|---|');
    lines.push(`| alto up on an existing data dir to the first token (median of ${a.startToFirstTokenMs.all.length}) | < 1500 ms | ${a.startToFirstTokenMs.median} ms | ${a.startToFirstTokenMs.median < 1500 ? 'yes' : 'NO'} |`);
    lines.push(`| idle RSS of the all-in-one | < 150 MB | ${a.idleRssMiB} MiB | ${a.idleRssMiB < 150 ? 'yes' : 'NO'} |`);
    lines.push(`| token validation at c=16 | >= 2000 req/s | ${fmt(v16.rps, 0)} req/s | ${v16.rps >= 2000 ? 'yes' : 'NO'} |`);
    lines.push(`| token validation p99 at c=16 | < 20 ms | ${fmt(v16.p99, 2)} ms | ${v16.p99 !== null && v16.p99 < 20 ? 'yes' : 'NO'} |`, '');
  }
  lines.push('## Side by side', '');
  lines.push('| | ' + results.map((r) => r.name).join(' | ') + ' |', '|---|' + results.map(() => '---|').join(''));
  const row = (label, f) => lines.push(`| ${label} | ${results.map(f).join(' | ')} |`);
  row('idle RSS (MiB)', (r) => fmt(r.idleRssMiB));
  row('RSS after load (MiB)', (r) => fmt(r.loadedRssMiB));
  for (const kind of ['issue', 'validate']) {
    for (const c of [1, 16]) {
      const label = kind === 'issue' ? `token issue (password) c=${c}` : `token validation c=${c}`;
      row(`${label}: req/s`, (r) => fmt(r[kind].find((x) => x.concurrency === c)?.rps));
      row(`${label}: p50 / p99 ms`, (r) => {
        const x = r[kind].find((y) => y.concurrency === c);
        return `${fmt(x?.p50, 2)} / ${fmt(x?.p99, 2)}`;
      });
      row(`${label}: errors`, (r) => {
        const x = r[kind].find((y) => y.concurrency === c);
        return `${x?.non2xx ?? 0}${x?.socketErrors ? ` (${x.socketErrors})` : ''}`;
      });
    }
  }
  if (a) lines.push('', `Start to first token, all runs (ms): ${a.startToFirstTokenMs.all.join(', ')}. Token issue includes one bcrypt cost-12 verify (about 200 ms here) on both sides.`);
  return lines.join('\n') + '\n';
}

need('wrk');
const only = (process.env.BENCH_ONLY ?? 'alto,keystone,keystone-memcached').split(',');
const results = [];
if (only.includes('alto')) results.push(await benchAlto());
if (only.includes('keystone') || only.includes('keystone-memcached')) {
  if (!existsSync(join(KS_REF, 'start.sh'))) log(`no keystone-ref at ${KS_REF}: upstream comparison skipped`);
  else {
    if (only.includes('keystone')) results.push(await benchKeystone('off'));
    if (only.includes('keystone-memcached')) results.push(await benchKeystone('memcached'));
  }
}
const meta = { date: new Date().toISOString().slice(0, 10), cpus: cpus().length, node: process.version };
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const stem = join(ROOT, `bench/results/identity-${meta.date}`);
writeFileSync(`${stem}.json`, JSON.stringify({ meta, results: results.map((r) => ({ ...r, issue: r.issue.map(({ raw: _r, ...x }) => x), validate: r.validate.map(({ raw: _r, ...x }) => x) })) }, null, 2) + '\n');
writeFileSync(`${stem}.md`, markdown(results, meta));
process.stdout.write(markdown(results, meta));
log(`wrote ${stem}.md and .json`);
