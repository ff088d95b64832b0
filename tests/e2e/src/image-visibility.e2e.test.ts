// The image visibility matrix replayed against our image service and compared with upstream
// Glance's recorded answers: services/image/fixtures/visibility/{scenario,upstream}.json, run by
// the rules of the README there (the same ones the recorder, tools/record-upstream/visibility.py,
// follows), so every key compares one to one.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ROOT, startCloud, type Cloud } from '@alto/testing';

const FIXTURES = join(ROOT, 'services/image/fixtures/visibility');

interface Persona {
  user: string;
  project: string;
  roles: string[];
}

interface ImageSpec {
  create_as: string;
  body: unknown;
  data: string;
  members?: Record<string, string>;
  deactivate?: boolean;
}

interface Operation {
  method: string;
  path: string;
  body?: unknown;
  content_type?: string;
  fresh?: boolean;
}

interface Scenario {
  password: string;
  personas: Record<string, Persona>;
  projects: Record<string, string>;
  images: Record<string, ImageSpec>;
  lists: Record<string, string>;
  operations: Record<string, Operation>;
}

interface Result {
  status: number;
  images?: string[];
}

const scenario = JSON.parse(readFileSync(join(FIXTURES, 'scenario.json'), 'utf8')) as Scenario;
const upstream = (JSON.parse(readFileSync(join(FIXTURES, 'upstream.json'), 'utf8')) as { results: Record<string, Result> }).results;

/**
 * Keys where we answer differently from upstream on purpose, with the reason. A key listed here
 * must still differ (an entry that starts matching fails the test, so the list never goes stale),
 * and our answer must be the one written here.
 */
const DELIBERATE_DIFFERENCES: Record<string, { ours: Result; why: string }> = {};

const VAR = /\$\{([a-z_:-]+)\}/g;

/** ${name} placeholders replaced in every string of a JSON value. */
function subst(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string')
    return value.replace(VAR, (_, name: string) => {
      const v = vars[name];
      if (v === undefined) throw new Error(`scenario variable \${${name}} is not defined`);
      return v;
    });
  if (Array.isArray(value)) return value.map((v) => subst(v, vars));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, subst(v, vars)]));
  return value;
}

interface Reply {
  status: number;
  text: string;
}

async function http(method: string, url: string, token: string | undefined, body?: string | Buffer, contentType?: string): Promise<Reply> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers['x-auth-token'] = token;
  if (contentType) headers['content-type'] = contentType;
  const r = await fetch(url, { method, headers, body });
  return { status: r.status, text: await r.text() };
}

/** Fails with the request and answer when the status is not the expected one; the answer's JSON. */
async function expectStatus(what: string, r: Promise<Reply>, status: number): Promise<Record<string, unknown>> {
  const got = await r;
  if (got.status !== status) throw new Error(`${what}: expected ${status}, got ${got.status}: ${got.text}`);
  return got.text ? (JSON.parse(got.text) as Record<string, unknown>) : {};
}

/** Every mismatch as a table row (key, upstream, ours); stale or wrong allow-list entries too. */
function mismatches(ours: Record<string, Result>, keys: string[]): string[] {
  const rows: string[][] = [];
  for (const key of keys) {
    const want = upstream[key];
    const got = ours[key];
    const allowed = DELIBERATE_DIFFERENCES[key];
    if (allowed) {
      if (isDeepStrictEqual(got, want)) rows.push([key, JSON.stringify(want), `${JSON.stringify(got)} (listed as a deliberate difference but matches: remove the entry)`]);
      else if (!isDeepStrictEqual(got, allowed.ours)) rows.push([key, JSON.stringify(want), `${JSON.stringify(got)} (deliberate difference expects ${JSON.stringify(allowed.ours)})`]);
    } else if (!isDeepStrictEqual(got, want)) {
      rows.push([key, JSON.stringify(want), JSON.stringify(got)]);
    }
  }
  if (!rows.length) return [];
  const header = ['key', 'upstream', 'ours'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ');
  return [line(header), ...rows.map(line)];
}

describe('image visibility: personas x image kinds, compared with upstream Glance', () => {
  let c: Cloud;
  const tokens: Record<string, string> = {};
  const vars: Record<string, string> = {};
  const base: Record<string, string> = {};
  const ours: Record<string, Result> = {};

  const call = (persona: string, method: string, path: string, body?: unknown, contentType?: string, raw?: Buffer) => {
    const token = tokens[persona];
    if (!token) throw new Error(`no token for persona ${persona}`);
    return http(method, `${c.imageUrl}${path}`, token, raw ?? (body === undefined ? undefined : JSON.stringify(body)), contentType);
  };

  /** One image of the scenario's kind, made as the README's rule 3 says; its id. */
  const build = async (kind: string): Promise<string> => {
    const spec = scenario.images[kind]!;
    const who = spec.create_as;
    const created = await expectStatus(`create ${kind}`, call(who, 'POST', '/v2/images', subst(spec.body, vars), 'application/json'), 201);
    const id = String(created.id);
    await expectStatus(`upload ${kind}`, call(who, 'PUT', `/v2/images/${id}/file`, undefined, 'application/octet-stream', Buffer.from(spec.data, 'utf8')), 204);
    for (const [persona, status] of Object.entries(spec.members ?? {})) {
      const project = vars[`project:${persona}`]!;
      await expectStatus(`add member ${persona} to ${kind}`, call('owner-member', 'POST', `/v2/images/${id}/members`, { member: project }, 'application/json'), 200);
      if (status !== 'pending')
        await expectStatus(`${persona} ${status} ${kind}`, call(persona, 'PUT', `/v2/images/${id}/members/${project}`, { status }, 'application/json'), 200);
    }
    if (spec.deactivate) await expectStatus(`deactivate ${kind}`, call('admin', 'POST', `/v2/images/${id}/actions/deactivate`), 204);
    return id;
  };

  /** Deletes a fresh image as admin unless the case already did. */
  const remove = async (id: string) => {
    const r = await call('admin', 'GET', `/v2/images/${id}`);
    if (r.status === 404) return;
    await expectStatus(`remove ${id}`, call('admin', 'DELETE', `/v2/images/${id}`), 204);
  };

  before(async () => {
    c = await startCloud('embedded');
    const ks = async (method: string, path: string, token: string | undefined, body?: unknown) =>
      http(method, `${c.url}/v3${path}`, token, body === undefined ? undefined : JSON.stringify(body), body === undefined ? undefined : 'application/json');
    const tokenOf = async (user: string, password: string, project: string) => {
      const r = await fetch(`${c.url}/v3/auth/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          auth: {
            identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
            scope: { project: { name: project, domain: { id: 'default' } } },
          },
        }),
      });
      if (r.status !== 201) throw new Error(`token for ${user} on ${project}: ${r.status} ${await r.text()}`);
      return r.headers.get('x-subject-token')!;
    };
    const admin = await tokenOf('admin', c.adminPassword, 'admin');
    const roles = await expectStatus('list roles', ks('GET', '/roles', admin), 200);
    const roleId = Object.fromEntries((roles.roles as { id: string; name: string }[]).map((r) => [r.name, r.id]));
    const projectIds: Record<string, string> = {};
    const ensureProject = async (name: string) => {
      projectIds[name] ??= String(((await expectStatus(`project ${name}`, ks('POST', '/projects', admin, { project: { name, domain_id: 'default' } }), 201)).project as { id: string }).id);
      return projectIds[name];
    };
    for (const [persona, p] of Object.entries(scenario.personas)) {
      const projectId = await ensureProject(p.project);
      const user = await expectStatus(`user ${p.user}`, ks('POST', '/users', admin, { user: { name: p.user, domain_id: 'default', password: scenario.password, default_project_id: projectId } }), 201);
      const userId = String((user.user as { id: string }).id);
      for (const role of p.roles) {
        const rid = roleId[role];
        if (!rid) throw new Error(`role ${role} does not exist`);
        await expectStatus(`${role} for ${p.user}`, ks('PUT', `/projects/${projectId}/users/${userId}/roles/${rid}`, admin), 204);
      }
      vars[`project:${persona}`] = projectId;
    }
    for (const [name, project] of Object.entries(scenario.projects)) vars[`project:${name}`] = await ensureProject(project);
    for (const [persona, p] of Object.entries(scenario.personas)) tokens[persona] = await tokenOf(p.user, scenario.password, p.project);
    for (const kind of Object.keys(scenario.images)) base[kind] = await build(kind);
  });
  after(async () => {
    await c?.stop();
  });

  test('lists: every persona, every list, the same status and the same base images as upstream', async () => {
    const kindOf = new Map(Object.entries(base).map(([kind, id]) => [id, kind]));
    const keys: string[] = [];
    for (const persona of Object.keys(scenario.personas)) {
      for (const [name, path] of Object.entries(scenario.lists)) {
        const key = `list:${name}@${persona}`;
        keys.push(key);
        const r = await call(persona, 'GET', path);
        const entry: Result = { status: r.status };
        if (r.status === 200) {
          const listed = (JSON.parse(r.text) as { images: { id: string }[] }).images;
          entry.images = listed.flatMap((i) => kindOf.get(i.id) ?? []).sort();
        }
        ours[key] = entry;
      }
    }
    assert.equal(keys.length, Object.keys(upstream).filter((k) => k.startsWith('list:')).length, 'the scenario and upstream.json have the same lists');
    const table = mismatches(ours, keys);
    if (table.length) assert.fail(`${table.length - 1} of ${keys.length} lists differ from upstream:\n${table.join('\n')}`);
  });

  test('operations: every persona, every image kind, every operation, the same status as upstream', async () => {
    const keys: string[] = [];
    for (const persona of Object.keys(scenario.personas)) {
      for (const kind of Object.keys(scenario.images)) {
        for (const [name, op] of Object.entries(scenario.operations)) {
          const key = `${name}@${persona}/${kind}`;
          keys.push(key);
          const image = op.fresh ? await build(kind) : base[kind]!;
          const v = { ...vars, image, own_project: vars[`project:${persona}`]! };
          const contentType = op.content_type ?? (op.body !== undefined ? 'application/json' : undefined);
          const r = await call(persona, op.method, String(subst(op.path, v)), op.body === undefined ? undefined : subst(op.body, v), contentType);
          ours[key] = { status: r.status };
          if (op.fresh) await remove(image);
        }
      }
    }
    assert.equal(keys.length, Object.keys(upstream).filter((k) => !k.startsWith('list:')).length, 'the scenario and upstream.json have the same operations');
    const table = mismatches(ours, keys);
    if (table.length) assert.fail(`${table.length - 1} of ${keys.length} operations differ from upstream:\n${table.join('\n')}`);
  });
});
