// Bus topics the block storage components serve, as Cinder's (cinder/common/constants.py).

/** The scheduler: create_volume (and later retype/migrate placement). */
export const SCHEDULER_TOPIC = 'cinder-scheduler';
/** A volume worker, addressed with its `host@backend` as the server. */
export const VOLUME_TOPIC = 'cinder-volume';
/** The backup worker. */
export const BACKUP_TOPIC = 'cinder-backup';

/**
 * The backend (service host `host@backend`) of a volume host, which Cinder writes as
 * `host@backend#pool`. Workers serve the bus as `host@backend#pool` (poolHostOf), so senders
 * address a volume's worker with the volume's host as it is.
 */
export const backendHostOf = (volumeHost: string): string => volumeHost.split('#')[0]!;

/** A volume's host on a backend's pool (Cinder's `host@backend#pool`). */
export const poolHostOf = (backendHost: string, pool: string): string => (backendHost.includes('#') ? backendHost : `${backendHost}#${pool}`);

/** Whether two hosts name the same backend (pools aside). */
export const sameBackend = (a: string, b: string): boolean => backendHostOf(a) === backendHostOf(b);
