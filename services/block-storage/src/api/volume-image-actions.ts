// The volume action that makes an image of a volume (os-volume_upload_image), for the /action dispatcher.
import type { RequestContext } from '@alto/kernel';
import { compileCheck, createValidators } from '@alto/http';
import type { UploadImageResult, VolumeUploadService } from '../images/volume-upload.service.js';
import { atLeast, cinderTime, parseBool, type VolumeActionSpec } from './common.js';

// Cinder's schemas (api/schemas/volume_actions.py volume_upload_image and its 3.1 copy)
const boolean = {
  type: ['boolean', 'string'],
  enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f'],
};
const baseProperties = {
  image_name: { type: 'string', minLength: 1, maxLength: 255 },
  force: boolean,
  disk_format: { type: 'string', enum: ['raw', 'vmdk', 'vdi', 'qcow2', 'vhd', 'vhdx', 'ploop'] },
  container_format: { type: ['string', 'null'], minLength: 0, maxLength: 255 },
};
const schemaOf = (properties: object) => ({
  type: 'object',
  properties: { 'os-volume_upload_image': { type: 'object', properties, required: ['image_name'], additionalProperties: false } },
  required: ['os-volume_upload_image'],
  additionalProperties: false,
});

interface UploadBody {
  'os-volume_upload_image': {
    image_name: string;
    force?: boolean | string;
    disk_format?: string;
    container_format?: string | null;
    visibility?: string;
    protected?: boolean | string;
  };
}

const validators = createValidators();
const check30 = compileCheck<UploadBody>(validators.body, schemaOf(baseProperties), 'nova');
const check31 = compileCheck<UploadBody>(
  validators.body,
  schemaOf({ ...baseProperties, visibility: { type: 'string', enum: ['community', 'public', 'private', 'shared'] }, protected: boolean }),
  'nova',
);

/** The route frame this action needs: the upload service beside the core ones. */
export interface VolumeImageActionsFrame {
  services: { volumeUploads: VolumeUploadService };
}

/** The whole action body, whether the dispatcher hands over `{"os-volume_upload_image": {...}}` or only its value. */
function wholeBody(body: unknown): unknown {
  return body !== null && typeof body === 'object' && !Array.isArray(body) && 'os-volume_upload_image' in body ? body : { 'os-volume_upload_image': body };
}

/** The answer's volume_type: the type object as Cinder serializes it (its columns and extra_specs). */
function typeView(type: UploadImageResult['type']) {
  if (!type) return null;
  return {
    created_at: cinderTime(type.created_at),
    updated_at: cinderTime(type.updated_at),
    deleted_at: cinderTime(type.deleted_at),
    deleted: !!type.deleted,
    id: type.id,
    name: type.name,
    description: type.description,
    is_public: !!type.is_public,
    qos_specs_id: type.qos_specs_id,
    extra_specs: type.extraSpecs,
  };
}

/** volume/api.py copy_volume_to_image's answer: the volume before the call, and the image Glance created. */
export function uploadImageView(r: UploadImageResult) {
  return {
    'os-volume_upload_image': {
      id: r.row.id,
      updated_at: cinderTime(r.row.updated_at),
      status: 'uploading',
      display_description: r.row.description,
      size: Number(r.row.size),
      volume_type: typeView(r.type),
      image_id: r.image.id,
      container_format: r.image.container_format,
      disk_format: r.image.disk_format,
      image_name: r.image.name,
      // a v2 image always has both, so Cinder always answers them
      protected: r.image.protected,
      visibility: r.image.visibility,
    },
  };
}

export function imageActions(frame: VolumeImageActionsFrame): Record<string, VolumeActionSpec> {
  return {
    'os-volume_upload_image': {
      policy: 'volume_extension:volume_actions:upload_image',
      status: 202,
      handler: async ({ volumeId, body, req }, ctx: RequestContext) => {
        const v31 = atLeast(req, '3.1');
        const p = (v31 ? check31 : check30)(wholeBody(body))['os-volume_upload_image'];
        const result = await frame.services.volumeUploads.uploadImage(ctx, volumeId, {
          imageName: p.image_name,
          force: p.force === undefined ? false : parseBool(p.force, 'force'),
          diskFormat: p.disk_format ?? 'raw',
          // COMPAT(cinder zed): a null container_format would reach Glance as null; bare is what it means
          containerFormat: p.container_format ?? 'bare',
          // COMPAT(cinder 3.1): visibility private and protected false unless given
          ...(v31 ? { visibility: p.visibility ?? 'private', protected: p.protected === undefined ? false : parseBool(p.protected, 'protected') } : {}),
        });
        return uploadImageView(result);
      },
    },
  };
}
