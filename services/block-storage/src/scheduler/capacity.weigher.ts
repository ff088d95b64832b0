// Cinder's CapacityWeigher: rank backends by (virtual) free capacity, normalised to 0..1, times capacity_weight_multiplier.
import { calculateCapacityFactors, provisionedOf, wantsThin } from './backend.filters.js';
import type { BackendState, RequestSpec, WeighedBackend } from './scheduler.models.js';

// When unmeasured backends are favoured (stacking), they get a weight past the largest measured one.
const OFFSET_MIN = 10000;
const OFFSET_MULT = 100;

/** The raw weight: virtual free capacity, or a sentinel for backends that cannot measure it. */
export function rawCapacityWeight(backend: BackendState, request: RequestSpec, multiplier: number): number {
  const free = backend.freeCapacityGb;
  const total = backend.totalCapacityGb;
  if (typeof free !== 'number' || typeof total !== 'number') {
    // Unmeasured capacity gets the worst place either way, to discourage drivers from reporting it.
    return multiplier > 0 ? -1 : Infinity;
  }
  return calculateCapacityFactors({
    totalCapacityGb: total,
    freeCapacityGb: free,
    provisionedCapacityGb: provisionedOf(backend),
    thinProvisioningSupport: backend.thinProvisioningSupport,
    maxOverSubscriptionRatio: backend.maxOverSubscriptionRatio,
    reservedPercentage: backend.reservedPercentage,
    thin: wantsThin(request),
  }).virtualFreeCapacity;
}

/** Min-max normalisation; all-equal weights become 0. */
export function normalize(weights: number[], minval: number, maxval: number): number[] {
  if (minval === maxval) return weights.map(() => 0);
  return weights.map((w) => (w - minval) / (maxval - minval));
}

/**
 * Weighs backends and sorts them best first. Ties keep the input order (a stable sort),
 * so callers that sort their input by host get a deterministic winner.
 */
export function weighByCapacity(backends: readonly BackendState[], request: RequestSpec, multiplier: number): WeighedBackend[] {
  if (backends.length === 0) return [];
  let weights = backends.map((b) => rawCapacityWeight(b, request, multiplier));
  let minval = Math.min(...weights);
  let maxval = Math.max(...weights);
  if (maxval === Infinity) {
    const finite = weights.filter((w) => w !== Infinity);
    if (finite.length === 0) {
      // Cinder raises here (max of nothing); all equal is what the numbers say.
      minval = maxval = 0;
      weights = weights.map(() => 0);
    } else {
      maxval = Math.max(...finite);
      minval = Math.min(...finite);
      const offset = (maxval - minval) * OFFSET_MULT;
      maxval += offset === 0 ? OFFSET_MIN : offset;
      const top = maxval;
      weights = weights.map((w) => (w === Infinity ? top : w));
    }
  }
  const normalized = normalize(weights, minval, maxval);
  const weighed = backends.map((backend, i) => ({ backend, weight: 0 + multiplier * (normalized[i] ?? 0) }));
  return weighed.map((w, i) => ({ w, i })).sort((a, b) => b.w.weight - a.w.weight || a.i - b.i).map(({ w }) => w);
}
