// Block storage schema, first version: services (heartbeats and capabilities), volume types with
// extra specs and access, volumes and snapshots with metadata, and per-project quota usage.
// Transitional work (creating, deleting, extending, snapshotting) is owned by a worker lease on the
// row, so a worker killed mid-way is found and its work redone (docs/block-storage.md).
// Frozen: never edit after release; change the schema with a new migration.
import { sql, type Kysely } from 'kysely';
import type { FrozenMigration } from '@alto/db';

export const migration0001: FrozenMigration = {
  async up(db: Kysely<any>, dialect) {
    const table = (name: string) => {
      const t = db.schema.createTable(name);
      return dialect === 'mysql' ? t.modifyEnd(sql` DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_bin`) : t;
    };

    // one row per running component (os-services): who, where, alive when
    await table('service')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('host', 'varchar(255)', (c) => c.notNull())
      .addColumn('binary', 'varchar(64)', (c) => c.notNull())
      .addColumn('topic', 'varchar(255)', (c) => c.notNull())
      .addColumn('availability_zone', 'varchar(255)', (c) => c.notNull())
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('disabled_reason', 'varchar(255)')
      .addColumn('frozen', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('capabilities', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('service_host_binary_uq', ['host', 'binary'])
      .execute();

    await table('volume_type')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('description', 'varchar(255)')
      .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('qos_specs_id', 'varchar(36)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', 'bigint')
      .execute();
    await db.schema.createIndex('volume_type_name_ix').on('volume_type').columns(['name', 'deleted']).execute();

    await table('volume_type_extra_spec')
      .addColumn('volume_type_id', 'varchar(36)', (c) => c.notNull().references('volume_type.id').onDelete('cascade'))
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('volume_type_extra_spec_pk', ['volume_type_id', 'key'])
      .execute();

    await table('volume_type_project')
      .addColumn('volume_type_id', 'varchar(36)', (c) => c.notNull().references('volume_type.id').onDelete('cascade'))
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('volume_type_project_pk', ['volume_type_id', 'project_id'])
      .execute();

    await table('volume')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)')
      .addColumn('description', 'varchar(255)')
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(255)', (c) => c.notNull())
      .addColumn('attach_status', 'varchar(255)', (c) => c.notNull())
      .addColumn('migration_status', 'varchar(255)')
      .addColumn('availability_zone', 'varchar(255)', (c) => c.notNull())
      .addColumn('volume_type_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('host', 'varchar(255)')
      .addColumn('bootable', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('multiattach', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('read_only', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('snapshot_id', 'varchar(36)')
      .addColumn('source_volid', 'varchar(36)')
      .addColumn('image_id', 'varchar(36)')
      .addColumn('encryption_key_id', 'varchar(36)')
      .addColumn('replication_status', 'varchar(255)')
      .addColumn('consistencygroup_id', 'varchar(36)')
      .addColumn('group_id', 'varchar(36)')
      .addColumn('provider_location', 'varchar(255)')
      // the size the worker must reach (extend); the volume's size changes only when it has
      .addColumn('target_size', 'integer')
      // which worker holds the transitional work, until when (ms) unless it renews
      .addColumn('task_owner', 'varchar(255)')
      .addColumn('task_lease_until', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .addColumn('launched_at', 'bigint')
      .addColumn('terminated_at', 'bigint')
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', 'bigint')
      .execute();
    await db.schema.createIndex('volume_project_ix').on('volume').columns(['project_id', 'deleted']).execute();
    await db.schema.createIndex('volume_created_ix').on('volume').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('volume_host_status_ix').on('volume').columns(['host', 'status']).execute();
    await db.schema.createIndex('volume_status_ix').on('volume').columns(['status']).execute();

    await table('volume_metadata')
      .addColumn('volume_id', 'varchar(36)', (c) => c.notNull().references('volume.id').onDelete('cascade'))
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('volume_metadata_pk', ['volume_id', 'key'])
      .execute();

    // image metadata copied from the image a volume was made from (volume_glance_metadata)
    await table('volume_image_metadata')
      .addColumn('volume_id', 'varchar(36)', (c) => c.notNull().references('volume.id').onDelete('cascade'))
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('volume_image_metadata_pk', ['volume_id', 'key'])
      .execute();

    await table('snapshot')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('volume_id', 'varchar(36)', (c) => c.notNull().references('volume.id'))
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)')
      .addColumn('description', 'varchar(255)')
      .addColumn('status', 'varchar(255)', (c) => c.notNull())
      .addColumn('progress', 'varchar(255)')
      .addColumn('volume_size', 'integer', (c) => c.notNull())
      .addColumn('volume_type_id', 'varchar(36)')
      .addColumn('group_snapshot_id', 'varchar(36)')
      .addColumn('provider_location', 'varchar(255)')
      .addColumn('task_owner', 'varchar(255)')
      .addColumn('task_lease_until', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', 'bigint')
      .execute();
    await db.schema.createIndex('snapshot_volume_ix').on('snapshot').columns(['volume_id', 'deleted']).execute();
    await db.schema.createIndex('snapshot_project_ix').on('snapshot').columns(['project_id', 'deleted']).execute();

    await table('snapshot_metadata')
      .addColumn('snapshot_id', 'varchar(36)', (c) => c.notNull().references('snapshot.id').onDelete('cascade'))
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('snapshot_metadata_pk', ['snapshot_id', 'key'])
      .execute();

    // what each project has in use and has reserved, per resource (volumes, gigabytes,
    // snapshots, volumes_<type>, ...); limits live in quota/quota_class (next migration)
    await table('quota_usage')
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('resource', 'varchar(255)', (c) => c.notNull())
      .addColumn('in_use', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('reserved', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('quota_usage_pk', ['project_id', 'resource'])
      .execute();
  },
};
