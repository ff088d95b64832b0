// Unified limits through the API: registered limits, project and domain limits, validation and
// error wording as upstream Keystone answered (recorded from Debian's Zed), both enforcement models.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startIdentity, addPersonas, ADMIN_PASSWORD, type Harness } from '../testing/harness.js';

interface Ctx {
  h: Harness;
  admin: string;
  system: string;
  serviceId: string;
}

async function setUp(config?: Record<string, unknown>): Promise<Ctx & { p: Awaited<ReturnType<typeof addPersonas>> }> {
  const h = await startIdentity(config ? { config } : {});
  const admin = await h.adminToken();
  const system = await h.token('admin', ADMIN_PASSWORD, 'system');
  const serviceId = (await h.req('GET', '/v3/services?type=identity', { token: admin })).json<{ services: { id: string }[] }>().services[0]!.id;
  const p = await addPersonas(h);
  return { h, admin, system, serviceId, p };
}

const expecting = (attr: string, target: string) =>
  `Expecting to find ${attr} in ${target}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`;

describe('unified limits, flat model', () => {
  let c: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    c = await setUp();
  });
  after(() => c.h.close());

  const post = (url: string, body: unknown, token = c.system) => c.h.req('POST', url, { token, body });
  const registered = (items: Record<string, unknown>[]) => post('/v3/registered_limits', { registered_limits: items });

  test('GET /v3/limits/model names the model with upstream description, for any scoped token', async () => {
    const member = await c.h.token('demo-member', 'demo-member-pw', { project: 'demo' });
    const r = await c.h.req('GET', '/v3/limits/model', { token: member });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { model: { name: 'flat', description: 'Limit enforcement and validation does not take project hierarchy into consideration.' } });
  });

  test('registered limits: create a list, filter, show, update, delete', async () => {
    const r = await registered([
      { service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'widgets', default_limit: 10, description: 'd' },
      { service_id: c.serviceId, resource_name: 'gadgets', default_limit: 5 },
    ]);
    assert.equal(r.statusCode, 201, r.body);
    const body = r.json<{ registered_limits: Record<string, unknown>[]; links?: unknown }>();
    assert.equal(body.links, undefined);
    const [w, g] = body.registered_limits;
    assert.deepEqual(Object.keys(w!).sort(), ['default_limit', 'description', 'id', 'links', 'region_id', 'resource_name', 'service_id']);
    assert.equal(g!.region_id, null);
    assert.equal(g!.description, null);

    const byName = await c.h.req('GET', '/v3/registered_limits?resource_name=widgets', { token: c.admin });
    assert.deepEqual(byName.json<{ registered_limits: { id: string }[] }>().registered_limits.map((x) => x.id), [w!.id]);
    const byRegion = await c.h.req('GET', '/v3/registered_limits?region_id=RegionOne', { token: c.admin });
    assert.deepEqual(byRegion.json<{ registered_limits: { id: string }[] }>().registered_limits.map((x) => x.id), [w!.id]);

    const upd = await c.h.req('PATCH', `/v3/registered_limits/${g!.id as string}`, { token: c.system, body: { registered_limit: { default_limit: 7, region_id: 'RegionOne', description: 'x' } } });
    assert.equal(upd.statusCode, 200, upd.body);
    assert.equal(upd.json().registered_limit.default_limit, 7);
    assert.equal(upd.json().registered_limit.region_id, 'RegionOne');
    const clash = await c.h.req('PATCH', `/v3/registered_limits/${g!.id as string}`, { token: c.system, body: { registered_limit: { resource_name: 'widgets' } } });
    assert.equal(clash.statusCode, 409);
    assert.equal(clash.json().error.message, 'Conflict occurred attempting to store registered_limit - Duplicate entry.');
    assert.equal((await c.h.req('DELETE', `/v3/registered_limits/${g!.id as string}`, { token: c.system })).statusCode, 204);
    const gone = await c.h.req('GET', `/v3/registered_limits/${g!.id as string}`, { token: c.system });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().error.message, `Could not find registered limit for ${g!.id as string}.`);
  });

  test('registered limits: duplicates are 409, unknown service or region 400, bad input 400', async () => {
    const dup = await registered([{ service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'widgets', default_limit: 1 }]);
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.message, 'Conflict occurred attempting to store registered_limit - Duplicate entry.');
    const svc = await registered([{ service_id: 'nope', resource_name: 'x', default_limit: 1 }]);
    assert.equal(svc.statusCode, 400);
    assert.equal(svc.json().error.message, expecting('service_id', 'registered_limit'));
    const region = await registered([{ service_id: c.serviceId, region_id: 'nope', resource_name: 'x', default_limit: 1 }]);
    assert.equal(region.json().error.message, expecting('region_id', 'registered_limit'));
    assert.equal((await registered([])).json().error.message, '[] is too short');
    assert.equal((await post('/v3/registered_limits', {})).json().error.message, "{} is not of type 'array'");
    const low = await registered([{ service_id: c.serviceId, resource_name: 'x', default_limit: -2 }]);
    assert.equal(low.json().error.message, "Invalid input for field '0/default_limit': -2 is less than the minimum of -1");
    const extra = await registered([{ service_id: c.serviceId, resource_name: 'x', default_limit: 1, foo: 1 }]);
    assert.equal(extra.json().error.message, "Invalid input for field '0': Additional properties are not allowed ('foo' was unexpected)");
    // nothing of a refused batch is kept
    const half = await registered([
      { service_id: c.serviceId, resource_name: 'fresh', default_limit: 1 },
      { service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'widgets', default_limit: 1 },
    ]);
    assert.equal(half.statusCode, 409);
    assert.equal((await c.h.req('GET', '/v3/registered_limits?resource_name=fresh', { token: c.system })).json().registered_limits.length, 0);
  });

  test('limits: project and domain limits, their errors, and who sees which', async () => {
    const mk = (items: Record<string, unknown>[]) => post('/v3/limits', { limits: items });
    const created = await mk([{ project_id: c.p.demoId, service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'widgets', resource_limit: 5 }]);
    assert.equal(created.statusCode, 201, created.body);
    const limit = created.json().limits[0] as Record<string, unknown>;
    assert.deepEqual(
      { ...limit, id: undefined, links: undefined },
      { id: undefined, links: undefined, project_id: c.p.demoId, domain_id: null, resource_limit: 5, description: null, service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'widgets' },
    );
    const dup = await mk([{ project_id: c.p.demoId, service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'widgets', resource_limit: 5 }]);
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.message, 'Conflict occurred attempting to store limit - Duplicate entry.');
    const noRef = await mk([{ project_id: c.p.demoId, service_id: c.serviceId, resource_name: 'widgets', resource_limit: 5 }]);
    assert.equal(noRef.statusCode, 403);
    assert.equal(noRef.json().error.message, 'Unable to create a limit that has no corresponding registered limit.');
    const noProject = await mk([{ project_id: 'nope', service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'widgets', resource_limit: 5 }]);
    assert.equal(noProject.json().error.message, expecting('project_id', 'limit'));
    const noDomain = await mk([{ domain_id: 'nope', service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'widgets', resource_limit: 5 }]);
    assert.equal(noDomain.json().error.message, expecting('domain_id', 'limit'));
    const both = await mk([{ project_id: c.p.demoId, domain_id: 'default', service_id: c.serviceId, resource_name: 'widgets', resource_limit: 5 }]);
    assert.equal(both.statusCode, 400);
    assert.match(both.json().error.message, /^Invalid input for field '0': \{'project_id': .* is not valid under any of the given schemas$/);

    // a project id that is a domain makes a domain limit
    const dom = await mk([{ project_id: 'default', service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'widgets', resource_limit: 8 }]);
    assert.equal(dom.statusCode, 201, dom.body);
    assert.equal(dom.json().limits[0].domain_id, 'default');
    assert.equal(dom.json().limits[0].project_id, null);

    // a registered limit with limits on it can be neither changed nor deleted
    const reg = (await c.h.req('GET', '/v3/registered_limits?resource_name=widgets', { token: c.system })).json().registered_limits[0].id as string;
    const refused = await c.h.req('PATCH', `/v3/registered_limits/${reg}`, { token: c.system, body: { registered_limit: { default_limit: 11 } } });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().error.message, `Unable to update or delete registered limit ${reg} because there are project limits associated with it.`);
    assert.equal((await c.h.req('DELETE', `/v3/registered_limits/${reg}`, { token: c.system })).statusCode, 403);

    // system sees all; a project-scoped token only its project's, even an admin's
    const ids = (r: { json(): { limits: { id: string }[] } }) => r.json().limits.map((l) => l.id).sort();
    assert.deepEqual(ids(await c.h.req('GET', '/v3/limits', { token: c.system })), [limit.id as string, dom.json().limits[0].id as string].sort());
    assert.deepEqual(ids(await c.h.req('GET', '/v3/limits', { token: c.admin })), []);
    const member = await c.h.token('demo-member', 'demo-member-pw', { project: 'demo' });
    assert.deepEqual(ids(await c.h.req('GET', '/v3/limits', { token: member })), [limit.id as string]);
    assert.deepEqual(ids(await c.h.req('GET', `/v3/limits?project_id=${c.p.otherId}`, { token: member })), []);
    assert.deepEqual(ids(await c.h.req('GET', '/v3/limits?domain_id=default', { token: c.system })), [dom.json().limits[0].id as string]);
    // show: the project's member may, another project's may not
    assert.equal((await c.h.req('GET', `/v3/limits/${limit.id as string}`, { token: member })).statusCode, 200);
    const outsider = await c.h.token('other-member', 'other-member-pw', { project: 'other' });
    assert.equal((await c.h.req('GET', `/v3/limits/${limit.id as string}`, { token: outsider })).statusCode, 403);
    assert.equal((await c.h.req('PATCH', `/v3/limits/${limit.id as string}`, { token: member, body: { limit: { resource_limit: 1 } } })).statusCode, 403);
  });

  test('limits: update (0 included), 404s, delete', async () => {
    const id = (await c.h.req('GET', `/v3/limits?project_id=${c.p.demoId}`, { token: c.system })).json().limits[0].id as string;
    const upd = await c.h.req('PATCH', `/v3/limits/${id}`, { token: c.system, body: { limit: { resource_limit: 0, description: 'none' } } });
    assert.equal(upd.statusCode, 200);
    assert.equal(upd.json().limit.resource_limit, 0);
    assert.equal(upd.json().limit.description, 'none');
    const bad = await c.h.req('PATCH', `/v3/limits/${id}`, { token: c.system, body: { limit: { id: 'x' } } });
    assert.equal(bad.json().error.message, "Additional properties are not allowed ('id' was unexpected)");
    const missing = await c.h.req('GET', '/v3/limits/nope', { token: c.system });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.message, 'Could not find limit for nope.');
    assert.equal((await c.h.req('DELETE', `/v3/limits/${id}`, { token: c.system })).statusCode, 204);
    assert.equal((await c.h.req('DELETE', `/v3/limits/${id}`, { token: c.system })).statusCode, 404);
  });

  test("a deleted project's limits go with it", async () => {
    const proj = (await post('/v3/projects', { project: { name: 'short-lived', domain_id: 'default' } }, c.admin)).json().project.id as string;
    const r = await post('/v3/limits', { limits: [{ project_id: proj, service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'widgets', resource_limit: 2 }] });
    assert.equal(r.statusCode, 201);
    assert.equal((await c.h.req('DELETE', `/v3/projects/${proj}`, { token: c.admin })).statusCode, 204);
    assert.equal((await c.h.req('GET', `/v3/limits/${r.json().limits[0].id as string}`, { token: c.system })).statusCode, 404);
  });
});

describe('unified limits, strict_two_level model', () => {
  let c: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    c = await setUp({ unified_limit: { enforcement_model: 'strict_two_level' } });
    const r = await c.h.req('POST', '/v3/registered_limits', {
      token: c.system,
      body: {
        registered_limits: [
          { service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'cores', default_limit: 10 },
          { service_id: c.serviceId, region_id: 'RegionOne', resource_name: 'ram', default_limit: 100 },
        ],
      },
    });
    assert.equal(r.statusCode, 201, r.body);
  });
  after(() => c.h.close());

  const limits = (items: Record<string, unknown>[]) => c.h.req('POST', '/v3/limits', { token: c.system, body: { limits: items } });
  const item = (owner: Record<string, string>, resource: string, value: number) => ({ ...owner, service_id: c.serviceId, region_id: 'RegionOne', resource_name: resource, resource_limit: value });

  test('the model endpoint names it', async () => {
    const r = await c.h.req('GET', '/v3/limits/model', { token: c.admin });
    assert.deepEqual(r.json(), { model: { name: 'strict_two_level', description: 'This model requires project hierarchy never exceeds a depth of two' } });
  });

  test("without a domain limit, a project's limit may not exceed the registered default", async () => {
    const over = await limits([item({ project_id: c.p.demoId }, 'cores', 11)]);
    assert.equal(over.statusCode, 403);
    assert.equal(
      over.json().error.message,
      `Invalid resource limit: The resource limit (project_id: ${c.p.demoId}, resource_name: cores, resource_limit: 11, service_id: ${c.serviceId}, region_id: RegionOne) doesn't satisfy current hierarchy model..`,
    );
    assert.equal((await limits([item({ project_id: c.p.demoId }, 'cores', 10)])).statusCode, 201);
  });

  test("a domain's limit may not be below a project's; a project's may not exceed the domain's", async () => {
    const under = await limits([item({ domain_id: 'default' }, 'cores', 9)]);
    assert.equal(under.statusCode, 403);
    assert.match(under.json().error.message, /^Invalid resource limit: The resource limit \(domain_id: default, resource_name: cores, resource_limit: 9, .* region_id: RegionOne\)/);
    const dom = await limits([item({ domain_id: 'default' }, 'cores', 20)]);
    assert.equal(dom.statusCode, 201);
    assert.equal((await limits([item({ project_id: c.p.otherId }, 'cores', 21)])).statusCode, 403);
    assert.equal((await limits([item({ project_id: c.p.otherId }, 'cores', 15)])).statusCode, 201);
    // updates are checked the same way
    const domId = dom.json().limits[0].id as string;
    assert.equal((await c.h.req('PATCH', `/v3/limits/${domId}`, { token: c.system, body: { limit: { resource_limit: 12 } } })).statusCode, 403);
    assert.equal((await c.h.req('PATCH', `/v3/limits/${domId}`, { token: c.system, body: { limit: { resource_limit: 15 } } })).statusCode, 200);
  });

  test('a parent limit in the same request is the one compared', async () => {
    assert.equal((await limits([item({ domain_id: 'default' }, 'ram', 50), item({ project_id: c.p.demoId }, 'ram', 60)])).statusCode, 403);
    const ok = await limits([item({ domain_id: 'default' }, 'ram', 500), item({ project_id: c.p.demoId }, 'ram', 400)]);
    assert.equal(ok.statusCode, 201, ok.body);
  });
});
