// Tests for transport_url parsing, checked against what oslo.messaging's TransportURL.parse makes of the same strings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '@alto/kernel';
import { rabbitEndpoints } from './amqp.js';
import { parseTransportUrl, redactTransportUrl } from './transport-url.js';

test('one host with credentials and a virtual host', () => {
  assert.deepEqual(parseTransportUrl('rabbit://cloud:cloudpw@127.0.0.1:55672/cloud'), {
    scheme: 'rabbit',
    hosts: [{ hostname: '127.0.0.1', port: 55672, username: 'cloud', password: 'cloudpw' }],
    virtualHost: 'cloud',
    query: {},
  });
});

test('several hosts, percent-encoded credentials, IPv6, the `//` virtual host and a query', () => {
  const u = parseTransportUrl('rabbit://a%40b:p%3Aw%2Fd@h1:5672,u2:p2@[::1]:5673,h3//?ssl=1&x=a&x=b');
  assert.deepEqual(u.hosts, [
    { hostname: 'h1', port: 5672, username: 'a@b', password: 'p:w/d' },
    { hostname: '::1', port: 5673, username: 'u2', password: 'p2' },
    { hostname: 'h3', port: undefined, username: undefined, password: undefined },
  ]);
  assert.equal(u.virtualHost, '/');
  assert.deepEqual(u.query, { ssl: '1', x: 'a,b' });
});

test('no path means no virtual host; a bare scheme has no hosts', () => {
  assert.equal(parseTransportUrl('rabbit://h').virtualHost, undefined);
  assert.equal(parseTransportUrl('rabbit:///').virtualHost, '');
  assert.deepEqual(parseTransportUrl('inprocess://').hosts, []);
  assert.equal(parseTransportUrl('RABBIT://h').scheme, 'rabbit');
});

test('malformed URLs are ValidationErrors that never show the password', () => {
  for (const bad of ['localhost:5672', 'rabbit://u:secret@h:99999/', 'rabbit://u:secret@[::1/', 'rabbit://u:secret@h:x/', 'rabbit://u:%zz@h/']) {
    assert.throws(() => parseTransportUrl(bad), (e: unknown) => {
      assert.ok(e instanceof ValidationError, bad);
      assert.equal(e.code, 'bus.invalid_transport_url');
      assert.doesNotMatch(e.message, /secret|%zz/);
      return true;
    });
  }
});

test('redaction hides every password and nothing else', () => {
  assert.equal(redactTransportUrl('rabbit://u:p@h1:1,v:q@h2,h3/vh'), 'rabbit://u:***@h1:1,v:***@h2,h3/vh');
  assert.equal(redactTransportUrl('inprocess://'), 'inprocess://');
});

test('rabbit endpoints default like kombu: port 5672, guest, vhost /, localhost', () => {
  assert.deepEqual(rabbitEndpoints(parseTransportUrl('rabbit://')), [{ hostname: 'localhost', port: 5672, username: 'guest', password: 'guest', vhost: '/' }]);
  assert.deepEqual(rabbitEndpoints(parseTransportUrl('rabbit://u:p@h1,h2:5673/v')), [
    { hostname: 'h1', port: 5672, username: 'u', password: 'p', vhost: 'v' },
    { hostname: 'h2', port: 5673, username: 'guest', password: 'guest', vhost: 'v' },
  ]);
});
