// The whole decision: down backends left out, filters in Cinder's order, the heaviest backend picked, or why none fits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackendState } from './scheduler.models.js';
import { NO_VALID_BACKEND_MESSAGE, consumeFromVolume, isBackendUp, scheduleVolume } from './volume.scheduler.js';

const now = new Date('2026-01-01T12:00:00Z');
const secondsAgo = (s: number) => new Date(now.getTime() - s * 1000);

function pool(host: string, over: Partial<BackendState> = {}): BackendState {
  return {
    host,
    availabilityZone: 'nova',
    totalCapacityGb: 1000,
    freeCapacityGb: 1000,
    allocatedCapacityGb: 0,
    reservedPercentage: 0,
    maxOverSubscriptionRatio: 1,
    thinProvisioningSupport: false,
    thickProvisioningSupport: true,
    capabilities: { volume_backend_name: 'lvm' },
    updatedAt: secondsAgo(5),
    ...over,
  };
}

describe('scheduleVolume', () => {
  it('picks the backend with the most free space', () => {
    const result = scheduleVolume({
      request: { sizeGb: 10 },
      backends: [pool('a@lvm#p', { freeCapacityGb: 100 }), pool('b@lvm#p', { freeCapacityGb: 900 }), pool('c@lvm#p', { freeCapacityGb: 500 })],
      now,
    });
    assert.ok('backend' in result);
    assert.equal(result.backend.host, 'b@lvm#p');
    assert.deepEqual(result.weighed.map((w) => w.backend.host), ['b@lvm#p', 'c@lvm#p', 'a@lvm#p']);
  });

  it('breaks ties by host name whatever the input order', () => {
    for (const order of [['y@x#p', 'x@x#p', 'z@x#p'], ['z@x#p', 'y@x#p', 'x@x#p']]) {
      const result = scheduleVolume({ request: { sizeGb: 1 }, backends: order.map((h) => pool(h)), now });
      assert.ok('backend' in result);
      assert.equal(result.backend.host, 'x@x#p');
    }
  });

  it('leaves out backends silent for longer than service_down_time', () => {
    const backends = [pool('old@lvm#p', { updatedAt: secondsAgo(61), freeCapacityGb: 1000 }), pool('new@lvm#p', { freeCapacityGb: 10 })];
    const result = scheduleVolume({ request: { sizeGb: 1 }, backends, now });
    assert.ok('backend' in result);
    assert.equal(result.backend.host, 'new@lvm#p');
    const lenient = scheduleVolume({ request: { sizeGb: 1 }, backends, now, options: { serviceDownTime: 120 } });
    assert.ok('backend' in lenient);
    assert.equal(lenient.backend.host, 'old@lvm#p');
  });

  it('counts a report exactly service_down_time old as up', () => {
    assert.ok(isBackendUp(pool('a', { updatedAt: secondsAgo(60) }), now, 60));
    assert.ok(!isBackendUp(pool('a', { updatedAt: secondsAgo(60.001) }), now, 60));
  });

  it('stacks with a negative capacity_weight_multiplier', () => {
    const result = scheduleVolume({
      request: { sizeGb: 10 },
      backends: [pool('a@lvm#p', { freeCapacityGb: 100 }), pool('b@lvm#p', { freeCapacityGb: 900 })],
      now,
      options: { capacityWeightMultiplier: -1 },
    });
    assert.ok('backend' in result);
    assert.equal(result.backend.host, 'a@lvm#p');
  });

  it('honours the volume type and the zone together', () => {
    const result = scheduleVolume({
      request: { sizeGb: 10, availabilityZone: 'az1', volumeType: { name: 'fast', extraSpecs: { volume_backend_name: 'ceph' } } },
      backends: [
        pool('a@lvm#p', { availabilityZone: 'az1' }),
        pool('b@ceph#p', { availabilityZone: 'az2', capabilities: { volume_backend_name: 'ceph' } }),
        pool('c@ceph#p', { availabilityZone: 'az1', freeCapacityGb: 50, capabilities: { volume_backend_name: 'ceph' } }),
      ],
      now,
    });
    assert.ok('backend' in result);
    assert.equal(result.backend.host, 'c@ceph#p');
  });

  it('explains NoValidHost per filter, as Cinder logs it', () => {
    const result = scheduleVolume({
      request: { sizeGb: 500, volumeId: 'vol-1', availabilityZone: 'nova' },
      backends: [
        pool('down@lvm#p', { updatedAt: secondsAgo(600) }),
        pool('other@lvm#p', { availabilityZone: 'az2' }),
        pool('small@lvm#p', { freeCapacityGb: 100 }),
        pool('tiny@lvm#p', { freeCapacityGb: 10 }),
      ],
      now,
    });
    assert.ok('noValidHost' in result);
    const d = result.noValidHost;
    assert.equal(d.message, NO_VALID_BACKEND_MESSAGE);
    assert.equal(d.message, 'No valid backend was found. No weighed backends available');
    assert.equal(
      d.summary,
      "Filtering removed all hosts for the request with volume ID 'vol-1'. Filter results: " +
        'AvailabilityZoneFilter: (start: 3, end: 2), CapacityFilter: (start: 2, end: 0), CapabilitiesFilter: (start: 0, end: 0)',
    );
    assert.deepEqual(d.down, ['down@lvm#p']);
    assert.deepEqual(
      d.rejections.map((r) => [r.filter, r.host]),
      [
        ['AvailabilityZoneFilter', 'other@lvm#p'],
        ['CapacityFilter', 'small@lvm#p'],
        ['CapacityFilter', 'tiny@lvm#p'],
      ],
    );
    assert.match(d.rejections[1]?.reason ?? '', /500\/100/);
  });

  it('says NoValidHost when there are no backends at all', () => {
    const result = scheduleVolume({ request: { sizeGb: 1 }, backends: [], now });
    assert.ok('noValidHost' in result);
    assert.equal(result.noValidHost.filterResults.length, 3);
  });

  it('lets a retype stay on a full backend it already occupies', () => {
    const result = scheduleVolume({
      request: { sizeGb: 100, volumeExistsOn: 'full@lvm#p', operation: 'retype' },
      backends: [pool('full@lvm#p', { freeCapacityGb: 0 })],
      now,
    });
    assert.ok('backend' in result);
    assert.equal(result.backend.host, 'full@lvm#p');
  });

  it('charges a placed volume so the next request sees the space taken', () => {
    let backends = [pool('a@lvm#p', { freeCapacityGb: 100 }), pool('b@lvm#p', { freeCapacityGb: 90 })];
    const picked: string[] = [];
    for (let i = 0; i < 3; i++) {
      const result = scheduleVolume({ request: { sizeGb: 20 }, backends, now });
      assert.ok('backend' in result);
      picked.push(result.backend.host);
      const chosen = result.backend;
      backends = backends.map((b) => (b === chosen ? consumeFromVolume(b, 20, now) : b));
    }
    assert.deepEqual(picked, ['a@lvm#p', 'b@lvm#p', 'a@lvm#p']);
    const a = backends[0];
    assert.equal(a?.freeCapacityGb, 60);
    assert.equal(a?.allocatedCapacityGb, 40);
    assert.equal(a?.provisionedCapacityGb, 40);
    assert.equal(consumeFromVolume(pool('i', { freeCapacityGb: 'infinite' }), 5, now).freeCapacityGb, 'infinite');
  });
});
