// Types the volume scheduler decides on: a backend's reported state, the request, and the decision.

/** A capability value as a driver reports it (JSON): scalars, lists (any element may match) and nested maps. */
export type CapabilityValue = string | number | boolean | null | CapabilityValue[] | { [key: string]: CapabilityValue };

/** Drivers that cannot measure capacity report these words instead of a number (Cinder keeps them). */
export type UnmeasuredCapacity = 'infinite' | 'unknown';

/** One pool as the scheduler sees it; `host` is Cinder's "host@backend#pool". */
export interface BackendState {
  host: string;
  availabilityZone: string;
  totalCapacityGb: number | UnmeasuredCapacity;
  /** null when the driver reported nothing: Cinder then fails the backend rather than guess. */
  freeCapacityGb: number | UnmeasuredCapacity | null;
  /** Defaults to allocatedCapacityGb, as Cinder's host manager does when a driver omits it. */
  provisionedCapacityGb?: number;
  allocatedCapacityGb: number;
  reservedPercentage: number;
  maxOverSubscriptionRatio: number;
  thinProvisioningSupport: boolean;
  thickProvisioningSupport: boolean;
  /** Everything else the driver reports (volume_backend_name, vendor_name, online_extend_support, ...). */
  capabilities: Record<string, CapabilityValue>;
  /** Last report from the backend's volume service; older than serviceDownTime means down. */
  updatedAt: Date;
}

export interface VolumeTypeSpec {
  name: string;
  extraSpecs: Record<string, string>;
}

export interface RequestSpec {
  /** Current size of the volume (the size to create, or the size before an extend). */
  sizeGb: number;
  /** Set for an extend: only the growth (newSizeGb - sizeGb) must fit. */
  newSizeGb?: number;
  /** Operation name as Cinder's request spec carries it; 'extend_volume' triggers the online-extend check. */
  operation?: 'create_volume' | 'extend_volume' | 'retype' | 'migrate_volume' | 'manage_existing';
  /** Attach status of the existing volume (extend of an attached volume needs online_extend_support). */
  attachStatus?: 'attached' | 'detached' | 'attaching' | 'detaching' | 'reserved';
  availabilityZone?: string | null;
  /** A list of acceptable zones (Cinder: the volume type's RESKEY:availability_zones); wins over availabilityZone. */
  availabilityZones?: string[];
  volumeType?: VolumeTypeSpec | null;
  /** The backend the volume already sits on (retype, migrate): capacity is not checked there again. */
  volumeExistsOn?: string;
  /** For the reason message only. */
  volumeId?: string;
}

export interface SchedulerOptions {
  /** Seconds without a report after which a backend is down (Cinder [DEFAULT] service_down_time). */
  serviceDownTime: number;
  /** Cinder [DEFAULT] capacity_weight_multiplier: positive spreads, negative stacks. */
  capacityWeightMultiplier: number;
}

export const defaultSchedulerOptions: SchedulerOptions = { serviceDownTime: 60, capacityWeightMultiplier: 1.0 };

export interface FilterRejection {
  filter: string;
  host: string;
  reason: string;
}

export interface FilterResult {
  filter: string;
  start: number;
  end: number;
}

export interface WeighedBackend {
  backend: BackendState;
  weight: number;
}

export type ScheduleResult =
  | { backend: BackendState; weighed: WeighedBackend[] }
  | { noValidHost: NoValidHostDetails };

export interface NoValidHostDetails {
  /** Cinder's NoValidBackend text for a create: "No valid backend was found. No weighed backends available". */
  message: string;
  /** Cinder's log line: which filter removed how many backends. */
  summary: string;
  filterResults: FilterResult[];
  /** Backends left out before filtering because they have not reported within serviceDownTime. */
  down: string[];
  rejections: FilterRejection[];
}
