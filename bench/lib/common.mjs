// Helpers shared by the benchmarks: logging, wrk runs and their parsing, process-tree RSS,
// timed HTTP requests and percentiles, the machine and versions a result was measured on.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';

export const log = (m) => process.stderr.write(`bench: ${m}\n`);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function need(cmd) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) throw new Error(`${cmd} is needed (apt-get install -y ${cmd})`);
}

/** RSS of a process tree, KiB. */
export function rssKiB(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]);
    } catch {
      // gone
    }
  }
  return total;
}

export function treePids(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const t of readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) out.push(Number(t));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * One wrk run (one thread) and what it printed: req/s, the request count, p50/p90/p99 in ms,
 * non-2xx answers, socket errors (a request longer than `timeout` seconds is one: it is dropped), and `checkFailures` when the Lua script prints a line
 * `check failures: N` from done() (see checkedScript).
 */
export function wrk(url, script, concurrency, seconds, { timeout = 30 } = {}) {
  const args = ['-t1', `-c${concurrency}`, `-d${seconds}s`, '--timeout', `${timeout}s`, '--latency', '-s', script, url];
  const r = spawnSync('wrk', args, { encoding: 'utf8' });
  const out = r.stdout;
  const ms = (s) => {
    const m = /([\d.]+)(us|ms|s)/.exec(s);
    if (!m) return null;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out);
    return m ? ms(m[1]) : null;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: (.*)/.exec(out)?.[1] ?? '';
  const checks = /check failures: (\d+)/.exec(out);
  // with no completed request wrk prints zeros, which are no latencies
  const p = (x) => (requests ? pct(x) : null);
  return {
    concurrency,
    seconds,
    rps,
    requests,
    p50: p(50),
    p90: p(90),
    p99: p(99),
    non2xx,
    socketErrors: sockErr,
    ...(checks ? { checkFailures: Number(checks[1]) } : {}),
    raw: out + (r.stderr ?? ''),
  };
}

/**
 * A wrk Lua script for a GET with fixed headers whose every answer must be 200 and contain each
 * of `mustContain` (plain substrings); done() prints `check failures: N` for wrk() to read.
 */
export function checkedScript(headers, mustContain) {
  const lua = (s) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  return [
    'wrk.method = "GET"',
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}`),
    `local needles = { ${mustContain.map(lua).join(', ')} }`,
    'local threads = {}',
    'function setup(thread) table.insert(threads, thread) end',
    'function init(args) failures = 0 end',
    'function response(status, headers, body)',
    '  local ok = status == 200 and body ~= nil',
    '  if ok then for _, n in ipairs(needles) do if not string.find(body, n, 1, true) then ok = false; break end end end',
    '  if not ok then failures = failures + 1 end',
    'end',
    'function done(summary, latency, requests)',
    '  local f = 0',
    '  for _, t in ipairs(threads) do f = f + t:get("failures") end',
    '  io.write(string.format("check failures: %d\\n", f))',
    'end',
    '',
  ].join('\n');
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/**
 * One HTTP request on a kept-alive connection (when the server keeps it), timed from the
 * request to the last byte of the answer; the body is parsed by the caller, outside the time.
 */
export function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const h = { ...headers };
    if (payload !== undefined) {
      h['content-type'] ??= 'application/json';
      h['content-length'] = Buffer.byteLength(payload);
    }
    const t0 = performance.now();
    const req = http.request(url, { method, headers: h, agent }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const ms = performance.now() - t0;
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode, headers: res.headers, text, ms, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Nearest-rank percentiles of latencies in ms. */
export function percentiles(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : null);
  const r3 = (v) => (v === null ? null : +v.toFixed(3));
  return { n: s.length, p50: r3(at(50)), p90: r3(at(90)), p99: r3(at(99)), min: r3(s[0] ?? null), max: r3(s.at(-1) ?? null) };
}

/**
 * Runs `once` sequentially (concurrency 1) after `warmup` unmeasured calls, for `seconds` or
 * until `max` calls, and at least `min` calls (or 3 when `min` would take past `capSeconds`). `once` returns { ms, ok, why? }: a wrong answer is
 * counted as a failure and its time is kept out of the percentiles.
 */
export async function measureSequential(once, { seconds, min = 10, max = 5000, warmup = 3, capSeconds = Math.max(60, seconds * 4) }) {
  for (let i = 0; i < warmup; i++) await once();
  const times = [];
  let failures = 0;
  let firstFailure;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  let n = 0;
  // a slow system gets `min` requests, unless that would take past capSeconds (then at least 3)
  const cap = t0 + capSeconds * 1000;
  while (n < max && (n < min || performance.now() < end) && !(n >= 3 && performance.now() > cap)) {
    const r = await once();
    n++;
    if (r.ok) times.push(r.ms);
    else {
      failures++;
      firstFailure ??= r.why;
    }
  }
  const wall = (performance.now() - t0) / 1000;
  return { requests: n, calls: n + warmup, failures, ...(firstFailure ? { firstFailure } : {}), ...percentiles(times), rps: +(n / wall).toFixed(1) };
}

/** Machine, load and tool versions, for the head of a result file. */
export function machine() {
  const sh = (c) => spawnSync('sh', ['-c', c], { encoding: 'utf8' }).stdout.trim();
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    kernel: sh('uname -r'),
    os: sh(". /etc/os-release 2>/dev/null && echo \"$PRETTY_NAME\""),
    node: process.version,
    wrk: sh('wrk -v 2>&1 | head -1'),
    loadavg: loadavg().map((x) => +x.toFixed(2)),
  };
}

/** CPU ticks (1/100 s) of processes (utime + stime + waited children), 0 for the gone. */
export function procTicks(pids) {
  let t = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      // fields 14-17 of proc(5): utime stime cutime cstime, here at indexes 11-14
      t += Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]);
    } catch {
      // gone
    }
  }
  return t;
}

function systemTicks() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + (cpu[4] ?? 0);
  return { total: cpu.reduce((a, b) => a + b, 0), idle };
}

/**
 * How quiet the machine was during a measurement: start() before, stop() after, with the pids
 * of the system under test (this process and the wrk it waits for count as ours). Reports the
 * cores kept busy by everyone and by other processes (other helpers' builds and tests).
 */
export function cpuWatch(pidsOfServer) {
  const ncpu = cpus().length;
  const snap = () => ({ sys: systemTicks(), ours: procTicks([process.pid, ...pidsOfServer()]) });
  const a = snap();
  const la = loadavg()[0];
  return () => {
    const b = snap();
    const total = b.sys.total - a.sys.total;
    if (total <= 0) return null;
    const busy = total - (b.sys.idle - a.sys.idle);
    const others = Math.max(0, busy - (b.ours - a.ours));
    return { busyCores: +((busy / total) * ncpu).toFixed(2), otherCores: +((others / total) * ncpu).toFixed(2), loadavg1: [+la.toFixed(2), +loadavg()[0].toFixed(2)] };
  };
}

/** The first port from `from` up to `to` that nothing listens on (other helpers run servers too). */
export async function freePort(from, to = from + 99) {
  for (let p = from; p <= to; p++) {
    const free = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(p, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return p;
  }
  throw new Error(`no free port in ${from}-${to}`);
}
