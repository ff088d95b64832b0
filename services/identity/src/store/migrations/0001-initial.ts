// Identity schema, first version: domains and projects (one table, as Keystone keeps them),
// users and password history, roles and implied roles, assignments, the catalog, revocation events.
// Frozen: never edit after release; change the schema with a new migration.
import { sql, type Kysely } from 'kysely';
import type { FrozenMigration } from '@alto/db';

const ROOT = '<<keystone.domain.root>>';

export const migration0001: FrozenMigration = {
  async up(db: Kysely<any>, dialect) {
    // MariaDB: binary collation so names compare case-sensitively and FKs line up (see @alto/db).
    const table = (name: string) => {
      const t = db.schema.createTable(name);
      return dialect === 'mysql' ? t.modifyEnd(sql` DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_bin`) : t;
    };

    await table('project')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(64)', (c) => c.notNull())
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().references('project.id'))
      .addColumn('parent_id', 'varchar(64)', (c) => c.references('project.id'))
      .addColumn('is_domain', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('description', 'text')
      .addColumn('extra', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('project_domain_name_uq', ['domain_id', 'name'])
      .execute();
    await db.schema.createIndex('project_parent_ix').on('project').column('parent_id').execute();
    // The root every domain hangs from, so that domain_id can be a real foreign key.
    await db
      .insertInto('project')
      .values({ id: ROOT, name: ROOT, domain_id: ROOT, parent_id: null, is_domain: 1, enabled: 0, description: null, extra: '{}', created_at: 0 })
      .execute();

    await table('user')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().references('project.id'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('default_project_id', 'varchar(64)')
      .addColumn('extra', 'text', (c) => c.notNull())
      .addColumn('options', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_active_at', 'bigint')
      .addColumn('failed_auth_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failed_auth_at', 'bigint')
      .addUniqueConstraint('user_domain_name_uq', ['domain_id', 'name'])
      .execute();

    await table('password')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('user.id').onDelete('cascade'))
      .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('self_service', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex('password_user_ix').on('password').columns(['user_id', 'created_at']).execute();

    await table('role')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      // '<<null>>' for global roles (Keystone's NULL_DOMAIN_ID), so (name, domain_id) can be unique
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('extra', 'text', (c) => c.notNull())
      .addColumn('options', 'text', (c) => c.notNull())
      .addUniqueConstraint('role_name_domain_uq', ['name', 'domain_id'])
      .execute();

    await table('implied_role')
      .addColumn('prior_role_id', 'varchar(64)', (c) => c.notNull().references('role.id').onDelete('cascade'))
      .addColumn('implied_role_id', 'varchar(64)', (c) => c.notNull().references('role.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('implied_role_pk', ['prior_role_id', 'implied_role_id'])
      .execute();

    // type: UserProject, UserDomain, GroupProject, GroupDomain, UserSystem, GroupSystem
    await table('assignment')
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      .addColumn('actor_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('target_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('role.id').onDelete('cascade'))
      .addColumn('inherited', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('assignment_pk', ['type', 'actor_id', 'target_id', 'role_id', 'inherited'])
      .execute();
    await db.schema.createIndex('assignment_actor_ix').on('assignment').column('actor_id').execute();
    await db.schema.createIndex('assignment_target_ix').on('assignment').column('target_id').execute();

    await table('region')
      .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('description', 'varchar(255)', (c) => c.notNull())
      .addColumn('parent_region_id', 'varchar(255)', (c) => c.references('region.id'))
      .addColumn('extra', 'text', (c) => c.notNull())
      .execute();

    await table('service')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(255)', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('extra', 'text', (c) => c.notNull())
      .execute();

    await table('endpoint')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('interface', 'varchar(8)', (c) => c.notNull())
      .addColumn('service_id', 'varchar(64)', (c) => c.notNull().references('service.id'))
      .addColumn('region_id', 'varchar(255)', (c) => c.references('region.id'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('extra', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('endpoint_service_ix').on('endpoint').column('service_id').execute();

    await table('revocation_event')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('domain_id', 'varchar(64)')
      .addColumn('project_id', 'varchar(64)')
      .addColumn('user_id', 'varchar(64)')
      .addColumn('role_id', 'varchar(64)')
      .addColumn('trust_id', 'varchar(64)')
      .addColumn('consumer_id', 'varchar(64)')
      .addColumn('access_token_id', 'varchar(64)')
      .addColumn('issued_before', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('revoked_at', 'bigint', (c) => c.notNull())
      .addColumn('audit_id', 'varchar(32)')
      .addColumn('audit_chain_id', 'varchar(32)')
      .execute();
    await db.schema.createIndex('revocation_event_revoked_at_ix').on('revocation_event').column('revoked_at').execute();
  },
};
