// The HTTP frame end to end through inject(): ids, envelopes, validation order, auth, 404/405/413.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { ForbiddenError, NotFoundError, UnauthorizedError, manualClock, type RequestContext } from '@alto/kernel';
import { pino } from 'pino';
import { createHttpServer } from './server.js';
import { computeRenderer, keystoneRenderer, neutronRenderer, placementRenderer } from './errors.js';
import { defineRoute, mountRoutes, type PolicyEnforcer } from './route.js';
import { createAuthenticator, type AuthContext, type TokenValidator } from './auth.js';
import { createValidators } from './validation.js';
import { pageLinks, readPage } from './pagination.js';

const alice: AuthContext = { userId: 'alice', projectId: 'p1', roles: ['member'], serviceRoles: [], isAdminProject: false, tokenExpiresAt: new Date(Date.UTC(2030, 0, 1)) };
const svc: AuthContext = { userId: 'nova', projectId: 'service', roles: ['service'], serviceRoles: [], isAdminProject: false };

function validatorOf(tokens: Record<string, AuthContext>, calls: string[] = []): TokenValidator {
  return {
    validate: async (t) => {
      calls.push(t);
      const c = tokens[t];
      if (!c) throw new UnauthorizedError();
      return c;
    },
  };
}

/** The real engine lives in @alto/policy; this one allows members to read and only admins to write. */
const enforcer: PolicyEnforcer = {
  enforce(name, _target, creds) {
    const roles = creds.roles as string[];
    if (name.endsWith(':get') && roles.length) return;
    if (roles.includes('admin')) return;
    throw new ForbiddenError(`You are not authorized to perform the requested action: ${name}.`);
  },
};

function app(opts: { validateResponses?: boolean } = {}) {
  const server = createHttpServer({
    logger: pino({ level: 'silent' }),
    bodyLimit: 1024,
    renderer: keystoneRenderer({ wwwAuthenticateUri: () => 'http://127.0.0.1:5000', messages: { 'http.malformed_json': 'Expecting to find valid JSON in request body.' } }),
  });
  const Thing = Type.Object({ thing: Type.Object({ name: Type.String({ minLength: 1, maxLength: 8 }), enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }) }, { additionalProperties: false });
  mountRoutes(
    server,
    [
      defineRoute({ method: 'GET', url: '/', auth: 'none', policy: null, errors: [], handler: async () => ({ hello: 'world' }) }),
      defineRoute({
        method: 'GET',
        url: '/v3/things/:id',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        policy: 'test:get',
        errors: [404],
        response: { 200: Type.Object({ thing: Type.Object({ id: Type.String() }) }) },
        handler: async ({ params }, ctx: RequestContext) => {
          if (params.id === 'missing') throw new NotFoundError(`Could not find thing: ${params.id}.`);
          if (params.id === 'boom') throw new Error('secret internals: db password hunter2');
          if (params.id === 'badshape') return { thing: { id: 7 } };
          return { thing: { id: params.id, user: ctx.userId } };
        },
      }),
      defineRoute({ method: 'POST', url: '/v3/things', body: Thing, status: 201, policy: 'test:create', errors: [409], handler: async ({ body }) => ({ thing: body.thing }) }),
    ],
    {
      enforcer,
      validators: createValidators(),
      validateResponses: opts.validateResponses ?? false,
      authenticator: createAuthenticator({ validator: validatorOf({ alice, admin: { ...alice, userId: 'root', roles: ['admin'] }, svc }), clock: manualClock() }),
    },
  );
  return server;
}

describe('frame', () => {
  test('every answer carries an oslo request id; a caller\'s id is kept as the global id', async () => {
    const s = app();
    const r = await s.inject({ url: '/', headers: { 'x-openstack-request-id': 'req-00000000-0000-4000-8000-000000000000' } });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['x-openstack-request-id']), /^req-[0-9a-f-]{36}$/);
    assert.notEqual(r.headers['x-openstack-request-id'], 'req-00000000-0000-4000-8000-000000000000');
    const e = await s.inject({ url: '/nope' });
    assert.match(String(e.headers['x-openstack-request-id']), /^req-/);
  });

  test('unknown path is 404, wrong method is 405 with Allow, in the service envelope', async () => {
    const s = app();
    const r404 = await s.inject({ url: '/v3/nothing' });
    assert.equal(r404.statusCode, 404);
    assert.deepEqual(r404.json(), { error: { code: 404, message: 'The resource could not be found.', title: 'Not Found' } });
    const r405 = await s.inject({ method: 'DELETE', url: '/v3/things' });
    assert.equal(r405.statusCode, 405);
    assert.equal(r405.json().error.title, 'Method Not Allowed');
    assert.match(String(r405.headers.allow), /POST/);
  });

  test('no token or a bad token is 401 with WWW-Authenticate', async () => {
    const s = app();
    for (const headers of [{}, { 'x-auth-token': 'garbage' }]) {
      const r = await s.inject({ url: '/v3/things/a', headers });
      assert.equal(r.statusCode, 401);
      assert.equal(r.headers['www-authenticate'], 'Keystone uri="http://127.0.0.1:5000"');
      assert.equal(r.json().error.title, 'Unauthorized');
    }
  });

  test('trailing slash and HEAD work as upstream', async () => {
    const s = app();
    const r = await s.inject({ url: '/v3/things/a/', headers: { 'x-auth-token': 'alice' } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { thing: { id: 'a', user: 'alice' } });
    const h = await s.inject({ method: 'HEAD', url: '/v3/things/a', headers: { 'x-auth-token': 'alice' } });
    assert.equal(h.statusCode, 200);
    assert.equal(h.body, '');
  });

  test('domain errors render in the envelope; unexpected errors never leak', async () => {
    const s = app();
    const nf = await s.inject({ url: '/v3/things/missing', headers: { 'x-auth-token': 'alice' } });
    assert.deepEqual(nf.json(), { error: { code: 404, message: 'Could not find thing: missing.', title: 'Not Found' } });
    const boom = await s.inject({ url: '/v3/things/boom', headers: { 'x-auth-token': 'alice' } });
    assert.equal(boom.statusCode, 500);
    assert.ok(!boom.body.includes('hunter2'));
    assert.equal(boom.json().error.title, 'Internal Server Error');
  });

  test('policy is decided before the body is read: a forbidden caller with a bad body gets 403', async () => {
    const s = app();
    const r = await s.inject({ method: 'POST', url: '/v3/things', headers: { 'x-auth-token': 'alice', 'content-type': 'application/json' }, payload: '{"thing": {"bogus": 1}}' });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().error.message, 'You are not authorized to perform the requested action: test:create.');
  });

  test('bad bodies are 400s with jsonschema wording', async () => {
    const s = app();
    const post = (payload: string, contentType = 'application/json') =>
      s.inject({ method: 'POST', url: '/v3/things', headers: { 'x-auth-token': 'admin', 'content-type': contentType }, payload });
    const cases: [string, string, string?][] = [
      ['{"thing": {"name": "a", "enabled": "yes"}}', "Invalid input for field 'thing/enabled': 'yes' is not of type 'boolean'"],
      ['{"thing": {"name": "a", "colour": "red"}}', "Invalid input for field 'thing': Additional properties are not allowed ('colour' was unexpected)"],
      ['{"thing": {}}', "Invalid input for field 'thing': 'name' is a required property"],
      ['{"thing": {"name": ""}}', "Invalid input for field 'thing/name': '' is too short"],
      ['{"thing": {"name": "a"}, "x": 1}', "Additional properties are not allowed ('x' was unexpected)"],
      ['{"thing": ', 'Expecting to find valid JSON in request body.'],
      ['[1, 2]', 'Expecting a JSON object in the request body.'],
      ['name=a', 'Expecting to find application/json in Content-Type header.', 'application/x-www-form-urlencoded'],
    ];
    for (const [payload, message, ct] of cases) {
      const r = await post(payload, ct);
      assert.equal(r.statusCode, 400, payload);
      assert.deepEqual(r.json(), { error: { code: 400, message, title: 'Bad Request' } }, payload);
    }
    const ok = await post('{"thing": {"name": "a", "enabled": true}}');
    assert.equal(ok.statusCode, 201);
  });

  test('a body over the limit is 413 in the envelope', async () => {
    const s = app();
    const r = await s.inject({ method: 'POST', url: '/v3/things', headers: { 'x-auth-token': 'admin', 'content-type': 'application/json' }, payload: JSON.stringify({ thing: { name: 'x'.repeat(5000) } }) });
    assert.equal(r.statusCode, 413);
    assert.equal(r.json().error.code, 413);
  });

  test('answers that do not match their schema fail loudly when checking is on', async () => {
    const r = await app({ validateResponses: true }).inject({ url: '/v3/things/badshape', headers: { 'x-auth-token': 'alice' } });
    assert.equal(r.statusCode, 500);
  });
});

describe('envelopes', () => {
  const req = { id: 'req-1' } as never;
  test('compute, neutron and placement families', () => {
    const nf = new NotFoundError('Instance x could not be found.');
    assert.deepEqual(computeRenderer().render(nf, 404, req).body, { itemNotFound: { code: 404, message: 'Instance x could not be found.' } });
    assert.deepEqual(computeRenderer().render(nf, 500, req).body, { computeFault: { code: 500, message: 'Instance x could not be found.' } });
    class NetworkNotFound extends NotFoundError {}
    assert.deepEqual(neutronRenderer().render(new NetworkNotFound('Network n could not be found.'), 404, req).body, {
      NeutronError: { type: 'NetworkNotFound', message: 'Network n could not be found.', detail: '' },
    });
    const p = placementRenderer().render(nf, 404, req).body as { errors: { status: number; request_id: string; code: string }[] };
    assert.equal(p.errors[0]?.status, 404);
    assert.equal(p.errors[0]?.request_id, 'req-1');
    assert.equal(p.errors[0]?.code, 'placement.undefined_code');
  });
});

describe('pagination', () => {
  test('limit is clamped, marker read, next link only after a full page', () => {
    assert.deepEqual(readPage({ limit: '5000', marker: 'abc' }, 1000), { limit: 1000, marker: 'abc' });
    assert.throws(() => readPage({ limit: '-1' }, 10));
    const items = [{ id: 'a' }, { id: 'b' }];
    assert.deepEqual(pageLinks('http://h:8776/v3/p', '/v3/p/volumes?limit=2&sort=name', items, 2), [{ rel: 'next', href: 'http://h:8776/v3/p/volumes?limit=2&sort=name&marker=b' }]);
    assert.deepEqual(pageLinks('http://h:8776', '/v3/p/volumes?limit=3', items, 3), []);
  });
});
