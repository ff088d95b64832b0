// Tests for the wire format: oslo's envelope, RPC and reply messages, remote errors, context packing, notifications.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AltoError, ForbiddenError, InternalError, QuotaExceededError, ValidationError, type RequestContext } from '@alto/kernel';
import {
  assertJson,
  buildNotification,
  buildRpcMessage,
  deserializeFailure,
  envelope,
  openEnvelope,
  osloTimestamp,
  parseNotification,
  parseRpcMessage,
  serializeFailure,
} from './message.js';

test('the 2.0 envelope is a JSON object holding the message as a JSON string', () => {
  const body = envelope({ method: 'm', args: { a: 1 } });
  const outer = JSON.parse(body) as Record<string, unknown>;
  assert.deepEqual(Object.keys(outer).sort(), ['oslo.message', 'oslo.version']);
  assert.equal(outer['oslo.version'], '2.0');
  assert.equal(outer['oslo.message'], '{"method":"m","args":{"a":1}}');
  assert.deepEqual(openEnvelope(body), { method: 'm', args: { a: 1 } });
});

test('a bare 1.0 message is accepted; other versions and garbage are not', () => {
  assert.deepEqual(openEnvelope('{"method":"m","args":{}}'), { method: 'm', args: {} });
  assert.throws(() => openEnvelope('{"oslo.version":"3.0","oslo.message":"{}"}'), /unsupported envelope/);
  assert.throws(() => openEnvelope('[1]'));
  assert.throws(() => openEnvelope('not json'));
});

test('RPC messages pack the context as _context_* keys, as oslo pack_context does', () => {
  const ctx: RequestContext = {
    requestId: 'req-1',
    authToken: 'tok',
    userId: 'u',
    projectId: 'p',
    roles: ['member'],
    isAdminProject: true,
    serviceRoles: [],
    systemScope: 'all',
  };
  const msg = buildRpcMessage({ method: 'm', args: { x: 1 }, uniqueId: 'uid', origin: { requestId: 'req-1', context: ctx }, call: { msgId: 'mid', replyQueue: 'reply_q' } });
  assert.equal(msg._context_request_id, 'req-1');
  assert.equal(msg._context_user, 'u');
  assert.equal(msg._context_project_id, 'p');
  assert.equal(msg._context_tenant, 'p');
  assert.equal(msg._context_auth_token, 'tok');
  assert.equal(msg._context_user_identity, 'u p - - -');
  assert.deepEqual([msg._msg_id, msg._reply_q, msg._unique_id, msg._timeout], ['mid', 'reply_q', 'uid', null]);
  const back = parseRpcMessage(openEnvelope(envelope(msg)));
  assert.equal(back.method, 'm');
  assert.deepEqual(back.args, { x: 1 });
  assert.equal(back.requestId, 'req-1');
  assert.equal(back.context?.authToken, 'tok');
  assert.equal(back.context?.isAdminProject, true);
  assert.equal(back.context?.systemScope, 'all');
  assert.deepEqual(back.context?.roles, ['member']);
  const cast = buildRpcMessage({ method: 'm', args: {}, uniqueId: 'u2', origin: { requestId: 'req-2', context: undefined } });
  assert.equal('_msg_id' in cast, false);
  assert.equal(parseRpcMessage(cast).context, undefined);
});

test('notifications never carry the auth token and keep oslo field names', () => {
  const ctx: RequestContext = { requestId: 'req-n', authToken: 'tok', roles: ['admin'], isAdminProject: false, serviceRoles: [] };
  const msg = buildNotification({
    messageId: 'mid',
    publisherId: 'identity.h',
    eventType: 'identity.user.created',
    priority: 'AUDIT',
    payload: { id: 'x' },
    timestamp: '2026-01-01 00:00:00',
    uniqueId: 'u',
    origin: { requestId: 'req-n', context: ctx },
  });
  assert.equal('_context_auth_token' in msg, false);
  for (const k of ['message_id', 'publisher_id', 'event_type', 'priority', 'payload', 'timestamp']) assert.ok(k in msg, k);
  const n = parseNotification(msg);
  assert.equal(n.priority, 'AUDIT');
  assert.equal(n.context?.authToken, undefined);
  assert.deepEqual(n.context?.roles, ['admin']);
  assert.throws(() => parseNotification({ ...msg, priority: 'LOUD' }), /priority/);
});

test('oslo timestamps look like Python str(datetime)', () => {
  assert.equal(osloTimestamp(new Date('2026-03-04T05:06:07.089Z')), '2026-03-04 05:06:07.089000');
  assert.equal(osloTimestamp(new Date('2026-03-04T05:06:07.000Z')), '2026-03-04 05:06:07');
});

test('remote errors round-trip kind, code, message and details, and nothing else', () => {
  const cases = [
    new ForbiddenError('no', 'p.forbidden', { details: { rule: 'x' } }),
    new QuotaExceededError('full', 'quota.cores'),
    new ValidationError('bad', 'v.bad'),
    new AltoError('not_acceptable', 'n.a', 'nope'),
  ];
  for (const err of cases) {
    const wire = JSON.parse(serializeFailure(err)) as Record<string, unknown>;
    assert.deepEqual(wire.tb, []);
    assert.equal(wire.class, err.name);
    const back = deserializeFailure(serializeFailure(err));
    assert.equal(back.constructor, err.constructor);
    assert.deepEqual([back.kind, back.code, back.message, back.details], [err.kind, err.code, err.message, err.details]);
  }
  // a Python oslo server's failure (no kind/code) does not leak its text
  const foreign = deserializeFailure(JSON.stringify({ class: 'KeyError', module: 'builtins', message: 'secret', tb: ['x'], args: [], kwargs: {} }));
  assert.ok(foreign instanceof InternalError);
  assert.equal(foreign.code, 'bus.remote_error');
  assert.doesNotMatch(foreign.message, /secret/);
  assert.ok(deserializeFailure('{{{') instanceof InternalError);
  assert.ok(deserializeFailure(JSON.stringify({ message: 'm', kwargs: { kind: 'weird', code: 'c' } })) instanceof InternalError);
});

test('assertJson accepts plain JSON and names the path of the first non-JSON value', () => {
  assertJson({ a: [1, 'x', null, true, { b: -0.5 }], c: undefined }, 'args');
  assertJson(Object.create(null) as object, 'args');
  assert.throws(() => assertJson({ a: [1, { when: new Date(0) }] }, 'args'), (e: unknown) => e instanceof ValidationError && /args\.a\[1\]\.when is not JSON \(Date\)/.test(e.message));
  assert.throws(() => assertJson({ n: NaN }, 'args'), /args\.n is not JSON \(NaN\)/);
  const shared = { x: 1 };
  assertJson({ a: shared, b: shared }, 'args'); // the same object twice is not a cycle
});
