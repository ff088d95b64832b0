// The block storage service's named errors, worded as Cinder words them (cinder/exception.py).
import { ConflictError, ForbiddenError, NotFoundError, QuotaExceededError, ValidationError } from '@alto/kernel';

export const VolumeNotFound = (id: string) => new NotFoundError(`Volume ${id} could not be found.`, 'volume.not_found');
export const SnapshotNotFound = (id: string) => new NotFoundError(`Snapshot ${id} could not be found.`, 'volume.snapshot_not_found');
export const BackupNotFound = (id: string) => new NotFoundError(`Backup ${id} could not be found.`, 'volume.backup_not_found');
export const TransferNotFound = (id: string) => new NotFoundError(`Transfer ${id} could not be found.`, 'volume.transfer_not_found');
export const AttachmentNotFound = (id: string) => new NotFoundError(`Volume attachment could not be found with filter: attachment_id = ${id}.`, 'volume.attachment_not_found');
export const MessageNotFound = (id: string) => new NotFoundError(`Message ${id} could not be found.`, 'volume.message_not_found');
export const VolumeTypeNotFound = (id: string) => new NotFoundError(`Volume type ${id} could not be found.`, 'volume.type_not_found');
export const VolumeTypeNotFoundByName = (name: string) => new NotFoundError(`Volume type with name ${name} could not be found.`, 'volume.type_not_found');
export const QosSpecsNotFound = (id: string) => new NotFoundError(`QoS Specs ${id} could not be found.`, 'volume.qos_not_found');
export const VolumeMetadataNotFound = (id: string, key: string) =>
  new NotFoundError(`Volume ${id} has no metadata with key ${key}.`, 'volume.metadata_not_found');
export const SnapshotMetadataNotFound = (id: string, key: string) =>
  new NotFoundError(`Snapshot ${id} has no metadata with key ${key}.`, 'volume.snapshot_metadata_not_found');
export const NotFound = (message = 'The resource could not be found.') => new NotFoundError(message, 'volume.not_found_generic');

/** InvalidInput: "Invalid input received: <reason>". */
export const InvalidInput = (reason: string) => new ValidationError(`Invalid input received: ${reason}`, 'volume.invalid_input');
export const InvalidVolume = (reason: string) => new ValidationError(`Invalid volume: ${reason}`, 'volume.invalid_volume');
export const InvalidSnapshot = (reason: string) => new ValidationError(`Invalid snapshot: ${reason}`, 'volume.invalid_snapshot');
export const InvalidBackup = (reason: string) => new ValidationError(`Invalid backup: ${reason}`, 'volume.invalid_backup');
export const InvalidVolumeType = (reason: string) => new ValidationError(`Invalid volume type: ${reason}`, 'volume.invalid_type');
export const BadRequest = (message: string, code = 'volume.bad_request') => new ValidationError(message, code);
/** The project in the URL is not the token's (cinder's ProjectMappingMiddleware... answers 400). */
export const MalformedRequestUrl = () => new ValidationError('Malformed request url', 'volume.malformed_url');
export const Conflict = (message: string, code = 'volume.conflict') => new ConflictError(message, code);
export const Forbidden = (message: string, code = 'volume.forbidden') => new ForbiddenError(message, code);
export const PolicyNotAuthorized = (action: string) => new ForbiddenError(`Policy doesn't allow ${action} to be performed.`, 'volume.policy');

/** Cinder's quota errors: 413 overLimit, message prefixed with the exception's class name. */
export const OverQuota = (exceptionName: string, message: string) => new QuotaExceededError(`${exceptionName}: ${message}`, 'volume.over_quota');
