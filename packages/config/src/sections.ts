// Config sections shared by every component, named after the upstream oslo options they mirror.
import Type from 'typebox';
import type { Static } from 'typebox';

/** oslo.db's [database]. */
export const DatabaseSection = Type.Object(
  {
    connection: Type.String({ minLength: 1, description: 'sqlite:///path, postgresql://user:pw@host/db or mysql+pymysql://user:pw@host/db' }),
    max_pool_size: Type.Integer({ minimum: 1, default: 5 }),
    connection_recycle_time: Type.Integer({ minimum: 1, default: 3600 }),
    /** SQLite only: `full` survives power loss, `normal` survives a process crash. */
    sqlite_synchronous: Type.Union([Type.Literal('full'), Type.Literal('normal')], { default: 'full' }),
  },
  { additionalProperties: false },
);
export type DatabaseConfig = Static<typeof DatabaseSection>;

/** oslo.messaging: [DEFAULT] transport_url, control_exchange, rpc_response_timeout; [oslo_messaging_rabbit]. */
export const BusSection = Type.Object(
  {
    transport_url: Type.String({ default: 'inprocess://', description: 'inprocess:// or rabbit://user:pass@host:5672/vhost' }),
    control_exchange: Type.String({ default: 'openstack' }),
    rpc_response_timeout: Type.Integer({ minimum: 1, default: 60 }),
    amqp_durable_queues: Type.Boolean({ default: false }),
    heartbeat_timeout_threshold: Type.Integer({ minimum: 0, default: 60 }),
    notification_topics: Type.Array(Type.String(), { default: ['notifications'] }),
  },
  { additionalProperties: false, default: {} },
);
export type BusConfig = Static<typeof BusSection>;

/** oslo.cache's [cache]: where token validations and other hot reads are cached. */
export const CacheSection = Type.Object(
  {
    backend: Type.Union([Type.Literal('memory'), Type.Literal('memcached')], { default: 'memory' }),
    memcache_servers: Type.Array(Type.String(), { default: [] }),
    expiration_time: Type.Integer({ minimum: 1, default: 600 }),
    memory_max_entries: Type.Integer({ minimum: 1, default: 10000 }),
  },
  { additionalProperties: false, default: {} },
);
export type CacheConfig = Static<typeof CacheSection>;

export const LogSection = Type.Object(
  {
    level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l)), { default: 'info' }),
    /** json for machines (pods), text for a terminal. */
    format: Type.Union([Type.Literal('json'), Type.Literal('text')], { default: 'json' }),
  },
  { additionalProperties: false, default: {} },
);
export type LogConfig = Static<typeof LogSection>;

/** oslo.policy's [oslo_policy]: an overrides file and the secure-RBAC switches (both on, as current upstream). */
export const PolicySection = Type.Object(
  {
    policy_file: Type.Optional(Type.String()),
    enforce_scope: Type.Boolean({ default: true }),
    enforce_new_defaults: Type.Boolean({ default: true }),
  },
  { additionalProperties: false, default: {} },
);
export type PolicyConfig = Static<typeof PolicySection>;

/** keystonemiddleware's [keystone_authtoken]: how a service validates the tokens it receives. */
export const AuthTokenSection = Type.Object(
  {
    www_authenticate_uri: Type.Optional(Type.String()),
    auth_url: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    project_name: Type.String({ default: 'service' }),
    user_domain_name: Type.String({ default: 'Default' }),
    project_domain_name: Type.String({ default: 'Default' }),
    token_cache_time: Type.Integer({ minimum: 0, default: 300 }),
    service_token_roles: Type.Array(Type.String(), { default: ['service'] }),
    service_token_roles_required: Type.Boolean({ default: true }),
    /** This service's catalog type, which application credential access rules name (each service defaults to its own). */
    service_type: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false, default: {} },
);
export type AuthTokenConfig = Static<typeof AuthTokenSection>;

/** Where an API process listens. */
export const ApiSection = (port: number) =>
  Type.Object(
    {
      host: Type.String({ default: '${host}' }),
      port: Type.Integer({ minimum: 0, maximum: 65535, default: port }),
      /** Largest accepted request body, bytes (Keystone's max_request_body_size). */
      max_request_body_size: Type.Integer({ minimum: 1024, default: 114688 }),
      /** The URL clients use to reach this API; defaults from host and port. */
      public_endpoint: Type.Optional(Type.String()),
    },
    { additionalProperties: false, default: {} },
  );
