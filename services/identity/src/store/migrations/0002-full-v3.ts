// Identity schema, second version: the rest of Keystone v3. Groups and membership, project and
// domain tags, domain configuration, application credentials and access rules, trusts,
// credentials, unified limits, policies and their endpoint associations, endpoint groups and
// project endpoint filters, OAuth1 consumers and tokens.
// Frozen: never edit after release; change the schema with a new migration.
import { sql, type Kysely } from 'kysely';
import type { FrozenMigration } from '@alto/db';

export const migration0002: FrozenMigration = {
  async up(db: Kysely<any>, dialect) {
    const table = (name: string) => {
      const t = db.schema.createTable(name);
      return dialect === 'mysql' ? t.modifyEnd(sql` DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_bin`) : t;
    };

    await table('group')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().references('project.id'))
      .addColumn('name', 'varchar(64)', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('extra', 'text', (c) => c.notNull())
      .addUniqueConstraint('group_domain_name_uq', ['domain_id', 'name'])
      .execute();

    await table('user_group_membership')
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('user.id').onDelete('cascade'))
      .addColumn('group_id', 'varchar(64)', (c) => c.notNull().references('group.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('user_group_membership_pk', ['user_id', 'group_id'])
      .execute();
    await db.schema.createIndex('user_group_membership_group_ix').on('user_group_membership').column('group_id').execute();

    // tags of projects and of domains (domains are projects with is_domain)
    await table('project_tag')
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull().references('project.id').onDelete('cascade'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('project_tag_pk', ['project_id', 'name'])
      .execute();
    await db.schema.createIndex('project_tag_name_ix').on('project_tag').column('name').execute();

    // /v3/domains/{id}/config: whitelisted and sensitive options per domain
    await table('domain_config')
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().references('project.id').onDelete('cascade'))
      .addColumn('group', 'varchar(255)', (c) => c.notNull())
      .addColumn('option', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('sensitive', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('domain_config_pk', ['domain_id', 'group', 'option'])
      .execute();

    await table('application_credential')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('secret_hash', 'varchar(255)', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('user.id').onDelete('cascade'))
      .addColumn('project_id', 'varchar(64)')
      .addColumn('system', 'varchar(64)')
      .addColumn('expires_at', 'bigint')
      .addColumn('unrestricted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('application_credential_user_name_uq', ['user_id', 'name'])
      .execute();
    await db.schema.createIndex('application_credential_project_ix').on('application_credential').column('project_id').execute();

    await table('application_credential_role')
      .addColumn('application_credential_id', 'varchar(64)', (c) => c.notNull().references('application_credential.id').onDelete('cascade'))
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('application_credential_role_pk', ['application_credential_id', 'role_id'])
      .execute();

    await table('access_rule')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('user.id').onDelete('cascade'))
      .addColumn('service', 'varchar(64)', (c) => c.notNull())
      .addColumn('path', 'varchar(128)', (c) => c.notNull())
      .addColumn('method', 'varchar(16)', (c) => c.notNull())
      .addUniqueConstraint('access_rule_uq', ['user_id', 'service', 'path', 'method'])
      .execute();

    await table('application_credential_access_rule')
      .addColumn('application_credential_id', 'varchar(64)', (c) => c.notNull().references('application_credential.id').onDelete('cascade'))
      .addColumn('access_rule_id', 'varchar(64)', (c) => c.notNull().references('access_rule.id'))
      .addPrimaryKeyConstraint('application_credential_access_rule_pk', ['application_credential_id', 'access_rule_id'])
      .execute();

    // OS-TRUST; deleted trusts stay (deleted_at) so their redelegation chains can be checked
    await table('trust')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('trustor_user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('trustee_user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(64)')
      .addColumn('impersonation', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('remaining_uses', 'integer')
      .addColumn('redelegated_trust_id', 'varchar(64)')
      .addColumn('redelegation_count', 'integer')
      .addColumn('deleted_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('extra', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('trust_trustor_ix').on('trust').column('trustor_user_id').execute();
    await db.schema.createIndex('trust_trustee_ix').on('trust').column('trustee_user_id').execute();

    await table('trust_role')
      .addColumn('trust_id', 'varchar(64)', (c) => c.notNull().references('trust.id').onDelete('cascade'))
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('trust_role_pk', ['trust_id', 'role_id'])
      .execute();

    // blobs are Fernet-encrypted with the credential key repository; key_hash names the key
    await table('credential')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(64)')
      .addColumn('type', 'varchar(255)', (c) => c.notNull())
      .addColumn('encrypted_blob', 'text', (c) => c.notNull())
      .addColumn('key_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('extra', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('credential_user_ix').on('credential').column('user_id').execute();

    // unified limits; region_key is region_id or '' so that the natural key can be unique
    await table('registered_limit')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('service_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('region_id', 'varchar(255)')
      .addColumn('region_key', 'varchar(255)', (c) => c.notNull())
      .addColumn('resource_name', 'varchar(255)', (c) => c.notNull())
      .addColumn('default_limit', 'integer', (c) => c.notNull())
      .addColumn('description', 'text')
      .addUniqueConstraint('registered_limit_uq', ['service_id', 'region_key', 'resource_name'])
      .execute();

    // a project's or a domain's limit: exactly one of project_id and domain_id is set
    await table('project_limit')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(64)')
      .addColumn('domain_id', 'varchar(64)')
      .addColumn('target_key', 'varchar(64)', (c) => c.notNull())
      .addColumn('registered_limit_id', 'varchar(64)', (c) => c.notNull().references('registered_limit.id'))
      .addColumn('resource_limit', 'integer', (c) => c.notNull())
      .addColumn('description', 'text')
      .addUniqueConstraint('project_limit_uq', ['target_key', 'registered_limit_id'])
      .execute();
    await db.schema.createIndex('project_limit_registered_ix').on('project_limit').column('registered_limit_id').execute();

    await table('policy')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(255)', (c) => c.notNull())
      .addColumn('blob', 'text', (c) => c.notNull())
      .addColumn('extra', 'text', (c) => c.notNull())
      .execute();

    // OS-ENDPOINT-POLICY: a policy for an endpoint, a service, or a service in a region
    await table('policy_association')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('policy_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('endpoint_id', 'varchar(64)')
      .addColumn('service_id', 'varchar(64)')
      .addColumn('region_id', 'varchar(255)')
      // endpoint_id|service_id|region_id, '' for the absent ones: one association per target
      .addColumn('target_key', 'varchar(400)', (c) => c.notNull())
      .addUniqueConstraint('policy_association_uq', ['target_key'])
      .execute();

    // OS-EP-FILTER
    await table('endpoint_group')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('filters', 'text', (c) => c.notNull())
      .execute();

    await table('project_endpoint')
      .addColumn('endpoint_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('project_endpoint_pk', ['endpoint_id', 'project_id'])
      .execute();
    await db.schema.createIndex('project_endpoint_project_ix').on('project_endpoint').column('project_id').execute();

    await table('project_endpoint_group')
      .addColumn('endpoint_group_id', 'varchar(64)', (c) => c.notNull().references('endpoint_group.id').onDelete('cascade'))
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('project_endpoint_group_pk', ['endpoint_group_id', 'project_id'])
      .execute();
    await db.schema.createIndex('project_endpoint_group_project_ix').on('project_endpoint_group').column('project_id').execute();

    // OS-OAUTH1
    await table('consumer')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('description', 'varchar(64)')
      .addColumn('secret', 'varchar(64)', (c) => c.notNull())
      .addColumn('extra', 'text', (c) => c.notNull())
      .execute();

    await table('request_token')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('request_secret', 'varchar(64)', (c) => c.notNull())
      .addColumn('verifier', 'varchar(64)')
      .addColumn('authorizing_user_id', 'varchar(64)')
      .addColumn('requested_project_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('role_ids', 'text')
      .addColumn('consumer_id', 'varchar(64)', (c) => c.notNull().references('consumer.id').onDelete('cascade'))
      .addColumn('expires_at', 'bigint')
      .execute();

    await table('access_token')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('access_secret', 'varchar(64)', (c) => c.notNull())
      .addColumn('authorizing_user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('role_ids', 'text', (c) => c.notNull())
      .addColumn('consumer_id', 'varchar(64)', (c) => c.notNull().references('consumer.id').onDelete('cascade'))
      .addColumn('expires_at', 'bigint')
      .execute();
    await db.schema.createIndex('access_token_user_ix').on('access_token').column('authorizing_user_id').execute();
  },
};
