// The token-auth plugin as keystonemiddleware behaves: caching, service tokens, expired tokens
// behind a service token, application credential access rules, invalidation on identity changes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UnauthorizedError, manualClock, type Cache } from '@alto/kernel';
import { accessRulePathMatches, createAuthenticator, invalidatableCache, type AuthContext, type AuthRequest, type TokenValidator } from './auth.js';

const alice: AuthContext = { userId: 'alice', projectId: 'p1', roles: ['member'], serviceRoles: [], isAdminProject: false, tokenExpiresAt: new Date(Date.UTC(2030, 0, 1)) };
const svc: AuthContext = { userId: 'nova', projectId: 'service', roles: ['service'], serviceRoles: [], isAdminProject: false };
const restricted: AuthContext = {
  ...alice,
  applicationCredentialId: 'ac1',
  accessRules: [
    { service: 'image', method: 'GET', path: '/v2/images' },
    { service: 'image', method: 'GET', path: '/v2/images/*' },
    { service: 'block-storage', method: 'POST', path: '/v3/{project_id}/volumes/**' },
  ],
  catalogServiceTypes: ['identity', 'image', 'block-storage'],
};

/** A validator that knows some tokens, and one expired token it answers only with allowExpired. */
function validatorOf(tokens: Record<string, AuthContext>, calls: string[] = []): TokenValidator {
  return {
    validate: async (t, o) => {
      calls.push(o?.allowExpired ? `${t}+expired` : t);
      if (t === 'old' && o?.allowExpired) return { ...alice, userId: 'old', tokenExpiresAt: new Date(Date.UTC(2020, 0, 1)) };
      const c = tokens[t];
      if (!c) throw new UnauthorizedError();
      return c;
    },
  };
}

function mapCache(): Cache & { store: Map<string, string> } {
  const store = new Map<string, string>();
  return {
    store,
    get: async (k) => store.get(k),
    set: async (k, v) => void store.set(k, v),
    delete: async (k) => void store.delete(k),
    close: async () => {},
  };
}

const req = (headers: Record<string, string>, method = 'GET', url = '/v2/images'): AuthRequest => ({ headers, method, url });

describe('authenticator', () => {
  test('caches validations, never past token expiry', async () => {
    const clock = manualClock(Date.UTC(2029, 11, 31, 23, 0));
    const calls: string[] = [];
    const a = createAuthenticator({ validator: validatorOf({ alice }, calls), clock, cache: mapCache(), cacheTtlSeconds: 300 });
    await a.authenticate(req({ 'x-auth-token': 'alice' }));
    const again = await a.authenticate(req({ 'x-auth-token': 'alice' }));
    assert.equal(calls.length, 1);
    assert.equal(again?.userId, 'alice');
    assert.ok(again?.tokenExpiresAt instanceof Date);
    clock.set(Date.UTC(2030, 0, 1, 0, 0, 1));
    await a.authenticate(req({ 'x-auth-token': 'alice' }));
    assert.equal(calls.length, 2, 'an expired cached token is validated again');
  });

  test('a service token must carry a service role; its identity lands in the context', async () => {
    const a = createAuthenticator({ validator: validatorOf({ alice, svc, other: alice }), clock: manualClock() });
    const ctx = await a.authenticate(req({ 'x-auth-token': 'alice', 'x-service-token': 'svc' }));
    assert.equal(ctx?.serviceUserId, 'nova');
    assert.deepEqual(ctx?.serviceRoles, ['service']);
    await assert.rejects(a.authenticate(req({ 'x-auth-token': 'alice', 'x-service-token': 'other' })), UnauthorizedError);
    await assert.rejects(a.authenticate(req({ 'x-auth-token': 'alice', 'x-service-token': 'nope' })), UnauthorizedError);
  });

  test('an expired user token passes only beside a valid service token with a service role', async () => {
    const calls: string[] = [];
    const a = createAuthenticator({ validator: validatorOf({ alice, svc, other: alice }, calls), clock: manualClock() });
    await assert.rejects(a.authenticate(req({ 'x-auth-token': 'old' })), UnauthorizedError);
    const ctx = await a.authenticate(req({ 'x-auth-token': 'old', 'x-service-token': 'svc' }));
    assert.equal(ctx?.userId, 'old');
    assert.ok(calls.includes('old+expired'));
    const lax = createAuthenticator({ validator: validatorOf({ alice, other: alice }), clock: manualClock(), serviceTokenRolesRequired: false });
    await assert.rejects(lax.authenticate(req({ 'x-auth-token': 'old', 'x-service-token': 'other' })), UnauthorizedError, 'no service role: no allow_expired, even when roles are not required');
  });

  test('access rules: only the requests a rule names, on this service type', async () => {
    const a = createAuthenticator({ validator: validatorOf({ restricted, alice, svc }), clock: manualClock(), serviceType: 'image' });
    const as = (method: string, url: string, extra: Record<string, string> = {}) => a.authenticate(req({ 'x-auth-token': 'restricted', ...extra }, method, url));
    assert.equal((await as('GET', '/v2/images?limit=1'))?.userId, 'alice');
    assert.equal((await as('GET', '/v2/images/abc'))?.userId, 'alice');
    await assert.rejects(as('GET', '/v2/images/abc/file'), UnauthorizedError, '* is one segment');
    await assert.rejects(as('POST', '/v2/images'), UnauthorizedError, 'another method');
    await assert.rejects(as('DELETE', '/v2/images/abc'), UnauthorizedError);
    assert.equal((await as('DELETE', '/v2/images/abc', { 'x-service-token': 'svc' }))?.serviceUserId, 'nova', 'a chain of service calls passes');
    assert.equal((await a.authenticate(req({ 'x-auth-token': 'alice' }, 'DELETE', '/v2/images/abc')))?.userId, 'alice', 'an unrestricted token is not checked');

    const volume = createAuthenticator({ validator: validatorOf({ restricted }), clock: manualClock(), serviceType: 'block-storage' });
    assert.ok(await volume.authenticate(req({ 'x-auth-token': 'restricted' }, 'POST', '/v3/p1/volumes/v1/action')));
    await assert.rejects(volume.authenticate(req({ 'x-auth-token': 'restricted' }, 'POST', '/v3/p1/volumes')), UnauthorizedError, '/** needs the slash before it');
    await assert.rejects(volume.authenticate(req({ 'x-auth-token': 'restricted' }, 'GET', '/v2/images')), UnauthorizedError, 'rules of another service do not count');
  });

  test('access rules: no service type, or a type missing from the catalog, refuses the token; identity always validates tokens', async () => {
    const none = createAuthenticator({ validator: validatorOf({ restricted }), clock: manualClock() });
    await assert.rejects(none.authenticate(req({ 'x-auth-token': 'restricted' })), UnauthorizedError);
    const absent = createAuthenticator({ validator: validatorOf({ restricted, svc }), clock: manualClock(), serviceType: 'compute' });
    await assert.rejects(absent.authenticate(req({ 'x-auth-token': 'restricted', 'x-service-token': 'svc' })), UnauthorizedError);
    const identity = createAuthenticator({ validator: validatorOf({ restricted }), clock: manualClock(), serviceType: 'identity' });
    assert.ok(await identity.authenticate(req({ 'x-auth-token': 'restricted' }, 'GET', '/v3/auth/tokens')));
    await assert.rejects(identity.authenticate(req({ 'x-auth-token': 'restricted' }, 'GET', '/v3/users')), UnauthorizedError);
  });

  test('path patterns as keystonemiddleware reads them', () => {
    const cases: [string, string, boolean][] = [
      ['/v2.1/servers', '/v2.1/servers', true],
      ['/v2.1/servers/x', '/v2.1/servers', false],
      ['/v2.1/servers/x', '/v2.1/servers/*', true],
      ['/v2.1/servers/x/action', '/v2.1/servers/*', false],
      ['/v2.1/servers/x/action', '/v2.1/servers/**', true],
      ['/v2.1/servers/x/action', '/v2.1/servers/{server_id}/action', true],
      ['/v2.1/servers//action', '/v2.1/servers/{server_id}/action', false],
      ['/v2.1Xservers', '/v2.1/servers', false],
      ['/v3/a+b', '/v3/a+b', true],
    ];
    for (const [path, pattern, expected] of cases) assert.equal(accessRulePathMatches(path, pattern), expected, `${path} ~ ${pattern}`);
  });

  test('an identity change makes every cached validation stale at once', async () => {
    const clock = manualClock(Date.UTC(2029, 0, 1));
    const calls: string[] = [];
    const backing = mapCache();
    const cache = invalidatableCache(backing, clock, 1000);
    const a = createAuthenticator({ validator: validatorOf({ alice }, calls), clock, cache });
    await a.authenticate(req({ 'x-auth-token': 'alice' }));
    await a.authenticate(req({ 'x-auth-token': 'alice' }));
    assert.equal(calls.length, 1);
    cache.invalidate();
    await a.authenticate(req({ 'x-auth-token': 'alice' }));
    assert.equal(calls.length, 2, 'revalidated after the change');
    clock.advance(500);
    await a.authenticate(req({ 'x-auth-token': 'alice' }));
    assert.equal(calls.length, 3, 'an answer cached within the margin is not trusted either');
    clock.advance(1000);
    await a.authenticate(req({ 'x-auth-token': 'alice' }));
    await a.authenticate(req({ 'x-auth-token': 'alice' }));
    assert.equal(calls.length, 4, 'later answers are cached again');
    backing.store.set([...backing.store.keys()][0]!, 'not an entry');
    await a.authenticate(req({ 'x-auth-token': 'alice' }));
    assert.equal(calls.length, 5, 'a foreign value reads as a miss');
  });
});
