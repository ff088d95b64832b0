// Bus topics the block storage components serve, as Cinder's (cinder/common/constants.py).

/** The scheduler: create_volume (and later retype/migrate placement). */
export const SCHEDULER_TOPIC = 'cinder-scheduler';
/** A volume worker, addressed with its `host@backend` as the server. */
export const VOLUME_TOPIC = 'cinder-volume';
/** The backup worker. */
export const BACKUP_TOPIC = 'cinder-backup';
