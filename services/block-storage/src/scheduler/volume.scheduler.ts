// The FilterScheduler's decision: drop backends that are down, run the filters in order, weigh the rest, pick the top.
import { defaultFilters, type BackendFilter } from './backend.filters.js';
import { weighByCapacity } from './capacity.weigher.js';
import {
  defaultSchedulerOptions,
  type BackendState,
  type FilterRejection,
  type FilterResult,
  type RequestSpec,
  type ScheduleResult,
  type SchedulerOptions,
} from './scheduler.models.js';

/** Cinder's NoValidBackend message for a create that no backend can take. */
export const NO_VALID_BACKEND_MESSAGE = 'No valid backend was found. No weighed backends available';

/** A backend is up while its last report is no older than serviceDownTime seconds. */
export function isBackendUp(backend: BackendState, now: Date, serviceDownTime: number): boolean {
  return backend.updatedAt.getTime() >= now.getTime() - serviceDownTime * 1000;
}

export interface ScheduleInput {
  request: RequestSpec;
  backends: readonly BackendState[];
  now: Date;
  options?: Partial<SchedulerOptions>;
  filters?: readonly BackendFilter[];
}

/**
 * Picks the backend for a volume, or explains why none fits. Input order does not matter:
 * backends are taken in host order so equal weights always pick the same backend.
 */
export function scheduleVolume(input: ScheduleInput): ScheduleResult {
  const options = { ...defaultSchedulerOptions, ...input.options };
  const filters = input.filters ?? defaultFilters;
  const sorted = [...input.backends].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  const down: string[] = [];
  let remaining: BackendState[] = [];
  for (const b of sorted) {
    if (isBackendUp(b, input.now, options.serviceDownTime)) remaining.push(b);
    else down.push(b.host);
  }
  const filterResults: FilterResult[] = [];
  const rejections: FilterRejection[] = [];
  // As in Cinder, every filter reports even after one has emptied the list (start: 0, end: 0).
  for (const filter of filters) {
    const start = remaining.length;
    remaining = remaining.filter((backend) => {
      const reason = filter.check(backend, input.request);
      if (reason !== null) rejections.push({ filter: filter.name, host: backend.host, reason });
      return reason === null;
    });
    filterResults.push({ filter: filter.name, start, end: remaining.length });
  }
  const weighed = weighByCapacity(remaining, input.request, options.capacityWeightMultiplier);
  const top = weighed[0];
  if (top !== undefined) return { backend: top.backend, weighed };
  const results = filterResults.map((r) => `${r.filter}: (start: ${r.start}, end: ${r.end})`).join(', ');
  return {
    noValidHost: {
      message: NO_VALID_BACKEND_MESSAGE,
      summary: `Filtering removed all hosts for the request with volume ID '${input.request.volumeId ?? ''}'. Filter results: ${results}`,
      filterResults,
      down,
      rejections,
    },
  };
}

/**
 * The state after placing a volume, until the backend's next report replaces it: Cinder charges
 * the size at once so that requests scheduled in between see the space as taken.
 */
export function consumeFromVolume(backend: BackendState, sizeGb: number, now: Date): BackendState {
  const free = backend.freeCapacityGb;
  return {
    ...backend,
    allocatedCapacityGb: backend.allocatedCapacityGb + sizeGb,
    provisionedCapacityGb: (backend.provisionedCapacityGb ?? backend.allocatedCapacityGb) + sizeGb,
    freeCapacityGb: typeof free === 'number' ? free - sizeGb : free,
    updatedAt: now,
  };
}
