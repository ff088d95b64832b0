// Cinder's user message vocabulary (cinder/message/message_field.py, defined_messages.py): the
// resources, actions and details a message is made of, their ids and the texts users read.

/** What a message is about (the event id's second part, the view's resource_type). */
export const Resource = {
  VOLUME: 'VOLUME',
  VOLUME_SNAPSHOT: 'VOLUME_SNAPSHOT',
  VOLUME_BACKUP: 'VOLUME_BACKUP',
} as const;
export type MessageResource = (typeof Resource)[keyof typeof Resource];

/** An action or detail: Cinder's (id, text) pairs. */
export interface MessageField {
  id: string;
  text: string;
}

const field = (id: string, text: string): MessageField => ({ id, text });

/** What was being done (the event id's third part). */
export const Action = {
  SCHEDULE_ALLOCATE_VOLUME: field('001', 'schedule allocate volume'),
  ATTACH_VOLUME: field('002', 'attach volume'),
  COPY_VOLUME_TO_IMAGE: field('003', 'copy volume to image'),
  UPDATE_ATTACHMENT: field('004', 'update attachment'),
  COPY_IMAGE_TO_VOLUME: field('005', 'copy image to volume'),
  UNMANAGE_VOLUME: field('006', 'unmanage volume'),
  EXTEND_VOLUME: field('007', 'extend volume'),
  CREATE_VOLUME_FROM_BACKEND: field('008', 'create volume from backend storage'),
  SNAPSHOT_CREATE: field('009', 'create snapshot'),
  SNAPSHOT_DELETE: field('010', 'delete snapshot'),
  SNAPSHOT_UPDATE: field('011', 'update snapshot'),
  SNAPSHOT_METADATA_UPDATE: field('012', 'update snapshot metadata'),
  BACKUP_CREATE: field('013', 'create backup'),
  BACKUP_DELETE: field('014', 'delete backup'),
  BACKUP_RESTORE: field('015', 'restore backup'),
  REIMAGE_VOLUME: field('016', 'reimage volume'),
} as const;

/** Why it failed (the event id's last part). */
export const Detail = {
  UNKNOWN_ERROR: field('001', 'An unknown error occurred.'),
  DRIVER_NOT_INITIALIZED: field('002', 'Driver is not initialized at present.'),
  NO_BACKEND_AVAILABLE: field('003', 'Could not find any available weighted backend.'),
  FAILED_TO_UPLOAD_VOLUME: field('004', 'Failed to upload volume to image at backend.'),
  VOLUME_ATTACH_MODE_INVALID: field('005', "Volume's attach mode is invalid."),
  QUOTA_EXCEED: field('006', 'Not enough quota resource for operation.'),
  NOT_ENOUGH_SPACE_FOR_IMAGE: field('007', 'Image used for creating volume exceeds available space.'),
  UNMANAGE_ENC_NOT_SUPPORTED: field('008', 'Unmanaging encrypted volumes is not supported.'),
  NOTIFY_COMPUTE_SERVICE_FAILED: field('009', 'Compute service failed to extend volume.'),
  DRIVER_FAILED_EXTEND: field('010', 'Volume Driver failed to extend volume.'),
  SIGNATURE_VERIFICATION_FAILED: field('011', 'Image signature verification failed.'),
  DRIVER_FAILED_CREATE: field('012', 'Driver failed to create the volume.'),
  SNAPSHOT_CREATE_ERROR: field('013', 'Snapshot failed to create.'),
  SNAPSHOT_UPDATE_METADATA_FAILED: field('014', 'Volume snapshot update metadata failed.'),
  SNAPSHOT_IS_BUSY: field('015', 'Snapshot is busy.'),
  SNAPSHOT_DELETE_ERROR: field('016', 'Snapshot failed to delete.'),
  BACKUP_INVALID_STATE: field('017', 'Backup status is invalid.'),
  BACKUP_SERVICE_DOWN: field('018', 'Backup service is down.'),
  BACKUP_CREATE_DEVICE_ERROR: field('019', 'Failed to get backup device from the volume service.'),
  BACKUP_CREATE_DRIVER_ERROR: field('020', 'Backup driver failed to create backup.'),
  ATTACH_ERROR: field('021', 'Failed to attach volume.'),
  DETACH_ERROR: field('022', 'Failed to detach volume.'),
  BACKUP_CREATE_CLEANUP_ERROR: field('023', 'Cleanup of temporary volume/snapshot failed.'),
  BACKUP_SCHEDULE_ERROR: field('024', 'Backup failed to schedule. Service not found for creating backup.'),
  BACKUP_DELETE_DRIVER_ERROR: field('025', 'Backup driver failed to delete backup.'),
  BACKUP_RESTORE_ERROR: field('026', 'Backup driver failed to restore backup.'),
  VOLUME_INVALID_STATE: field('027', 'Volume status is invalid.'),
  REIMAGE_VOLUME_FAILED: field('028', 'Compute service failed to reimage volume.'),
  IMAGE_FORMAT_UNACCEPTABLE: field('029', 'The image disk format must be the same as the volume format for the volume type you are requesting.'),
} as const;

const ACTIONS: readonly MessageField[] = Object.values(Action);
const DETAILS: readonly MessageField[] = Object.values(Detail);

/** The details some failures always mean, by the name of the error that caused them. */
const EXCEPTION_DETAILS: ReadonlyArray<[MessageField, readonly string[]]> = [
  [Detail.DRIVER_NOT_INITIALIZED, ['DriverNotInitialized']],
  [Detail.NO_BACKEND_AVAILABLE, ['NoValidBackend']],
  [Detail.VOLUME_ATTACH_MODE_INVALID, ['InvalidVolumeAttachMode']],
  [Detail.QUOTA_EXCEED, ['ImageLimitExceeded', 'BackupLimitExceeded', 'SnapshotLimitExceeded']],
  [Detail.NOT_ENOUGH_SPACE_FOR_IMAGE, ['ImageTooBig']],
  [Detail.SNAPSHOT_IS_BUSY, ['SnapshotIsBusy']],
];

export function translateAction(actionId: string | null | undefined): string {
  return ACTIONS.find((a) => a.id === actionId)?.text ?? 'unknown action';
}

export function translateDetail(detailId: string | null | undefined): string {
  return DETAILS.find((d) => d.id === detailId)?.text ?? Detail.UNKNOWN_ERROR.text;
}

/**
 * The detail id to record: the one an error's name maps to, else the given detail, else unknown
 * (Cinder's translate_detail_id, which looks at the exception's class name).
 */
export function translateDetailId(errorName: string | null | undefined, detail?: MessageField | null): string {
  if (errorName) for (const [d, names] of EXCEPTION_DETAILS) if (names.includes(errorName)) return d.id;
  if (detail && DETAILS.some((d) => d.id === detail.id)) return detail.id;
  return Detail.UNKNOWN_ERROR.id;
}

/** Messages recorded before actions and details existed carry only an event id (defined_messages.py). */
const EVENT_TEXTS: Readonly<Record<string, string>> = {
  VOLUME_000001: 'An unknown error occurred.',
  VOLUME_000002: 'No storage could be allocated for this volume request. You may be able to try another size or volume type.',
  VOLUME_000003: 'A readonly volume must be attached as readonly.',
  VOLUME_000004: 'Failed to copy volume to image as image quota has been met. Please delete images or have your limit increased, then try again.',
  VOLUME_000005: 'Unmanaging encrypted volumes is not supported.',
};

/** The user_message a message shows: "<action>:<detail>", or the legacy event's text. */
export function userMessageOf(m: { action_id: string | null; detail_id: string | null; event_id: string }): string {
  if (m.action_id === null && m.event_id) return EVENT_TEXTS[m.event_id] ?? Detail.UNKNOWN_ERROR.text;
  return `${translateAction(m.action_id)}:${translateDetail(m.detail_id)}`;
}
