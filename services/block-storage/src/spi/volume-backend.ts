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
  /** Creates a blank volume of sizeGb; a volume that already exists with that size is success. */
  createVolume(spec: CreateVolumeSpec): Promise<void>;
  /** Removes a volume and everything derived from its id; absent is success. */
  deleteVolume(volumeId: string): Promise<void>;
  /** Grows a volume to newSizeGb; already that size is success. */
  extendVolume(volumeId: string, newSizeGb: number): Promise<void>;
  /** Whether the backend holds this volume, and its virtual size in bytes. */
  inspectVolume(volumeId: string): Promise<{ exists: boolean; virtualSizeBytes?: number }>;
  createSnapshot(volumeId: string, snapshotId: string): Promise<void>;
  deleteSnapshot(volumeId: string, snapshotId: string): Promise<void>;
  /** A new volume with a snapshot's contents (and at least its size). */
  createVolumeFromSnapshot(snapshotId: string, sourceVolumeId: string, spec: CreateVolumeSpec): Promise<void>;
  /** A new volume with another volume's contents. */
  cloneVolume(sourceVolumeId: string, spec: CreateVolumeSpec): Promise<void>;
  /** Writes image data (already converted to raw or the backend's format by the caller, or a path to convert) into a new volume. */
  copyImageToVolume(volumeId: string, imagePath: string, imageFormat: string, sizeGb: number): Promise<void>;
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
