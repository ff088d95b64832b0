// CapacityWeigher on Cinder's five fake hosts (cinder/tests/unit/scheduler/fakes.py, test_capacity_weigher.py).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalize, weighByCapacity } from './capacity.weigher.js';
import type { BackendState, RequestSpec } from './scheduler.models.js';

function host(name: string, s: Omit<BackendState, 'host' | 'availabilityZone' | 'capabilities' | 'updatedAt'>): BackendState {
  return { host: `${name}#pool`, availabilityZone: 'nova', capabilities: {}, updatedAt: new Date(0), ...s };
}

const host1 = host('host1', {
  totalCapacityGb: 1024, freeCapacityGb: 1024, allocatedCapacityGb: 0, provisionedCapacityGb: 0,
  maxOverSubscriptionRatio: 1.0, thinProvisioningSupport: false, thickProvisioningSupport: true, reservedPercentage: 10,
});
const host2 = host('host2', {
  totalCapacityGb: 2048, freeCapacityGb: 300, allocatedCapacityGb: 1748, provisionedCapacityGb: 1748,
  maxOverSubscriptionRatio: 1.5, thinProvisioningSupport: true, thickProvisioningSupport: false, reservedPercentage: 10,
});
const host3 = host('host3', {
  totalCapacityGb: 512, freeCapacityGb: 256, allocatedCapacityGb: 256, provisionedCapacityGb: 256,
  maxOverSubscriptionRatio: 2.0, thinProvisioningSupport: false, thickProvisioningSupport: true, reservedPercentage: 0,
});
const host4 = host('host4', {
  totalCapacityGb: 2048, freeCapacityGb: 200, allocatedCapacityGb: 1848, provisionedCapacityGb: 2047,
  maxOverSubscriptionRatio: 1.0, thinProvisioningSupport: true, thickProvisioningSupport: false, reservedPercentage: 5,
});
const host5 = host('host5', {
  totalCapacityGb: 'infinite', freeCapacityGb: 'unknown', allocatedCapacityGb: 1548, provisionedCapacityGb: 1548,
  maxOverSubscriptionRatio: 1.0, thinProvisioningSupport: true, thickProvisioningSupport: false, reservedPercentage: 5,
});
const all = [host1, host2, host3, host4, host5];

const types: [string, RequestSpec['volumeType']][] = [
  ['thin', { name: 't', extraSpecs: { 'provisioning:type': 'thin' } }],
  ['thick', { name: 't', extraSpecs: { 'provisioning:type': 'thick' } }],
  ['no extra specs', { name: 't', extraSpecs: {} }],
  ['no type', null],
];

describe('CapacityWeigher', () => {
  for (const [label, volumeType] of types) {
    const thick = label === 'thick';
    it(`spreads by default (${label}): the most virtual free space wins with weight 1`, () => {
      const [top] = weighByCapacity(all, { sizeGb: 1, volumeType }, 1.0);
      assert.equal(top?.weight, 1.0);
      // thin: host2 has 1844 x 1.5 - 1748 = 1018 virtual; thick: host1 has 1024 - 102 = 922 real.
      assert.equal(top?.backend, thick ? host1 : host2);
    });

    it(`stacks with a negative multiplier (${label}): the least free space wins with weight 0`, () => {
      const [top] = weighByCapacity(all, { sizeGb: 1, volumeType }, -1.0);
      assert.equal(top?.weight, 0.0);
      assert.equal(top?.backend, host4);
    });

    it(`scales by the multiplier (${label})`, () => {
      const [top] = weighByCapacity(all, { sizeGb: 1, volumeType }, 2.0);
      assert.equal(top?.weight, 2.0);
      assert.equal(top?.backend, thick ? host1 : host2);
    });
  }

  it('without unmeasured hosts, stacking puts host4 first (0) and host2 last (-1)', () => {
    const weighed = weighByCapacity([host1, host2, host3, host4], { sizeGb: 1 }, -1.0);
    assert.equal(weighed[0]?.backend, host4);
    assert.equal(weighed[0]?.weight, 0.0);
    assert.equal(weighed.at(-1)?.backend, host2);
    assert.equal(weighed.at(-1)?.weight, -1.0);
  });

  const unmeasured: [string, Partial<BackendState>][] = [
    ['free unknown', { totalCapacityGb: 3000, freeCapacityGb: 'unknown' }],
    ['total unknown', { totalCapacityGb: 'unknown', freeCapacityGb: 3000 }],
    ['free infinite', { totalCapacityGb: 3000, freeCapacityGb: 'infinite' }],
    ['total infinite', { totalCapacityGb: 'infinite', freeCapacityGb: 3000 }],
  ];
  for (const [label, over] of unmeasured) {
    it(`an unmeasured backend (${label}) comes last even when stacking`, () => {
      const weighed = weighByCapacity([host1, host2, host3, host4, { ...host5, ...over }], { sizeGb: 1 }, -1.0);
      assert.equal(weighed[0]?.backend, host4);
      assert.equal(weighed[0]?.weight, 0.0);
      assert.equal(weighed.at(-1)?.backend.host, 'host5#pool');
      assert.equal(weighed.at(-1)?.weight, -1.0);
    });
  }

  it('an unmeasured backend weighs as -1 GB when spreading: below real space, above over-subscribed host4', () => {
    const order = weighByCapacity(all, { sizeGb: 1 }, 1.0).map((w) => w.backend.host);
    assert.deepEqual(order, ['host2#pool', 'host1#pool', 'host3#pool', 'host5#pool', 'host4#pool']);
  });

  it('equal weights keep the input order and weigh 0', () => {
    const a = { ...host1, host: 'a' };
    const b = { ...host1, host: 'b' };
    assert.deepEqual(weighByCapacity([a, b], { sizeGb: 1 }, 1.0).map((w) => [w.backend.host, w.weight]), [['a', 0], ['b', 0]]);
    assert.deepEqual(weighByCapacity([b, a], { sizeGb: 1 }, 1.0).map((w) => w.backend.host), ['b', 'a']);
  });

  it('only unmeasured backends all weigh 0 when stacking', () => {
    const weighed = weighByCapacity([host5, { ...host5, host: 'host6' }], { sizeGb: 1 }, -1.0);
    assert.deepEqual(weighed.map((w) => w.weight), [0, 0]);
  });

  it('normalises between min and max', () => {
    assert.deepEqual(normalize([1, 2, 3], 1, 3), [0, 0.5, 1]);
    assert.deepEqual(normalize([5, 5], 5, 5), [0, 0]);
  });
});
