// The block storage domain services, as the routes see them.
import type { VolumesService } from './domain/volumes.service.js';
import type { QuotaEngine } from './domain/quotas.js';
import type { Authorizer } from './domain/deps.js';

export interface BlockStorageServices {
  volumes: VolumesService;
  quotas: QuotaEngine;
  authz: Authorizer;
}
