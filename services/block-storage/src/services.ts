// The block storage domain services, as the routes see them.
import type { VolumesService } from './domain/volumes.service.js';
import type { AttachmentsService } from './domain/attachments.service.js';
import type { VolumeActionsService } from './domain/volume-actions.service.js';
import type { SnapshotsService } from './domain/snapshots.service.js';
import type { BackupsService } from './domain/backups.service.js';
import type { QuotaEngine } from './domain/quotas.js';
import type { Authorizer } from './domain/deps.js';
import type { TypesService } from './domain/types.service.js';
import type { QosService } from './domain/qos.service.js';
import type { MessagesService } from './domain/messages.service.js';
import type { OsServicesService } from './domain/os-services.service.js';
import type { TransfersService } from './domain/transfers.service.js';

export interface BlockStorageServices {
  volumes: VolumesService;
  attachments: AttachmentsService;
  volumeActions: VolumeActionsService;
  snapshots: SnapshotsService;
  backups: BackupsService;
  quotas: QuotaEngine;
  authz: Authorizer;
  types: TypesService;
  qos: QosService;
  messages: MessagesService;
  osServices: OsServicesService;
  transfers: TransfersService;
}
