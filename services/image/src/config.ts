// The image service's configuration, named after glance-api.conf's sections and options.
import Type from 'typebox';
import type { Static } from 'typebox';
import { ApiSection, AuthTokenSection, DatabaseSection, PolicySection } from '@alto/config';

/** Glance's default [image_format] lists (glance/common/config.py). */
export const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];
export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];

const FileStore = Type.Object(
  {
    type: Type.Literal('file', { default: 'file' }),
    /** glance_store's filesystem_store_datadir. */
    filesystem_store_datadir: Type.String(),
    /** Shown to users by GET /v2/info/stores. */
    description: Type.Optional(Type.String()),
    /** Bytes per read when serving data (glance_store's filesystem_store_chunk_size; 1 MiB when unset). */
    filesystem_store_chunk_size: Type.Optional(Type.Integer({ minimum: 4096 })),
  },
  { additionalProperties: false },
);

export const ImageSection = Type.Object(
  {
    api: ApiSection(9292),
    database: Type.Object(
      { ...DatabaseSection.properties, connection: Type.String({ minLength: 1, default: 'sqlite:///${data_dir}/image.db' }) },
      { additionalProperties: false, default: {} },
    ),
    /** glance-api.conf [DEFAULT]. */
    default: Type.Object(
      {
        /** Largest image, bytes (glance's image_size_cap, 1 TiB). */
        image_size_cap: Type.Integer({ minimum: 1, default: 1099511627776 }),
        /** Legacy per-owner storage quota in bytes across all images, 0 = none (used when Keystone has no limit). */
        user_storage_quota: Type.Integer({ minimum: 0, default: 0 }),
        image_member_quota: Type.Integer({ minimum: -1, default: 128 }),
        image_property_quota: Type.Integer({ minimum: -1, default: 128 }),
        image_tag_quota: Type.Integer({ minimum: -1, default: 128 }),
        image_location_quota: Type.Integer({ minimum: -1, default: 10 }),
        limit_param_default: Type.Integer({ minimum: 1, default: 25 }),
        api_limit_max: Type.Integer({ minimum: 1, default: 1000 }),
        enabled_import_methods: Type.Array(Type.Union([Type.Literal('glance-direct'), Type.Literal('web-download'), Type.Literal('copy-image')]), {
          default: ['glance-direct', 'web-download', 'copy-image'],
        }),
        show_image_direct_url: Type.Boolean({ default: false }),
        show_multiple_locations: Type.Boolean({ default: false }),
        /** Image quotas come from Keystone unified limits (image_size_total, image_stage_total, image_count_total, image_count_uploading). */
        use_keystone_limits: Type.Boolean({ default: true }),
        hashing_algorithm: Type.Literal('sha512', { default: 'sha512' }),
        /**
         * Backends by id, each a glance_store section (glance's `enabled_backends = fast:file`
         * plus a [fast] section). Empty: one `file` store in ${data_dir}/images.
         */
        enabled_backends: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), FileStore, { default: {} }),
        /** Seconds an upload may go without progress before its lease lapses and another replica may clean it up. */
        upload_lease_seconds: Type.Integer({ minimum: 5, default: 60 }),
      },
      { additionalProperties: false, default: {} },
    ),
    image_format: Type.Object(
      {
        disk_formats: Type.Array(Type.String(), { default: DISK_FORMATS }),
        container_formats: Type.Array(Type.String(), { default: CONTAINER_FORMATS }),
        /**
         * Refuse data that is not the declared disk_format or fails the format's safety checks
         * (qcow2 backing/data files, vmdk extents...), as current Glance does; Zed accepted it.
         */
        require_image_format_match: Type.Boolean({ default: true }),
      },
      { additionalProperties: false, default: {} },
    ),
    glance_store: Type.Object(
      {
        /** The backend new data goes to when the request names none. */
        default_backend: Type.Optional(Type.String()),
        /** The single store's directory when enabled_backends is empty. */
        filesystem_store_datadir: Type.String({ default: '${data_dir}/images' }),
        /**
         * Bytes per read when serving the single store's data (glance_store's option; its 64 KiB
         * default costs this server 2-4 CPU s per GiB served, 1 MiB about 1).
         */
        filesystem_store_chunk_size: Type.Integer({ minimum: 4096, default: 1048576 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Where `PUT /v2/images/{id}/stage` keeps data until import. */
    os_glance_staging_store: Type.Object(
      { filesystem_store_datadir: Type.String({ default: '${data_dir}/staging' }) },
      { additionalProperties: false, default: {} },
    ),
    /** Which URLs web-download may fetch. */
    import_filtering_opts: Type.Object(
      {
        /**
         * Glob patterns (`*` any characters) a web-download URL must match. Empty (default):
         * web-download is refused, so the API cannot be turned into a proxy into the cloud's
         * own network (upstream allows any host by default).
         */
        allowed_url_patterns: Type.Array(Type.String(), { default: [] }),
        allowed_schemes: Type.Array(Type.String(), { default: ['http', 'https'] }),
        disallowed_schemes: Type.Array(Type.String(), { default: [] }),
        allowed_hosts: Type.Array(Type.String(), { default: [] }),
        disallowed_hosts: Type.Array(Type.String(), { default: [] }),
        allowed_ports: Type.Array(Type.Integer(), { default: [80, 443] }),
        disallowed_ports: Type.Array(Type.Integer(), { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
    keystone_authtoken: AuthTokenSection,
    oslo_policy: PolicySection,
  },
  { additionalProperties: false, default: {} },
);

export type ImageConfig = Static<typeof ImageSection>;
export type FileStoreConfig = Static<typeof FileStore>;
