// Catalog-side extension entities: unified limits, policy blobs and their endpoint associations,
// endpoint groups (OS-EP-FILTER).
import type { Extra } from './models.js';

/** A service's default for a resource, optionally per region. */
export interface RegisteredLimit {
  id: string;
  serviceId: string;
  regionId: string | null;
  resourceName: string;
  defaultLimit: number;
  description: string | null;
}

/** A project's or a domain's own limit for a registered resource (exactly one of projectId, domainId). */
export interface Limit {
  id: string;
  projectId: string | null;
  domainId: string | null;
  registeredLimitId: string;
  /** Copied from the registered limit it refers to. */
  serviceId: string;
  regionId: string | null;
  resourceName: string;
  resourceLimit: number;
  description: string | null;
}

/** `[unified_limit] enforcement_model`. */
export type EnforcementModel = 'flat' | 'strict_two_level';

/** A policy blob (the deprecated /v3/policies API). */
export interface Policy {
  id: string;
  type: string;
  blob: string;
  extra: Extra;
}

/** OS-ENDPOINT-POLICY: an endpoint, a service, or a service in a region. */
export type PolicyTarget = { endpointId: string } | { serviceId: string; regionId?: string };

/** Endpoint attributes an endpoint group matches on. */
export type EndpointGroupFilters = Partial<Record<'service_id' | 'region_id' | 'interface', unknown>>;

export interface EndpointGroup {
  id: string;
  name: string;
  description: string | null;
  filters: EndpointGroupFilters;
}
