// How a volume worker moves bytes between the image service and a volume backend: create a
// volume from an image (download with a service token, qemu-img convert) and
// os-volume_upload_image. The composition root gives workers one; without it those volumes fail
// with a user message. Both calls are idempotent: a worker killed halfway runs them again.
import type { VolumeBackend } from './volume-backend.js';

export interface ImageToVolume {
  volumeId: string;
  imageId: string;
  sizeGb: number;
}

export interface VolumeToImage {
  volumeId: string;
  imageId: string;
  /** disk_format asked for (raw, qcow2 ...). */
  diskFormat: string;
}

export interface ImageTransfer {
  /**
   * Writes the image's data into the volume (replacing its contents) and answers the image's
   * properties Cinder copies into volume_image_metadata (image_id, image_name, disk_format,
   * container_format, min_disk, min_ram, size, checksum and the image's own properties).
   */
  copyImageToVolume(backend: VolumeBackend, job: ImageToVolume): Promise<Record<string, string>>;
  /** Uploads the volume's contents as the data of an image the API already created (queued). */
  copyVolumeToImage(backend: VolumeBackend, job: VolumeToImage): Promise<void>;
}
