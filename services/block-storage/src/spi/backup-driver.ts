// The backup driver contract (Cinder's backup driver role): where backup data lives. Drivers
// implement it and pass the conformance suite in backup-driver.conformance.ts. Every method
// names its objects from the backup id and is idempotent, so a backup worker killed halfway
// runs the same call again after a restart (level-based reconcile): a backup either exists whole
// (committed) or not at all, and a half-written one is cleaned or overwritten by the retry.

export interface BackupDriver {
  /** The driver's short name (cinder.conf backup_driver: `posix`). */
  readonly name: string;
  /** What the backup row's `service` column records (Cinder: the driver's module path). */
  readonly service: string;
  /** Prepares the storage (directories); fails with a message saying what to fix. */
  open(): Promise<void>;
  /**
   * Stores the raw image at `sourceFile` (sizeGb GiB) as backup `backupId` and commits it whole.
   * An already committed backup of that id is success (its object count again); a source larger
   * than sizeGb is invalid; an absent source not_found. Ids hold only letters, digits and "-".
   * `volumeMeta` (JSON) is kept with the data, as Cinder's backup drivers keep the volume's
   * metadata in the backup, so a restore anywhere can give it back.
   */
  backup(backupId: string, sourceFile: string, sizeGb: number, volumeMeta?: Record<string, unknown>): Promise<{ objectCount: number }>;
  /**
   * Writes the backup's bytes as a raw image to `destFile`, replacing it; every object is checked
   * against its recorded checksum first (corrupt, and no destFile written, on a mismatch). An absent
   * backup is not_found. Answers the volume metadata stored with the backup ({} when none was).
   */
  restore(backupId: string, destFile: string): Promise<{ volumeMeta: Record<string, unknown> }>;
  /** Removes the backup and anything a killed run left of it; absent is success. */
  delete(backupId: string): Promise<void>;
  /** Whether a committed backup of this id exists (a half-written one does not). */
  exists(backupId: string): Promise<boolean>;
}

/** Raised by backup drivers; the backup worker turns them into the backup's fail_reason. */
export class BackupDriverError extends Error {
  readonly code: 'not_found' | 'no_space' | 'invalid' | 'corrupt' | 'backend';
  constructor(code: BackupDriverError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackupDriverError';
    this.code = code;
  }
}
