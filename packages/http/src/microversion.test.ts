// Microversion negotiation as Nova/Cinder/Placement do it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import type { AltoError } from '@alto/kernel';
import { inMicroversionRange, negotiateMicroversion, parseMicroversion, registerMicroversions, formatMicroversion } from './microversion.js';

const policy = { serviceType: 'compute', min: '2.1', max: '2.96', legacyHeaders: ['X-OpenStack-Nova-API-Version'] };

test('absent header means the minimum, latest the maximum', () => {
  assert.equal(formatMicroversion(negotiateMicroversion(policy, {})), '2.1');
  assert.equal(formatMicroversion(negotiateMicroversion(policy, { 'openstack-api-version': 'compute latest' })), '2.96');
  assert.equal(formatMicroversion(negotiateMicroversion(policy, { 'openstack-api-version': 'volume 3.5, compute 2.47' })), '2.47');
  assert.equal(formatMicroversion(negotiateMicroversion(policy, { 'x-openstack-nova-api-version': '2.10' })), '2.10');
});

test('versions compare numerically, out of range is 406, garbage is 400', () => {
  assert.ok(inMicroversionRange(parseMicroversion('2.10'), { min: '2.9' }));
  assert.ok(!inMicroversionRange(parseMicroversion('2.9'), { min: '2.10' }));
  assert.throws(() => negotiateMicroversion(policy, { 'openstack-api-version': 'compute 2.97' }), (e: AltoError) => e.kind === 'not_acceptable' && /Minimum is 2.1 and maximum is 2.96/.test(e.message));
  assert.throws(() => negotiateMicroversion(policy, { 'openstack-api-version': 'compute two' }), (e: AltoError) => e.kind === 'bad_request');
});

test('the version used is echoed with Vary', async () => {
  const app = Fastify();
  registerMicroversions(app, policy);
  app.get('/v2.1/servers', async (req) => ({ v: formatMicroversion(req.microversion) }));
  const r = await app.inject({ url: '/v2.1/servers', headers: { 'openstack-api-version': 'compute 2.53' } });
  assert.deepEqual(r.json(), { v: '2.53' });
  assert.equal(r.headers['openstack-api-version'], 'compute 2.53');
  assert.equal(r.headers['x-openstack-nova-api-version'], '2.53');
  assert.match(String(r.headers.vary), /OpenStack-API-Version/);
});
