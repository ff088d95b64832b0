// The volume backend contract (Cinder's volume driver role): where volume bytes live. Drivers
// implement it and pass the conformance suite in volume-backend.conformance.ts; only the
// composition root picks one. Every method is idempotent and names its objects from ids, so a
// worker killed halfway can run the same call again after a restart (level-based reconcile).

/** Capacity and capabilities a worker reports to the scheduler (Cinder's volume stats). */
export interface BackendStats {
  /** volume_backend_name. */
  backendName: string;
  vendorName: string;
  driverVersion: string;
  storageProtocol: string;
  totalCapacityGb: number;
  freeCapacityGb: number;
  /** Capabilities matched against volume type extra specs (thin_provisioning_support, ...). */
  capabilities: Record<string, string | number | boolean>;
}

/** How a consumer (the compute agent) attaches a volume: Cinder's connection_info. */
export interface ConnectionInfo {
  driverVolumeType: string;
  data: Record<string, unknown>;
}

export interface CreateVolumeSpec {
  volumeId: string;
  sizeGb: number;
  /** raw or qcow2 (file backend); drivers without formats ignore it. */
  format?: 'raw' | 'qcow2';
}

export interface VolumeBackend {
  readonly name: string;
  /** Prepares the backend (directories, pools); fails with a message saying what to fix. */
  open(): Promise<void>;
  stats(): Promise<BackendStats>;
  /**
   * Creates a blank volume of sizeGb; a volume that already exists with that size (and format) is
   * success, with another size invalid. Ids hold only letters, digits and "-" (else invalid).
   */
  createVolume(spec: CreateVolumeSpec): Promise<void>;
  /** Removes a volume and everything derived from its id; absent is success; one with snapshots is invalid (Cinder without cascade). */
  deleteVolume(volumeId: string): Promise<void>;
  /** Grows a volume to newSizeGb; already that size is success, smaller is invalid (never shrinks), absent not_found. */
  extendVolume(volumeId: string, newSizeGb: number): Promise<void>;
  /** Whether the backend holds this volume, and its virtual size in bytes. */
  inspectVolume(volumeId: string): Promise<{ exists: boolean; virtualSizeBytes?: number }>;
  /** A point-in-time copy of a volume; existing is success; a snapshot id of another volume is invalid. */
  createSnapshot(volumeId: string, snapshotId: string): Promise<void>;
  /** Absent is success. */
  deleteSnapshot(volumeId: string, snapshotId: string): Promise<void>;
  /** A new volume with a snapshot's contents, independent of it, at spec.sizeGb (at least the snapshot's size, else invalid). */
  createVolumeFromSnapshot(snapshotId: string, sourceVolumeId: string, spec: CreateVolumeSpec): Promise<void>;
  /** A new volume with another volume's contents, independent of it, at spec.sizeGb (at least the source's size, else invalid). */
  cloneVolume(sourceVolumeId: string, spec: CreateVolumeSpec): Promise<void>;
  /**
   * Writes an image file (imageFormat: raw, qcow2 or what the backend can convert) into the volume at
   * sizeGb, replacing whatever the volume held (Cinder's copy_image_to_volume writes into a volume
   * create_volume made). An image larger than sizeGb fails with invalid. `format` is the volume's
   * format where the backend has formats (default: the backend's).
   */
  copyImageToVolume(volumeId: string, imagePath: string, imageFormat: string, sizeGb: number, format?: 'raw' | 'qcow2'): Promise<void>;
  /** Writes a volume's contents to a file in the given format (os-volume_upload_image, backups). */
  copyVolumeToFile(volumeId: string, destPath: string, format: 'raw' | 'qcow2'): Promise<void>;
  initializeConnection(volumeId: string, connector: Record<string, unknown>): Promise<ConnectionInfo>;
  terminateConnection(volumeId: string, connector: Record<string, unknown>): Promise<void>;
  /** Ids of volumes the backend holds (for reconciling after a crash). */
  listVolumes(): Promise<string[]>;
}

/** Raised by backends; the volume service turns them into Cinder's answers and volume states. */
export class VolumeBackendError extends Error {
  readonly code: 'not_found' | 'no_space' | 'invalid' | 'backend';
  constructor(code: VolumeBackendError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VolumeBackendError';
    this.code = code;
  }
}
