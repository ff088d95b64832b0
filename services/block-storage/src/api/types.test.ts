// Volume types, QoS specs and default types through the HTTP frame (fastify inject, SQLite,
// static tokens): the recorded upstream exchanges replayed, then what the recording does not
// show (list filters and pages, renames, the defaults' protection, spec validation wording,
// forced QoS deletes, partial delete_keys, 3.62's refusals).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Database } from '@alto/db';
import { systemClock } from '@alto/kernel';
import { TypesService } from '../domain/types.service.js';
import { QosService } from '../domain/qos.service.js';
import type { BlockStorageDB } from '../store/schema.js';
import type { BlockStorageServices } from '../services.js';
import { volumeRow } from '../testing/volume-row.js';
import { ADMIN_PROJECT, OTHER_PROJECT, OWNER_PROJECT, caller, mountForTest, openTestStore, testCore, testPolicy, type Call } from '../testing/route-harness.js';
import { typeRoutes, type TypesFrame } from './types.js';
import { qosRoutes, type QosFrame } from './qos-specs.js';
import { defaultTypeRoutes } from './default-types.js';

type Json = Record<string, any>;

interface Exchange {
  name: string;
  request: { method: string; path: string; headers: Record<string, string>; body: unknown };
  response: { status: number; body: unknown };
}
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/upstream/${name}`, import.meta.url), 'utf8')) as Exchange[];

interface Harness {
  database: Database<BlockStorageDB>;
  call: Call;
  close(): Promise<void>;
}

/** These routes mounted as plugin.ts mounts routes (project prefix, Cinder's policies, faults and validation wording). */
async function start(): Promise<Harness> {
  const store = await openTestStore('alto-types-', systemClock);
  const { authz, routes: enforcer } = testPolicy();
  const core = testCore(store, systemClock, authz, { quotaDefaults: {} });
  // only what these routes read
  const services = { authz, types: new TypesService(core), qos: new QosService(core) } as unknown as BlockStorageServices & TypesFrame['services'] & QosFrame['services'];
  const frame = { services, maxLimit: 1000, publicEndpoint: 'http://cinder.test:8776' };
  const app = await mountForTest([...typeRoutes(frame), ...qosRoutes(frame), ...defaultTypeRoutes(frame)], { log: store.log, clock: systemClock, enforcer });
  return {
    database: store.database,
    call: caller(app),
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

/** Placeholders of the recording (<type:x>, <qos:x>, <cinder>) bound to our values as they appear. */
class Bindings {
  readonly values = new Map<string, string>([
    ['<project:admin>', ADMIN_PROJECT],
    ['<project:owner>', OWNER_PROJECT],
  ]);

  fill(s: string): string {
    return s.replace(/<[a-z]+(:[^>]+)?>/g, (p) => this.values.get(p) ?? p);
  }

  fillDeep(v: unknown): unknown {
    if (typeof v === 'string') return this.fill(v);
    if (Array.isArray(v)) return v.map((x) => this.fillDeep(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [this.fill(k), this.fillDeep(x)]));
    return v;
  }

  /** Compares a recorded value with ours, binding the placeholders it meets for the first time. */
  match(expected: unknown, actual: unknown, path: string): void {
    if (typeof expected === 'string') {
      const filled = this.fill(expected);
      if (filled === '<timestamp>' || filled === '<present>') return;
      const open = [...filled.matchAll(/<(?:type|qos|cinder|uuid)[^>]*>/g)].map((m) => m[0]);
      if (!open.length) return assert.equal(actual, filled, path);
      assert.equal(typeof actual, 'string', path);
      const re = new RegExp(`^${filled.split(/(<(?:type|qos|cinder|uuid)[^>]*>)/).map((part, i) => (i % 2 ? '(.+?)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')}$`);
      const m = re.exec(actual as string);
      assert.ok(m, `${path}: ${String(actual)} !~ ${filled}`);
      open.forEach((p, i) => this.values.set(p, m[i + 1]!));
      return;
    }
    if (Array.isArray(expected)) {
      assert.ok(Array.isArray(actual), path);
      assert.equal(actual.length, expected.length, `${path}: ${JSON.stringify(actual)}`);
      expected.forEach((e, i) => this.match(e, (actual as unknown[])[i], `${path}[${i}]`));
      return;
    }
    if (expected && typeof expected === 'object') {
      assert.ok(actual && typeof actual === 'object', path);
      const keys = Object.keys(expected).map((k) => this.fill(k));
      assert.deepEqual(Object.keys(actual).sort(), [...keys].sort(), `${path}: keys of ${JSON.stringify(actual)}`);
      for (const [k, e] of Object.entries(expected)) this.match(e, (actual as Json)[this.fill(k)], `${path}.${k}`);
      return;
    }
    assert.equal(actual, expected, path);
  }
}

async function replay(h: Harness, b: Bindings, exchanges: Exchange[], hooks: Record<string, () => Promise<void>> = {}): Promise<void> {
  for (const ex of exchanges) {
    await hooks[ex.name]?.();
    const version = ex.request.headers['OpenStack-API-Version']?.replace(/^volume /, '');
    const r = await h.call(ex.request.headers['X-Auth-Token']!, ex.request.method, b.fill(ex.request.path), ex.request.body === null ? undefined : b.fillDeep(ex.request.body), version);
    assert.equal(r.statusCode, ex.response.status, `${ex.name}: ${r.body}`);
    if (ex.response.body === null) assert.equal(r.body, '', ex.name);
    else b.match(ex.response.body, r.json(), ex.name);
  }
}

describe('volume types, QoS specs and default types over HTTP', () => {
  let h: Harness;
  const b = new Bindings();
  before(async () => {
    h = await start();
  });
  after(() => h?.close());

  test('replays the recorded volume type exchanges', async () => {
    const exchanges = fixture('volume-types.json').filter((e) => !e.name.includes('encryption'));
    await replay(h, b, exchanges, {
      // the recording had a volume of type silver by then
      'delete type in use (400)': async () => {
        await h.database.db.insertInto('volume').values(volumeRow({ project_id: OWNER_PROJECT, status: 'available', volume_type_id: b.values.get('<type:silver>')! })).execute();
      },
    });
  });

  test('replays the recorded QoS specs exchanges', async () => {
    const r = await h.call('<admin>', 'POST', `/v3/${ADMIN_PROJECT}/types`, { volume_type: { name: 'qostype' } });
    assert.equal(r.statusCode, 200, r.body);
    b.values.set('<type:qostype>', r.json<Json>().volume_type.id as string);
    await replay(h, b, fixture('qos-specs.json'));
  });

  test('lists: is_public for admins only, private types by access, extra_specs filters, pages', async () => {
    const mk = async (name: string, isPublic: boolean, specs: Record<string, string> = {}) => {
      const r = await h.call('<admin>', 'POST', '/v3/types', { volume_type: { name, 'os-volume-type-access:is_public': isPublic, extra_specs: specs } });
      assert.equal(r.statusCode, 200, r.body);
      return r.json<Json>().volume_type.id as string;
    };
    const hidden = await mk('hidden', false, { multiattach: '<is> True' });
    const shared = await mk('shared', false);
    await mk('az', true, { 'RESKEY:availability_zones': 'az1, az2', volume_backend_name: 'b1' });
    assert.equal((await h.call('<admin>', 'POST', `/v3/types/${shared}/action`, { addProjectAccess: { project: OWNER_PROJECT } })).statusCode, 202);
    const names = async (as: string, query = '', version?: string) => {
      const r = await h.call(as, 'GET', `/v3/types${query}`, undefined, version);
      assert.equal(r.statusCode, 200, r.body);
      return (r.json<Json>().volume_types as Json[]).map((t) => t.name as string).sort();
    };
    const member = await names('<member>');
    assert.ok(member.includes('shared') && !member.includes('hidden'), member.join());
    assert.ok(!(await names('<other>')).includes('shared'));
    // a member's is_public=false is ignored (Cinder forces true)
    assert.deepEqual(await names('<member>', '?is_public=false'), member);
    assert.deepEqual(await names('<admin>', '?is_public=false'), ['hidden', 'shared']);
    assert.ok((await names('<admin>', '?is_public=none')).includes('hidden'));
    assert.equal((await h.call('<admin>', 'GET', '/v3/types?is_public=maybe')).json().badRequest.message, 'Invalid is_public filter [maybe]');
    // extra specs filters (3.52); the AZ list matches by substring; members may not filter on hidden specs
    assert.deepEqual(await names('<member>', `?extra_specs=${encodeURIComponent("{'RESKEY:availability_zones': 'az2'}")}`, '3.52'), ['az']);
    assert.deepEqual(await names('<member>', `?extra_specs=${encodeURIComponent('{"volume_backend_name": "b1"}')}`, '3.52'), []);
    assert.deepEqual(await names('<admin>', `?extra_specs=${encodeURIComponent('{"volume_backend_name": "b1"}')}`, '3.52'), ['az']);
    const bad = await h.call('<member>', 'GET', '/v3/types?colour=red', undefined, '3.52');
    assert.equal(bad.json().badRequest.message, 'Invalid filters colour are found in query options.');
    assert.equal((await h.call('<member>', 'GET', '/v3/types?colour=red')).statusCode, 200, 'dropped before 3.52');
    assert.deepEqual(await names('<admin>', '?colour=red'), []);
    // members see only the user-visible specs, admins all and qos_specs_id
    const viewOf = async (as: string, id: string) => (await h.call(as, 'GET', `/v3/types/${id}`)).json().volume_type as Json;
    assert.deepEqual(Object.keys(await viewOf('<admin>', shared)), ['id', 'name', 'is_public', 'description', 'extra_specs', 'qos_specs_id', 'os-volume-type-access:is_public']);
    // pages: sorted, limited, with a next link carrying the marker
    const page1 = (await h.call('<admin>', 'GET', '/v3/types?sort=name:asc&limit=2&is_public=none')).json<Json>();
    assert.deepEqual(page1.volume_types.map((t: Json) => t.name), ['__DEFAULT__', 'az']);
    const next = new URL(page1.volume_type_links[0].href as string);
    assert.equal(next.searchParams.get('marker'), page1.volume_types[1].id);
    const page2 = (await h.call('<admin>', 'GET', `/v3/types${next.search}`)).json<Json>();
    assert.deepEqual(page2.volume_types.map((t: Json) => t.name), ['hidden', 'qostype']);
    assert.equal((await h.call('<admin>', 'GET', '/v3/types?sort=colour')).json().badRequest.message, 'Invalid input received: Invalid sort key');
    void hidden;
  });

  test('update: renames, name clashes, empty updates; delete refuses project defaults', async () => {
    const r = await h.call('<admin>', 'POST', '/v3/types', { volume_type: { name: 'gold' } });
    const id = r.json<Json>().volume_type.id as string;
    const put = (body: unknown) => h.call('<admin>', 'PUT', `/v3/types/${id}`, { volume_type: body });
    assert.equal((await put({ name: 'silver' })).json().conflictingRequest.message, 'Volume Type silver already exists.');
    assert.equal((await put({ name: '   ' })).json().badRequest.message, 'Volume type name can not be empty.');
    assert.equal((await put({})).json().badRequest.message, 'Specify volume type name, description, is_public or a combination thereof.');
    assert.equal((await put({ name: '' })).statusCode, 400);
    // per-type quota resources follow a rename
    await h.database.db.insertInto('quota').values({ project_id: OTHER_PROJECT, resource: 'volumes_gold', hard_limit: 3, updated_at: 0 }).execute();
    const renamed = (await put({ name: 'platinum', is_public: 'false' })).json<Json>();
    const quotas = await h.database.db.selectFrom('quota').select('resource').where('project_id', '=', OTHER_PROJECT).execute();
    assert.deepEqual(quotas.map((x) => x.resource), ['volumes_platinum']);
    assert.deepEqual([renamed.volume_type.name, renamed.volume_type.is_public, renamed.volume_type.description], ['platinum', false, null]);
    assert.equal((await h.call('<admin>', 'POST', '/v3/types', { volume_type: { name: '  ' } })).json().badRequest.message, "An invalid 'name' value was provided. The 'name' can not be empty.");

    const set = await h.call('<admin>', 'PUT', `/v3/default-types/${OTHER_PROJECT}`, { default_type: { volume_type: id } }, '3.62');
    assert.equal(set.statusCode, 200, set.body);
    const del = await h.call('<admin>', 'DELETE', `/v3/types/${id}`);
    assert.equal(del.json().badRequest.message, `The volume type ${id} is a default volume type and cannot be deleted.`);
    assert.equal((await h.call('<admin>', 'DELETE', `/v3/default-types/${OTHER_PROJECT}`, undefined, '3.62')).statusCode, 204);
    assert.equal((await h.call('<admin>', 'DELETE', `/v3/types/${id}`)).statusCode, 202);
    assert.equal((await h.call('<admin>', 'GET', `/v3/types/${id}`)).statusCode, 404);
  });

  test('of concurrent creates of one name exactly one succeeds', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => h.call('<admin>', 'POST', '/v3/types', { volume_type: { name: 'race' } })));
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 409, 409, 409]);
    const qos = await Promise.all(Array.from({ length: 3 }, () => h.call('<admin>', 'POST', '/v3/qos-specs', { qos_specs: { name: 'race' } })));
    assert.deepEqual(qos.map((r) => r.statusCode).sort(), [200, 409, 409]);
  });

  test('extra specs: jsonschema wording, cacheable with multiattach, members may not write', async () => {
    const id = (await h.call('<admin>', 'POST', '/v3/types', { volume_type: { name: 'specs' } })).json<Json>().volume_type.id as string;
    const post = (specs: unknown) => h.call('<admin>', 'POST', `/v3/types/${id}/extra_specs`, { extra_specs: specs });
    assert.equal((await post({ 'a b': 'v' })).json().badRequest.message, "Invalid input for field/attribute extra_specs. Value: {'a b': 'v'}. 'a b' does not match any of the regexes: '^[a-zA-Z0-9-_:.]{1,255}$'");
    assert.equal((await post({ k: 1 })).json().badRequest.message, "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string', 'null'");
    assert.equal((await post({ k: 'x'.repeat(256) })).statusCode, 400);
    assert.equal((await post({ multiattach: '<is> True' })).statusCode, 200);
    assert.equal((await post({ cacheable: '<is> True' })).json().badRequest.message, 'cacheable cannot be set with multiattach.');
    const two = await h.call('<admin>', 'PUT', `/v3/types/${id}/extra_specs/a`, { a: '1', b: '2' });
    assert.equal(two.json().badRequest.message, "{'a': '1', 'b': '2'} has too many properties");
    const member = await h.call('<member>', 'POST', `/v3/types/${id}/extra_specs`, { extra_specs: { k: 'v' } });
    assert.equal(member.json().forbidden.message, "Policy doesn't allow volume_extension:types_extra_specs:create to be performed.");
    // types with spaces in keys are fine at create (extra_specs, not the no-spaces variant)
    assert.equal((await h.call('<admin>', 'POST', '/v3/types', { volume_type: { name: 'spaced', extra_specs: { 'a b': 'v' } } })).statusCode, 200);
    // access changes apply to private types only
    const pub = await h.call('<admin>', 'POST', `/v3/types/${id}/action`, { addProjectAccess: { project: OWNER_PROJECT } });
    assert.equal(pub.json().badRequest.message, 'Invalid volume type: Type access modification is not applicable to public volume type.');
    const notUuid = await h.call('<admin>', 'POST', `/v3/types/${id}/action`, { addProjectAccess: { project: 'nope' } });
    assert.equal(notUuid.json().badRequest.message, "Invalid input for field/attribute project. Value: 'nope'. 'nope' is not a 'uuid'");
  });

  test('QoS specs: forced delete, partial delete_keys, one QoS per type, consumer checks', async () => {
    const create = async (body: Json) => h.call('<admin>', 'POST', '/v3/qos-specs', { qos_specs: body });
    const q = (await create({ name: ' fast ', consumer: 'front-end', a: '1', b: '2', c: '3' })).json<Json>().qos_specs;
    assert.deepEqual([q.name, q.consumer, q.specs], ['fast', 'front-end', { a: '1', b: '2', c: '3' }]);
    const other = (await create({ name: 'slow' })).json<Json>().qos_specs;
    assert.equal(other.consumer, 'back-end');
    assert.equal((await create({ name: 'n', k: 5 })).json().badRequest.message, 'Invalid input received: Value for key "k" is not a string or unicode');

    const keys = await h.call('<admin>', 'PUT', `/v3/qos-specs/${q.id}/delete_keys`, { keys: ['a', 'zz', 'c'] });
    assert.equal(keys.json().itemNotFound.message, `QoS spec ${q.id} has no spec with key zz.`);
    assert.deepEqual((await h.call('<admin>', 'GET', `/v3/qos-specs/${q.id}`)).json().qos_specs.specs, { b: '2', c: '3' });
    const badConsumer = await h.call('<admin>', 'PUT', `/v3/qos-specs/${q.id}`, { qos_specs: { consumer: 'nowhere' } });
    assert.match(badConsumer.json().badRequest.message as string, /^Invalid qos specs: Valid consumer of QoS specs are: /);
    assert.equal((await h.call('<admin>', 'PUT', `/v3/qos-specs/${q.id}`, { qos_specs: { consumer: 'both' } })).statusCode, 200);

    const typeId = (await h.call('<admin>', 'POST', '/v3/types', { volume_type: { name: 'qos2' } })).json<Json>().volume_type.id as string;
    assert.equal((await h.call('<admin>', 'GET', `/v3/qos-specs/${q.id}/associate?vol_type_id=${typeId}`)).statusCode, 202);
    assert.equal((await h.call('<admin>', 'GET', `/v3/qos-specs/${q.id}/associate?vol_type_id=${typeId}`)).statusCode, 202, 'same one again');
    const again = await h.call('<admin>', 'GET', `/v3/qos-specs/${other.id}/associate?vol_type_id=${typeId}`);
    assert.equal(again.json().badRequest.message, `Invalid volume type: Type ${typeId} is already associated with another qos specs: ${q.id}`);
    assert.equal((await h.call('<admin>', 'GET', `/v3/qos-specs/${q.id}/associate`)).json().badRequest.message, 'Volume Type id must not be None.');
    assert.equal((await h.call('<admin>', 'GET', `/v3/qos-specs/${q.id}/associate?vol_type_id=00000000-0000-4000-8000-000000000404`)).statusCode, 404);

    // COMPAT(cinder): filters other than id match nothing
    assert.deepEqual((await h.call('<admin>', 'GET', '/v3/qos-specs?name=fast')).json().qos_specs, []);
    assert.deepEqual((await h.call('<admin>', 'GET', `/v3/qos-specs?id=${q.id}`)).json().qos_specs.map((x: Json) => x.name), ['fast']);

    assert.equal((await h.call('<admin>', 'DELETE', `/v3/qos-specs/${q.id}?force=true`)).statusCode, 202);
    const t = (await h.call('<admin>', 'GET', `/v3/types/${typeId}`)).json<Json>();
    assert.equal(t.volume_type.qos_specs_id, null);
  });

  test('default types: 3.62 only, unknown types 400, missing 404, list for admins with its own refusal', async () => {
    assert.equal((await h.call('<admin>', 'GET', '/v3/default-types', undefined, '3.61')).statusCode, 404);
    const unknown = await h.call('<admin>', 'PUT', `/v3/default-types/${OTHER_PROJECT}`, { default_type: { volume_type: 'nope' } }, '3.62');
    assert.equal(unknown.json().badRequest.message, 'Volume type with name nope could not be found.');
    const missing = await h.call('<admin>', 'GET', `/v3/default-types/${OTHER_PROJECT}`, undefined, '3.62');
    assert.equal(missing.json().itemNotFound.message, `Default type for project ${OTHER_PROJECT} not found.`);
    assert.equal((await h.call('<admin>', 'GET', `/v3/${OWNER_PROJECT}/default-types`, undefined, '3.62')).json().badRequest.message, 'Malformed request url');
    assert.equal((await h.call('<admin>', 'GET', `/v3/${ADMIN_PROJECT}/default-types`, undefined, '3.62')).statusCode, 200);
    const list = await h.call('<member>', 'GET', '/v3/default-types', undefined, '3.62');
    assert.equal(list.json().forbidden.message, 'You are not authorized to perform this operation.');
    const set = await h.call('<member>', 'PUT', `/v3/default-types/${OWNER_PROJECT}`, { default_type: { volume_type: '__DEFAULT__' } }, '3.62');
    assert.equal(set.json().forbidden.message, "Policy doesn't allow volume_extension:default_set_or_update to be performed.");
  });
});
