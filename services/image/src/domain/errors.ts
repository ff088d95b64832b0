// The image service's named errors, worded as Glance words them (glance/api/v2/*.py, glance/domain).
import { AltoError, ConflictError, ForbiddenError, NotFoundError, PayloadTooLargeError, QuotaExceededError, ValidationError } from '@alto/kernel';

export const ImageNotFound = (id: string) => new NotFoundError(`No image found with ID ${id}`, 'image.not_found');
export const MemberNotFound = (imageId: string, memberId: string) =>
  new NotFoundError(`${memberId} not found in the member list of the image ${imageId}.`, 'image.member_not_found');
export const TaskNotFound = (id: string) => new NotFoundError(`Task with the given ID ${id} could not be found`, 'image.task_not_found');
export const ImageDataNotFound = (id: string) => new NotFoundError(`Image ${id} has no data.`, 'image.data_not_found');

export const BadRequest = (message: string, code = 'image.bad_request') => new ValidationError(message, code);
export const Forbidden = (message: string, code = 'image.forbidden') => new ForbiddenError(message, code);
export const Conflict = (message: string, code = 'image.conflict') => new ConflictError(message, code);

export const ReadOnly = (key: string) => Forbidden(`Attribute '${key}' is read-only.`, 'image.read_only');
export const Reserved = (key: string) => Forbidden(`Attribute '${key}' is reserved.`, 'image.reserved');
export const ImageProtected = (id: string) => Forbidden(`Image ${id} is protected and cannot be deleted.`, 'image.protected');
export const DuplicateImage = (id: string) => Conflict(`Image ID ${id} already exists!`, 'image.duplicate');
export const InvalidTransition = (from: string, to: string) => Conflict(`Image status transition from ${from} to ${to} is not allowed`, 'image.invalid_transition');
export const SchemaMismatch = (schema: string, reason: string) => BadRequest(`Provided object does not match schema '${schema}': ${reason}`, 'image.schema');

export const TooLarge = (message = 'Image exceeds the storage quota.') => new PayloadTooLargeError(message, 'image.too_large');
/** Glance: "Denying attempt to upload image because it exceeds the quota: ..." and oslo.limit's wording. */
export const OverLimit = (message: string) =>
  new QuotaExceededError(
    `The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota threshold was breached.\n\nThe response body:\n${message}`,
    'image.over_limit',
  );
/** Glance's generic 409 for a patch on a property that is not there. */
export const GenericConflict = () => Conflict('There was a conflict when trying to complete your request.', 'image.no_property');

/** The upload lost its client; nothing to answer. */
export class UploadAborted extends AltoError {
  constructor() {
    super('bad_request', 'image.upload_aborted', 'The upload was interrupted before all data arrived.');
  }
}

/** The image was deleted while its data was arriving (Glance answers 410). */
export const ImageGoneDuringUpload = (id: string) =>
  new AltoError('not_found', 'image.gone_during_upload', `Image ${id} could not be found after upload. The image may have been deleted during the upload.`, {
    details: { status: 410 },
  });

/** Current Glance: the data is not what disk_format says, or fails its safety checks (415). */
export const InvalidImageData = (reason: string) => new AltoError('unsupported_media_type', 'image.invalid_data', reason);
