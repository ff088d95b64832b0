// The three default filters on Cinder's own test numbers (cinder/tests/unit/scheduler/test_host_filters.py).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availabilityZoneFilter, calculateCapacityFactors, capabilitiesFilter, capacityFilter } from './backend.filters.js';
import type { BackendState, CapabilityValue, RequestSpec } from './scheduler.models.js';

function backend(over: Partial<BackendState> = {}): BackendState {
  return {
    host: 'host1@lvm#pool',
    availabilityZone: 'nova',
    totalCapacityGb: 500,
    freeCapacityGb: 200,
    allocatedCapacityGb: 0,
    reservedPercentage: 0,
    maxOverSubscriptionRatio: 1,
    thinProvisioningSupport: false,
    thickProvisioningSupport: true,
    capabilities: {},
    updatedAt: new Date(0),
    ...over,
  };
}

function thin(over: Partial<BackendState>): BackendState {
  return backend({ thinProvisioningSupport: true, thickProvisioningSupport: false, ...over });
}

const passes = (b: BackendState, r: RequestSpec) => capacityFilter.check(b, r) === null;

describe('CapacityFilter', () => {
  it('passes when free space covers the size', () => {
    assert.ok(passes(backend({ totalCapacityGb: 500, freeCapacityGb: 200 }), { sizeGb: 100 }));
  });

  it('passes the backend the volume already sits on, whatever its space', () => {
    const b = backend({ host: 'host1', totalCapacityGb: 100, freeCapacityGb: 10 });
    assert.ok(passes(b, { sizeGb: 100, volumeExistsOn: 'host1' }));
    assert.ok(!passes(b, { sizeGb: 100, volumeExistsOn: 'host2' }));
  });

  it('fails when reserved space leaves too little', () => {
    const b = backend({ totalCapacityGb: 200, freeCapacityGb: 120, reservedPercentage: 20 });
    assert.ok(!passes(b, { sizeGb: 121 }));
    assert.match(capacityFilter.check(b, { sizeGb: 121 }) ?? '', /requested \/ avail\): 121\/120/);
  });

  it('fails when free capacity was never reported', () => {
    assert.ok(!passes(backend({ freeCapacityGb: null }), { sizeGb: 100 }));
  });

  it('passes a manage request (size 0) even on an over-subscribed backend', () => {
    const b = thin({ totalCapacityGb: 500, freeCapacityGb: 200, provisionedCapacityGb: 1500, maxOverSubscriptionRatio: 2, reservedPercentage: 5 });
    assert.ok(passes(b, { sizeGb: 0 }));
  });

  it('trusts unmeasured free capacity', () => {
    assert.ok(passes(backend({ freeCapacityGb: 'infinite' }), { sizeGb: 100 }));
    assert.ok(passes(backend({ freeCapacityGb: 'unknown' }), { sizeGb: 100 }));
  });

  it('trusts unmeasured total capacity only without reserved space', () => {
    for (const word of ['infinite', 'unknown'] as const) {
      assert.ok(passes(backend({ freeCapacityGb: word, totalCapacityGb: word }), { sizeGb: 100 }));
      assert.ok(!passes(backend({ totalCapacityGb: word, reservedPercentage: 5 }), { sizeGb: 100 }));
      assert.ok(passes(backend({ totalCapacityGb: word, reservedPercentage: 0 }), { sizeGb: 100 }));
    }
  });

  it('fails a backend with no total capacity', () => {
    assert.ok(!passes(backend({ totalCapacityGb: 0, reservedPercentage: 5 }), { sizeGb: 100 }));
  });

  it('checks only the growth of an extend', () => {
    assert.ok(passes(backend({ freeCapacityGb: 200, totalCapacityGb: 500 }), { sizeGb: 50, newSizeGb: 100 }));
    assert.ok(!passes(backend({ freeCapacityGb: 49, totalCapacityGb: 500 }), { sizeGb: 50, newSizeGb: 100 }));
  });

  // [size, total, free, provisioned, ratio, reserved %, thin support, expected]
  const table: [number, number, number, number, number, number, boolean, boolean, string][] = [
    [100, 500, 200, 500, 2.0, 5, true, true, 'thin_true_passes'],
    [2400, 500, 200, 7000, 20, 5, true, true, 'thin_true_passes2'],
    [100, 500, 200, 300, 1.0, 5, false, true, 'thin_false_passes (ratio ignored)'],
    [200, 500, 100, 400, 0.8, 0, true, false, 'over_subscription_less_than_1'],
    [150, 500, 200, 400, 1.0, 0, true, false, 'over_subscription_equal_to_1'],
    [100, 500, 200, 700, 1.5, 5, true, false, 'over_subscription_fails'],
    [2000, 500, 30, 9000, 20, 0, true, false, 'over_subscription_fails2'],
    [100, 500, 100, 1000, 2.0, 5, true, false, 'reserved_thin_true_fails'],
    [100, 500, 100, 400, 1.0, 5, false, false, 'reserved_thin_false_fails'],
    [151, 500, 0, 800, 2.0, 5, true, false, 'reserved_thin_thick_true_fails'],
    [100, 500, 125, 400, 2.0, 5, true, true, 'reserved_thin_thick_true_passes'],
    [100, 500, 80, 600, 2.0, 5, true, true, 'reserved_thin_true_passes'],
  ];
  for (const [size, total, free, provisioned, ratio, reserved, thinSupport, expected, name] of table) {
    it(`${name}: ${expected ? 'passes' : 'fails'}`, () => {
      const b = backend({
        totalCapacityGb: total,
        freeCapacityGb: free,
        provisionedCapacityGb: provisioned,
        maxOverSubscriptionRatio: ratio,
        reservedPercentage: reserved,
        thinProvisioningSupport: thinSupport,
        thickProvisioningSupport: !thinSupport,
      });
      assert.equal(passes(b, { sizeGb: size }), expected);
    });
  }

  it('a thick volume type ignores over-subscription and uses real free space', () => {
    const b = thin({ totalCapacityGb: 500, freeCapacityGb: 100, provisionedCapacityGb: 400, maxOverSubscriptionRatio: 2.0, reservedPercentage: 5 });
    assert.ok(passes(b, { sizeGb: 100 }));
    const thick: RequestSpec = { sizeGb: 100, volumeType: { name: 'thick', extraSpecs: { 'provisioning:type': 'thick' } } };
    // thick: 500 - 25 reserved - 400 provisioned = 75 < 100
    assert.ok(!passes(b, thick));
  });

  it('provisioned capacity defaults to allocated capacity', () => {
    const b = thin({ totalCapacityGb: 100, freeCapacityGb: 100, allocatedCapacityGb: 95, maxOverSubscriptionRatio: 1 });
    assert.ok(!passes(b, { sizeGb: 10 }));
    assert.ok(passes({ ...b, provisionedCapacityGb: 0 }, { sizeGb: 10 }));
  });

  it('fails instead of dividing by zero when everything is reserved', () => {
    assert.ok(!passes(thin({ totalCapacityGb: 100, freeCapacityGb: 100, reservedPercentage: 100, maxOverSubscriptionRatio: 2 }), { sizeGb: 1 }));
  });

  it('computes the factors Cinder logs', () => {
    const f = calculateCapacityFactors({
      totalCapacityGb: 2048,
      freeCapacityGb: 300,
      provisionedCapacityGb: 1748,
      thinProvisioningSupport: true,
      maxOverSubscriptionRatio: 1.5,
      reservedPercentage: 10,
      thin: true,
    });
    assert.deepEqual(f, {
      reservedCapacity: 204,
      totalReservedAvailableCapacity: 1844,
      totalAvailableCapacity: 2766,
      calculatedFreeCapacity: 1018,
      virtualFreeCapacity: 1018,
      provisionedType: 'thin',
    });
  });
});

describe('AvailabilityZoneFilter', () => {
  const b = backend({ availabilityZone: 'nova' });
  it('passes when no zone is asked', () => assert.equal(availabilityZoneFilter.check(b, { sizeGb: 1 }), null));
  it('passes the same zone', () => assert.equal(availabilityZoneFilter.check(b, { sizeGb: 1, availabilityZone: 'nova' }), null));
  it('fails another zone', () => assert.notEqual(availabilityZoneFilter.check(b, { sizeGb: 1, availabilityZone: 'nova2' }), null));
  it('a zone list wins over the single zone', () => {
    assert.equal(availabilityZoneFilter.check(b, { sizeGb: 1, availabilityZone: 'x', availabilityZones: ['a', 'nova'] }), null);
    assert.notEqual(availabilityZoneFilter.check(b, { sizeGb: 1, availabilityZone: 'nova', availabilityZones: ['a'] }), null);
  });
});

describe('CapabilitiesFilter', () => {
  function check(caps: Record<string, CapabilityValue>, extraSpecs: Record<string, string>): boolean {
    const b = backend({ capabilities: { enabled: true, ...caps } });
    return capabilitiesFilter.check(b, { sizeGb: 1, volumeType: { name: 'fake_type', extraSpecs } }) === null;
  }
  const lv2 = (opt: Record<string, CapabilityValue>) => ({ scope_lv0: { scope_lv1: { scope_lv2: opt } } });

  it('passes without a volume type or extra specs', () => {
    assert.equal(capabilitiesFilter.check(backend(), { sizeGb: 1 }), null);
    assert.ok(check({}, {}));
  });

  const table: [Record<string, CapabilityValue>, Record<string, string>, boolean, string][] = [
    [{ opt1: '1', opt2: '2' }, { opt1: '1', opt2: '2' }, true, 'simple'],
    [{ opt1: '1', opt2: '2' }, { opt1: '1', opt2: '222' }, false, 'simple mismatch'],
    [{ opt1: 10, opt2: 5 }, { opt1: '>= 2', opt2: '<= 8' }, true, 'complex'],
    [{ opt1: 10, opt2: 5 }, { opt1: '>= 2', opt2: '>= 8' }, false, 'complex mismatch'],
    [{ opt1: ['1', '2'], opt2: '2' }, { opt1: '1', opt2: '2' }, true, 'list'],
    [{ opt1: [true, false], opt2: ['1', '2'] }, { opt1: '<is> True', opt2: '<= 8' }, true, 'list complex True'],
    [{ opt1: [true, false], opt2: ['1', '2'] }, { opt1: '<is> False', opt2: '<= 8' }, true, 'list complex False'],
    [{ opt1: ['1', '2'], opt2: ['2'] }, { opt1: '3', opt2: '2' }, false, 'list mismatch'],
    [{ opt1: [true, false], opt2: ['1', '2'] }, { opt1: 'fake', opt2: '<= 8' }, false, 'list complex mismatch'],
    [{ scope_lv1: { opt1: 10 } }, { 'capabilities:scope_lv1:opt1': '>= 2' }, true, 'capabilities scope'],
    [{ scope_lv1: { opt1: 10 }, opt2: 5 }, { 'scope_lv1:opt1': '= 2', opt2: '>= 3' }, true, 'other scope ignored'],
    [{ scope_lv1: { opt1: 10 } }, { 'capabilities:scope_lv1:opt1': '<= 2' }, false, 'scope mismatch'],
    [lv2({ opt1: 10 }), { 'capabilities:scope_lv0:scope_lv1:scope_lv2:opt1': '>= 2' }, true, 'multi-level scope'],
    [{ scope_lv0: { scope_lv1: null } }, { 'capabilities:scope_lv0:scope_lv1:scope_lv2:opt1': '>= 2' }, false, 'not enough levels'],
    [{ scope_lv0: { opt1: 10 } }, { 'capabilities:scope_lv1:opt1': '>= 2' }, false, 'wrong scope'],
    [{ scope_lv0: { opt1: null } }, { 'capabilities:scope_lv0:opt1': 'foo' }, false, 'null capability'],
    [lv2({ opt1: [true, false] }), { 'capabilities:scope_lv0:scope_lv1:scope_lv2:opt1': '<is> True' }, true, 'multi-level list'],
    [
      lv2({ opt1: [true, false], opt2: ['1', '2'] }),
      { 'capabilities:scope_lv0:scope_lv1:scope_lv2:opt1': '<is> True', 'capabilities:scope_lv0:scope_lv1:scope_lv2:opt2': '3' },
      false,
      'multi-level list mismatch',
    ],
    [{ scope_lv0: { opt1: [true, false] } }, { 'capabilities:scope_lv1:opt1': '<is> True' }, false, 'wrong scope list'],
    [{ volume_backend_name: 'lvm' }, { volume_backend_name: 'lvm' }, true, 'volume_backend_name is a capability'],
    [{ volume_backend_name: 'lvm' }, { volume_backend_name: 'ceph' }, false, 'volume_backend_name mismatch'],
    [{}, { 'RESKEY:availability_zones': 'az9', 'provisioning:type': 'thick', 'QoS:x': '1' }, true, 'RESKEY, provisioning and QoS scopes ignored'],
    [{}, { multiattach: '<is> True' }, false, 'unreported capability'],
    [{}, { 'capabilities:thin_provisioning_support': '<is> False', free_capacity_gb: '>= 100' }, true, 'capacity fields are capabilities'],
  ];
  for (const [caps, specs, expected, name] of table) {
    it(`${name}: ${expected ? 'passes' : 'fails'}`, () => assert.equal(check(caps, specs), expected));
  }

  it('refuses to extend an attached volume where online extend is unsupported', () => {
    const b = backend({ capabilities: { online_extend_support: false } });
    const extend: RequestSpec = { sizeGb: 1, newSizeGb: 2, operation: 'extend_volume', attachStatus: 'attached' };
    assert.notEqual(capabilitiesFilter.check(b, extend), null);
    assert.equal(capabilitiesFilter.check(b, { ...extend, attachStatus: 'detached' }), null);
    assert.equal(capabilitiesFilter.check(backend(), extend), null);
  });
});
