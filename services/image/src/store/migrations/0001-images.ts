// Image schema, first version: images with properties, tags, members and locations; import tasks.
// Frozen: never edit after release; change the schema with a new migration.
import { sql, type Kysely } from 'kysely';
import type { FrozenMigration } from '@alto/db';

export const migration0001: FrozenMigration = {
  async up(db: Kysely<any>, dialect) {
    // MariaDB: binary collation so names compare case-sensitively, as on the other engines.
    const table = (name: string) => {
      const t = db.schema.createTable(name);
      return dialect === 'mysql' ? t.modifyEnd(sql` DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_bin`) : t;
    };

    await table('image')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)')
      .addColumn('status', 'varchar(30)', (c) => c.notNull())
      .addColumn('visibility', 'varchar(20)', (c) => c.notNull())
      .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('os_hidden', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('owner', 'varchar(255)')
      .addColumn('size', 'bigint')
      .addColumn('virtual_size', 'bigint')
      .addColumn('checksum', 'varchar(32)')
      .addColumn('os_hash_algo', 'varchar(64)')
      .addColumn('os_hash_value', 'varchar(128)')
      .addColumn('disk_format', 'varchar(20)')
      .addColumn('container_format', 'varchar(20)')
      .addColumn('min_disk', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('min_ram', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', 'bigint')
      .addColumn('upload_id', 'varchar(64)')
      .addColumn('upload_owner', 'varchar(255)')
      .addColumn('upload_lease_until', 'bigint')
      .addColumn('staging_location', 'text')
      .addColumn('staging_size', 'bigint')
      .execute();
    await db.schema.createIndex('image_owner_ix').on('image').columns(['owner', 'deleted']).execute();
    await db.schema.createIndex('image_visibility_ix').on('image').columns(['visibility', 'deleted']).execute();
    await db.schema.createIndex('image_created_ix').on('image').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('image_updated_ix').on('image').columns(['updated_at']).execute();
    await db.schema.createIndex('image_status_ix').on('image').columns(['status']).execute();

    await table('image_property')
      .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('image.id').onDelete('cascade'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('image_property_pk', ['image_id', 'name'])
      .execute();
    await db.schema.createIndex('image_property_name_ix').on('image_property').columns(['name']).execute();

    await table('image_tag')
      .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('image.id').onDelete('cascade'))
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('image_tag_pk', ['image_id', 'value'])
      .execute();
    await db.schema.createIndex('image_tag_value_ix').on('image_tag').columns(['value']).execute();

    await table('image_member')
      .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('image.id').onDelete('cascade'))
      .addColumn('member', 'varchar(255)', (c) => c.notNull())
      .addColumn('status', 'varchar(20)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('image_member_pk', ['image_id', 'member'])
      .execute();
    await db.schema.createIndex('image_member_member_ix').on('image_member').columns(['member', 'status']).execute();

    await table('image_location')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('image.id').onDelete('cascade'))
      .addColumn('store', 'varchar(255)', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(30)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('image_location_image_ix').on('image_location').columns(['image_id']).execute();
    await db.schema.createIndex('image_location_status_ix').on('image_location').columns(['status']).execute();

    await table('task')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(30)', (c) => c.notNull())
      .addColumn('status', 'varchar(30)', (c) => c.notNull())
      .addColumn('owner', 'varchar(255)', (c) => c.notNull())
      .addColumn('image_id', 'varchar(36)')
      .addColumn('user_id', 'varchar(255)')
      .addColumn('request_id', 'varchar(255)')
      .addColumn('input', 'text', (c) => c.notNull())
      .addColumn('result', 'text')
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .execute();
    await db.schema.createIndex('task_image_ix').on('task').columns(['image_id']).execute();
  },
};
