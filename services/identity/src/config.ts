// The identity service's configuration, named after keystone.conf's sections and options.
import Type from 'typebox';
import type { Static } from 'typebox';
import { ApiSection, DatabaseSection, PolicySection } from '@alto/config';

export const IdentitySection = Type.Object(
  {
    api: ApiSection(5000),
    database: Type.Object(
      { ...DatabaseSection.properties, connection: Type.String({ minLength: 1, default: 'sqlite:///${data_dir}/identity.db' }) },
      { additionalProperties: false, default: {} },
    ),
    /** [DEFAULT] */
    default: Type.Object(
      {
        /** Lists longer than this are cut and marked "truncated" (Keystone's list_limit); unset = no limit. */
        list_limit: Type.Optional(Type.Integer({ minimum: 1 })),
        /** Levels of projects below a domain, at most (Keystone's max_project_tree_depth). */
        max_project_tree_depth: Type.Integer({ minimum: 1, default: 5 }),
      },
      { additionalProperties: false, default: {} },
    ),
    token: Type.Object(
      {
        expiration: Type.Integer({ minimum: 60, default: 3600 }),
        allow_expired_window: Type.Integer({ minimum: 0, default: 172800 }),
        /** Validated tokens kept in memory. */
        cache_entries: Type.Integer({ minimum: 0, default: 50000 }),
        /** A scoped token may be exchanged for a token of another scope. */
        allow_rescope_scoped_token: Type.Boolean({ default: true }),
      },
      { additionalProperties: false, default: {} },
    ),
    fernet_tokens: Type.Object(
      {
        key_repository: Type.String({ default: '${data_dir}/fernet-keys' }),
        max_active_keys: Type.Integer({ minimum: 2, default: 3 }),
      },
      { additionalProperties: false, default: {} },
    ),
    identity: Type.Object(
      {
        default_domain_id: Type.String({ default: 'default' }),
        password_hash_algorithm: Type.Union([Type.Literal('bcrypt'), Type.Literal('bcrypt_sha256'), Type.Literal('scrypt'), Type.Literal('pbkdf2_sha512')], { default: 'bcrypt' }),
        /** Algorithm-specific cost; unset = Keystone's default for the algorithm (bcrypt 12). */
        password_hash_rounds: Type.Optional(Type.Integer({ minimum: 1 })),
        max_password_length: Type.Integer({ minimum: 1, default: 4096 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** keystone.conf [security_compliance]: PCI-DSS style account and password rules. */
    security_compliance: Type.Object(
      {
        /** Days without authenticating after which a user is disabled; unset = never. */
        disable_user_account_days_inactive: Type.Optional(Type.Integer({ minimum: 1 })),
        /** Failed password attempts before the user is locked; unset = no lockout. */
        lockout_failure_attempts: Type.Optional(Type.Integer({ minimum: 1 })),
        /** Seconds a lockout lasts; unset with lockout_failure_attempts = until an admin re-enables the user. */
        lockout_duration: Type.Integer({ minimum: 1, default: 1800 }),
        /** Days a password stays valid; unset = forever. */
        password_expires_days: Type.Optional(Type.Integer({ minimum: 1 })),
        /** How many previous passwords a new one may not repeat (1 = only differs from the current). */
        unique_last_password_count: Type.Integer({ minimum: 0, default: 0 }),
        /** Days a user must keep a password before changing it again. */
        minimum_password_age: Type.Integer({ minimum: 0, default: 0 }),
        password_regex: Type.Optional(Type.String()),
        password_regex_description: Type.Optional(Type.String()),
        change_password_upon_first_use: Type.Boolean({ default: false }),
        /** Tell the user which rule a refused password broke. */
        report_invalid_password_hint: Type.Boolean({ default: true }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** keystone.conf [credential]: credential blobs are encrypted with their own Fernet keys. */
    credential: Type.Object(
      {
        key_repository: Type.String({ default: '${data_dir}/credential-keys' }),
        /** Minutes an EC2 signature's timestamp stays acceptable (upstream's unit and default). */
        auth_ttl: Type.Integer({ minimum: 1, default: 15 }),
        /** Credentials per user; -1 = unlimited. */
        user_limit: Type.Integer({ minimum: -1, default: -1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** keystone.conf [trust]. */
    trust: Type.Object(
      {
        allow_redelegation: Type.Boolean({ default: false }),
        max_redelegation_count: Type.Integer({ minimum: 0, default: 3 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** keystone.conf [application_credential]. */
    application_credential: Type.Object(
      {
        /** Application credentials per user; -1 = unlimited. */
        user_limit: Type.Integer({ minimum: -1, default: -1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** keystone.conf [unified_limit]. */
    unified_limit: Type.Object(
      {
        enforcement_model: Type.Union([Type.Literal('flat'), Type.Literal('strict_two_level')], { default: 'flat' }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** keystone.conf [oauth1]: lifetimes of OAuth1 request and access tokens, seconds. */
    oauth1: Type.Object(
      {
        request_token_duration: Type.Integer({ minimum: 0, default: 28800 }),
        access_token_duration: Type.Integer({ minimum: 0, default: 86400 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** keystone.conf [endpoint_filter]. */
    endpoint_filter: Type.Object(
      {
        /** A project without endpoint associations sees the whole catalog (false: an empty one). */
        return_all_endpoints_if_no_filter: Type.Boolean({ default: true }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** keystone.conf [assignment]. */
    assignment: Type.Object(
      {
        /** Roles that may never be implied by another. */
        prohibited_implied_role: Type.Array(Type.String(), { default: ['admin'] }),
      },
      { additionalProperties: false, default: {} },
    ),
    oslo_policy: PolicySection,
  },
  { additionalProperties: false, default: {} },
);

export type IdentityConfig = Static<typeof IdentitySection>;
