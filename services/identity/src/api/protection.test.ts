// Secure RBAC: every Keystone v3 route, for every persona, answers as upstream Keystone did
// (fixtures/protection: scenario.json run by tools/record-upstream/protection.py against Debian's Keystone).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { identityRoutes } from '../plugin.js';
import { startIdentity, ADMIN_PASSWORD, type Harness } from '../testing/harness.js';

/**
 * Cases whose answer still differs from upstream, as `<case id>` (every persona) or
 * `<case id>@<persona>`. Each entry is a known gap with its reason; this set must end empty.
 * A case listed here that now answers as upstream is reported so it can be removed.
 */
const PENDING = new Set<string>([]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Step {
  id?: string;
  as?: string;
  token?: string;
  method?: string;
  path?: string;
  body?: Json;
  headers?: Record<string, string>;
  pick?: string;
  expect?: number;
}
interface Case {
  id: string;
  note?: string;
  personas?: string[];
  setup?: Step[];
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Json;
}
interface Persona {
  user: string;
  scope: 'system' | { domain: string } | { project: string };
}
interface Scenario {
  password: string;
  personas: Record<string, Persona>;
  setup: Step[];
  cases: Case[];
}
interface Result {
  status: number | string;
  items?: string[];
}

const fixtures = new URL('../../fixtures/protection/', import.meta.url);
const scenario = JSON.parse(readFileSync(new URL('scenario.json', fixtures), 'utf8')) as Scenario;
const upstream = (JSON.parse(readFileSync(new URL('upstream.json', fixtures), 'utf8')) as { results: Record<string, Result> }).results;

class SetupFailed extends Error {}

// ---- the scenario's rules (tools/record-upstream/protection.py implements the same; README.md states them)

function subst<T extends Json | undefined>(value: T, vars: Map<string, string>, why: Map<string, string>): T {
  if (typeof value === 'string') {
    return value.replace(/\$\{([a-z_0-9]+)\}/g, (_, name: string) => {
      const v = vars.get(name);
      if (v === undefined) throw new SetupFailed(`no value for \${${name}}${why.has(name) ? ` (${why.get(name)})` : ''}`);
      return v;
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => subst(v, vars, why)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, subst(v, vars, why)])) as T;
  return value;
}

function pick(body: Json | undefined, path: string): string {
  let cur: Json | undefined = body;
  for (const part of path.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
    else if (cur && typeof cur === 'object' && !Array.isArray(cur)) cur = cur[part];
    else cur = undefined;
    if (cur === undefined) throw new SetupFailed(`answer has no ${path}`);
  }
  if (typeof cur !== 'string') throw new SetupFailed(`${path} is not a string`);
  return cur;
}

const uniq = (caseId: string, persona: string) => `tmp-${createHash('sha1').update(`${caseId}@${persona}`).digest('hex').slice(0, 12)}`;

/** What a list entry says, in scenario variable names; [] for entries the scenario did not create. */
function labels(item: Json, names: Map<string, string>): string[] {
  if (typeof item === 'string') return item.startsWith('prot-') ? [item] : [];
  if (!item || typeof item !== 'object' || Array.isArray(item)) return [];
  const name = (ref: Json | undefined) => (ref && typeof ref === 'object' && !Array.isArray(ref) && typeof ref.id === 'string' ? names.get(ref.id) : undefined);
  if ('role' in item && 'scope' in item) {
    // a role assignment: actor, role and scope all shared (effective lists reach throwaway projects)
    const actor = name(item.user) ?? name(item.group);
    const role = name(item.role);
    const scope = item.scope && typeof item.scope === 'object' && !Array.isArray(item.scope) ? item.scope : {};
    const target = 'project' in scope ? name(scope.project) : 'domain' in scope ? name(scope.domain) : undefined;
    const where = 'project' in scope ? target && `project ${target}` : 'domain' in scope ? target && `domain ${target}` : 'system' in scope ? 'system' : undefined;
    if (!actor || !role || !where) return [];
    return [`${actor} ${role} on ${where}${'OS-INHERIT:inherited_to' in scope ? ' inherited' : ''}`];
  }
  if ('prior_role' in item && Array.isArray(item.implies)) {
    const prior = name(item.prior_role);
    return item.implies.flatMap((i) => (prior && name(i) ? [`${prior} implies ${name(i)}`] : []));
  }
  if (item.all === true) return ['system'];
  for (const key of ['id', 'access']) {
    const v = item[key];
    if (typeof v === 'string' && names.has(v)) return [names.get(v)!];
  }
  return [];
}

/** Sorted labels of every top-level list but links, or undefined when the answer holds no list. */
function summarize(body: Json | undefined, names: Map<string, string>): string[] | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const lists = Object.entries(body).filter(([k, v]) => k !== 'links' && Array.isArray(v)).map(([, v]) => v as Json[]);
  if (!lists.length) return undefined;
  return [...new Set(lists.flatMap((entries) => entries.flatMap((e) => labels(e, names))))].sort();
}

// ---- running it against our service

class Runner {
  readonly vars = new Map<string, string>();
  /** Why a global variable has no value (its setup step failed), for readable mismatches. */
  readonly why = new Map<string, string>();
  private readonly tokens = new Map<string, string>();
  private readonly h: Harness;
  constructor(h: Harness) {
    this.h = h;
  }

  async request(token: string | undefined, method: string, path: string, body?: Json, headers?: Record<string, string>) {
    const res = await this.h.req(method, path, { ...(token ? { token } : {}), ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
    let json: Json | undefined;
    try {
      json = res.body ? (JSON.parse(res.body) as Json) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, body: json, headers: res.headers };
  }

  async issue(principal: string, vars: Map<string, string> = this.vars): Promise<string> {
    let user: Json;
    let scope: Json;
    if (principal === 'admin') {
      user = { name: 'admin', domain: { id: 'default' }, password: ADMIN_PASSWORD };
      scope = { system: { all: true } };
    } else {
      const p = scenario.personas[principal];
      if (!p) throw new SetupFailed(`no persona ${principal}`);
      user = { id: subst(`\${${p.user}}`, vars, this.why), password: scenario.password };
      const s = p.scope;
      scope = s === 'system' ? { system: { all: true } } : 'domain' in s ? { domain: { id: subst(`\${${s.domain}}`, vars, this.why) } } : { project: { id: subst(`\${${s.project}}`, vars, this.why) } };
    }
    const r = await this.request(undefined, 'POST', '/v3/auth/tokens', { auth: { identity: { methods: ['password'], password: { user } }, scope } });
    if (r.status !== 201) throw new SetupFailed(`token for ${principal}: ${r.status}`);
    return String(r.headers['x-subject-token']);
  }

  async token(principal: string): Promise<string> {
    let t = this.tokens.get(principal);
    if (!t) {
      t = await this.issue(principal);
      this.tokens.set(principal, t);
    }
    return t;
  }

  async step(step: Step, vars: Map<string, string>, persona: string | undefined): Promise<void> {
    let principal = step.token ?? step.as ?? 'admin';
    if (principal === 'persona') principal = persona!;
    if (step.token) {
      vars.set(step.id!, await this.issue(principal));
      return;
    }
    const path = subst(step.path!, vars, this.why);
    const r = await this.request(await this.token(principal), step.method!, path, subst(step.body, vars, this.why), step.headers && subst(step.headers, vars, this.why));
    const ok = step.expect !== undefined ? r.status === step.expect : r.status >= 200 && r.status < 300;
    if (!ok) throw new SetupFailed(`${step.method} ${step.path} as ${principal}: ${r.status}`);
    if (step.pick) vars.set(step.id!, pick(r.body, step.pick));
  }

  /** The shared setup; a failed step leaves its variable unset and the cases using it report why. */
  async setup(): Promise<void> {
    for (const s of scenario.setup) {
      try {
        await this.step(s, this.vars, undefined);
      } catch (e) {
        if (!(e instanceof SetupFailed)) throw e;
        if (s.id) this.why.set(s.id, e.message);
      }
    }
  }

  names(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, v] of this.vars) if (!out.has(v)) out.set(v, k);
    return out;
  }

  async run(c: Case, persona: string, names: Map<string, string>): Promise<Result> {
    const p = scenario.personas[persona]!;
    const local = new Map(this.vars);
    try {
      local.set('me', subst(`\${${p.user}}`, this.vars, this.why));
      local.set('my_password', scenario.password);
      local.set('my_token', await this.token(persona));
      local.set('uniq', uniq(c.id, persona));
      if (typeof p.scope === 'object') for (const [k, v] of Object.entries(p.scope)) local.set(`my_${k}`, subst(`\${${v}}`, this.vars, this.why));
      for (const s of c.setup ?? []) await this.step(s, local, persona);
      const r = await this.request(await this.token(persona), c.method, subst(c.path, local, this.why), subst(c.body, local, this.why), c.headers && subst(c.headers, local, this.why));
      const items = r.status >= 200 && r.status < 300 ? summarize(r.body, names) : undefined;
      return items ? { status: r.status, items } : { status: r.status };
    } catch (e) {
      if (!(e instanceof SetupFailed)) throw e;
      return { status: `setup failed: ${e.message}` };
    }
  }
}

const personasOf = (c: Case) => c.personas ?? Object.keys(scenario.personas);

function show(r: Result | undefined): string {
  if (!r) return '(not recorded)';
  return r.items ? `${r.status} [${r.items.join(', ')}]` : String(r.status);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.min(70, Math.max(...rows.map((r) => r[i]!.length))));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

let h: Harness;
before(async () => {
  h = await startIdentity();
});
after(() => h.close());

describe('protection (secure RBAC) as upstream Keystone', () => {
  test('the recording matches the scenario', () => {
    const want = scenario.cases.flatMap((c) => personasOf(c).map((p) => `${c.id}@${p}`));
    assert.equal(new Set(scenario.cases.map((c) => c.id)).size, scenario.cases.length, 'case ids are unique');
    assert.deepEqual(want.filter((k) => !(k in upstream)), [], 'cases never recorded: run tools/record-upstream/protection.py');
    assert.deepEqual(Object.keys(upstream).filter((k) => !want.includes(k)), [], 'recorded cases the scenario no longer has: re-record');
  });

  test('every route of ours has a protection case, and every case a route of ours', () => {
    const routes = identityRoutes(h.identity.services, {});
    const pattern = (url: string) => new RegExp(`^${url.replace(/:[a-z_]+/g, '[^/]+')}$`);
    const params = (url: string) => (url.match(/:/g) ?? []).length;
    const methods = (r: (typeof routes)[number]) => (Array.isArray(r.method) ? r.method : [r.method]);
    const covered = new Set<string>();
    const unserved: string[] = [];
    for (const c of scenario.cases) {
      const path = c.path.split('?')[0]!.replace(/\$\{[a-z_0-9]+\}/g, 'x');
      // the route fastify would choose: static segments win over parameters
      const best = routes
        .filter((r) => pattern(r.url).test(path) && (methods(r).includes(c.method as 'GET') || (c.method === 'HEAD' && methods(r).includes('GET'))))
        .sort((a, b) => params(a.url) - params(b.url))[0];
      if (best) covered.add(`${c.method} ${best.url}`);
      else if (!PENDING.has(c.id)) unserved.push(`${c.method} ${c.path} (${c.id})`);
    }
    const uncovered = routes.flatMap((r) => methods(r).map((m) => `${m} ${r.url}`)).filter((k) => !covered.has(k));
    assert.deepEqual(uncovered, [], 'routes without a case in fixtures/protection/scenario.json');
    assert.deepEqual(unserved, [], 'Keystone routes we do not serve');
  });

  test('every case and persona answers with upstream status and list contents', async (t) => {
    const run = new Runner(h);
    await run.setup();
    const names = run.names();
    const header = ['case', 'persona', 'route', 'upstream', 'ours'];
    // Run in the opposite order to the recording: a case whose answer depends on what an earlier
    // one did (the scenario must not have any) shows up as a mismatch.
    const runs = scenario.cases.flatMap((c) => personasOf(c).map((persona) => ({ c, persona })));
    const mismatches: [number, string[]][] = [];
    // PENDING entries with a case still differing; the others can go
    const stillPending = new Set<string>();
    for (let i = runs.length - 1; i >= 0; i--) {
      const { c, persona } = runs[i]!;
      const key = `${c.id}@${persona}`;
      const ours = await run.run(c, persona, names);
      const want = upstream[key];
      const same = want !== undefined && want.status === ours.status && JSON.stringify(want.items) === JSON.stringify(ours.items);
      const entry = PENDING.has(key) ? key : PENDING.has(c.id) ? c.id : undefined;
      if (!same && entry) stillPending.add(entry);
      if (!same && !entry) mismatches.push([i, [c.id, persona, `${c.method} ${c.path}`, show(want), show(ours)]]);
    }
    const rows = mismatches.sort((a, b) => a[0] - b[0]).map(([, row]) => row);
    const done = [...PENDING].filter((e) => !stillPending.has(e));
    if (done.length) t.diagnostic(`answer as upstream now, remove from PENDING: ${done.join(', ')}`);
    const why = [...run.why].map(([k, v]) => `  \${${k}}: ${v}`);
    if (why.length) t.diagnostic(`shared setup steps that failed:\n${why.join('\n')}`);
    assert.ok(rows.length === 0, `${rows.length} of ${runs.length} answers differ from upstream Keystone:\n${table([header, ...rows])}`);
  });
});
