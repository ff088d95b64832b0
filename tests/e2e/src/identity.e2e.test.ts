// The foundation issue's checks, as a new user runs them: the real openstack CLI and
// openstacksdk against `alto up`, and against `alto serve identity-api` on PostgreSQL and
// MariaDB with RabbitMQ.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase } from '@alto/db';
import { spawnSync } from 'node:child_process';
import { ALTO, HAVE_OPENSTACK, modes, openstack, openstackJson, python, startCloud, type Cloud } from '@alto/testing';

interface Row {
  [k: string]: unknown;
}

async function adminToken(c: Cloud): Promise<string> {
  const r = await fetch(`${c.url}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: c.adminPassword } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    }),
  });
  assert.equal(r.status, 201);
  return r.headers.get('x-subject-token')!;
}

for (const m of modes()) {
  const skip = m.unavailable ?? (HAVE_OPENSTACK ? false : 'the openstack CLI is not installed (scripts/test installs python3-openstackclient)');
  describe(`identity, ${m.mode}`, { skip }, () => {
    let c: Cloud;
    before(async () => {
      c = await startCloud(m.mode);
    });
    after(async () => {
      await c?.stop();
    });

    test('the operator walk-through: token, catalog, endpoints, regions, services, domains, projects, users, roles, revoke', async () => {
      const tok = openstackJson<Row>(c.osEnv, ['token', 'issue']);
      assert.match(String(tok.id), /^gAAAAA/);
      const catalog = openstackJson<Row[]>(c.osEnv, ['catalog', 'list']);
      // `alto up` also runs the image and block storage services; a lone identity-api serves only itself
      assert.deepEqual(catalog.map((s) => s.Type).sort(), c.mode === 'embedded' ? ['block-storage', 'identity', 'image', 'volumev3'] : ['identity']);
      const endpoints = openstackJson<Row[]>(c.osEnv, ['endpoint', 'list', '--service', 'identity']);
      assert.deepEqual(endpoints.map((e) => e.Interface).sort(), ['admin', 'internal', 'public']);
      assert.ok(endpoints.every((e) => e.URL === `${c.url}/v3/`));
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['region', 'list']).map((r) => r.Region), ['RegionOne']);
      assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['service', 'list']).map((s) => s.Name).sort(), c.mode === 'embedded' ? ['cinder', 'cinderv3', 'glance', 'keystone'] : ['keystone']);

      openstack(c.osEnv, ['domain', 'create', 'e2e-domain']);
      assert.ok(openstackJson<Row[]>(c.osEnv, ['domain', 'list']).some((d) => d.Name === 'e2e-domain'));
      const demo = openstackJson<Row>(c.osEnv, ['project', 'create', 'demo']);
      assert.equal(demo.domain_id, 'default');
      const user = openstackJson<Row>(c.osEnv, ['user', 'create', '--project', 'demo', '--password', 'Demo-user-pw1', 'demo-user']);
      assert.equal(user.default_project_id, demo.id);
      openstack(c.osEnv, ['role', 'add', '--project', 'demo', '--user', 'demo-user', 'member']);
      const assignments = openstackJson<Row[]>(c.osEnv, ['role', 'assignment', 'list', '--names']);
      assert.ok(assignments.some((a) => a.Role === 'member' && a.User === 'demo-user@Default' && a.Project === 'demo@Default'), JSON.stringify(assignments));

      const victim = String(openstackJson<Row>(c.osEnv, ['token', 'issue']).id);
      openstack(c.osEnv, ['token', 'revoke', victim]);
      const check = await fetch(`${c.url}/v3/auth/tokens`, { headers: { 'x-auth-token': await adminToken(c), 'x-subject-token': victim } });
      assert.equal(check.status, 404);
    });

    test('a member of demo cannot list users or create projects; a reader can read but not write', async () => {
      openstack(c.osEnv, ['user', 'create', '--password', 'Reader-pw1', 'demo-reader']);
      openstack(c.osEnv, ['role', 'add', '--project', 'demo', '--user', 'demo-reader', 'reader']);
      const as = (name: string, password: string): NodeJS.ProcessEnv => {
        const { OS_CLOUD: _c, OS_CLIENT_CONFIG_FILE: _f, ...rest } = c.osEnv;
        return { ...rest, OS_AUTH_URL: `${c.url}/v3`, OS_USERNAME: name, OS_PASSWORD: password, OS_PROJECT_NAME: 'demo', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
      };
      const member = as('demo-user', 'Demo-user-pw1');
      const denied = openstack(member, ['user', 'list'], { allowFailure: true });
      assert.notEqual(denied.status, 0);
      assert.match(denied.stderr, /identity:list_users.*HTTP 403/);
      assert.match(openstack(member, ['project', 'create', 'not-mine'], { allowFailure: true }).stderr, /HTTP 403/);
      const reader = as('demo-reader', 'Reader-pw1');
      assert.equal(openstackJson<Row>(reader, ['project', 'show', 'demo']).name, 'demo');
      assert.ok(openstackJson<Row[]>(reader, ['region', 'list']).length >= 1);
      assert.match(openstack(reader, ['region', 'create', 'nope'], { allowFailure: true }).stderr, /HTTP 403/);
      assert.match(openstack(reader, ['project', 'set', '--description', 'x', 'demo'], { allowFailure: true }).stderr, /HTTP 403/);
    });

    test('openstacksdk sees the same cloud', () => {
      const r = python<{ projects: string[]; roles: string[]; user: string }>(
        c.osEnv,
        `import json, openstack
conn = openstack.connect(cloud='altostratus')
print(json.dumps({
  'projects': sorted(p.name for p in conn.identity.projects()),
  'roles': sorted(r.name for r in conn.identity.roles()),
  'user': conn.identity.get_user(conn.current_user_id).name,
}))`,
      );
      assert.ok(r.projects.includes('demo') && r.projects.includes('admin') && r.projects.includes('service'));
      assert.deepEqual(r.roles, ['admin', 'manager', 'member', 'reader', 'service']);
      assert.equal(r.user, 'admin');
    });

    test('bad input: malformed JSON, mistyped fields, oversize bodies are 4xx in the Keystone envelope and change nothing; a wrong password reads like an unknown user', async () => {
      const token = await adminToken(c);
      const count = async () => ((await (await fetch(`${c.url}/v3/projects`, { headers: { 'x-auth-token': token } })).json()) as { projects: unknown[] }).projects.length;
      const before = await count();
      for (const [body, status] of [
        ['{"project": {"name": ', 400],
        ['{"project": {"name": "x", "enabled": "yes"}}', 400],
        [JSON.stringify({ project: { name: 'x', description: 'y'.repeat(200_000) } }), 413],
      ] as const) {
        const r = await fetch(`${c.url}/v3/projects`, { method: 'POST', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body });
        assert.equal(r.status, status);
        const e = (await r.json()) as { error: { code: number; title: string } };
        assert.equal(e.error.code, status);
      }
      assert.equal(await count(), before);
      const auth = async (name: string) =>
        fetch(`${c.url}/v3/auth/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password: 'wrong-pw' } } } } }),
        });
      const [wrong, unknown] = await Promise.all([auth('admin'), auth('no-such-user')]);
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, 401);
      assert.equal(await wrong.text(), await unknown.text());
    });

    if (m.mode === 'embedded') {
      test('alto fernet rotate while the cloud runs: existing tokens keep working, new ones too', async () => {
        const before = await adminToken(c);
        const r = spawnSync(process.execPath, [ALTO, 'fernet', 'rotate'], { env: { ...process.env, ALTO_DATA_DIR: c.dataDir }, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /key 2 is now primary/);
        // the server re-reads the repository within seconds; both tokens must validate throughout
        for (let i = 0; i < 7; i++) {
          const after = await adminToken(c);
          const check = await fetch(`${c.url}/v3/auth/tokens`, { headers: { 'x-auth-token': after, 'x-subject-token': before } });
          assert.equal(check.status, 200);
          await new Promise((res) => setTimeout(res, 1000));
        }
      });

      test('a restart keeps everything', async () => {
        const projects = openstackJson<Row[]>(c.osEnv, ['project', 'list']).map((p) => p.Name).sort();
        await c.kill('SIGTERM');
        assert.equal(c.proc().exitCode, 0, 'SIGTERM drains and exits 0');
        await c.restart();
        assert.deepEqual(openstackJson<Row[]>(c.osEnv, ['project', 'list']).map((p) => p.Name).sort(), projects);
        assert.match(String(openstackJson<Row>(c.osEnv, ['token', 'issue']).id), /^gAAAAA/);
      });

      test('kill -9 during a burst of writes: every acknowledged write survives, nothing is corrupt', async () => {
        const token = await adminToken(c);
        const acknowledged: string[] = [];
        let stop = false;
        const writer = async (w: number) => {
          for (let i = 0; !stop; i++) {
            try {
              const r = await fetch(`${c.url}/v3/projects`, {
                method: 'POST',
                headers: { 'x-auth-token': token, 'content-type': 'application/json' },
                body: JSON.stringify({ project: { name: `burst-${w}-${i}` } }),
              });
              if (r.status === 201) acknowledged.push(((await r.json()) as { project: { id: string } }).project.id);
            } catch {
              return; // the server is gone
            }
          }
        };
        const writers = Array.from({ length: 8 }, (_, w) => writer(w));
        while (acknowledged.length < 60) await new Promise((r) => setTimeout(r, 5));
        await c.kill('SIGKILL');
        stop = true;
        await Promise.all(writers);
        const db = openDatabase({ connection: `sqlite:///${join(c.dataDir, 'identity.db')}` });
        const check = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(db.db);
        assert.deepEqual(check.rows.map((r) => r.integrity_check), ['ok']);
        await db.close();
        await c.restart();
        const after = await adminToken(c);
        const list = (await (await fetch(`${c.url}/v3/projects`, { headers: { 'x-auth-token': after } })).json()) as { projects: { id: string }[] };
        const present = new Set(list.projects.map((p) => p.id));
        const lost = acknowledged.filter((id) => !present.has(id));
        assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged writes were lost`);
      });
    }
  });
}
