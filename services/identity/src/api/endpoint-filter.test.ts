// OS-EP-FILTER through the API: endpoint groups, project associations, and the catalog a token
// scoped to a filtered project carries (keystone/catalog/backends/sql.py get_v3_catalog).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startIdentity, addPersonas, ADMIN_PASSWORD } from '../testing/harness.js';

interface CatalogService {
  type: string;
  endpoints: { id: string; interface: string }[];
}

async function setUp(config?: Record<string, unknown>) {
  const h = await startIdentity(config ? { config } : {});
  const t = await h.token('admin', ADMIN_PASSWORD, 'system');
  const p = await addPersonas(h);
  const call = (method: string, url: string, body?: unknown, token = t) => h.req(method, url, { token, ...(body !== undefined ? { body } : {}) });
  const created = async (url: string, body: unknown) => {
    const r = await call('POST', url, body);
    assert.equal(r.statusCode, 201, `${url}: ${r.body}`);
    return r.json<Record<string, { id: string }>>();
  };
  const image = (await created('/v3/services', { service: { type: 'image', name: 'glance' } })).service!.id;
  const imagePublic = (await created('/v3/endpoints', { endpoint: { service_id: image, interface: 'public', region_id: 'RegionOne', url: 'http://glance/' } })).endpoint!.id;
  const imageInternal = (await created('/v3/endpoints', { endpoint: { service_id: image, interface: 'internal', region_id: 'RegionOne', url: 'http://glance-int/' } })).endpoint!.id;
  const identity = (await call('GET', '/v3/services?type=identity')).json<{ services: { id: string }[] }>().services[0]!.id;
  /** The catalog of a fresh demo-member token, as service type -> endpoint interfaces. */
  const demoCatalog = async () => {
    const r = await h.req('POST', '/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { name: 'demo-member', domain: { id: 'default' }, password: 'demo-member-pw' } } }, scope: { project: { id: p.demoId } } } },
    });
    assert.equal(r.statusCode, 201, r.body);
    const fromToken = r.json<{ token: { catalog: CatalogService[] } }>().token.catalog;
    const fromApi = (await h.req('GET', '/v3/auth/catalog', { token: String(r.headers['x-subject-token']) })).json<{ catalog: CatalogService[] }>().catalog;
    assert.deepEqual(fromApi, fromToken);
    return Object.fromEntries(fromToken.map((s) => [s.type, s.endpoints.map((e) => e.interface).sort()]));
  };
  return { h, t, p, call, created, image, imagePublic, imageInternal, identity, demoCatalog };
}

describe('OS-EP-FILTER', () => {
  let c: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    c = await setUp();
  });
  after(() => c.h.close());

  test('endpoint groups: create, list by name, show, HEAD, update, delete, and their validation', async () => {
    const g = (await c.created('/v3/OS-EP-FILTER/endpoint_groups', { endpoint_group: { name: 'eg1', description: 'd', filters: { service_id: c.image, interface: 'public' } } }))
      .endpoint_group as unknown as Record<string, unknown>;
    assert.deepEqual(g.filters, { service_id: c.image, interface: 'public' });
    assert.match((g.links as { self: string }).self, new RegExp(`/v3/OS-EP-FILTER/endpoint_groups/${g.id as string}$`));
    const g2 = (await c.created('/v3/OS-EP-FILTER/endpoint_groups', { endpoint_group: { name: 'eg2', filters: { region_id: 'RegionOne' } } })).endpoint_group!;
    assert.equal((g2 as unknown as Record<string, unknown>).description, null);
    const byName = await c.call('GET', '/v3/OS-EP-FILTER/endpoint_groups?name=eg1');
    assert.deepEqual(byName.json<{ endpoint_groups: { id: string }[] }>().endpoint_groups.map((x) => x.id), [g.id]);
    assert.equal((await c.call('HEAD', `/v3/OS-EP-FILTER/endpoint_groups/${g.id as string}`)).statusCode, 200);

    const eps = await c.call('GET', `/v3/OS-EP-FILTER/endpoint_groups/${g.id as string}/endpoints`);
    assert.deepEqual(eps.json<{ endpoints: { id: string; region: string }[] }>().endpoints.map((e) => [e.id, e.region]), [[c.imagePublic, 'RegionOne']]);

    const msg = async (method: string, url: string, body: unknown) => (await c.call(method, url, body)).json().error.message as string;
    const P = '/v3/OS-EP-FILTER/endpoint_groups';
    assert.equal(await msg('POST', P, { endpoint_group: { name: 'x', filters: {} } }), 'filters field is required and cannot be empty');
    assert.equal(await msg('POST', P, { endpoint_group: { name: 'x' } }), "'filters' is a required property");
    assert.equal(
      await msg('POST', P, { endpoint_group: { name: 'x', filters: { url: 'u' } } }),
      'Expecting to find service_id or region_id or interface in endpoint_group. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.',
    );
    assert.equal(await msg('POST', P, { endpoint_group: { name: 'x', filters: { interface: 'public' }, extra: 1 } }), "'extra' is an invalid keyword argument for EndpointGroup");
    assert.equal(await msg('PATCH', `${P}/${g.id as string}`, { endpoint_group: { id: 'x' } }), 'Cannot change ID');
    assert.equal(await msg('PATCH', `${P}/nope`, { endpoint_group: { name: 'z' } }), 'Could not find Endpoint Group: nope.');

    const upd = await c.call('PATCH', `${P}/${g2.id}`, { endpoint_group: { name: 'eg2b', description: 'dd', filters: { interface: 'internal' } } });
    assert.equal(upd.statusCode, 200);
    assert.deepEqual({ ...upd.json().endpoint_group, links: undefined }, { id: g2.id, name: 'eg2b', description: 'dd', filters: { interface: 'internal' }, links: undefined });
    assert.equal((await c.call('DELETE', `${P}/${g2.id}`)).statusCode, 204);
    assert.equal((await c.call('GET', `${P}/${g2.id}`)).statusCode, 404);
  });

  test('a project with endpoint associations gets only those endpoints in its tokens', async () => {
    assert.deepEqual(await c.demoCatalog(), { identity: ['admin', 'internal', 'public'], image: ['internal', 'public'] });
    const url = `/v3/OS-EP-FILTER/projects/${c.p.demoId}/endpoints/${c.imageInternal}`;
    assert.equal((await c.call('PUT', url)).statusCode, 204);
    const again = await c.call('PUT', url);
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.message, 'Conflict occurred attempting to store project_endpoint - Duplicate entry.');
    assert.equal((await c.call('GET', url)).statusCode, 204);
    assert.equal((await c.call('HEAD', url)).statusCode, 204);
    // services left without endpoints drop out of a filtered catalog
    assert.deepEqual(await c.demoCatalog(), { image: ['internal'] });
    // another project is not affected
    const admin = await c.h.adminToken();
    const adminCatalog = (await c.h.req('GET', '/v3/auth/catalog', { token: admin })).json<{ catalog: CatalogService[] }>().catalog;
    assert.deepEqual(adminCatalog.map((s) => s.type).sort(), ['identity', 'image']);

    const listed = await c.call('GET', `/v3/OS-EP-FILTER/projects/${c.p.demoId}/endpoints`);
    assert.deepEqual(listed.json<{ endpoints: { id: string }[] }>().endpoints.map((e) => e.id), [c.imageInternal]);
    const projects = await c.call('GET', `/v3/OS-EP-FILTER/endpoints/${c.imageInternal}/projects`);
    assert.deepEqual(projects.json<{ projects: { id: string; name: string }[] }>().projects.map((x) => x.name), ['demo']);
  });

  test('endpoint groups of a project add to its endpoints', async () => {
    const g = (await c.created('/v3/OS-EP-FILTER/endpoint_groups', { endpoint_group: { name: 'keystone', filters: { service_id: c.identity, interface: 'public' } } })).endpoint_group!;
    const url = `/v3/OS-EP-FILTER/endpoint_groups/${g.id}/projects/${c.p.demoId}`;
    const unassociated = await c.call('GET', url);
    assert.equal(unassociated.statusCode, 404);
    assert.equal(unassociated.json().error.message, 'Endpoint Group Project Association not found');
    assert.equal((await c.call('PUT', url)).statusCode, 204);
    assert.equal((await c.call('PUT', url)).json().error.message, 'Conflict occurred attempting to store project_endpoint_group - Duplicate entry.');
    const shown = await c.call('GET', url);
    assert.deepEqual(shown.json(), {
      project_endpoint_group: { endpoint_group_id: g.id, project_id: c.p.demoId, links: { self: `/OS-EP-FILTER/endpoint_groups/${g.id}/projects/${c.p.demoId}` } },
    });
    assert.deepEqual(await c.demoCatalog(), { identity: ['public'], image: ['internal'] });
    const groups = await c.call('GET', `/v3/OS-EP-FILTER/projects/${c.p.demoId}/endpoint_groups`);
    assert.deepEqual(groups.json<{ endpoint_groups: { id: string }[] }>().endpoint_groups.map((x) => x.id), [g.id]);
    const projects = await c.call('GET', `/v3/OS-EP-FILTER/endpoint_groups/${g.id}/projects`);
    assert.deepEqual(projects.json<{ projects: { id: string }[] }>().projects.map((x) => x.id), [c.p.demoId]);

    assert.equal((await c.call('DELETE', url)).statusCode, 204);
    assert.equal((await c.call('DELETE', url)).statusCode, 404);
    assert.deepEqual(await c.demoCatalog(), { image: ['internal'] });
    // deleting a group takes its associations along
    await c.call('PUT', url);
    assert.equal((await c.call('DELETE', `/v3/OS-EP-FILTER/endpoint_groups/${g.id}`)).statusCode, 204);
    assert.deepEqual(await c.demoCatalog(), { image: ['internal'] });
  });

  test('missing things are 404s with upstream wording, in its order of lookups', async () => {
    const msg = async (method: string, url: string) => (await c.call(method, url)).json().error.message as string;
    assert.equal(await msg('PUT', `/v3/OS-EP-FILTER/projects/${c.p.demoId}/endpoints/nope`), 'Could not find endpoint: nope.');
    assert.equal(await msg('PUT', `/v3/OS-EP-FILTER/projects/nope/endpoints/${c.imagePublic}`), 'Could not find project: nope.');
    assert.equal(await msg('GET', `/v3/OS-EP-FILTER/projects/${c.p.otherId}/endpoints/${c.imagePublic}`), `Endpoint ${c.imagePublic} not found in project ${c.p.otherId}`);
    assert.equal(await msg('DELETE', '/v3/OS-EP-FILTER/projects/nope/endpoints/nope'), 'Endpoint nope not found in project nope');
    assert.equal(await msg('GET', '/v3/OS-EP-FILTER/projects/nope/endpoint_groups'), 'Could not find project: nope.');
    assert.equal(await msg('GET', '/v3/OS-EP-FILTER/endpoints/nope/projects'), 'Could not find endpoint: nope.');
    assert.equal(await msg('GET', '/v3/OS-EP-FILTER/endpoint_groups/nope/endpoints'), 'Could not find Endpoint Group: nope.');
    assert.deepEqual((await c.call('GET', '/v3/OS-EP-FILTER/endpoint_groups/nope/projects')).json().projects, []);
  });

  test("deleting an endpoint or the project removes the project's associations", async () => {
    assert.equal((await c.call('DELETE', `/v3/endpoints/${c.imageInternal}`)).statusCode, 204);
    // the only association is gone: back to the whole catalog
    assert.deepEqual(await c.demoCatalog(), { identity: ['admin', 'internal', 'public'], image: ['public'] });
    const proj = (await c.created('/v3/projects', { project: { name: 'filtered', domain_id: 'default' } })).project!.id;
    assert.equal((await c.call('PUT', `/v3/OS-EP-FILTER/projects/${proj}/endpoints/${c.imagePublic}`)).statusCode, 204);
    assert.equal((await c.call('DELETE', `/v3/projects/${proj}`)).statusCode, 204);
    assert.deepEqual(await c.h.database.db.selectFrom('project_endpoint').selectAll().where('project_id', '=', proj).execute(), []);
  });

  test('project readers may not manage or read associations', async () => {
    const member = await c.h.token('demo-member', 'demo-member-pw', { project: 'demo' });
    assert.equal((await c.call('GET', `/v3/OS-EP-FILTER/projects/${c.p.demoId}/endpoints`, undefined, member)).statusCode, 403);
    assert.equal((await c.call('PUT', `/v3/OS-EP-FILTER/projects/${c.p.demoId}/endpoints/${c.imagePublic}`, undefined, member)).statusCode, 403);
    assert.equal((await c.call('GET', '/v3/OS-EP-FILTER/endpoint_groups', undefined, member)).statusCode, 403);
  });
});

describe('[endpoint_filter] return_all_endpoints_if_no_filter = false', () => {
  let c: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    c = await setUp({ endpoint_filter: { return_all_endpoints_if_no_filter: false } });
  });
  after(() => c.h.close());

  test('a project without associations gets an empty catalog; with them, only those endpoints', async () => {
    assert.deepEqual(await c.demoCatalog(), {});
    await c.call('PUT', `/v3/OS-EP-FILTER/projects/${c.p.demoId}/endpoints/${c.imagePublic}`);
    assert.deepEqual(await c.demoCatalog(), { image: ['public'] });
  });
});
