// What the volume API checks before it accepts a volume made from an image: the image reference resolves to an image the caller may see, active, and fitting the volume's size (Cinder's _image_uuid_from_ref and check_image_metadata).
import { ServiceUnavailableError } from '@alto/kernel';
import { BadRequest, Conflict, InvalidInput } from '../domain/errors.js';
import { GlanceError, type GlanceClient, type GlanceImage, type TokenSource } from './glance-client.js';

const GiB = 1024 ** 3;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

const INVALID_REF = 'Invalid image identifier or unable to access requested image.';

/** Glance could not be asked at all (down, or answering 5xx): not the caller's mistake. */
function unavailable(err: GlanceError): ServiceUnavailableError {
  return new ServiceUnavailableError(`The image service is unavailable: ${err.message}`, 'volume.image_service_unavailable', { cause: err });
}

const glanceDown = (err: unknown): err is GlanceError => err instanceof GlanceError && (err.status === undefined || err.status >= 500);

/**
 * The image an imageRef names, as the caller sees it (their token): the last path segment of a
 * URL (Nova's image hrefs) as an id, else the whole ref as an exact name. Several images of that
 * name -> 409; none the caller can see -> 400 "Invalid image identifier or unable to access
 * requested image.".
 */
export async function resolveImageRefOrThrow(glance: GlanceClient, caller: TokenSource, imageRef: string): Promise<GlanceImage> {
  const last = imageRef.split('/').pop() ?? '';
  if (UUID.test(last)) {
    try {
      return await glance.getImage(caller, last);
    } catch (err) {
      // COMPAT(cinder zed): any failure to show it by id falls through to a lookup by name; but an
      // image service that is down is a 503 here, where Cinder answers the 400 below
      if (glanceDown(err)) throw unavailable(err);
    }
  }
  let found: GlanceImage[];
  try {
    found = await glance.findImagesByName(caller, imageRef);
  } catch (err) {
    if (glanceDown(err)) throw unavailable(err);
    throw BadRequest(INVALID_REF, 'volume.invalid_image_ref');
  }
  if (found.length > 1) throw Conflict(`Multiple matches found for '${imageRef}', use an ID to be more specific.`, 'volume.image_ref_ambiguous');
  if (!found[0]) throw BadRequest(INVALID_REF, 'volume.invalid_image_ref');
  return found[0];
}

/**
 * Cinder's check_image_metadata: the image is active, its data (in whole GiB, rounded up) and its
 * virtual size fit in sizeGb, and sizeGb is at least its min_disk. Wording as Cinder's.
 */
export function checkImageMetadata(image: GlanceImage, sizeGb: number): void {
  if (image.status !== 'active') throw InvalidInput(`Image ${image.id} is not active.`);
  const sizeInGb = Math.ceil((image.size ?? 0) / GiB);
  if (sizeInGb > sizeGb) throw InvalidInput(`Size of specified image ${sizeInGb}GB is larger than volume size ${sizeGb}GB.`);
  const minDisk = image.min_disk ?? 0;
  if (sizeGb < minDisk) throw InvalidInput(`Volume size ${sizeGb}GB cannot be smaller than the image minDisk size ${minDisk}GB.`);
  if (image.virtual_size) {
    const virtualGb = Math.ceil(image.virtual_size / GiB);
    if (virtualGb > sizeGb) {
      throw BadRequest(`Image ${image.id} is unacceptable: Image virtual size is ${virtualGb}GB and doesn't fit in a volume of size ${sizeGb}GB.`, 'volume.image_unacceptable');
    }
  }
}

/**
 * Everything the volume API checks for `imageRef` before it creates a volume of sizeGb from it,
 * as the caller (Cinder shows the image with the user's context); answers the image, whose id
 * goes into the volume row and whose `cinder_img_volume_type` property names the volume type
 * when the request gives none.
 */
export async function checkImageForVolume(glance: GlanceClient, caller: TokenSource, imageRef: string, sizeGb: number): Promise<GlanceImage> {
  const image = await resolveImageRefOrThrow(glance, caller, imageRef);
  checkImageMetadata(image, sizeGb);
  return image;
}
