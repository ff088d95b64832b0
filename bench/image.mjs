#!/usr/bin/env node
// Image data-path benchmark, side by side in one run: a 1 GiB upload and download through
// Altostratus (`alto up`) and through upstream Glance from Debian (tools/glance-ref, filesystem
// store, authenticating against the same alto identity), against dd on the same disk.
// Writes bench/results/image-<date>.{md,json}.
//
//   node bench/image.mjs            (or: bench/run image)
//   BENCH_SIZE_MIB=256 BENCH_RUNS=3 BENCH_ONLY=dd,alto,glance node bench/image.mjs
//
// The dd baselines do the work the API must do. Upload: write with conv=fsync while md5 and
// sha512 of the stream are computed (dd | tee md5.fifo sha512.fifo | dd conv=fsync, md5sum and
// sha512sum reading the fifos: the same processes as tee >(md5sum) >(sha512sum), but waited for).
// Download: dd reading the stored file into md5sum and sha512sum, as a client that verifies the
// download does. Raw dd without hashes is reported too. The API client streams: a file read
// stream into node's http for the upload; for the download, the body goes to a file on the same
// disk and through md5sum and sha512sum (the baseline's hashers), checked against the image's
// checksum and os_hash_value. Every measurement runs BENCH_RUNS times, interleaved, best and
// median reported. The servers' RSS is sampled every 100 ms from /proc/<pid>/status.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, closeSync, rmSync, statSync, writeSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { cpuWatch, freePort, log, machine, procTicks, rssKiB, sleep, treePids } from './lib/common.mjs';
import { passwordToken, ROOT, waitFor } from './lib/servers.mjs';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
const SIZE = SIZE_MIB * MiB;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ONLY = (process.env.BENCH_ONLY ?? 'dd,alto,glance').split(',');
// a run of a modified tree (e.g. a proposed fix) says so in its file name and heading
const VARIANT = process.env.BENCH_VARIANT ?? '';
const PASSWORD = 'bench-secret';
const GLANCE_REF = join(ROOT, 'tools/glance-ref');
// the goals of issue 4
const GOAL_RATIO = 0.8;
const GOAL_RSS_MIB = 64;

const sh = (cmd, opts = {}) => {
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
};

// ---- the source image: random bytes (nothing compresses or dedupes), its hashes known up front

function makeSource(path) {
  const fd = openSync(path, 'w');
  const md5 = createHash('md5');
  const sha512 = createHash('sha512');
  const buf = Buffer.allocUnsafe(4 * MiB);
  for (let left = SIZE; left > 0; left -= buf.length) {
    const part = buf.subarray(0, Math.min(buf.length, left));
    randomFillSync(part);
    md5.update(part);
    sha512.update(part);
    writeSync(fd, part);
  }
  closeSync(fd);
  return { md5: md5.digest('hex'), sha512: sha512.digest('hex') };
}

// ---- dd baselines, through bash for the process substitutions

/** Wall seconds and CPU seconds of a shell pipeline (bash and all it waited for land in our children's times). */
function timed(cmd) {
  sh('sync');
  const c0 = procTicks([process.pid]);
  const t0 = performance.now();
  sh(cmd);
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, cpu: { clientSeconds: (procTicks([process.pid]) - c0) / 100 } };
}

// md5sum and sha512sum read named pipes as bash's own children, so that bash waits for them:
// the time includes both hashes, and their CPU reaches this process's children's times
// (process substitutions would be neither waited for nor counted)
function ddWriteHashed(src, dst, dir) {
  const t = timed(`${hashers(dir)} dd if=${src} bs=1M status=none | tee ${dir}/md5.fifo ${dir}/sha512.fifo | dd of=${dst} bs=1M conv=fsync status=none; wait`);
  return { ...t, md5: readHash(`${dir}/dd.md5`), sha512: readHash(`${dir}/dd.sha512`) };
}

function ddReadHashed(file, dir) {
  const t = timed(`${hashers(dir)} dd if=${file} bs=1M status=none | tee ${dir}/md5.fifo >${dir}/sha512.fifo; wait`);
  return { ...t, md5: readHash(`${dir}/dd.md5`), sha512: readHash(`${dir}/dd.sha512`) };
}

function ddReadHashedToFile(file, copy, dir) {
  const t = timed(`${hashers(dir)} dd if=${file} bs=1M status=none | tee ${dir}/md5.fifo ${dir}/sha512.fifo | dd of=${copy} bs=1M status=none; wait`);
  return { ...t, md5: readHash(`${dir}/dd.md5`), sha512: readHash(`${dir}/dd.sha512`) };
}

/** The API download with the dd baseline's own tools: curl takes the first dd's place. */
function curlReadHashedToFile(url, token, copy, dir) {
  const t = timed(`${hashers(dir)} curl -sSf -H 'X-Auth-Token: ${token}' ${url} | tee ${dir}/md5.fifo ${dir}/sha512.fifo | dd of=${copy} bs=1M status=none; wait`);
  return { ...t, md5: readHash(`${dir}/dd.md5`), sha512: readHash(`${dir}/dd.sha512`) };
}

function hashers(dir) {
  return `rm -f ${dir}/dd.md5 ${dir}/dd.sha512; md5sum <${dir}/md5.fifo >${dir}/dd.md5 & sha512sum <${dir}/sha512.fifo >${dir}/dd.sha512 &`;
}

function readHash(path) {
  for (let i = 0; i < 100; i++) {
    const t = existsSync(path) ? readFileSync(path, 'utf8').trim() : '';
    if (t) return t.split(/\s+/)[0];
    spawnSync('sleep', ['0.05']);
  }
  throw new Error(`no hash in ${path}`);
}

// ---- RSS sampling every 100 ms while a transfer runs

function rssSampler(pids) {
  const samples = [];
  const take = () => samples.push(rssKiB(pids()));
  take();
  const timer = setInterval(take, 100);
  return () => {
    clearInterval(timer);
    take();
    return { beforeMiB: +(samples[0] / 1024).toFixed(1), peakMiB: +(Math.max(...samples) / 1024).toFixed(1), growthMiB: +((Math.max(...samples) - samples[0]) / 1024).toFixed(1), samples: samples.length };
  };
}

// ---- the HTTP client

function json(base, method, path, token, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { 'x-auth-token': token, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) };
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode >= 300 ? reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`)) : resolve(text ? JSON.parse(text) : undefined)));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** PUT /v2/images/{id}/file from a file read stream; seconds to the server's answer. */
function upload(base, token, id, src) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(`${base}/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream', 'content-length': SIZE },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode === 204 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`upload: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    createReadStream(src, { highWaterMark: MiB }).pipe(req);
  });
}

// ---- the systems under test

async function startAlto(dir) {
  const identityPort = await freePort(5780);
  const imagePort = await freePort(9780);
  const dataDir = join(dir, 'alto');
  const env = {
    ...process.env,
    ALTO_DATA_DIR: dataDir,
    ALTO_IDENTITY__API__PORT: String(identityPort),
    ALTO_IMAGE__API__PORT: String(imagePort),
    ALTO_ADMIN_PASSWORD: PASSWORD,
    ALTO_LOG__LEVEL: 'warn',
  };
  const proc = spawn(join(ROOT, 'alto'), ['up'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (c) => (stderr += c));
  const identity = `http://127.0.0.1:${identityPort}`;
  const image = `http://127.0.0.1:${imagePort}`;
  const exited = new Promise((r) => proc.once('exit', (code) => r(`exit ${code}`)));
  // no token is validated by the image API yet: its service token must come after glance-ref's
  // keystone-setup.py resets the glance user's password, which revokes that user's tokens
  const up = waitFor(async () => {
    await passwordToken(identity, PASSWORD);
    const r = await fetch(`${image}/versions`);
    await r.arrayBuffer();
    if (r.status >= 400) throw new Error(`image versions: ${r.status}`);
    return 'up';
  }, 180_000);
  const first = await Promise.race([up, exited]);
  if (first !== 'up') throw new Error(`alto up failed (${first}):\n${stderr.slice(-2000)}`);
  log(`alto: identity ${identity}, image ${image}, data in ${dataDir}`);
  return { name: 'altostratus', proc, identity, image, dataDir, pids: () => [proc.pid] };
}

async function stopAlto(alto) {
  if (alto.proc.exitCode !== null) return;
  alto.proc.kill('SIGTERM');
  await new Promise((r) => alto.proc.once('exit', r));
}

async function startGlance(dir, alto) {
  const port = await freePort(19780);
  const glDir = join(dir, 'glance');
  const env = {
    ...process.env,
    GL_DIR: glDir,
    GL_PORT: String(port),
    KS_URL: `${alto.identity}/v3`,
    KS_ADMIN_PASSWORD: PASSWORD,
    // the glance user alto up made for its own image service: keep its password, so that
    // keystone-setup.py's reset changes nothing for alto
    GL_SERVICE_PASSWORD: readFileSync(join(alto.dataDir, 'glance-service-password'), 'utf8').trim(),
  };
  log(`glance: starting upstream Glance from Debian on port ${port}`);
  const s = spawnSync(join(GLANCE_REF, 'start.sh'), [], { env, encoding: 'utf8' });
  if (s.status !== 0) throw new Error(`glance-ref start failed:\n${s.stdout}\n${s.stderr}`);
  const pid = Number(readFileSync(join(glDir, 'glance-api.pid'), 'utf8'));
  return { name: 'glance (Debian, Zed)', image: `http://127.0.0.1:${port}`, dir: glDir, env, pids: () => treePids(pid) };
}

function stopGlance(glance) {
  spawnSync(join(GLANCE_REF, 'stop.sh'), [], { env: glance.env, encoding: 'utf8' });
}

/**
 * CPU seconds of the server and of the client (this process and the hashers it waited for)
 * during a transfer, and how busy the machine was (cpuWatch: everyone, and others than these).
 */
function transferCpu(server) {
  const ours = () => [...server.pids(), ...treePids(process.pid)];
  const s0 = procTicks(server.pids());
  const c0 = procTicks([process.pid]);
  const t0 = threadTicks(server.pids());
  const machineWatch = cpuWatch(ours);
  return () => {
    const t1 = threadTicks(server.pids());
    // where the server's time went, by thread name (alto: MainThread, the hash WorkerThreads, libuv's file I/O pool, V8's GC helpers)
    const threads = Object.fromEntries([...t1].map(([name, ticks]) => [name, (ticks - (t0.get(name) ?? 0)) / 100]).filter(([, sec]) => sec > 0));
    return { serverSeconds: (procTicks(server.pids()) - s0) / 100, clientSeconds: (procTicks([process.pid]) - c0) / 100, serverThreads: threads, ...machineWatch() };
  };
}

/** CPU ticks of every thread of the processes, summed by thread name. */
function threadTicks(pids) {
  const by = new Map();
  for (const pid of pids) {
    let tids;
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        by.set(name, (by.get(name) ?? 0) + Number(f[11]) + Number(f[12]));
      } catch {
        // gone
      }
    }
  }
  return by;
}

/** One upload and one download of the source through a server's API, with its RSS during the upload. */
async function apiRound(server, token, src, want, dir) {
  const { id } = await json(server.image, 'POST', '/v2/images', token, { name: `bench-${Date.now()}`, disk_format: 'raw', container_format: 'bare' });
  await sleep(500);
  const rss = rssSampler(server.pids);
  const watchUp = transferCpu(server);
  const up = await upload(server.image, token, id, src);
  const upCpu = watchUp();
  const memory = rss();
  const image = await json(server.image, 'GET', `/v2/images/${id}`, token);
  if (image.status !== 'active' || image.size !== SIZE || image.checksum !== want.md5 || image.os_hash_value !== want.sha512) {
    throw new Error(`${server.name}: wrong image after upload: ${JSON.stringify({ status: image.status, size: image.size, checksum: image.checksum, os_hash_value: image.os_hash_value })}`);
  }
  return {
    id,
    upload: { seconds: up, cpu: upCpu, memory },
    // the download runs later in the round, after the dd reads (see main)
    download: async () => {
      const dst = join(dir, 'download');
      sh('sync');
      const watch = transferCpu(server);
      const d = { ...curlReadHashedToFile(`${server.image}/v2/images/${id}/file`, token, dst, dir), size: statSync(dst).size };
      const cpu = watch();
      rmSync(dst, { force: true });
      if (d.size !== SIZE || d.md5 !== want.md5 || d.sha512 !== want.sha512) throw new Error(`${server.name}: download differs: ${JSON.stringify(d)}`);
      await json(server.image, 'DELETE', `/v2/images/${id}`, token);
      return { seconds: d.seconds, cpu };
    },
  };
}

// ---- figures

const mbps = (seconds) => SIZE / seconds / 1e6;
function summary(runs) {
  const rates = runs.map((r) => mbps(r.seconds)).sort((a, b) => b - a);
  return { bestMBps: +rates[0].toFixed(1), medianMBps: +rates[Math.floor((rates.length - 1) / 2)].toFixed(1), allMBps: runs.map((r) => +mbps(r.seconds).toFixed(1)) };
}

function markdown(r) {
  const L = [];
  const m = r.meta;
  L.push(`# Image data-path benchmark, ${m.date}${VARIANT ? ` (${VARIANT})` : ''}`, '');
  L.push(`Tree: ${m.commit}${m.dirty ? ' with uncommitted changes' : ''}. Run: \`bench/run image\`.`, '');
  L.push(`${m.cpus} cores (${m.cpuModel}), ${m.memGiB} GiB, ${m.os}, kernel ${m.kernel}, node ${m.node}; load average at the start ${m.loadavg.join(' ')}.`);
  L.push(`One ${SIZE_MIB} MiB image of random bytes, ${RUNS} runs of each measurement, interleaved; MB/s = 10^6 bytes per second; best and median of the runs.`);
  L.push(`Everything on one disk (${m.disk}): the dd files, alto's data directory and Glance's filesystem store. The source file and every file read back are in the page cache, for every side alike.`);
  L.push('');
  L.push('- dd write + hashes: `dd if=src bs=1M | tee md5.fifo sha512.fifo | dd of=dst bs=1M conv=fsync`, md5sum and sha512sum reading the fifos, timed until both hashes are out; dd write raw: `dd if=src of=dst bs=1M conv=fsync`.');
  L.push('- dd read + hashes: `dd if=stored bs=1M | tee md5.fifo > sha512.fifo`, hashed the same way; dd read raw: `dd if=stored of=/dev/null bs=1M`; ' +
    'dd read + hashes + write a copy: `dd if=stored bs=1M | tee md5.fifo sha512.fifo | dd of=copy bs=1M` (no fsync), the work of the API download\'s client without the network.');
  L.push('- API upload: `PUT /v2/images/{id}/file` from a file read stream (node http, Content-Length), timed to the 204; the server computes md5 and sha512 and (alto) fsyncs before answering. Then the image must show the right size, checksum and os_hash_value.');
  L.push('- API download: `curl URL | tee md5.fifo sha512.fifo | dd of=copy bs=1M` (the dd baseline with curl in the first dd\'s place), timed until the copy is written and both hashes are out; both must match.');
  L.push(`- Server RSS: VmRSS of the server's processes (alto: one process; Glance: the API process and its worker) every 100 ms during the upload, growth = peak - value before.`);
  L.push('');
  const g = r.goals;
  if (g) {
    L.push('## Goals (issue 4)', '');
    L.push('| Goal | Target | Measured (best / median) | Met |', '|---|---|---|---|');
    for (const x of g) L.push(`| ${x.goal} | ${x.target} | ${x.measured} | ${x.met === null ? '' : x.met ? 'yes' : 'NO'} |`);
    L.push('');
  }
  L.push('## Throughput (MB/s)', '');
  L.push('| | best | median | runs |', '|---|---|---|---|');
  for (const [label, s] of Object.entries(r.table)) L.push(`| ${label} | ${s.bestMBps} | ${s.medianMBps} | ${s.allMBps.join(', ')} |`);
  L.push('');
  L.push('## Server memory during the upload', '');
  L.push('| | RSS before (MiB) | peak (MiB) | growth per run (MiB) |', '|---|---|---|---|');
  for (const [label, runs] of Object.entries(r.memory)) {
    L.push(`| ${label} | ${runs.map((x) => x.beforeMiB).join(', ')} | ${runs.map((x) => x.peakMiB).join(', ')} | ${runs.map((x) => x.growthMiB).join(', ')} |`);
  }
  L.push('');
  L.push('## CPU', '');
  L.push(
    `CPU seconds per GiB moved (median of the runs): the server's, and the client's (for dd, the whole pipeline; for the API, this node client and the md5sum and sha512sum it feeds). ` +
      'Busy cores: how many of the machine\'s cores were busy during the transfer, by everyone / by processes other than the server and the client (other work on the machine).',
    '',
  );
  L.push('| | server CPU s/GiB | client CPU s/GiB | busy cores: all / others, per run |', '|---|---|---|---|');
  const perGiB = (x) => (x === undefined ? 'n/a' : (x / (SIZE / 2 ** 30)).toFixed(2));
  const med = (xs) => {
    const v = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
    return v.length ? v[Math.floor((v.length - 1) / 2)] : undefined;
  };
  for (const [label, runs] of Object.entries(r.cpu)) {
    const busy = runs.map((c) => (c?.busyCores !== undefined ? `${c.busyCores} / ${c.otherCores}` : 'n/a')).join('; ');
    L.push(`| ${label} | ${perGiB(med(runs.map((c) => c?.serverSeconds)))} | ${perGiB(med(runs.map((c) => c?.clientSeconds)))} | ${busy} |`);
  }
  L.push('');
  const threadRows = Object.entries(r.cpu).filter(([label]) => label.startsWith('altostratus'));
  if (threadRows.length) {
    L.push("Alto's CPU s/GiB by thread, per run:", '');
    for (const [label, runs] of threadRows) {
      const line = runs.map((c) => Object.entries(c?.serverThreads ?? {}).sort((a, b) => b[1] - a[1]).map(([n, sec]) => `${n} ${perGiB(sec)}`).join(', ')).join('; ');
      L.push(`- ${label}: ${line}`);
    }
    L.push('');
  }
  if (r.notes.length) L.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return L.join('\n');
}

// ---- main

async function main() {
  const dir = mkdtempSync(join('/tmp', 'image-bench-'));
  const meta = {
    date: new Date().toISOString().slice(0, 10),
    ...machine(),
    disk: sh(`df --output=source ${dir} | tail -1`).trim(),
    commit: spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || 'unknown',
    // only the files the data path runs on: other helpers' unrelated edits do not count
    dirty: spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'services/image/src', 'packages/http/src', 'apps/cli/src', 'alto'], { encoding: 'utf8' }).stdout.trim() !== '',
    ...(VARIANT ? { variant: VARIANT } : {}),
  };
  delete meta.wrk;
  const src = join(dir, 'source.img');
  log(`making a ${SIZE_MIB} MiB source of random bytes in ${dir}`);
  const want = makeSource(src);
  sh(`mkfifo ${dir}/md5.fifo ${dir}/sha512.fifo`);
  const servers = [];
  let alto;
  let glance;
  const result = { meta, sizeBytes: SIZE, runs: RUNS, source: want, raw: {}, table: {}, memory: {}, cpu: {}, notes: [] };
  const put = (key, value) => (result.raw[key] ??= []).push(value);
  try {
    if (ONLY.includes('alto') || ONLY.includes('glance')) {
      alto = await startAlto(dir);
      if (ONLY.includes('alto')) servers.push(alto);
    }
    if (ONLY.includes('alto')) {
      const threads = availableParallelism() > 2 ? 2 : 1;
      result.notes.push(
        `Alto hashes in ${threads} worker thread${threads > 1 ? 's' : ''} (services/image/src/domain/digest.ts: one per algorithm above two cores, else one for both), started when the first image is created (an isolate each, about 16 MiB, held from then on ` +
          'and counted in the RSS before the first upload, which follows its create by 500 ms). RSS also carries up to tens of MiB of socket buffers the garbage collector has not yet reclaimed.',
      );
    }
    if (ONLY.includes('glance')) {
      glance = await startGlance(dir, alto);
      servers.push(glance);
      result.notes.push(
        'Glance: Debian 12 python3-glance 2:25.1.0 (Zed) through tools/glance-ref (eventlet glance-api, 1 worker, filesystem store `file1`), ' +
          'authenticating against this run\'s alto identity. Its filesystem store writes in 64 KiB chunks and does not fsync before answering; alto fsyncs the data and the directory before the image turns active.',
      );
    }
    // tokens issued in the second of a revocation count as revoked (Keystone's rule): wait it out
    await sleep(1500);
    for (const dev of [alto?.dataDir, glance?.dir].filter(Boolean)) {
      if (statSync(dev).dev !== statSync(dir).dev) throw new Error(`${dev} is not on the disk of ${dir}`);
    }
    const tokens = new Map();
    for (const s of servers) tokens.set(s, await passwordToken(alto.identity, PASSWORD));

    for (let run = 1; run <= RUNS; run++) {
      log(`run ${run}/${RUNS}`);
      const stored = join(dir, 'dd.out');
      if (ONLY.includes('dd')) {
        const h = ddWriteHashed(src, stored, dir);
        if (h.md5 !== want.md5 || h.sha512 !== want.sha512) throw new Error('dd pipeline hashes differ from the source');
        put('dd write + md5 + sha512', { seconds: h.seconds, cpu: h.cpu });
        rmSync(stored);
        put('dd write raw', timed(`dd if=${src} of=${stored} bs=1M conv=fsync status=none`));
      }
      const rounds = [];
      for (const s of servers) {
        log(`${s.name}: upload`);
        const round = await apiRound(s, tokens.get(s), src, want, dir);
        put(`${s.name} upload`, round.upload);
        rounds.push([s, round]);
      }
      if (ONLY.includes('dd')) {
        const h = ddReadHashed(stored, dir);
        if (h.md5 !== want.md5 || h.sha512 !== want.sha512) throw new Error('dd read hashes differ from the source');
        put('dd read + md5 + sha512', { seconds: h.seconds, cpu: h.cpu });
        put('dd read raw', timed(`dd if=${stored} of=/dev/null bs=1M status=none`));
        // what the API client does besides the hashes: the copy lands in a file on the same disk
        const copy = join(dir, 'dd.copy');
        const w = ddReadHashedToFile(stored, copy, dir);
        if (w.md5 !== want.md5 || w.sha512 !== want.sha512) throw new Error('dd read hashes differ from the source');
        put('dd read + md5 + sha512 + write a copy', { seconds: w.seconds, cpu: w.cpu });
        rmSync(copy);
        rmSync(stored);
      }
      for (const [s, round] of rounds) {
        log(`${s.name}: download`);
        put(`${s.name} download`, await round.download());
      }
    }
    for (const [k, runs] of Object.entries(result.raw)) {
      result.table[k] = summary(runs);
      if (runs[0].memory) result.memory[k] = runs.map((x) => x.memory);
      if (runs.some((x) => x.cpu)) result.cpu[k] = runs.map((x) => x.cpu);
    }
    const t = result.table;
    const goals = [];
    // best: best against best; median: of each run's ratio against the dd of the same run (the
    // runs are interleaved, so a pair saw about the same machine)
    const ratio = (api, base) => {
      const a = result.raw[api];
      const b = result.raw[base];
      if (!a || !b) return undefined;
      const paired = a.map((x, i) => b[i].seconds / x.seconds).sort((p, q) => p - q);
      return { best: t[api].bestMBps / t[base].bestMBps, median: paired[Math.floor((paired.length - 1) / 2)], perRun: a.map((x, i) => +(b[i].seconds / x.seconds).toFixed(3)) };
    };
    const pct = (x) => `${(x * 100).toFixed(0)}%`;
    const up = ratio('altostratus upload', 'dd write + md5 + sha512');
    if (up) goals.push({ goal: 'upload throughput vs dd write + hashes', target: `>= ${pct(GOAL_RATIO)}`, measured: `${pct(up.best)} / ${pct(up.median)}`, met: up.median >= GOAL_RATIO, ...up });
    // The download is paired with the dd pipeline that does the same work (read the stored file,
    // hash it, write a copy on the same disk): the API's client must put the bytes somewhere.
    const down = ratio('altostratus download', 'dd read + md5 + sha512 + write a copy');
    if (down) goals.push({ goal: 'download throughput vs dd read + hashes + write a copy', target: `>= ${pct(GOAL_RATIO)}`, measured: `${pct(down.best)} / ${pct(down.median)}`, met: down.median >= GOAL_RATIO, ...down });
    const downNoCopy = ratio('altostratus download', 'dd read + md5 + sha512');
    if (downNoCopy) goals.push({ goal: 'download vs dd read + hashes without writing a copy (for information)', target: 'n/a', measured: `${pct(downNoCopy.best)} / ${pct(downNoCopy.median)}`, met: null, ...downNoCopy });
    for (const [what, base] of [['upload', 'dd write + md5 + sha512'], ['download', 'dd read + md5 + sha512 + write a copy']]) {
      const g = ratio(`glance (Debian, Zed) ${what}`, base);
      if (g) goals.push({ goal: `upstream Glance ${what} vs the same dd baseline (for comparison)`, target: 'n/a', measured: `${pct(g.best)} / ${pct(g.median)}`, met: null, ...g });
    }
    const mem = result.memory['altostratus upload'];
    if (mem) {
      const growth = mem.map((x) => x.growthMiB);
      const worst = Math.max(...growth);
      goals.push({ goal: `server RSS growth during a ${SIZE_MIB} MiB upload (worst run)`, target: `< ${GOAL_RSS_MIB} MB`, measured: `${worst} MiB (runs: ${growth.join(', ')})`, met: worst * 1.048576 < GOAL_RSS_MIB });
    }
    if (goals.length) result.goals = goals;
    result.notes.push(
      'Ratios: best = best API run against best dd run; median = median of the per-run ratios, each API run against the dd run of the same round. A throughput goal counts as met on that median; the memory goal on the worst run.',
    );
  } finally {
    if (glance) stopGlance(glance);
    if (alto) await stopAlto(alto);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const stem = join(ROOT, `bench/results/image-${meta.date}${VARIANT ? `-${VARIANT.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}` : ''}`);
  writeFileSync(`${stem}.json`, JSON.stringify(result, null, 2) + '\n');
  const md = markdown(result);
  writeFileSync(`${stem}.md`, md);
  process.stdout.write(md);
  log(`wrote ${stem}.md and .json`);
}

await main();
