#!/usr/bin/env node
// Block storage (Cinder v3) control-path benchmark on the embedded `alto up` (SQLite, in-process
// bus, file backend): blank 1 GiB volume create to `available`, 100 concurrent creates then
// deletes, and detail listing of 10,000 volumes by pages of 1000. Writes
// bench/results/block-storage-<date>.{md,json}.
//
//   node bench/block-storage.mjs            (or: bench/run block-storage)
//   BENCH_ONLY=create,burst,list BENCH_SAMPLES=40 BENCH_BURST=100 BENCH_BURST_POLL_MS=50 BENCH_ROWS=10000 BENCH_LIST_WALKS=5
//   BENCH_CPU_PROF=/tmp/prof   the server runs with --cpu-prof into that directory (written at exit)
//   BENCH_VALIDATE=1           the server validates its answers (as the e2e tests' startCloud does)
//
// The client is plain fetch (undici, kept-alive connections) with a password token from POST
// /v3/auth/tokens. The 10,000 listed rows are inserted straight into the running cloud's
// SQLite database (data_dir/block-storage.db): creating them through the API would run qemu-img
// 10,000 times on a machine shared with others. They are copies of a volume the API created (so
// every column is one the service writes), with metadata on one in ten.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { cpuWatch, freePort, log, machine, percentiles, procTicks, sleep, treePids } from './lib/common.mjs';
import { ROOT, waitFor } from './lib/servers.mjs';

const PASSWORD = 'bench-secret';
const ONLY = (process.env.BENCH_ONLY ?? 'create,burst,list').split(',');
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 40);
const WARMUP = 3;
const BURST = Number(process.env.BENCH_BURST ?? 100);
const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const PAGE = 1000;
const WALKS = Number(process.env.BENCH_LIST_WALKS ?? 5);
const POLL_MS = 5;
const BURST_POLL_MS = Number(process.env.BENCH_BURST_POLL_MS ?? 50);
const CPU_PROF = process.env.BENCH_CPU_PROF ?? '';
const VALIDATE = process.env.BENCH_VALIDATE === '1';
const VARIANT = process.env.BENCH_VARIANT ?? '';
// the goals of issue 5
const GOAL_CREATE_P50_MS = 300;
const GOAL_PAGE_P50_MS = 100;

// ---- the system under test: `alto up` through the ./alto launcher, as a user starts it

async function startAlto(dir) {
  const identityPort = await freePort(5880);
  const imagePort = await freePort(9880);
  const volumePort = await freePort(8876);
  const dataDir = join(dir, 'alto');
  const env = {
    ...process.env,
    ALTO_DATA_DIR: dataDir,
    ALTO_IDENTITY__API__PORT: String(identityPort),
    ALTO_IMAGE__API__PORT: String(imagePort),
    ALTO_BLOCK_STORAGE__API__PORT: String(volumePort),
    ALTO_ADMIN_PASSWORD: PASSWORD,
    ALTO_LOG__LEVEL: 'warn',
    ...(VALIDATE ? { ALTO_VALIDATE_RESPONSES: '1' } : {}),
    ...(CPU_PROF ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${CPU_PROF}`.trim() } : {}),
  };
  const identity = `http://127.0.0.1:${identityPort}`;
  const volume = `http://127.0.0.1:${volumePort}`;
  for (let attempt = 1; ; attempt++) {
    const proc = spawn(join(ROOT, 'alto'), ['up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (c) => (out += c));
    proc.stderr.on('data', (c) => (out += c));
    const exited = new Promise((r) => proc.once('exit', (code) => r(`exit ${code}`)));
    const up = waitFor(async () => {
      if (!out.includes('is up in')) throw new Error('not up yet');
      return 'up';
    }, 240_000);
    const first = await Promise.race([up, exited]);
    if (first === 'up') {
      log(`alto: identity ${identity}, block storage ${volume}, data in ${dataDir}`);
      return { proc, identity, volume, dataDir, pids: () => treePids(proc.pid), output: () => out };
    }
    // the launcher rebuilds when a source changed: another helper's half-edited file can fail that build
    if (attempt >= 6 || !/build failed/.test(out)) throw new Error(`alto up failed (${first}):\n${out.slice(-3000)}`);
    log(`alto: the launcher's build failed (another helper's edit?); retrying in 30 s (attempt ${attempt})`);
    await sleep(30_000);
  }
}

async function stopAlto(alto) {
  if (alto.proc.exitCode !== null) return;
  alto.proc.kill('SIGTERM');
  await new Promise((r) => alto.proc.once('exit', r));
}

// ---- the client

class Api {
  constructor(base, projectId, token) {
    this.base = `${base}/v3/${projectId}`;
    this.token = token;
  }

  /** One call, timed from the request to the last byte of the answer (parsing outside the time). */
  async call(method, path, body, want) {
    const t0 = performance.now();
    const r = await fetch(path.startsWith('http') ? path : `${this.base}${path}`, {
      method,
      headers: { 'x-auth-token': this.token, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    const ms = performance.now() - t0;
    if (want !== undefined && !(Array.isArray(want) ? want : [want]).includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 500)}`);
    return { status: r.status, ms, text, json: () => JSON.parse(text) };
  }
}

const cinderMs = (t) => (t ? Date.parse(`${t}Z`) : NaN);

/** Polls GET /volumes/{id} every POLL_MS until `done(volume or null)` says so; the time it was first seen so. */
async function pollVolume(api, id, done, timeoutMs = 120_000) {
  const end = performance.now() + timeoutMs;
  for (let polls = 1; ; polls++) {
    const r = await api.call('GET', `/volumes/${id}`, undefined, [200, 404]);
    const v = r.status === 404 ? null : r.json().volume;
    if (v?.status === 'error' || v?.status === 'error_deleting') throw new Error(`volume ${id} went to ${v.status}`);
    if (done(v)) return { at: performance.now(), volume: v, polls };
    if (performance.now() > end) throw new Error(`volume ${id} still ${v?.status} after ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

/** Server CPU seconds and the machine's busy cores during `fn`. */
async function watched(alto, fn) {
  const s0 = procTicks(alto.pids());
  const w = cpuWatch(alto.pids);
  const t0 = performance.now();
  const value = await fn();
  const wallS = (performance.now() - t0) / 1000;
  return { value, wallS: +wallS.toFixed(3), serverCpuS: (procTicks(alto.pids()) - s0) / 100, machine: w() };
}

// ---- where the server's time goes: its --cpu-prof profile, cut into the benchmark's phases

/** Monotonic µs, the clock of V8's profile timestamps (CLOCK_MONOTONIC, shared by processes). */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const phases = [];
async function phase(name, fn) {
  const start = nowUs();
  try {
    return await fn();
  } finally {
    phases.push({ name, start, end: nowUs() });
  }
}

/**
 * Self time of the server's functions during each phase, from the profile V8 writes at exit.
 * The main thread's samples only: a synchronous system call (better-sqlite3's fsync) counts for
 * the JS function that made it; (idle) is the event loop waiting (on qemu-img, the thread pool,
 * the network).
 */
function profileByPhase(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) return undefined;
  // alto up's main thread: the profile with the most samples that are not idle (its worker
  // threads and the launcher's short node runs write profiles too)
  const busy = (p) => {
    const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
    return p.samples.filter((id) => !idle.has(id)).length;
  };
  const prof = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))).sort((a, b) => busy(b) - busy(a))[0];
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const label = (n) => {
    const c = n.callFrame;
    const file = c.url ? c.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '') : '';
    return file ? `${c.functionName || '(anonymous)'} ${file}:${c.lineNumber + 1}` : c.functionName;
  };
  const out = {};
  for (const ph of phases) {
    const byFn = new Map();
    const byFile = new Map();
    let t = prof.startTime;
    let total = 0;
    for (let i = 0; i < prof.samples.length; i++) {
      t += prof.timeDeltas[i];
      if (t < ph.start || t > ph.end) continue;
      const dt = prof.timeDeltas[i + 1] ?? 0;
      const n = nodes.get(prof.samples[i]);
      total += dt;
      byFn.set(label(n), (byFn.get(label(n)) ?? 0) + dt);
      const url = n.callFrame.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
      const key = url ? (url.includes('node_modules/') ? url.replace(/.*node_modules\/((@[^/]+\/)?[^/]+).*/, 'node_modules/$1') : url) : n.callFrame.functionName;
      byFile.set(key, (byFile.get(key) ?? 0) + dt);
    }
    const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, us]) => ({ name, ms: +(us / 1000).toFixed(1), pct: +((us / total) * 100).toFixed(1) }));
    out[ph.name] = { wallMs: +((ph.end - ph.start) / 1000).toFixed(0), sampledMs: +(total / 1000).toFixed(0), functions: top(byFn, 20), files: top(byFile, 12) };
  }
  return out;
}

// ---- 1: one blank 1 GiB volume at a time, POST to GET showing available

async function createLatency(api) {
  const samples = [];
  const deletes = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const t0 = performance.now();
    const r = await api.call('POST', '/volumes', { volume: { size: 1, name: `lat-${i}` } }, 202);
    const v0 = r.json().volume;
    const seen = await pollVolume(api, v0.id, (v) => v?.status === 'available');
    const s = {
      totalMs: seen.at - t0,
      apiMs: r.ms,
      // after the POST's answer until the poller saw it available
      afterApiMs: seen.at - t0 - r.ms,
      // the server's own clock: the row's insert (API) to the worker's last write
      rowToAvailableMs: cinderMs(seen.volume.updated_at) - cinderMs(seen.volume.created_at),
      polls: seen.polls,
    };
    // deleted and waited for before the next sample, so that no work overlaps the next create
    const d0 = performance.now();
    const del = await api.call('DELETE', `/volumes/${v0.id}`, undefined, 202);
    const gone = await pollVolume(api, v0.id, (v) => v === null);
    if (i >= WARMUP) {
      samples.push(s);
      deletes.push({ apiMs: del.ms, totalMs: gone.at - d0 });
    }
  }
  const p = (k) => percentiles(samples.map((s) => s[k]));
  return {
    samples: samples.length,
    total: p('totalMs'),
    api: p('apiMs'),
    afterApi: p('afterApiMs'),
    rowToAvailable: p('rowToAvailableMs'),
    polls: p('polls'),
    deleteApi: percentiles(deletes.map((d) => d.apiMs)),
    deleteTotal: percentiles(deletes.map((d) => d.totalMs)),
    raw: samples.map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, +v.toFixed(2)]))),
  };
}

// ---- 2: BURST concurrent creates, then BURST concurrent deletes

/**
 * Polls until `done(byId)` with one summary list every BURST_POLL_MS (GET /volumes, pages of
 * 1000): BURST pollers, or a detail list every 5 ms, would load the one server thread that
 * does the work more than the work itself (the first version of this benchmark did).
 */
async function pollList(api, done, timeoutMs = 600_000, filter = '') {
  const end = performance.now() + timeoutMs;
  for (let polls = 1; ; polls++) {
    const byId = new Map();
    let url = `/volumes?${filter}limit=${PAGE}`;
    for (;;) {
      const body = (await api.call('GET', url, undefined, 200)).json();
      for (const v of body.volumes) byId.set(v.id, v);
      const next = body.volumes_links?.find((l) => l.rel === 'next');
      if (!next) break;
      url = next.href;
    }
    if (done(byId)) return { at: performance.now(), byId, polls };
    if (performance.now() > end) throw new Error(`list poll: not done after ${timeoutMs} ms`);
    await sleep(BURST_POLL_MS);
  }
}

/** Statuses of volumes by id, from the detail list (summary lists show no status). */
async function statuses(api, ids) {
  const want = new Set(ids);
  const out = new Map();
  let url = `/volumes/detail?limit=${PAGE}`;
  for (;;) {
    const body = (await api.call('GET', url, undefined, 200)).json();
    for (const v of body.volumes) if (want.has(v.id)) out.set(v.id, v.status);
    const next = body.volumes_links?.find((l) => l.rel === 'next');
    if (!next) return out;
    url = next.href;
  }
}

async function burst(api, alto) {
  const volumesDir = join(alto.dataDir, 'volumes');
  const before = readdirSync(volumesDir);
  const c = await watched(alto, async () => {
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: BURST }, (_, i) => api.call('POST', '/volumes', { volume: { size: 1, name: `burst-${i}` } }, 202)));
    const tAnswered = performance.now();
    const ids = answers.map((a) => a.json().volume.id);
    // none of them creating any more (the summary list filtered by status), then all available
    const seen = await pollList(api, (byId) => !ids.some((id) => byId.has(id)), undefined, 'status=creating&');
    const st = await statuses(api, ids);
    const notAvailable = ids.filter((id) => st.get(id) !== 'available');
    if (notAvailable.length) throw new Error(`${notAvailable.length} volumes not available: ${notAvailable.slice(0, 3).map((id) => `${id} ${st.get(id)}`).join(', ')}`);
    return { ids, seconds: (seen.at - t0) / 1000, answeredS: (tAnswered - t0) / 1000, api: percentiles(answers.map((a) => a.ms)), polls: seen.polls };
  });
  const files = readdirSync(volumesDir).filter((f) => !before.includes(f));
  const d = await watched(alto, async () => {
    const t0 = performance.now();
    const answers = await Promise.all(c.value.ids.map((id) => api.call('DELETE', `/volumes/${id}`, undefined, 202)));
    const tAnswered = performance.now();
    // a volume that failed to delete shows error_deleting and stays listed: the poll times out
    const seen = await pollList(api, (byId) => c.value.ids.every((id) => !byId.has(id)), 120_000);
    return { seconds: (seen.at - t0) / 1000, answeredS: (tAnswered - t0) / 1000, api: percentiles(answers.map((a) => a.ms)), polls: seen.polls };
  });
  // every GET of a deleted id must be a 404
  const left = [];
  for (const id of c.value.ids) if ((await api.call('GET', `/volumes/${id}`, undefined, [200, 404])).status !== 404) left.push(id);
  const filesLeft = readdirSync(volumesDir);
  return {
    n: BURST,
    create: { seconds: +c.value.seconds.toFixed(3), polls: c.value.polls, perSecond: +(BURST / c.value.seconds).toFixed(1), answeredS: +c.value.answeredS.toFixed(3), api: c.value.api, filesMade: files.length, serverCpuS: c.serverCpuS, machine: c.machine },
    delete: { seconds: +d.value.seconds.toFixed(3), polls: d.value.polls, perSecond: +(BURST / d.value.seconds).toFixed(1), answeredS: +d.value.answeredS.toFixed(3), api: d.value.api, serverCpuS: d.serverCpuS, machine: d.machine },
    stillShown: left.length,
    filesLeft,
  };
}

// ---- 3: the detail list of ROWS volumes by pages of PAGE

function insertRows(alto, template, projectId) {
  const db = new Database(join(alto.dataDir, 'block-storage.db'));
  db.pragma('busy_timeout = 10000');
  const cols = Object.keys(template);
  const ins = db.prepare(`INSERT INTO volume (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
  const meta = db.prepare('INSERT INTO volume_metadata (volume_id, key, value) VALUES (?, ?, ?)');
  const t0 = performance.now();
  const base = Number(template.created_at) - ROWS * 10;
  let withMeta = 0;
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      const id = randomUUID();
      // distinct creation times, 10 ms apart, as a cloud that made them over time
      ins.run({ ...template, id, project_id: projectId, name: `row-${String(i).padStart(5, '0')}`, created_at: base + i * 10, updated_at: base + i * 10 + 5, launched_at: base + i * 10 + 5 });
      if (i % 10 === 0) {
        meta.run(id, 'purpose', `bench row ${i}`);
        meta.run(id, 'tier', i % 20 === 0 ? 'gold' : 'silver');
        withMeta++;
      }
    }
  })();
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return { rows: ROWS, withMetadata: withMeta, seconds: +seconds.toFixed(2) };
}

/**
 * The list's own queries, run by the service's repository functions on a read-only connection to
 * the cloud's database (the server's code, without HTTP, views and JSON): the page query
 * (listVolumeRows) and the page's hydration (metadata, image metadata, attachments, type names),
 * with SQLite's plan; then the page query again on copies of the database, one after ANALYZE and
 * one with an index that serves both the filter and the order.
 */
async function diagnoseList(alto, projectId, dir) {
  const { Kysely, SqliteDialect } = await import(join(ROOT, 'node_modules/kysely/dist/index.js'));
  const repo = await import(join(ROOT, 'services/block-storage/dist/store/volume.repo.js'));
  const { attachmentsOf } = await import(join(ROOT, 'services/block-storage/dist/store/attachment.repo.js'));
  const { typeNamesOf } = await import(join(ROOT, 'services/block-storage/dist/store/type.repo.js'));
  const q = (marker) => ({ projectId, eq: {}, like: {}, metadata: {}, imageMetadata: {}, times: [], sort: [{ key: 'created_at', dir: 'desc' }], marker, limit: PAGE });
  const timeWalks = async (path, withHydrate) => {
    const raw = new Database(path, { readonly: true });
    let last;
    const db = new Kysely({ dialect: new SqliteDialect({ database: raw }), log: (e) => (last = e.query) });
    const list = [];
    const hydrate = [];
    let plan;
    for (let walk = 0; walk <= 3; walk++) {
      let marker;
      for (;;) {
        const t0 = performance.now();
        const rows = await repo.listVolumeRows(db, q(marker));
        const t1 = performance.now();
        if (marker && !plan) plan = raw.prepare(`EXPLAIN QUERY PLAN ${last.sql}`).all(...last.parameters).map((r) => r.detail).join('; ');
        if (withHydrate) {
          const ids = rows.map((r) => r.id);
          await Promise.all([repo.metadataOf(db, 'volume_metadata', ids), repo.metadataOf(db, 'volume_image_metadata', ids), attachmentsOf(db, ids), typeNamesOf(db, rows.map((r) => r.volume_type_id))]);
        }
        if (walk > 0) {
          list.push(t1 - t0);
          if (withHydrate) hydrate.push(performance.now() - t1);
        }
        marker = rows.at(-1);
        if (rows.length < PAGE) break;
      }
    }
    await db.destroy();
    return { list: percentiles(list), ...(withHydrate ? { hydrate: percentiles(hydrate) } : {}), plan };
  };
  const live = join(alto.dataDir, 'block-storage.db');
  const out = { asIs: await timeWalks(live, true) };
  for (const [name, ddl] of [
    ['after ANALYZE', 'ANALYZE'],
    ['with an index (project_id, deleted, created_at, id)', 'CREATE INDEX bench_volume_project_created_ix ON volume (project_id, deleted, created_at, id)'],
  ]) {
    const copy = join(dir, `copy-${name.replace(/\W+/g, '-')}.db`);
    const src = new Database(live, { readonly: true });
    src.exec(`VACUUM INTO '${copy}'`);
    src.close();
    const w = new Database(copy);
    w.exec(ddl);
    w.close();
    out[name] = await timeWalks(copy, false);
    rmSync(copy, { force: true });
  }
  return out;
}

async function listing(api, alto, projectId, dir) {
  // the template: a volume the API made and the worker finished, read back from the database
  const made = (await api.call('POST', '/volumes', { volume: { size: 1, name: 'template' } }, 202)).json().volume;
  await pollVolume(api, made.id, (v) => v?.status === 'available');
  const db = new Database(join(alto.dataDir, 'block-storage.db'), { readonly: true });
  const template = db.prepare('SELECT * FROM volume WHERE id = ?').get(made.id);
  db.close();
  const inserted = insertRows(alto, template, projectId);
  log(`inserted ${inserted.rows} rows into the running cloud's database in ${inserted.seconds} s`);
  const total = ROWS + 1;
  const pages = [];
  const walks = [];
  const measure = async (path) => {
    const byPage = [];
    const w = await watched(alto, async () => {
      for (let walk = 0; walk <= WALKS; walk++) {
        const ids = new Set();
        let url = path;
        const times = [];
        for (let page = 0; ; page++) {
          const r = await api.call('GET', url, undefined, 200);
          const body = r.json();
          // the first walk warms the server up and is not counted
          if (walk > 0) {
            times.push(r.ms);
            (byPage[page] ??= []).push(r.ms);
          }
          for (const v of body.volumes) ids.add(v.id);
          const next = body.volumes_links?.find((l) => l.rel === 'next');
          if (!next) break;
          url = next.href;
        }
        if (ids.size !== total) throw new Error(`a walk of ${path} saw ${ids.size} volumes, not ${total}`);
        if (walk > 0) walks.push({ path, ms: times.reduce((a, b) => a + b, 0), pages: times.length });
        if (walk > 0) pages.push(...times.map((ms) => ({ path, ms })));
      }
    });
    return { path, perPage: percentiles(pages.filter((p) => p.path === path).map((p) => p.ms)), firstPage: percentiles(byPage[0] ?? []), walk: percentiles(walks.filter((x) => x.path === path).map((x) => x.ms)), serverCpuS: w.serverCpuS, wallS: w.wallS, machine: w.machine };
  };
  const detail = await phase('3 list detail', () => measure(`/volumes/detail?limit=${PAGE}`));
  const summary = await phase('3 list summary', () => measure(`/volumes?limit=${PAGE}`));
  // bytes of one detail page, for the record
  const oneDetail = await api.call('GET', `/volumes/detail?limit=${PAGE}`, undefined, 200);
  const sql = await diagnoseList(alto, projectId, dir);
  return { inserted, total, detail, summary, detailPageBytes: Buffer.byteLength(oneDetail.text), sql };
}

// ---- report

const f1 = (x) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : Number(x).toFixed(1));
const row = (label, p) => `| ${label} | ${f1(p.p50)} | ${f1(p.p90)} | ${f1(p.max)} | ${p.n} |`;

function markdown(r) {
  const m = r.meta;
  const L = [];
  L.push(`# Block storage benchmark, ${m.date}${VARIANT ? ` (${VARIANT})` : ''}`, '');
  L.push(`Tree: ${m.commit}${m.dirty ? ' with uncommitted changes (of other helpers, in the files the server runs)' : ''}. Run: \`bench/run block-storage\`${VALIDATE ? ' with BENCH_VALIDATE=1' : ''}.`, '');
  L.push(`${m.cpus} cores (${m.cpuModel}), ${m.memGiB} GiB, ${m.os}, kernel ${m.kernel}, node ${m.node}, ${m.qemuImg}.`);
  L.push(`Load average (uptime) at the start ${m.loadavg.join(' ')}, at the end ${m.loadavgEnd.join(' ')}: **the machine was shared with other helpers' builds and tests**; "busy cores: others" below is their share during each phase. The lead reruns on a quiet machine.`);
  L.push(
    `System: \`alto up\` through ./alto (embedded: SQLite in WAL mode, in-process bus, volume-api + volume-scheduler + volume-worker in one node process, the file backend in data_dir/volumes making qcow2 files with qemu-img)${VALIDATE ? ', with response validation on' : ', response validation off (as users run it; startCloud turns it on for the e2e tests)'}, log level warn. ` +
      'Client: plain fetch (undici, kept-alive connections) in one node process on the same machine, an admin token from POST /v3/auth/tokens, calls on /v3/{admin project}/.',
  );
  L.push('');
  if (r.goals?.length) {
    L.push('## Goals (issue 5)', '', '| Goal | Target | Measured | Met |', '|---|---|---|---|');
    for (const g of r.goals) L.push(`| ${g.goal} | ${g.target} | ${g.measured} | ${g.met === null ? '' : g.met ? 'yes' : '**no**'} |`);
    L.push('');
  }
  const c = r.create;
  if (c) {
    L.push(`## 1. Blank 1 GiB volume: POST to available (${c.samples} samples after ${WARMUP} warm-up, one at a time)`, '');
    L.push(`The client POSTs, then GETs the volume every ${POLL_MS} ms (after each answer) until it shows available; each volume is then deleted and waited for (404) before the next sample.`, '');
    L.push('| ms | p50 | p90 | max | n |', '|---|---|---|---|---|');
    L.push(row('POST to GET showing available', c.total));
    L.push(row('- API answer (POST to 202)', c.api));
    L.push(row('- after the answer until seen available', c.afterApi));
    L.push(row("server clock: row created_at to updated_at (scheduler + worker), ms resolution", c.rowToAvailable));
    L.push(row('GETs per create (polls)', c.polls));
    L.push(row('DELETE answer (202)', c.deleteApi));
    L.push(row('DELETE to GET 404', c.deleteTotal));
    L.push(
      '',
      `Server CPU over the phase (${WARMUP + c.samples} creates, deletes and the polls): ${c.serverCpuS} s in ${c.wallS} s, ${(((c.serverCpuS ?? 0) / (WARMUP + c.samples)) * 1000).toFixed(0)} ms per create + delete; ` +
        `busy cores all / others ${c.machine?.busyCores ?? 'n/a'} / ${c.machine?.otherCores ?? 'n/a'}.`,
      '',
    );
  }
  const b = r.burst;
  if (b) {
    L.push(`## 2. ${b.n} concurrent creates, then ${b.n} concurrent deletes`, '');
    L.push(
      `Quota raised first (PUT os-quota-sets as admin). All ${b.n} POSTs (then all DELETEs) sent at once; one poller lists GET /volumes?status=creating (summary) every ${BURST_POLL_MS} ms until none of them is creating, then one detail list checks that all are available; ` +
        `for the deletes, GET /volumes every ${BURST_POLL_MS} ms until none is listed, then each id must GET 404. Polls: ${b.create.polls} and ${b.delete.polls}.`, '');
    L.push('| | all done (s) | volumes/s | all answered (s) | API answer p50 / p90 / max (ms) | server CPU s | busy cores: all / others |', '|---|---|---|---|---|---|---|');
    for (const [k, x] of [['create to available', b.create], ['delete to gone', b.delete]]) {
      L.push(`| ${k} | ${x.seconds} | ${x.perSecond} | ${x.answeredS} | ${f1(x.api.p50)} / ${f1(x.api.p90)} / ${f1(x.api.max)} | ${x.serverCpuS} | ${x.machine?.busyCores ?? 'n/a'} / ${x.machine?.otherCores ?? 'n/a'} |`);
    }
    L.push('', `Server CPU (its main thread, the thread pool and the qemu-img it ran) per volume: ${((b.create.serverCpuS / b.n) * 1000).toFixed(0)} ms to create, ${((b.delete.serverCpuS / b.n) * 1000).toFixed(0)} ms to delete, polls included.`);
    L.push('', `Files made in data_dir/volumes: ${b.create.filesMade}; files left after the deletes: ${b.filesLeft.length}${b.filesLeft.length ? ` (${b.filesLeft.slice(0, 5).join(', ')})` : ''}; deleted volumes a GET still shows: ${b.stillShown}.`, '');
  }
  const l = r.list;
  if (l) {
    L.push(`## 3. Listing ${l.total} volumes by pages of ${PAGE}`, '');
    L.push(
      `${l.inserted.rows} rows inserted straight into the running cloud's SQLite database (data_dir/block-storage.db, one transaction, ${l.inserted.seconds} s), copies of a volume the API made (plus that one), ` +
        `${l.inserted.withMetadata} of them with two metadata keys. Each walk follows the volumes_links next href from the first page to the last (${Math.ceil(l.total / PAGE)} pages, every id seen once); ${WALKS} walks after one warm-up walk. One detail page is ${(l.detailPageBytes / 1024).toFixed(0)} KiB.`,
      '',
    );
    L.push('| ms | p50 | p90 | max | n |', '|---|---|---|---|---|');
    for (const x of [l.detail, l.summary]) {
      L.push(row(`GET ${x.path}, per page`, x.perPage));
      L.push(row('- first page only', x.firstPage));
      L.push(row('- whole walk', x.walk));
    }
    L.push('');
    if (l.sql) {
      L.push(
        "The page's own queries, timed in this client through the service's repository functions (store/volume.repo.js listVolumeRows, then metadataOf x2, attachmentsOf and typeNamesOf for the page) " +
          'on a read-only connection to the same database file, 3 walks after a warm-up; then the page query on copies of the database:',
        '',
        '| ms per page | p50 | p90 | max | n |',
        '|---|---|---|---|---|',
      );
      L.push(row('listVolumeRows (the page query)', l.sql.asIs.list));
      L.push(row('hydration queries of the page', l.sql.asIs.hydrate));
      for (const [name, x] of Object.entries(l.sql).filter(([k]) => k !== 'asIs')) L.push(row(`listVolumeRows ${name} (on a copy)`, x.list));
      L.push('', "SQLite's plan for a page after the first:", '', `- as is: \`${l.sql.asIs.plan}\``);
      for (const [name, x] of Object.entries(l.sql).filter(([k]) => k !== 'asIs')) L.push(`- ${name}: \`${x.plan}\``);
      L.push('');
    }
    const pagesWalked = (WALKS + 1) * Math.ceil(l.total / PAGE);
    for (const x of [l.detail, l.summary]) {
      L.push(
        `- ${x.path}: server CPU ${x.serverCpuS} s over ${x.wallS} s of ${WALKS + 1} walks (${pagesWalked} pages): **${((x.serverCpuS / pagesWalked) * 1000).toFixed(0)} ms of server CPU per page**; ` +
          `busy cores all / others ${x.machine?.busyCores ?? 'n/a'} / ${x.machine?.otherCores ?? 'n/a'}.`,
      );
    }
    L.push('');
  }
  if (r.profile) {
    L.push("## Where the server's main thread spent each phase (--cpu-prof, self time)", '');
    for (const [name, p] of Object.entries(r.profile)) {
      L.push(`### ${name}: ${p.wallMs} ms of wall time, ${p.sampledMs} ms sampled`, '', '| function | ms | % |', '|---|---|---|');
      for (const f of p.functions) L.push(`| ${f.name} | ${f.ms} | ${f.pct} |`);
      L.push('', 'By file or package: ' + p.files.map((f) => `${f.name} ${f.pct}%`).join(', '), '');
    }
  }
  if (r.notes.length) L.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return L.join('\n');
}

// ---- main

async function main() {
  const dir = mkdtempSync(join('/tmp', 'block-storage-bench-'));
  const dirtyOut = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'services/block-storage/src', 'services/identity/src', 'packages', 'apps/cli/src', 'alto'], { encoding: 'utf8' }).stdout;
  const meta = {
    date: new Date().toISOString().slice(0, 10),
    ...machine(),
    qemuImg: spawnSync('qemu-img', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] || 'qemu-img missing',
    commit: spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || 'unknown',
    dirty: dirtyOut.split('\n').some((l) => l.trim() && !/\.test\.ts$/.test(l)),
    ...(VARIANT ? { variant: VARIANT } : {}),
  };
  delete meta.wrk;
  if (CPU_PROF) {
    rmSync(CPU_PROF, { recursive: true, force: true });
    mkdirSync(CPU_PROF, { recursive: true });
  }
  const result = { meta, notes: [] };
  let alto;
  try {
    alto = await startAlto(dir);
    const body = { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: PASSWORD } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } };
    const tr = await fetch(`${alto.identity}/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (tr.status !== 201) throw new Error(`token: ${tr.status} ${await tr.text()}`);
    const projectId = (await tr.json()).token.project.id;
    const token = tr.headers.get('x-subject-token');
    const api = new Api(alto.volume, projectId, token);
    // the worker reports itself at start; the scheduler needs that report to place volumes
    await waitFor(async () => {
      const s = (await api.call('GET', '/os-services?binary=cinder-volume', undefined, 200)).json().services;
      if (!s.some((x) => x.state === 'up')) throw new Error('no volume worker up');
    }, 60_000);
    await api.call('PUT', `/os-quota-sets/${projectId}`, { quota_set: { volumes: -1, gigabytes: -1, snapshots: -1, per_volume_gigabytes: -1 } }, 200);
    if (ONLY.includes('create')) {
      log(`1: ${SAMPLES} creates one at a time`);
      const w = await phase('1 create', () => watched(alto, () => createLatency(api)));
      result.create = { ...w.value, serverCpuS: w.serverCpuS, wallS: w.wallS, machine: w.machine };
    }
    if (ONLY.includes('burst')) {
      log(`2: ${BURST} concurrent creates and deletes`);
      result.burst = await phase('2 burst', () => burst(api, alto));
    }
    if (ONLY.includes('list')) {
      log(`3: listing ${ROWS} volumes`);
      result.list = await listing(api, alto, projectId, dir);
    }
  } finally {
    meta.loadavgEnd = machine().loadavg;
    if (alto) await stopAlto(alto);
    rmSync(dir, { recursive: true, force: true });
  }
  if (CPU_PROF) result.profile = profileByPhase(CPU_PROF);
  const goals = [];
  if (result.create) {
    const t = result.create.total;
    goals.push({ goal: '1 GiB blank volume, POST to available, p50', target: `< ${GOAL_CREATE_P50_MS} ms`, measured: `p50 ${f1(t.p50)} ms (p90 ${f1(t.p90)}, max ${f1(t.max)})`, met: t.p50 < GOAL_CREATE_P50_MS });
  }
  if (result.burst) {
    const b = result.burst;
    const ok = b.create.filesMade === b.n && b.stillShown === 0 && b.filesLeft.length === 0;
    goals.push({ goal: `${b.n} concurrent creates then deletes: all succeed, no file left`, target: 'all', measured: `${b.n}/${b.n} available in ${b.create.seconds} s (${b.create.perSecond}/s), gone in ${b.delete.seconds} s (${b.delete.perSecond}/s); ${b.filesLeft.length} files left`, met: ok });
  }
  if (result.list) {
    const p = result.list.detail.perPage;
    goals.push({ goal: `GET /volumes/detail, ${result.list.total} volumes, limit=${PAGE}, per page p50`, target: `< ${GOAL_PAGE_P50_MS} ms`, measured: `p50 ${f1(p.p50)} ms (p90 ${f1(p.p90)}, max ${f1(p.max)})`, met: p.p50 < GOAL_PAGE_P50_MS });
  }
  result.goals = goals;
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const stem = join(ROOT, `bench/results/block-storage-${meta.date}${VARIANT ? `-${VARIANT.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}` : ''}`);
  writeFileSync(`${stem}.json`, JSON.stringify(result, null, 2) + '\n');
  const md = markdown(result);
  writeFileSync(`${stem}.md`, md);
  process.stdout.write(md);
  log(`wrote ${stem}.md and .json`);
}

await main();
