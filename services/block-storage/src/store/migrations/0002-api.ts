// Block storage schema, second version: what the Cinder v3 API needs beyond volumes and
// snapshots: quota limits per project and per class, QoS specs, attachments, backups, volume
// transfers, user messages and per-project default types; and the `__DEFAULT__` volume type
// every Cinder has. Frozen: never edit after release; change the schema with a new migration.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { FrozenMigration } from '@alto/db';

export const migration0002: FrozenMigration = {
  async up(db: Kysely<any>, dialect) {
    const table = (name: string) => {
      const t = db.schema.createTable(name);
      return dialect === 'mysql' ? t.modifyEnd(sql` DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_bin`) : t;
    };

    // the status a volume returns to when an action that borrowed it ends (backup, upload, detach)
    await db.schema.alterTable('volume').addColumn('previous_status', 'varchar(255)').execute();
    // Cinder's use_quota (3.65 consumes_quota): false for temporary volumes (migrations)
    await db.schema.alterTable('volume').addColumn('use_quota', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    // what a transitional status needs besides the row (JSON): the image of an upload, the new
    // type of a retype, the backup of a restore; read by the worker that converges it
    await db.schema.alterTable('volume').addColumn('task_args', 'text').execute();
    await db.schema.alterTable('snapshot').addColumn('use_quota', 'integer', (c) => c.notNull().defaultTo(1)).execute();

    // hard limits set for one project (os-quota-sets PUT)
    await table('quota')
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('resource', 'varchar(255)', (c) => c.notNull())
      .addColumn('hard_limit', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('quota_pk', ['project_id', 'resource'])
      .execute();

    // hard limits of a quota class (`default` applies to every project without its own)
    await table('quota_class')
      .addColumn('class_name', 'varchar(255)', (c) => c.notNull())
      .addColumn('resource', 'varchar(255)', (c) => c.notNull())
      .addColumn('hard_limit', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('quota_class_pk', ['class_name', 'resource'])
      .execute();

    await table('qos_specs')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('consumer', 'varchar(255)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', 'bigint')
      .execute();
    await table('qos_spec_kv')
      .addColumn('qos_specs_id', 'varchar(36)', (c) => c.notNull().references('qos_specs.id').onDelete('cascade'))
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('qos_spec_kv_pk', ['qos_specs_id', 'key'])
      .execute();

    // one attachment of a volume to an instance/host (attachments API and the legacy actions)
    await table('volume_attachment')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('volume_id', 'varchar(36)', (c) => c.notNull().references('volume.id'))
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('instance_uuid', 'varchar(36)')
      .addColumn('attached_host', 'varchar(255)')
      .addColumn('mountpoint', 'varchar(255)')
      .addColumn('attach_status', 'varchar(255)', (c) => c.notNull())
      .addColumn('attach_mode', 'varchar(36)')
      .addColumn('connector', 'text')
      .addColumn('connection_info', 'text')
      .addColumn('attach_time', 'bigint')
      .addColumn('detach_time', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', 'bigint')
      .execute();
    await db.schema.createIndex('volume_attachment_volume_ix').on('volume_attachment').columns(['volume_id', 'deleted']).execute();

    await table('backup')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('volume_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('snapshot_id', 'varchar(36)')
      .addColumn('name', 'varchar(255)')
      .addColumn('description', 'varchar(255)')
      .addColumn('status', 'varchar(255)', (c) => c.notNull())
      .addColumn('fail_reason', 'varchar(255)')
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('object_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('container', 'varchar(255)')
      .addColumn('availability_zone', 'varchar(255)')
      .addColumn('host', 'varchar(255)')
      .addColumn('service', 'varchar(255)')
      .addColumn('is_incremental', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('parent_id', 'varchar(36)')
      .addColumn('data_timestamp', 'bigint')
      .addColumn('restore_volume_id', 'varchar(36)')
      .addColumn('encryption_key_id', 'varchar(36)')
      .addColumn('task_owner', 'varchar(255)')
      .addColumn('task_lease_until', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', 'bigint')
      .execute();
    await db.schema.createIndex('backup_project_ix').on('backup').columns(['project_id', 'deleted']).execute();
    await db.schema.createIndex('backup_status_ix').on('backup').columns(['status']).execute();
    await table('backup_metadata')
      .addColumn('backup_id', 'varchar(36)', (c) => c.notNull().references('backup.id').onDelete('cascade'))
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('backup_metadata_pk', ['backup_id', 'key'])
      .execute();

    // a pending hand-over of a volume to another project; the auth key is kept only as a salted hash
    await table('transfer')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('volume_id', 'varchar(36)', (c) => c.notNull().references('volume.id'))
      .addColumn('source_project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('destination_project_id', 'varchar(255)')
      .addColumn('display_name', 'varchar(255)')
      .addColumn('salt', 'varchar(255)', (c) => c.notNull())
      .addColumn('crypt_hash', 'varchar(255)', (c) => c.notNull())
      .addColumn('no_snapshots', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('accepted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', 'bigint')
      .execute();
    await db.schema.createIndex('transfer_volume_ix').on('transfer').columns(['volume_id', 'deleted']).execute();

    // user messages (/v3/messages): why an asynchronous request failed
    await table('message')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('request_id', 'varchar(255)')
      .addColumn('resource_type', 'varchar(255)')
      .addColumn('resource_uuid', 'varchar(36)')
      .addColumn('event_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('message_level', 'varchar(255)', (c) => c.notNull())
      .addColumn('detail_id', 'varchar(10)')
      .addColumn('action_id', 'varchar(10)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', 'bigint')
      .execute();
    await db.schema.createIndex('message_project_ix').on('message').columns(['project_id', 'deleted']).execute();

    // per-project default volume type (3.62)
    await table('default_volume_type')
      .addColumn('project_id', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('volume_type_id', 'varchar(36)', (c) => c.notNull().references('volume_type.id'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .execute();

    // Cinder always has `__DEFAULT__` (its migration 145 creates it)
    const now = Date.now();
    const existing = await db.selectFrom('volume_type').select('id').where('name', '=', '__DEFAULT__').where('deleted', '=', 0).executeTakeFirst();
    if (!existing) {
      await db
        .insertInto('volume_type')
        .values({ id: randomUUID(), name: '__DEFAULT__', description: 'Default Volume Type', is_public: 1, qos_specs_id: null, created_at: now, updated_at: null, deleted: 0, deleted_at: null })
        .execute();
    }
  },
};
