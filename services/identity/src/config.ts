// The identity service's configuration, named after keystone.conf's sections and options.
import Type from 'typebox';
import type { Static } from 'typebox';
import { ApiSection, DatabaseSection } from '@alto/config';

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
      },
      { additionalProperties: false, default: {} },
    ),
    token: Type.Object(
      {
        expiration: Type.Integer({ minimum: 60, default: 3600 }),
        allow_expired_window: Type.Integer({ minimum: 0, default: 172800 }),
        /** Validated tokens kept in memory. */
        cache_entries: Type.Integer({ minimum: 0, default: 50000 }),
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
    oslo_policy: Type.Object(
      {
        policy_file: Type.Optional(Type.String()),
        enforce_scope: Type.Boolean({ default: true }),
        enforce_new_defaults: Type.Boolean({ default: true }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export type IdentityConfig = Static<typeof IdentitySection>;
