// Cinder's default scheduler filters (AvailabilityZone, Capacity, Capabilities) and its capacity arithmetic.
import { matchExtraSpec } from './extra-specs.ops.js';
import type { BackendState, CapabilityValue, RequestSpec } from './scheduler.models.js';

/** A filter answers null when the backend passes, else why not (Cinder's log wording). */
export interface BackendFilter {
  name: string;
  check(backend: BackendState, request: RequestSpec): string | null;
}

// Cinder rounds its derived capacities to 2 decimals before comparing (utils.calculate_capacity_factors).
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export interface CapacityFactors {
  reservedCapacity: number;
  totalReservedAvailableCapacity: number;
  totalAvailableCapacity: number;
  calculatedFreeCapacity: number;
  virtualFreeCapacity: number;
  provisionedType: 'thin' | 'thick';
}

/**
 * Capacity left for new volumes. Thin: (total - reserved) x ratio - provisioned. Thick: the
 * same without the ratio, but never more than the free space the driver reports.
 */
export function calculateCapacityFactors(args: {
  totalCapacityGb: number;
  freeCapacityGb: number;
  provisionedCapacityGb: number;
  thinProvisioningSupport: boolean;
  maxOverSubscriptionRatio: number;
  reservedPercentage: number;
  thin: boolean;
}): CapacityFactors {
  const reservedCapacity = Math.floor(args.totalCapacityGb * (args.reservedPercentage / 100));
  const totalReservedAvailable = args.totalCapacityGb - reservedCapacity;
  const thin = args.thin && args.thinProvisioningSupport;
  const totalAvailable = thin ? totalReservedAvailable * args.maxOverSubscriptionRatio : totalReservedAvailable;
  const calculatedFree = totalAvailable - args.provisionedCapacityGb;
  const virtualFree = thin ? calculatedFree : Math.min(calculatedFree, args.freeCapacityGb);
  return {
    reservedCapacity,
    totalReservedAvailableCapacity: round2(totalReservedAvailable),
    totalAvailableCapacity: round2(totalAvailable),
    calculatedFreeCapacity: round2(calculatedFree),
    virtualFreeCapacity: round2(virtualFree),
    provisionedType: thin ? 'thin' : 'thick',
  };
}

/** A volume type with provisioning:type=thick is placed on real free space, ignoring over-subscription. */
export function wantsThin(request: RequestSpec): boolean {
  return request.volumeType?.extraSpecs['provisioning:type'] !== 'thick';
}

export function provisionedOf(backend: BackendState): number {
  return backend.provisionedCapacityGb ?? backend.allocatedCapacityGb;
}

export const availabilityZoneFilter: BackendFilter = {
  name: 'AvailabilityZoneFilter',
  check(backend, request) {
    const zones = request.availabilityZones;
    if (zones !== undefined && zones.length > 0) {
      return zones.includes(backend.availabilityZone)
        ? null
        : `availability zone ${backend.availabilityZone} is not one of ${zones.join(', ')}`;
    }
    const zone = request.availabilityZone;
    if (zone) {
      return zone === backend.availabilityZone ? null : `availability zone ${backend.availabilityZone} is not ${zone}`;
    }
    return null;
  },
};

function fmt2(x: number): string {
  return x.toFixed(2);
}

export const capacityFilter: BackendFilter = {
  name: 'CapacityFilter',
  check(backend, request) {
    // Retype/migrate: the volume already occupies its space here.
    if (request.volumeExistsOn !== undefined && backend.host === request.volumeExistsOn) return null;
    const requested = request.newSizeGb !== undefined && request.newSizeGb !== 0 ? request.newSizeGb - request.sizeGb : request.sizeGb;
    // Size 0 is a manage request: the volume exists already.
    if (requested === 0) return null;
    const free = backend.freeCapacityGb;
    if (free === null) return 'free capacity not set: volume node info collection broken';
    // Drivers that cannot measure are trusted; a failed create gets rescheduled.
    if (free === 'infinite' || free === 'unknown') return null;
    const total = backend.totalCapacityGb;
    if (total === 'infinite' || total === 'unknown') {
      return backend.reservedPercentage === 0
        ? null
        : `cannot calculate GB of reserved space (${backend.reservedPercentage}%) with reported total capacity '${total}'`;
    }
    if (total <= 0) return `insufficient free space for volume creation: total capacity is ${fmt2(total)}`;

    const thin = wantsThin(request);
    const thinSupport = backend.thinProvisioningSupport;
    const provisioned = provisionedOf(backend);
    const factors = calculateCapacityFactors({
      totalCapacityGb: total,
      freeCapacityGb: free,
      provisionedCapacityGb: provisioned,
      thinProvisioningSupport: thinSupport,
      maxOverSubscriptionRatio: thinSupport ? backend.maxOverSubscriptionRatio : 1,
      reservedPercentage: backend.reservedPercentage,
      thin,
    });
    const available = factors.virtualFreeCapacity;
    if (thin && thinSupport) {
      if (backend.maxOverSubscriptionRatio < 1) {
        return `invalid maximum over subscription ratio of ${fmt2(backend.maxOverSubscriptionRatio)}; the ratio should be a minimum of 1.0`;
      }
      // Cinder divides by zero here when 100% is reserved; no room is the honest answer.
      if (factors.totalAvailableCapacity <= 0) return 'insufficient free space for thin provisioning: no capacity left after reserved space';
      const ratio = (provisioned + requested) / factors.totalAvailableCapacity;
      if (ratio > backend.maxOverSubscriptionRatio) {
        return (
          'insufficient free space for thin provisioning: the ratio of provisioned capacity over total capacity ' +
          `${fmt2(ratio)} has exceeded the maximum over subscription ratio ${fmt2(backend.maxOverSubscriptionRatio)}`
        );
      }
      return available >= requested
        ? null
        : `insufficient free virtual space (${available}GB) to accommodate thin provisioned ${requested}GB volume`;
    }
    return available < requested ? `insufficient free space for volume creation (requested / avail): ${requested}/${available}` : null;
  },
};

/** A volume type's requirements must be met by the reported capabilities; other scopes belong to other consumers. */
function capabilityLookup(backend: BackendState): Record<string, CapabilityValue> {
  // In Cinder the pool's capacity fields are capabilities like any other ("capabilities:thin_provisioning_support").
  return {
    ...backend.capabilities,
    total_capacity_gb: backend.totalCapacityGb,
    free_capacity_gb: backend.freeCapacityGb,
    allocated_capacity_gb: backend.allocatedCapacityGb,
    provisioned_capacity_gb: provisionedOf(backend),
    reserved_percentage: backend.reservedPercentage,
    max_over_subscription_ratio: backend.maxOverSubscriptionRatio,
    thin_provisioning_support: backend.thinProvisioningSupport,
    thick_provisioning_support: backend.thickProvisioningSupport,
  };
}

function isMap(v: CapabilityValue | undefined): v is { [key: string]: CapabilityValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const capabilitiesFilter: BackendFilter = {
  name: 'CapabilitiesFilter',
  check(backend, request) {
    const caps = capabilityLookup(backend);
    // Backends extend attached volumes unless they say they cannot.
    if (request.operation === 'extend_volume' && caps['online_extend_support'] === false && request.attachStatus !== 'detached') {
      return "backend doesn't support attached volume extend";
    }
    const specs = request.volumeType?.extraSpecs ?? {};
    for (const [key, req] of Object.entries(specs)) {
      const scope = key.split(':');
      // Vendor and consumer scopes (RESKEY:, provisioning:, QoS ...) are not capabilities; unscoped keys are.
      if (scope.length > 1 && scope[0] !== 'capabilities') continue;
      if (scope[0] === 'capabilities') scope.shift();
      let cap: CapabilityValue | undefined = caps;
      for (const part of scope) {
        cap = isMap(cap) && Object.hasOwn(cap, part) ? cap[part] : undefined;
        if (cap === undefined) return `backend doesn't provide capability '${part}'`;
      }
      const values = Array.isArray(cap) ? cap : [cap];
      if (!values.some((v) => matchExtraSpec(v, req))) {
        return `volume type extra spec requirement "${key}=${req}" does not match reported capability "${JSON.stringify(cap)}"`;
      }
    }
    return null;
  },
};

/** Cinder's scheduler_default_filters, in its order. */
export const defaultFilters: readonly BackendFilter[] = [availabilityZoneFilter, capacityFilter, capabilitiesFilter];
