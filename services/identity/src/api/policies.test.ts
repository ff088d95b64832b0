// Policy blobs and OS-ENDPOINT-POLICY through the API: CRUD with extra attributes, the three
// kinds of association, and which policy an endpoint gets (endpoint > service+region up the
// region tree > service), with upstream's messages.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startIdentity, ADMIN_PASSWORD, type Harness } from '../testing/harness.js';

let h: Harness;
let t: string;
before(async () => {
  h = await startIdentity();
  t = await h.token('admin', ADMIN_PASSWORD, 'system');
});
after(() => h.close());

const call = (method: string, url: string, body?: unknown) => h.req(method, url, { token: t, ...(body !== undefined ? { body } : {}) });
const created = async (url: string, body: unknown) => {
  const r = await call('POST', url, body);
  assert.equal(r.statusCode, 201, `${url}: ${r.body}`);
  return r.json<Record<string, { id: string }>>();
};

describe('policies', () => {
  test('create with extras, list by type, show, update, delete', async () => {
    const p = (await created('/v3/policies', { policy: { blob: '{"a": 1}', type: 'application/json', foo: 'bar', id: 'ignored' } })).policy as unknown as Record<string, unknown>;
    assert.notEqual(p.id, 'ignored');
    assert.equal(p.foo, 'bar');
    assert.match((p.links as { self: string }).self, new RegExp(`/v3/policies/${p.id as string}$`));
    const other = (await created('/v3/policies', { policy: { blob: 'b', type: 't2' } })).policy!;
    const byType = await call('GET', '/v3/policies?type=t2');
    assert.deepEqual(byType.json<{ policies: { id: string }[] }>().policies.map((x) => x.id), [other.id]);

    const upd = await call('PATCH', `/v3/policies/${other.id}`, { policy: { type: 't3', extra1: 'e' } });
    assert.equal(upd.statusCode, 200);
    assert.deepEqual({ ...upd.json().policy, links: undefined }, { id: other.id, blob: 'b', type: 't3', extra1: 'e', links: undefined });
    const moved = await call('PATCH', `/v3/policies/${other.id}`, { policy: { id: 'other' } });
    assert.equal(moved.statusCode, 400);
    assert.equal(moved.json().error.message, 'Cannot change policy ID');
    assert.equal((await call('PATCH', `/v3/policies/${other.id}`, { policy: {} })).json().error.message, '{} does not have enough properties');
    assert.equal((await call('POST', '/v3/policies', { policy: { blob: 'x' } })).json().error.message, "'type' is a required property");
    assert.equal((await call('POST', '/v3/policies', {})).json().error.message, "'blob' is a required property");

    assert.equal((await call('DELETE', `/v3/policies/${other.id}`)).statusCode, 204);
    const gone = await call('GET', `/v3/policies/${other.id}`);
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().error.message, `Could not find policy: ${other.id}.`);
  });
});

describe('OS-ENDPOINT-POLICY', () => {
  let service: string;
  let endpoint: string;
  const policies: string[] = [];

  before(async () => {
    await created('/v3/regions', { region: { id: 'Parent' } });
    await created('/v3/regions', { region: { id: 'Child', parent_region_id: 'Parent' } });
    service = (await created('/v3/services', { service: { type: 'compute', name: 'nova' } })).service!.id;
    endpoint = (await created('/v3/endpoints', { endpoint: { service_id: service, interface: 'public', region_id: 'Child', url: 'http://nova/v2.1' } })).endpoint!.id;
    for (const n of ['service', 'region', 'endpoint']) policies.push((await created('/v3/policies', { policy: { blob: n, type: 'text/plain' } })).policy!.id);
  });

  const resolved = async () => {
    const r = await call('GET', `/v3/endpoints/${endpoint}/OS-ENDPOINT-POLICY/policy`);
    return r.statusCode === 200 ? (r.json().policy.blob as string) : r.json().error.message as string;
  };

  test('an endpoint gets its own policy, else its service in its region or a parent region, else its service', async () => {
    const [bySvc, byRegion, byEndpoint] = policies as [string, string, string];
    assert.equal(await resolved(), `No policy is associated with endpoint ${endpoint}.`);
    assert.equal((await call('PUT', `/v3/policies/${bySvc}/OS-ENDPOINT-POLICY/services/${service}`)).statusCode, 204);
    assert.equal(await resolved(), 'service');
    assert.equal((await call('PUT', `/v3/policies/${byRegion}/OS-ENDPOINT-POLICY/services/${service}/regions/Parent`)).statusCode, 204);
    assert.equal(await resolved(), 'region');
    assert.equal((await call('PUT', `/v3/policies/${byEndpoint}/OS-ENDPOINT-POLICY/endpoints/${endpoint}`)).statusCode, 204);
    assert.equal(await resolved(), 'endpoint');
    // upstream's self link for this one names the endpoints collection
    const r = await call('GET', `/v3/endpoints/${endpoint}/OS-ENDPOINT-POLICY/policy`);
    assert.match(r.json().policy.links.self as string, new RegExp(`/v3/endpoints/${byEndpoint}$`));

    assert.equal((await call('DELETE', `/v3/policies/${byEndpoint}/OS-ENDPOINT-POLICY/endpoints/${endpoint}`)).statusCode, 204);
    assert.equal(await resolved(), 'region');
    assert.equal((await call('DELETE', `/v3/policies/${byRegion}/OS-ENDPOINT-POLICY/services/${service}/regions/Parent`)).statusCode, 204);
    assert.equal(await resolved(), 'service');
  });

  test('checks answer 204 or 404, with HEAD too; lookups come first', async () => {
    const [bySvc, byRegion] = policies as [string, string];
    const url = `/v3/policies/${bySvc}/OS-ENDPOINT-POLICY/services/${service}`;
    assert.equal((await call('GET', url)).statusCode, 204);
    assert.equal((await call('HEAD', url)).statusCode, 204);
    const none = await call('GET', `/v3/policies/${byRegion}/OS-ENDPOINT-POLICY/services/${service}`);
    assert.equal(none.statusCode, 404);
    assert.equal(none.json().error.message, 'Could not find policy association.');
    assert.equal((await call('GET', `/v3/policies/nope/OS-ENDPOINT-POLICY/services/${service}`)).json().error.message, 'Could not find policy: nope.');
    assert.equal((await call('PUT', `/v3/policies/${bySvc}/OS-ENDPOINT-POLICY/services/nope`)).json().error.message, 'Could not find service: nope.');
    assert.equal((await call('PUT', `/v3/policies/${bySvc}/OS-ENDPOINT-POLICY/services/${service}/regions/nope`)).json().error.message, 'Could not find region: nope.');
    assert.equal((await call('PUT', `/v3/policies/${bySvc}/OS-ENDPOINT-POLICY/endpoints/nope`)).json().error.message, 'Could not find endpoint: nope.');
    // deleting an association that is not there is not an error upstream
    assert.equal((await call('DELETE', `/v3/policies/${byRegion}/OS-ENDPOINT-POLICY/endpoints/${endpoint}`)).statusCode, 204);
  });

  test("a policy's endpoints: by endpoint, by service, by service in a region and its children", async () => {
    const [bySvc, byRegion] = policies as [string, string];
    const list = async (p: string) => (await call('GET', `/v3/policies/${p}/OS-ENDPOINT-POLICY/endpoints`)).json<{ endpoints: Record<string, unknown>[] }>().endpoints;
    const svcEndpoints = await list(bySvc);
    assert.deepEqual(svcEndpoints.map((e) => e.id), [endpoint]);
    assert.equal(svcEndpoints[0]!.region, undefined);
    assert.equal(svcEndpoints[0]!.region_id, 'Child');
    assert.deepEqual(await list(byRegion), []);
    await call('PUT', `/v3/policies/${byRegion}/OS-ENDPOINT-POLICY/services/${service}/regions/Parent`);
    assert.deepEqual((await list(byRegion)).map((e) => e.id), [endpoint]);
  });

  test('deleting the endpoint, the service, the region or the policy removes its associations', async () => {
    const [bySvc, byRegion, byEndpoint] = policies as [string, string, string];
    await call('PUT', `/v3/policies/${byEndpoint}/OS-ENDPOINT-POLICY/endpoints/${endpoint}`);
    assert.equal((await call('DELETE', `/v3/endpoints/${endpoint}`)).statusCode, 204);
    assert.deepEqual((await call('GET', `/v3/policies/${byEndpoint}/OS-ENDPOINT-POLICY/endpoints`)).json().endpoints, []);
    assert.equal((await call('DELETE', `/v3/regions/Parent`)).statusCode, 204);
    const rows = async () => h.database.db.selectFrom('policy_association').selectAll().execute();
    assert.deepEqual((await rows()).map((r) => r.policy_id), [bySvc]);
    assert.equal((await call('DELETE', `/v3/services/${service}`)).statusCode, 204);
    assert.deepEqual(await rows(), []);
    await created('/v3/regions', { region: { id: 'Again' } });
    const svc2 = (await created('/v3/services', { service: { type: 'volume' } })).service!.id;
    await call('PUT', `/v3/policies/${byRegion}/OS-ENDPOINT-POLICY/services/${svc2}/regions/Again`);
    assert.equal((await rows()).length, 1);
    assert.equal((await call('DELETE', `/v3/policies/${byRegion}`)).statusCode, 204);
    assert.deepEqual(await rows(), []);
  });
});
