// The block storage service's configuration, named after cinder.conf's sections and options.
import Type from 'typebox';
import type { Static } from 'typebox';
import { ApiSection, AuthTokenSection, DatabaseSection, PolicySection } from '@alto/config';

/** One backend section (cinder.conf `enabled_backends = file` plus a [file] section). */
const FileBackendSection = Type.Object(
  {
    /** The driver; only `file` is built in (volume-lvm and volume-rbd come later). */
    volume_driver: Type.String({ default: 'file' }),
    /** The name volume types select with `volume_backend_name`. */
    volume_backend_name: Type.Optional(Type.String()),
    /** Where the file backend keeps volume and snapshot files. */
    file_volume_dir: Type.Optional(Type.String()),
    /** qcow2 (thin, default) or raw (sparse) volume files. */
    file_volume_format: Type.Union([Type.Literal('qcow2'), Type.Literal('raw')], { default: 'qcow2' }),
    /** Capacity reported when the filesystem is larger (GiB, 0 = the filesystem's). */
    file_capacity_gb: Type.Integer({ minimum: 0, default: 0 }),
    max_over_subscription_ratio: Type.Union([Type.Number({ minimum: 1 }), Type.Literal('auto')], { default: 20 }),
    reserved_percentage: Type.Integer({ minimum: 0, maximum: 100, default: 0 }),
  },
  { additionalProperties: false, default: {} },
);

const QUOTA_DEFAULTS = {
  quota_volumes: 10,
  quota_snapshots: 10,
  quota_gigabytes: 1000,
  quota_backups: 10,
  quota_backup_gigabytes: 1000,
  quota_groups: 10,
  per_volume_size_limit: -1,
};

export const BlockStorageSection = Type.Object(
  {
    api: ApiSection(8776),
    database: Type.Object(
      { ...DatabaseSection.properties, connection: Type.String({ minLength: 1, default: 'sqlite:///${data_dir}/block-storage.db' }) },
      { additionalProperties: false, default: {} },
    ),
    /** cinder.conf [DEFAULT]. */
    default: Type.Object(
      {
        /** Largest page a list answers (osapi_max_limit). */
        osapi_max_limit: Type.Integer({ minimum: 1, default: 1000 }),
        /** The type of volumes created without one. */
        default_volume_type: Type.String({ default: '__DEFAULT__' }),
        /** The availability zone of this host's backends and of volumes created without one. */
        storage_availability_zone: Type.String({ default: 'nova' }),
        default_availability_zone: Type.Optional(Type.String()),
        /** Backend sections by name (cinder.conf enabled_backends). Empty: one `file` backend in ${data_dir}/volumes. */
        enabled_backends: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), FileBackendSection, { default: {} }),
        /** The host part of `host@backend#pool` (Cinder's [DEFAULT] host); the machine's name when unset. */
        host: Type.Optional(Type.String()),
        /** Seconds between a worker's capacity reports (report_interval). */
        report_interval: Type.Integer({ minimum: 1, default: 10 }),
        /** A service not heard from for this long is down (service_down_time). */
        service_down_time: Type.Integer({ minimum: 1, default: 60 }),
        /** How long a worker's hold on a volume's work lasts without renewal (seconds). */
        task_lease_seconds: Type.Integer({ minimum: 5, default: 60 }),
        /** How often workers look for work nobody holds (seconds). */
        task_sweep_seconds: Type.Integer({ minimum: 1, default: 10 }),
        /** Seconds a user message is kept (message_ttl). */
        message_ttl: Type.Integer({ minimum: 1, default: 2592000 }),
        /** Default quotas (cinder.conf quota_*), unless a quota class or project limit says otherwise. */
        quota_volumes: Type.Integer({ minimum: -1, default: QUOTA_DEFAULTS.quota_volumes }),
        quota_snapshots: Type.Integer({ minimum: -1, default: QUOTA_DEFAULTS.quota_snapshots }),
        quota_gigabytes: Type.Integer({ minimum: -1, default: QUOTA_DEFAULTS.quota_gigabytes }),
        quota_backups: Type.Integer({ minimum: -1, default: QUOTA_DEFAULTS.quota_backups }),
        quota_backup_gigabytes: Type.Integer({ minimum: -1, default: QUOTA_DEFAULTS.quota_backup_gigabytes }),
        quota_groups: Type.Integer({ minimum: -1, default: QUOTA_DEFAULTS.quota_groups }),
        per_volume_size_limit: Type.Integer({ minimum: -1, default: QUOTA_DEFAULTS.per_volume_size_limit }),
        /** Image conversion scratch space (image_conversion_dir). */
        image_conversion_dir: Type.String({ default: '${data_dir}/volume-conversion' }),
        /** Largest image (GiB of virtual size) a volume may be made from. */
        image_conversion_max_gb: Type.Integer({ minimum: 1, default: 1024 }),
        /** Whether os-volume_upload_image may upload an in-use volume with force=true (enable_force_upload). */
        enable_force_upload: Type.Boolean({ default: false }),
        /** Where os-volume_upload_image puts images: the image service's URL, from the catalog when unset. */
        glance_api_servers: Type.Optional(Type.String()),
        /** Backup driver (posix only) and its directory (backup_posix_path). */
        backup_driver: Type.String({ default: 'posix' }),
        backup_posix_path: Type.String({ default: '${data_dir}/backups' }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Where the components without an API (scheduler, workers) answer /healthz, /readyz and /metrics. */
    health: Type.Object(
      {
        host: Type.String({ default: '${host}' }),
        scheduler_port: Type.Integer({ minimum: 0, maximum: 65535, default: 8786 }),
        worker_port: Type.Integer({ minimum: 0, maximum: 65535, default: 8787 }),
        backup_port: Type.Integer({ minimum: 0, maximum: 65535, default: 8788 }),
      },
      { additionalProperties: false, default: {} },
    ),
    keystone_authtoken: AuthTokenSection,
    oslo_policy: PolicySection,
  },
  { additionalProperties: false, default: {} },
);

export type BlockStorageConfig = Static<typeof BlockStorageSection>;
export type FileBackendConfig = Static<typeof FileBackendSection>;
