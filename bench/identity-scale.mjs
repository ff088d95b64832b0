#!/usr/bin/env node
// Identity at scale (issue 3's performance goals), side by side in one run: Altostratus
// (`alto up`, embedded SQLite) and upstream Keystone from Debian (../shared/tools/keystone-ref,
// SQLite; 1 worker, 2 workers, 2 workers with memcached), on the same data set, seeded with SQL
// straight into each database. Writes bench/results/identity-scale-<date>[-scale<s>].{md,json}.
//
//   bench/run identity-scale
//   BENCH_SCALE=0.05 BENCH_SECONDS=5 BENCH_WRK_SECONDS=5 node bench/identity-scale.mjs   (a small trial)
//   BENCH_ONLY=alto | keystone   BENCH_KEYSTONE=1:off,2:off,2:memcached   (which configurations)
//
// Data set (BENCH_SCALE=1): 10,000 users, 2,000 projects in 20 domains, 500 groups, about 15,000
// memberships and 50,000 role assignments (user-project, group-project, user-domain,
// group-domain, inherited domain grants). One chosen user holds its roles on one chosen project
// through 3 groups (admin, which implies manager, member and reader; bench-ops; bench-billing) and one
// inherited domain grant (bench-audit on the project's domain, OS-INHERIT), plus a few grants
// elsewhere. Measured, each answer checked (a wrong answer is a failure, not a fast answer):
// token issue with the token method (project scope, expected roles), GET /v3/role_assignments
// ?effective&user.id (expected entry count), GET /v3/users (expected count), and token validation
// at concurrency 16 with wrk (every answer 200 with the expected roles).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { checkedScript, cpuWatch, freePort, log, machine, measureSequential, need, procTicks, request, wrk } from './lib/common.mjs';
import { KS_REF, ROOT, passwordToken, startAlto, startKeystone, stopAlto, stopKeystone } from './lib/servers.mjs';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const WRK_SECONDS = Number(process.env.BENCH_WRK_SECONDS ?? 20);
const MIN_REQUESTS = Number(process.env.BENCH_MIN_REQUESTS ?? 10);
const ONLY = (process.env.BENCH_ONLY ?? 'alto,keystone').split(',');
const KS_CONFIGS = (process.env.BENCH_KEYSTONE ?? '1:off,2:off,2:memcached').split(',').map((c) => {
  const [processes, cache] = c.split(':');
  return { processes: Number(processes), cache: cache ?? 'off' };
});
// free ports in the ranges the helpers' brief gives (several helpers run servers on this host)
const ALTO_PORT = Number(process.env.BENCH_ALTO_PORT ?? (await freePort(5180, 5199)));
const KS_PORT = Number(process.env.BENCH_KS_PORT ?? (await freePort(35480, 35499)));
const MEMCACHED_PORT = Number(process.env.BENCH_MEMCACHED_PORT ?? (await freePort(11280, 11299)));
const PASSWORD = 'bench-secret';
const CHOSEN_PASSWORD = 'bench-chosen-secret';
const GOALS = { tokenIssueP50: 15, effectiveP50: 10, usersP50: 200, validationRatio: 10 };

const BUILTIN_ROLES = ['admin', 'member', 'reader'];
/** Upstream's current default roles (Keystone 2023.2 on), as Altostratus bootstraps them. */
const DEFAULT_ROLES = ['admin', 'manager', 'member', 'reader', 'service'];
const CUSTOM_ROLES = ['bench-ops', 'bench-billing', 'bench-audit', 'bench-deploy', 'bench-support'];
const ALL_ROLES = [...BUILTIN_ROLES, ...CUSTOM_ROLES];
/**
 * The implication chain on both systems: upstream's current default, which Altostratus
 * bootstraps; Debian's Keystone (Zed) bootstraps admin -> member -> reader without manager, so
 * the bench brings it to this chain through its API (apiSetup) for a like-for-like data set.
 */
const IMPLIES = { admin: ['manager'], manager: ['member'], member: ['reader'] };

// ---------------------------------------------------------------------------------------------
// The data set, as indexes and names; each system maps it to its own ids.

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n, w) => String(n).padStart(w, '0');

function makePlan(scale) {
  const rnd = mulberry32(20261121);
  const int = (n) => Math.floor(rnd() * n);
  const nUsers = Math.max(40, Math.round(10_000 * scale));
  const nProjects = Math.max(20, Math.round(2_000 * scale));
  const nGroups = Math.max(10, Math.round(500 * scale));
  const nAssignments = Math.max(100, Math.round(50_000 * scale));
  const nDomains = Math.max(3, Math.round(20 * scale));

  const domains = Array.from({ length: nDomains }, (_, i) => `bench-dom-${pad(i, 2)}`);
  // user 0, project 0 and groups 0-2 are the chosen ones, created through each system's API
  const users = Array.from({ length: nUsers }, (_, i) => (i === 0 ? 'bench-chosen-user' : `bench-user-${pad(i, 5)}`));
  const projects = Array.from({ length: nProjects }, (_, i) => ({ name: i === 0 ? 'bench-chosen-project' : `bench-project-${pad(i, 4)}`, domain: i % nDomains }));
  const groups = Array.from({ length: nGroups }, (_, i) => (i < 3 ? `bench-chosen-group-${'abc'[i]}` : `bench-group-${pad(i, 3)}`));
  const CHOSEN_GROUPS = [0, 1, 2];
  const EXTRA_GROUPS = [3, 4];

  const memberships = new Set();
  for (const g of [...CHOSEN_GROUPS, ...EXTRA_GROUPS]) memberships.add(`0:${g}`);
  for (let u = 1; u < nUsers; u++) {
    const k = int(4);
    for (let j = 0; j < k; j++) memberships.add(`${u}:${int(nGroups)}`);
  }

  // assignment key: type|actor index|target index|role|inherited (targets: project or domain index)
  const assignments = new Map();
  const add = (type, actor, target, role, inherited = 0) => assignments.set(`${type}|${actor}|${target}|${role}|${inherited}`, { type, actor, target, role, inherited });
  add('GroupProject', 0, 0, 'admin');
  add('GroupProject', 1, 0, 'bench-ops');
  add('GroupProject', 2, 0, 'bench-billing');
  add('UserDomain', 0, 0, 'bench-audit', 1);
  const otherProject = () => 1 + int(nProjects - 1);
  for (let i = 0; i < 3; i++) add('UserProject', 0, otherProject(), 'reader');
  add('UserDomain', 0, 1, 'reader');
  for (let i = 0; i < 2; i++) add('GroupProject', 0, otherProject(), 'member');
  for (let i = 0; i < 2; i++) add('GroupProject', 3, otherProject(), 'bench-deploy');
  add('GroupDomain', 4, 2, 'bench-support');
  const chosenCount = assignments.size;
  // the rest: any user or group but the chosen user and its groups, so its roles stay as above
  const anyUser = () => 1 + int(nUsers - 1);
  const anyGroup = () => 5 + int(nGroups - 5);
  const role = () => ALL_ROLES[int(ALL_ROLES.length)];
  while (assignments.size < nAssignments) {
    const x = rnd();
    if (x < 0.55) add('UserProject', anyUser(), int(nProjects), role());
    else if (x < 0.7) add('GroupProject', anyGroup(), int(nProjects), role());
    else if (x < 0.78) add('UserDomain', anyUser(), int(nDomains), role());
    else if (x < 0.85) add('GroupDomain', anyGroup(), int(nDomains), role());
    else if (x < 0.93) add('UserDomain', anyUser(), int(nDomains), role(), 1);
    else add('GroupDomain', anyGroup(), int(nDomains), role(), 1);
  }
  const list = [...assignments.values()];
  const mix = {};
  for (const a of list) {
    const k = `${a.type}${a.inherited ? ' (inherited)' : ''}`;
    mix[k] = (mix[k] ?? 0) + 1;
  }
  const plan = {
    scale,
    domains,
    users,
    projects,
    groups,
    memberships: [...memberships].map((m) => m.split(':').map(Number)),
    assignments: list,
    mix,
    chosenAssignments: chosenCount,
  };
  plan.expected = expectedFor(plan);
  return plan;
}

function closure(role) {
  const out = [role];
  for (let i = 0; i < out.length; i++) for (const r of IMPLIES[out[i]] ?? []) if (!out.includes(r)) out.push(r);
  return out;
}

/**
 * What Keystone's effective listing gives the chosen user (assignment/core.py
 * _list_effective_role_assignments): its grants and its groups', inherited domain grants expanded
 * to every project of the domain, then one more entry per implied role (no de-duplication).
 * Entries are `role@project:name` or `role@domain:name`.
 */
function expectedFor(plan) {
  const groupsOfChosen = new Set(plan.memberships.filter(([u]) => u === 0).map(([, g]) => g));
  const entries = [];
  for (const a of plan.assignments) {
    const mine = a.type.startsWith('User') ? a.actor === 0 : groupsOfChosen.has(a.actor);
    if (!mine) continue;
    const targets = [];
    if (a.type.endsWith('Project')) {
      if (!a.inherited) targets.push(`project:${plan.projects[a.target].name}`);
    } else if (a.inherited) {
      plan.projects.forEach((p) => p.domain === a.target && targets.push(`project:${p.name}`));
    } else targets.push(`domain:${plan.domains[a.target]}`);
    for (const t of targets) for (const r of closure(a.role)) entries.push(`${r}@${t}`);
  }
  entries.sort();
  const chosenProject = `project:${plan.projects[0].name}`;
  const tokenRoles = [...new Set(entries.filter((e) => e.endsWith(`@${chosenProject}`)).map((e) => e.split('@')[0]))].sort();
  return { effective: entries, tokenRoles };
}

// ---------------------------------------------------------------------------------------------
// API steps shared by both systems.

async function api(base, token, method, path, body, want = [200, 201, 204]) {
  const r = await request(`${base}${path}`, { method, headers: { 'x-auth-token': token }, body });
  if (!want.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 500)}`);
  return r;
}

/** Domains, custom roles, the chosen user (with its password), project and groups, through the API. */
async function apiSetup(base, plan) {
  const admin = await passwordToken(base, PASSWORD);
  const ids = { domains: [], roles: {}, groupsByApi: false };
  for (const name of plan.domains) ids.domains.push((await api(base, admin, 'POST', '/v3/domains', { domain: { name } })).json().domain.id);
  for (const name of CUSTOM_ROLES) await api(base, admin, 'POST', '/v3/roles', { role: { name } });
  ids.aligned = await alignDefaultRoles(base, admin);
  for (const r of (await api(base, admin, 'GET', '/v3/roles')).json().roles) ids.roles[r.name] = r.id;
  ids.chosenUser = (await api(base, admin, 'POST', '/v3/users', { user: { name: plan.users[0], domain_id: 'default', password: CHOSEN_PASSWORD } })).json().user.id;
  ids.chosenProject = (await api(base, admin, 'POST', '/v3/projects', { project: { name: plan.projects[0].name, domain_id: ids.domains[0] } })).json().project.id;
  ids.chosenGroups = [];
  const probe = await request(`${base}/v3/groups`, { headers: { 'x-auth-token': admin } });
  if (probe.status === 200) {
    ids.groupsByApi = true;
    for (let g = 0; g < 3; g++) ids.chosenGroups.push((await api(base, admin, 'POST', '/v3/groups', { group: { name: plan.groups[g], domain_id: 'default' } })).json().group.id);
  } else log(`${base}: GET /v3/groups answered ${probe.status}; the chosen groups are seeded with SQL too`);
  ids.before = await apiCounts(base, admin);
  return ids;
}

/** The default roles and their implication chain made the same on both systems (IMPLIES); says what it changed. */
async function alignDefaultRoles(base, admin) {
  const changes = [];
  const roles = new Map((await api(base, admin, 'GET', '/v3/roles')).json().roles.map((r) => [r.name, r.id]));
  for (const name of DEFAULT_ROLES) {
    if (roles.has(name)) continue;
    roles.set(name, (await api(base, admin, 'POST', '/v3/roles', { role: { name } })).json().role.id);
    changes.push(`created role ${name}`);
  }
  const want = new Set(Object.entries(IMPLIES).flatMap(([p, is]) => is.map((i) => `${p}>${i}`)));
  const names = new Map([...roles].map(([n, id]) => [id, n]));
  const have = new Set((await api(base, admin, 'GET', '/v3/role_inferences')).json().role_inferences.flatMap((r) => r.implies.map((i) => `${names.get(r.prior_role.id)}>${names.get(i.id)}`)));
  for (const rule of want) {
    if (have.has(rule)) continue;
    const [p, i] = rule.split('>');
    await api(base, admin, 'PUT', `/v3/roles/${roles.get(p)}/implies/${roles.get(i)}`);
    changes.push(`added ${p} implies ${i}`);
  }
  for (const rule of have) {
    const [p, i] = rule.split('>');
    if (want.has(rule) || !DEFAULT_ROLES.includes(p)) continue;
    await api(base, admin, 'DELETE', `/v3/roles/${roles.get(p)}/implies/${roles.get(i)}`);
    changes.push(`removed ${p} implies ${i}`);
  }
  return changes;
}

async function apiCounts(base, admin) {
  const count = async (path, key) => {
    const r = await request(`${base}${path}`, { headers: { 'x-auth-token': admin } });
    return r.status === 200 ? r.json()[key].length : null;
  };
  return { users: await count('/v3/users', 'users'), projects: await count('/v3/projects', 'projects'), groups: await count('/v3/groups', 'groups') };
}

// ---------------------------------------------------------------------------------------------
// Seeding: one transaction per database, rows shaped as each system's API writes them (checked
// against the rows the API wrote for the chosen user, project and groups).

function mapIds(plan, ids) {
  const hex = () => randomUUID().replaceAll('-', '');
  const users = plan.users.map((_, i) => (i === 0 ? ids.chosenUser : hex()));
  const projects = plan.projects.map((_, i) => (i === 0 ? ids.chosenProject : hex()));
  const groups = plan.groups.map((_, i) => (i < ids.chosenGroups.length ? ids.chosenGroups[i] : hex()));
  return { users, projects, groups };
}

/** Compares the columns of a row the API wrote with those the seeder writes (ids, names and times aside). */
function sameShape(what, apiRow, seededRow, skip) {
  const diff = Object.keys(seededRow).filter((k) => !skip.includes(k) && String(apiRow?.[k]) !== String(seededRow[k]));
  if (diff.length) throw new Error(`seeded ${what} rows differ from the API's in ${diff.map((k) => `${k} (api ${JSON.stringify(apiRow?.[k])}, seed ${JSON.stringify(seededRow[k])})`).join(', ')}`);
}

function seedRows(db, plan, ids, m, shape) {
  const t0 = performance.now();
  db.exec('PRAGMA foreign_keys = ON');
  db.exec('BEGIN IMMEDIATE');
  try {
    const now = Date.now();
    const insert = (table, row) => {
      const cols = Object.keys(row);
      return db.prepare(`INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
    };
    // users
    const apiUser = shape.userRow(db, ids.chosenUser);
    for (let i = 1; i < plan.users.length; i++) {
      for (const [table, row] of shape.user(m.users[i], plan.users[i], now)) {
        if (i === 1) sameShape(table, apiUser[table], row, shape.skip);
        (shape.stmts[table] ??= insert(table, row)).run(...Object.values(row));
      }
    }
    const apiProject = db.prepare('SELECT * FROM project WHERE id = ?').get(ids.chosenProject);
    for (let i = 1; i < plan.projects.length; i++) {
      const d = ids.domains[plan.projects[i].domain];
      const row = shape.project(m.projects[i], plan.projects[i].name, d, now);
      if (i === 1) sameShape('project', { ...apiProject, domain_id: d, parent_id: d }, row, shape.skip);
      (shape.stmts.project ??= insert('project', row)).run(...Object.values(row));
    }
    const apiGroup = ids.chosenGroups.length ? db.prepare('SELECT * FROM "group" WHERE id = ?').get(ids.chosenGroups[0]) : undefined;
    for (let i = ids.chosenGroups.length; i < plan.groups.length; i++) {
      const row = { id: m.groups[i], domain_id: 'default', name: plan.groups[i], description: '', extra: '{}' };
      if (apiGroup && i === ids.chosenGroups.length) sameShape('group', apiGroup, row, shape.skip);
      (shape.stmts.group ??= insert('group', row)).run(...Object.values(row));
    }
    const mem = db.prepare('INSERT INTO user_group_membership (user_id, group_id) VALUES (?, ?)');
    for (const [u, g] of plan.memberships) mem.run(m.users[u], m.groups[g]);
    const asg = db.prepare('INSERT INTO assignment (type, actor_id, target_id, role_id, inherited) VALUES (?, ?, ?, ?, ?)');
    for (const a of plan.assignments) {
      const actor = a.type.startsWith('User') ? m.users[a.actor] : m.groups[a.actor];
      const target = a.type.endsWith('Project') ? m.projects[a.target] : ids.domains[a.target];
      asg.run(a.type, actor, target, ids.roles[a.role], a.inherited);
    }
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
  const counts = {};
  for (const t of ['user', 'project', 'group', 'user_group_membership', 'assignment']) counts[t] = db.prepare(`SELECT count(*) AS n FROM "${t}"`).get().n;
  return { seconds: +((performance.now() - t0) / 1000).toFixed(2), rows: counts };
}

const ALTO_SHAPE = {
  skip: ['id', 'name', 'created_at'],
  stmts: {},
  userRow: (db, id) => ({ user: db.prepare('SELECT * FROM user WHERE id = ?').get(id) }),
  user: (id, name, now) => [
    [
      'user',
      { id, domain_id: 'default', name, enabled: 1, default_project_id: null, extra: '{}', options: '{}', created_at: now, last_active_at: null, failed_auth_count: 0, failed_auth_at: null },
    ],
  ],
  project: (id, name, domainId, now) => ({ id, name, domain_id: domainId, parent_id: domainId, is_domain: 0, enabled: 1, description: '', extra: '{}', created_at: now }),
};

/** SQLAlchemy's DateTime on SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC. */
const pyDatetime = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '000');

const KEYSTONE_SHAPE = {
  skip: ['id', 'name', 'created_at', 'user_id'],
  stmts: {},
  userRow: (db, id) => ({
    user: db.prepare('SELECT * FROM user WHERE id = ?').get(id),
    local_user: db.prepare('SELECT * FROM local_user WHERE user_id = ?').get(id),
  }),
  // no password rows: Keystone's API writes none for a user created without a password
  user: (id, name, now) => [
    ['user', { id, extra: '{}', enabled: 1, default_project_id: null, created_at: pyDatetime(now), last_active_at: null, domain_id: 'default' }],
    ['local_user', { user_id: id, domain_id: 'default', name, failed_auth_count: 0, failed_auth_at: null }],
  ],
  project: (id, name, domainId) => ({ id, name, extra: '{}', description: '', enabled: 1, domain_id: domainId, parent_id: domainId, is_domain: 0 }),
};

function seed(dbPath, plan, ids, shape) {
  const m = mapIds(plan, ids);
  const db = new DatabaseSync(dbPath);
  try {
    db.exec('PRAGMA busy_timeout = 10000');
    const r = seedRows(db, plan, ids, m, { ...shape, stmts: {} });
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    return { ...r, ids: m };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Sanity and measurements, the same for every system.

const effectiveNames = (list) =>
  list
    .map((a) => `${a.role?.name}@${a.scope?.project ? `project:${a.scope.project.name}` : a.scope?.domain ? `domain:${a.scope.domain.name}` : 'system'}`)
    .sort();

function multisetDiff(a, b) {
  const count = (xs) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map());
  const ca = count(a);
  const cb = count(b);
  const only = (x, y) => [...x].flatMap(([k, n]) => Array(Math.max(0, n - (y.get(k) ?? 0))).fill(k));
  return { onlyFirst: only(ca, cb), onlySecond: only(cb, ca) };
}

/** Tokens and checks every measurement needs, and the sanity report of the seeded system. */
async function prepare(base, plan, ids, seeded, { full }) {
  const admin = await passwordToken(base, PASSWORD);
  const user = ids.chosenUser;
  const project = ids.chosenProject;
  const unscoped = await passwordToken(base, CHOSEN_PASSWORD, { user: plan.users[0], project: null });
  const tokenBody = { auth: { identity: { methods: ['token'], token: { id: unscoped } }, scope: { project: { id: project } } } };
  const sanity = { problems: [] };
  const problem = (m) => {
    sanity.problems.push(m);
    log(`SANITY: ${m}`);
  };

  const issued = await request(`${base}/v3/auth/tokens`, { method: 'POST', body: tokenBody });
  let subject;
  if (issued.status !== 201) problem(`token method issue answered ${issued.status}: ${issued.text.slice(0, 300)}`);
  else {
    subject = issued.headers['x-subject-token'];
    sanity.tokenRoles = issued.json().token.roles.map((r) => r.name).sort();
    if (sanity.tokenRoles.join() !== plan.expected.tokenRoles.join()) problem(`the chosen user's project token has roles [${sanity.tokenRoles}], expected [${plan.expected.tokenRoles}]`);
  }

  const eff = await request(`${base}/v3/role_assignments?effective&include_names&user.id=${user}`, { headers: { 'x-auth-token': admin } });
  if (eff.status !== 200) problem(`effective role assignments answered ${eff.status}: ${eff.text.slice(0, 300)}`);
  else {
    sanity.effective = effectiveNames(eff.json().role_assignments);
    const d = multisetDiff(sanity.effective, plan.expected.effective);
    if (d.onlyFirst.length || d.onlySecond.length)
      problem(`effective role assignments of the chosen user: ${sanity.effective.length} entries, expected ${plan.expected.effective.length}; unexpected ${JSON.stringify(d.onlyFirst.slice(0, 8))}, missing ${JSON.stringify(d.onlySecond.slice(0, 8))}`);
  }
  const effPlain = await request(`${base}/v3/role_assignments?effective&user.id=${user}`, { headers: { 'x-auth-token': admin } });
  const effectiveCount = effPlain.status === 200 ? effPlain.json().role_assignments.length : null;
  if (effectiveCount !== plan.expected.effective.length) problem(`GET /v3/role_assignments?effective&user.id: ${effectiveCount} entries, expected ${plan.expected.effective.length}`);

  sanity.counts = { ...(await apiCounts(base, admin)) };
  sanity.expectedCounts = {
    users: ids.before.users + plan.users.length - 1,
    projects: ids.before.projects + plan.projects.length - 1,
    groups: ids.before.groups === null ? plan.groups.length : ids.before.groups + plan.groups.length - ids.chosenGroups.length,
  };
  for (const k of ['users', 'projects', 'groups'])
    if (sanity.counts[k] !== sanity.expectedCounts[k]) problem(`GET /v3/${k} lists ${sanity.counts[k]}, expected ${sanity.expectedCounts[k]}`);
  if (full) {
    const t0 = performance.now();
    const all = await request(`${base}/v3/role_assignments`, { headers: { 'x-auth-token': admin } });
    sanity.allAssignments = { status: all.status, count: all.status === 200 ? all.json().role_assignments.length : null, seconds: +((performance.now() - t0) / 1000).toFixed(2), seededRows: seeded.rows.assignment };
    // the listing adds system grants (the bootstrap's admin) to the assignment table's rows on Keystone
    if (all.status !== 200 || sanity.allAssignments.count < plan.assignments.length) problem(`GET /v3/role_assignments: ${all.status}, ${sanity.allAssignments.count} entries for ${plan.assignments.length} seeded`);
  }
  return { admin, unscoped, tokenBody, subject, effectiveCount: plan.expected.effective.length, usersCount: sanity.expectedCounts.users, sanity };
}

async function measure(name, base, pids, plan, prep, dir) {
  const out = { name };
  // each measurement also reports the server's own CPU time per request (warm-up calls included):
  // unlike latency, it is barely moved by other processes' load on this shared host
  const timed = async (once, opts) => {
    const t0 = procTicks(pids());
    const r = await measureSequential(once, opts);
    return { ...r, serverCpuMs: +(((procTicks(pids()) - t0) * 10) / r.calls).toFixed(1) };
  };
  const watch = cpuWatch(pids);
  const expectRoles = plan.expected.tokenRoles.join();
  log(`${name}: token issue (token method, project scope)`);
  out.tokenIssue = await timed(
    async () => {
      const r = await request(`${base}/v3/auth/tokens`, { method: 'POST', body: prep.tokenBody });
      if (r.status !== 201) return { ms: r.ms, ok: false, why: `status ${r.status}` };
      const roles = r.json().token.roles.map((x) => x.name).sort().join();
      return roles === expectRoles ? { ms: r.ms, ok: true } : { ms: r.ms, ok: false, why: `roles ${roles}` };
    },
    { seconds: SECONDS, min: MIN_REQUESTS },
  );
  log(`${name}: GET /v3/role_assignments?effective&user.id`);
  const effUrl = `${base}/v3/role_assignments?effective&user.id=${prep.subjectUser}`;
  out.effective = await timed(
    async () => {
      const r = await request(effUrl, { headers: { 'x-auth-token': prep.admin } });
      if (r.status !== 200) return { ms: r.ms, ok: false, why: `status ${r.status}` };
      const n = r.json().role_assignments.length;
      return n === prep.effectiveCount ? { ms: r.ms, ok: true } : { ms: r.ms, ok: false, why: `${n} entries` };
    },
    { seconds: SECONDS, min: MIN_REQUESTS },
  );
  log(`${name}: GET /v3/users`);
  out.users = await timed(
    async () => {
      const r = await request(`${base}/v3/users`, { headers: { 'x-auth-token': prep.admin } });
      if (r.status !== 200) return { ms: r.ms, ok: false, why: `status ${r.status}` };
      const n = r.json().users.length;
      return n === prep.usersCount ? { ms: r.ms, ok: true } : { ms: r.ms, ok: false, why: `${n} users` };
    },
    { seconds: SECONDS, min: MIN_REQUESTS, warmup: 2 },
  );
  out.sequentialCpu = watch();
  log(`${name}: token validation c=16 for ${WRK_SECONDS}s`);
  // every answer must carry the chosen user's roles, spelled as this system serializes them
  const v = await request(`${base}/v3/auth/tokens`, { headers: { 'x-auth-token': prep.admin, 'x-subject-token': prep.subject } });
  const needles = plan.expected.tokenRoles.map((n) => new RegExp(`"name":\\s*"${n}"`).exec(v.text)?.[0]);
  if (v.status !== 200 || needles.some((n) => !n)) throw new Error(`${name}: validation of the chosen user's token answered ${v.status} without all of its roles: ${v.text.slice(0, 300)}`);
  const script = join(dir, `validate-${name.replace(/\W+/g, '-')}.lua`);
  writeFileSync(script, checkedScript({ 'X-Auth-Token': prep.admin, 'X-Subject-Token': prep.subject }, needles));
  let wwatch = cpuWatch(pids);
  let t0 = procTicks(pids());
  let { raw: _raw, ...validate } = wrk(`${base}/v3/auth/tokens`, script, 16, WRK_SECONDS);
  // a slow system completes too few requests in WRK_SECONDS for a rate (wrk counts only the
  // completed ones, and drops those queued past its timeout): run again for 2 minutes, with a
  // timeout as long, so 16 requests queued on one or two workers all complete
  if (validate.requests < 30) {
    log(`${name}: ${validate.requests} validations in ${WRK_SECONDS}s; again for 120s`);
    wwatch = cpuWatch(pids);
    t0 = procTicks(pids());
    ({ raw: _raw, ...validate } = wrk(`${base}/v3/auth/tokens`, script, 16, 120, { timeout: 120 }));
  }
  // requests still in flight when wrk stops also cost CPU: a slight overestimate for slow servers
  validate.serverCpuMs = validate.requests ? +(((procTicks(pids()) - t0) * 10) / validate.requests).toFixed(2) : null;
  out.validate = validate;
  out.validateCpu = wwatch();
  return out;
}

// ---------------------------------------------------------------------------------------------

async function benchAlto(plan, work) {
  const dataDir = mkdtempSync(join(tmpdir(), 'alto-scale-'));
  try {
    log('alto: first start (bootstrap), API setup');
    let alto = await startAlto({ dataDir, port: ALTO_PORT, password: PASSWORD });
    let ids;
    try {
      ids = await apiSetup(alto.base, plan);
    } finally {
      await stopAlto(alto);
    }
    log('alto: seeding SQLite');
    const seeded = seed(join(dataDir, 'identity.db'), plan, ids, ALTO_SHAPE);
    log(`alto: seeded in ${seeded.seconds} s: ${JSON.stringify(seeded.rows)}; restarting`);
    alto = await startAlto({ dataDir, port: ALTO_PORT, password: PASSWORD });
    try {
      const prep = await prepare(alto.base, plan, ids, seeded, { full: true });
      prep.subjectUser = ids.chosenUser;
      const r = prep.sanity.problems.length && process.env.BENCH_FORCE !== '1' ? { name: 'altostratus', skipped: 'sanity check failed' } : await measure('altostratus', alto.base, alto.pids, plan, prep, work);
      return { ...r, config: '`alto up`, one process, embedded SQLite', sanity: prep.sanity, seeded: { seconds: seeded.seconds, rows: seeded.rows }, groupsByApi: ids.groupsByApi, defaultRolesChanged: ids.aligned };
    } finally {
      await stopAlto(alto);
    }
  } finally {
    // BENCH_KEEP_DATA=1 keeps the seeded data directory, to profile `alto up` on it afterwards
    if (process.env.BENCH_KEEP_DATA === '1') log(`alto: data kept in ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

async function benchKeystone(plan, work) {
  const dir = join(work, 'keystone');
  const opts = { dir, port: KS_PORT, password: PASSWORD, memcachedPort: MEMCACHED_PORT };
  let ks = await startKeystone({ ...opts, processes: 1, cache: 'off', keep: false });
  let ids;
  try {
    log('keystone: API setup');
    ids = await apiSetup(ks.base, plan);
  } finally {
    stopKeystone(ks);
  }
  log('keystone: seeding SQLite');
  const seeded = seed(join(dir, 'keystone.db'), plan, ids, KEYSTONE_SHAPE);
  log(`keystone: seeded in ${seeded.seconds} s: ${JSON.stringify(seeded.rows)}`);
  const out = [];
  for (const [i, c] of KS_CONFIGS.entries()) {
    const name = `keystone ${c.processes}w${c.cache === 'off' ? '' : ` ${c.cache}`}`;
    ks = await startKeystone({ ...opts, ...c, keep: true });
    try {
      const prep = await prepare(ks.base, plan, ids, seeded, { full: i === 0 });
      prep.subjectUser = ids.chosenUser;
      const r = prep.sanity.problems.length && process.env.BENCH_FORCE !== '1' ? { name, skipped: 'sanity check failed' } : await measure(name, ks.base, ks.pids, plan, prep, work);
      out.push({
        ...r,
        config: `uwsgi, ${c.processes} worker${c.processes > 1 ? 's' : ''}, SQLite, ${c.cache === 'off' ? 'no cache (upstream default)' : 'oslo.cache on memcached (DevStack-like)'}`,
        sanity: prep.sanity,
        seeded: { seconds: seeded.seconds, rows: seeded.rows },
        defaultRolesChanged: ids.aligned,
      });
    } finally {
      stopKeystone(ks);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report.

// rates below 1/s keep two significant digits
const fmt = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : Math.abs(v) > 0 && Math.abs(v) < 1 ? Number(v).toPrecision(2) : Number(v).toFixed(d));
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(1)}x` : 'n/a');

function versions() {
  const sh = (c) => spawnSync('sh', ['-c', c], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  return {
    altostratus: `${sh('git rev-parse --short HEAD')}${sh('git status --porcelain -- services packages apps | wc -l') !== '0' ? ` + ${sh('git status --porcelain -- services packages apps | wc -l')} uncommitted files (other helpers' work in progress, measured as built)` : ''}`,
    keystone: `python3-keystone ${sh("dpkg-query -W -f='${Version}' python3-keystone")}`,
    sqlite: sh("python3 -c 'import sqlite3; print(sqlite3.sqlite_version)'"),
  };
}

function markdown(results, plan, meta) {
  const L = [];
  const small = plan.scale !== 1;
  L.push(`# Identity at scale (issue 3 performance), ${meta.date}${small ? ` — SMALL-SCALE TRIAL (BENCH_SCALE=${plan.scale}), not the issue's data set` : ''}`, '');
  if (small) L.push(`> This run used ${plan.scale}x the issue's data set to try the script; its figures do not judge the goals.`, '');
  const m = meta.machine;
  L.push(`Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memGiB} GiB, ${m.os}, kernel ${m.kernel}; ${m.node}; ${m.wrk}.`);
  L.push(`Versions: Altostratus ${meta.versions.altostratus}; upstream Keystone ${meta.versions.keystone} (Debian, Zed) under uwsgi; SQLite ${meta.versions.sqlite} (Keystone's).`, '');
  L.push('## Method', '');
  L.push(`- One run, one host, loopback. Altostratus: \`alto up\` (one process, embedded SQLite). Keystone: ../shared/tools/keystone-ref (uwsgi, SQLite in WAL mode), in ${KS_CONFIGS.length} configurations on the same database: ${results.filter((r) => r.name.startsWith('keystone')).map((r) => `${r.name} (${r.config})`).join('; ')}.`);
  L.push(`- Each system bootstraps, then through its own API: ${plan.domains.length} domains, the custom roles (${CUSTOM_ROLES.join(', ')}), the chosen user (with a password: one bcrypt hash), the chosen project and the 3 chosen groups. Everything else is written with SQL in one transaction into the stopped service's database, rows shaped as its API writes them (checked column by column against the rows the API wrote), then the service is restarted.`);
  L.push(`- Default roles and implications made the same on both (upstream's current chain admin → manager → member → reader, which Altostratus bootstraps; Debian's Zed bootstraps admin → member → reader): ${results.filter((r) => r.defaultRolesChanged?.length).map((r) => `${r.name.split(' ')[0]}: ${r.defaultRolesChanged.join(', ')}`).filter((x, i, all) => all.indexOf(x) === i).join('; ') || 'no change needed'} (through the API).`);
  L.push(`- Sanity before measuring, per system: the API lists the expected users, projects and groups; the chosen user's project token carries [${plan.expected.tokenRoles.join(', ')}]; its effective role assignments (with names) equal the ${plan.expected.effective.length} entries computed from the data set with Keystone's rules (group and inherited grants expanded, one more entry per implied role, no de-duplication), on both systems.`);
  L.push(`- Latency: sequential requests (concurrency 1) from Node on a kept-alive connection (uwsgi closes each), ${SECONDS} s per measurement and at least ${MIN_REQUESTS} requests, after warm-up calls. Time to the last byte of the answer; each answer is checked and a wrong one counts as a failure, not as a fast answer.`);
  L.push(`  - token issue: POST /v3/auth/tokens with methods ["token"] (an unscoped token of the chosen user, got once with its password) and scope project = the chosen project; 201 with exactly the expected roles. No password KDF in the measured requests.`);
  L.push(`  - GET /v3/role_assignments?effective&user.id=<chosen user> with an admin token: ${plan.expected.effective.length} entries.`);
  L.push(`  - GET /v3/users with an admin token: every user (${results[0]?.sanity?.expectedCounts?.users ?? 'n/a'}).`);
  L.push(`- Token validation: GET /v3/auth/tokens (admin X-Auth-Token, the chosen user's project token as X-Subject-Token), wrk -t1 -c16 for ${WRK_SECONDS} s (again for 120 s with a 120 s timeout when fewer than 30 complete: wrk counts completed requests only, and drops those it timed out); a Lua response() check counts every answer that is not 200 with all the expected role names.`);
  L.push(`- Server CPU per request: the CPU time of the server's processes (Altostratus' one process; uwsgi master, workers and memcached) over a measurement, divided by its requests; it moves little with other processes' load, so it is the figure to compare when the host is busy.
- Machine noise: CPU kept busy by other processes (other helpers' builds and tests) during each system's measurements, from /proc/stat minus the server's and the bench's own CPU time.`, '');

  L.push('## Data set', '');
  L.push('| | count |', '|---|---|');
  L.push(`| users (+ admin) | ${plan.users.length} |`, `| projects (+ admin) | ${plan.projects.length} in ${plan.domains.length} domains |`, `| groups | ${plan.groups.length} |`);
  L.push(`| group memberships | ${plan.memberships.length} |`, `| role assignments | ${plan.assignments.length} |`);
  for (const [k, n] of Object.entries(plan.mix)) L.push(`| — ${k} | ${n} |`);
  L.push('');
  L.push(`The chosen user (${plan.users[0]}) on ${plan.projects[0].name} (domain ${plan.domains[0]}): admin through ${plan.groups[0]} (admin implies manager, manager member, member reader), bench-ops through ${plan.groups[1]}, bench-billing through ${plan.groups[2]}, bench-audit from an inherited grant on ${plan.domains[0]} (OS-INHERIT, so on all its ${plan.projects.filter((p) => p.domain === 0).length} projects); elsewhere: reader on 3 projects and on ${plan.domains[1]}, member on 2 projects through ${plan.groups[0]}, 2 more groups with grants on 2 projects and on ${plan.domains[2]}. Roles: ${ALL_ROLES.join(', ')}.`, '');

  L.push('## Sanity', '');
  L.push('| | users / projects / groups listed | chosen token roles | effective entries | all assignments listed | problems |', '|---|---|---|---|---|---|');
  for (const r of results) {
    const s = r.sanity ?? {};
    L.push(
      `| ${r.name} | ${s.counts ? `${s.counts.users} / ${s.counts.projects} / ${s.counts.groups}` : 'n/a'} | ${s.tokenRoles?.join(', ') ?? 'n/a'} | ${s.effective?.length ?? 'n/a'} | ${s.allAssignments ? `${s.allAssignments.count} in ${s.allAssignments.seconds} s` : '—'} | ${s.problems?.length ? s.problems.join('; ') : 'none'} |`,
    );
  }
  L.push('', `Altostratus and Keystone effective assignments of the chosen user (role names on project/domain names): ${meta.likeForLike}.`, '');

  const a = results.find((r) => r.name === 'altostratus');
  const ks = results.filter((r) => r.name.startsWith('keystone') && !r.skipped);
  const bestKsRate = ks.length ? Math.max(...ks.map((r) => r.validate?.rps ?? 0)) : null;
  const bestKs = ks.find((r) => r.validate?.rps === bestKsRate);
  L.push('## Goals', '');
  L.push('| Goal | Target | Altostratus | Met |', '|---|---|---|---|');
  if (a && !a.skipped) {
    const ok = (x, target) => x.failures === 0 && x.p50 !== null && x.p50 < target;
    const fails = (x) => (x.failures ? `, ${x.failures} wrong answers (first: ${x.firstFailure})` : '');
    L.push(`| token issue, token method, project scope via 3 groups + inherited grant: p50 | < ${GOALS.tokenIssueP50} ms | ${fmt(a.tokenIssue.p50, 2)} ms (n=${a.tokenIssue.requests}${fails(a.tokenIssue)}) | ${small ? 'n/a (small scale)' : ok(a.tokenIssue, GOALS.tokenIssueP50) ? 'yes' : 'NO'} |`);
    L.push(`| GET /v3/role_assignments?effective&user.id: p50 | < ${GOALS.effectiveP50} ms | ${fmt(a.effective.p50, 2)} ms (n=${a.effective.requests}${fails(a.effective)}) | ${small ? 'n/a (small scale)' : ok(a.effective, GOALS.effectiveP50) ? 'yes' : 'NO'} |`);
    L.push(`| GET /v3/users (${a.sanity.expectedCounts.users} users): p50 | < ${GOALS.usersP50} ms | ${fmt(a.users.p50, 2)} ms (n=${a.users.requests}${fails(a.users)}) | ${small ? 'n/a (small scale)' : ok(a.users, GOALS.usersP50) ? 'yes' : 'NO'} |`);
    const vOk = bestKsRate && a.validate.rps >= GOALS.validationRatio * bestKsRate && !a.validate.non2xx && !a.validate.checkFailures;
    L.push(
      `| token validation rate at c=16 vs upstream's best here (${bestKs?.name ?? 'n/a'}, ${fmt(bestKsRate)} req/s) | >= ${GOALS.validationRatio}x | ${fmt(a.validate.rps, 0)} req/s = ${bestKsRate ? ratio(a.validate.rps, bestKsRate) : 'n/a'} | ${small ? 'n/a (small scale)' : vOk ? 'yes' : 'NO'} |`,
    );
  } else L.push(`| all | | ${a ? `not measured: ${a.skipped}` : 'not run'} | NO |`);
  L.push('');
  for (const line of meta.verdicts) L.push(`- ${line}`);
  L.push('');

  L.push('## Side by side', '');
  const cols = results.filter((r) => !r.skipped);
  L.push(`| measurement | ${cols.map((r) => r.name).join(' | ')} |${ks.length && a && !a.skipped ? ` ${ks.map((k) => `${k.name} / alto`).join(' | ')} |` : ''}`);
  L.push(`|---|${cols.map(() => '---|').join('')}${ks.length && a && !a.skipped ? ks.map(() => '---|').join('') : ''}`);
  const row = (label, f, rf) => L.push(`| ${label} | ${cols.map(f).join(' | ')} |${ks.length && a && !a.skipped ? ` ${ks.map((k) => rf(k)).join(' | ')} |` : ''}`);
  for (const [key, label] of [
    ['tokenIssue', 'token issue (token method)'],
    ['effective', 'role_assignments?effective'],
    ['users', 'GET /v3/users'],
  ]) {
    row(`${label}: p50 ms`, (r) => fmt(r[key]?.p50, 2), (k) => ratio(k[key]?.p50, a?.[key]?.p50));
    row(`${label}: p90 ms`, (r) => fmt(r[key]?.p90, 2), (k) => ratio(k[key]?.p90, a?.[key]?.p90));
    row(`${label}: p99 ms`, (r) => fmt(r[key]?.p99, 2), (k) => ratio(k[key]?.p99, a?.[key]?.p99));
    row(`${label}: requests (wrong answers)`, (r) => `${r[key]?.requests ?? 'n/a'} (${r[key]?.failures ?? 'n/a'})`, () => '');
    row(`${label}: server CPU ms per request`, (r) => fmt(r[key]?.serverCpuMs), (k) => ratio(k[key]?.serverCpuMs, a?.[key]?.serverCpuMs));
  }
  row('token validation c=16: req/s', (r) => fmt(r.validate?.rps), (k) => ratio(a?.validate?.rps, k.validate?.rps) + ' (alto / keystone)');
  row('token validation c=16: p50 ms', (r) => fmt(r.validate?.p50, 2), (k) => ratio(k.validate?.p50, a?.validate?.p50));
  row('token validation c=16: p90 ms', (r) => fmt(r.validate?.p90, 2), (k) => ratio(k.validate?.p90, a?.validate?.p90));
  row('token validation c=16: p99 ms', (r) => fmt(r.validate?.p99, 2), (k) => ratio(k.validate?.p99, a?.validate?.p99));
  row('token validation c=16: server CPU ms per request', (r) => fmt(r.validate?.serverCpuMs, 2), (k) => ratio(k.validate?.serverCpuMs, a?.validate?.serverCpuMs));
  row(
    'token validation c=16: requests in seconds (non-2xx, wrong roles, socket errors)',
    (r) => `${r.validate?.requests ?? 'n/a'} in ${r.validate?.seconds ?? 'n/a'} s (${r.validate?.non2xx ?? 0}, ${r.validate?.checkFailures ?? 'n/a'}, ${r.validate?.socketErrors || 'none'})`,
    () => '',
  );
  row('CPU of other processes meanwhile (cores): latency / validation', (r) => `${fmt(r.sequentialCpu?.otherCores, 2)} / ${fmt(r.validateCpu?.otherCores, 2)}`, () => '');
  L.push('', 'Ratios: keystone / altostratus for latencies (how many times slower upstream is), altostratus / keystone for the validation rate.', '');
  if (meta.noisy) L.push(`**Noise:** ${meta.noisy}`, '');
  return L.join('\n') + '\n';
}

function verdicts(results, plan) {
  const out = [];
  const a = results.find((r) => r.name === 'altostratus');
  const ks = results.filter((r) => r.name.startsWith('keystone') && !r.skipped);
  if (plan.scale !== 1) out.push(`Small-scale trial (BENCH_SCALE=${plan.scale}): no verdict on the goals.`);
  if (!a || a.skipped) {
    out.push(`Altostratus not measured${a?.skipped ? `: ${a.skipped} (${a.sanity.problems.join('; ')})` : ''}.`);
    return out;
  }
  const best = ks.length ? Math.max(...ks.map((r) => r.validate.rps)) : null;
  const v = (label, key, target) => {
    const x = a[key];
    const met = x.failures === 0 && x.p50 !== null && x.p50 < target ? 'MET' : 'NOT MET';
    const upstream = ks.length ? `; upstream p50 ${ks.map((k) => `${fmt(k[key].p50, 1)} ms (${k.name})`).join(', ')}` : '';
    return `Verdict, ${label}: p50 ${fmt(x.p50, 2)} ms (p90 ${fmt(x.p90, 2)}, p99 ${fmt(x.p99, 2)}, n=${x.requests}, ${x.failures} wrong) against < ${target} ms: ${plan.scale === 1 ? met : 'no verdict at this scale'}${upstream}.`;
  };
  out.push(v('token issue (token method)', 'tokenIssue', GOALS.tokenIssueP50));
  out.push(v('effective role assignments', 'effective', GOALS.effectiveP50));
  out.push(v('list users', 'users', GOALS.usersP50));
  out.push(
    `Verdict, token validation: ${fmt(a.validate.rps, 0)} req/s at c=16 against upstream's best ${fmt(best, 1)} req/s = ${best ? ratio(a.validate.rps, best) : 'n/a'} (goal >= ${GOALS.validationRatio}x; ${a.validate.non2xx} non-2xx, ${a.validate.checkFailures} without the roles): ${plan.scale !== 1 ? 'no verdict at this scale' : best && a.validate.rps >= GOALS.validationRatio * best && !a.validate.non2xx && !a.validate.checkFailures ? 'MET' : 'NOT MET'}.`,
  );
  return out;
}

// ---------------------------------------------------------------------------------------------

need('wrk');
const plan = makePlan(SCALE);
log(`data set: ${plan.users.length} users, ${plan.projects.length} projects, ${plan.groups.length} groups, ${plan.memberships.length} memberships, ${plan.assignments.length} assignments; chosen user: ${plan.expected.effective.length} effective entries, token roles ${plan.expected.tokenRoles}`);
const work = mkdtempSync(join(tmpdir(), 'identity-scale-'));
const results = [];
const t0 = Date.now();
try {
  if (ONLY.includes('alto')) results.push(await benchAlto(plan, work));
  if (ONLY.includes('keystone')) {
    if (!existsSync(join(KS_REF, 'start.sh'))) log(`no keystone-ref at ${KS_REF}: upstream comparison skipped`);
    else results.push(...(await benchKeystone(plan, work)));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const alto = results.find((r) => r.name === 'altostratus');
const firstKs = results.find((r) => r.name.startsWith('keystone'));
let likeForLike = 'not compared (one system only)';
if (alto?.sanity?.effective && firstKs?.sanity?.effective) {
  const d = multisetDiff(alto.sanity.effective, firstKs.sanity.effective);
  likeForLike = d.onlyFirst.length || d.onlySecond.length ? `DIFFER (only Altostratus: ${JSON.stringify(d.onlyFirst.slice(0, 10))}; only Keystone: ${JSON.stringify(d.onlySecond.slice(0, 10))})` : `the same ${alto.sanity.effective.length} entries`;
}
const noisy = results
  .filter((r) => (r.sequentialCpu?.otherCores ?? 0) > 0.25 || (r.validateCpu?.otherCores ?? 0) > 0.25)
  .map((r) => `${r.name}: other processes kept ${fmt(r.sequentialCpu?.otherCores, 2)} cores busy during the latency runs and ${fmt(r.validateCpu?.otherCores, 2)} during validation`)
  .join('; ');
const meta = {
  date: new Date().toISOString().slice(0, 10),
  machine: machine(),
  versions: versions(),
  scale: SCALE,
  seconds: SECONDS,
  wrkSeconds: WRK_SECONDS,
  minutes: +((Date.now() - t0) / 60000).toFixed(1),
  likeForLike,
  noisy: noisy ? `${noisy} (of ${machine().cpus}); other helpers were building and testing on this machine, so these figures carry that noise.` : '',
};
meta.verdicts = verdicts(results, plan);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const stem = join(ROOT, `bench/results/identity-scale-${meta.date}${SCALE === 1 ? '' : `-scale${SCALE}`}`);
const md = markdown(results, plan, meta);
const slim = results.map((r) => ({ ...r, sanity: r.sanity && { ...r.sanity, effective: r.sanity.effective?.length } }));
writeFileSync(
  `${stem}.json`,
  JSON.stringify({ meta, dataSet: { scale: plan.scale, users: plan.users.length, projects: plan.projects.length, domains: plan.domains.length, groups: plan.groups.length, memberships: plan.memberships.length, assignments: plan.assignments.length, mix: plan.mix, expected: { tokenRoles: plan.expected.tokenRoles, effective: plan.expected.effective.length } }, results: slim }, null, 2) + '\n',
);
writeFileSync(`${stem}.md`, md);
process.stdout.write(md);
log(`wrote ${stem}.md and .json (${meta.minutes} min)`);
