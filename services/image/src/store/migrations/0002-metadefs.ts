// Metadata definitions (Glance's metadefs): namespaces with their objects, properties, tags and
// resource type associations, and the resource types glance-manage load_metadefs would seed.
// Frozen: never edit after release; change the schema with a new migration.
import { sql, type Kysely } from 'kysely';
import type { FrozenMigration } from '@alto/db';

/**
 * The resource types Glance's packaged metadefs associate, in the order load_metadefs first
 * meets them (what GET /v2/metadefs/resource_types lists on a DevStack or packaged install).
 */
const SEEDED_RESOURCE_TYPES = ['OS::Glance::Image', 'OS::Cinder::Volume', 'OS::Nova::Server', 'OS::Nova::Aggregate', 'OS::Nova::Flavor', 'OS::Trove::Instance'];

export const migration0002: FrozenMigration = {
  async up(db: Kysely<any>, dialect) {
    // MariaDB: binary collation so names compare case-sensitively, as on the other engines.
    const table = (name: string) => {
      const t = db.schema.createTable(name);
      return dialect === 'mysql' ? t.modifyEnd(sql` DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_bin`) : t;
    };
    // Integer keys that grow with each insert: Glance sorts lists by (created_at, id) and lists
    // resource type associations in insertion order.
    const serialId = <T extends { addColumn: (...a: any[]) => T }>(t: T): T =>
      dialect === 'postgres' ? t.addColumn('id', 'serial', (c: any) => c.primaryKey()) : t.addColumn('id', 'integer', (c: any) => c.primaryKey().autoIncrement());

    await serialId(table('metadef_namespace'))
      .addColumn('namespace', 'varchar(80)', (c) => c.notNull().unique())
      .addColumn('display_name', 'varchar(80)')
      .addColumn('description', 'text')
      .addColumn('visibility', 'varchar(32)', (c) => c.notNull())
      .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('owner', 'varchar(255)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .execute();
    await db.schema.createIndex('metadef_namespace_owner_ix').on('metadef_namespace').columns(['owner']).execute();
    await db.schema.createIndex('metadef_namespace_created_ix').on('metadef_namespace').columns(['created_at', 'id']).execute();

    // Names are 255 wide: Glance's schemas cap most at 80, but not the objects a namespace body
    // carries inline, which its SQLite database then stores whole.
    await serialId(table('metadef_object'))
      .addColumn('namespace_id', 'integer', (c) => c.notNull().references('metadef_namespace.id').onDelete('cascade'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('required', 'text')
      .addColumn('json_schema', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .addUniqueConstraint('metadef_object_namespace_name_uq', ['namespace_id', 'name'])
      .execute();

    await serialId(table('metadef_property'))
      .addColumn('namespace_id', 'integer', (c) => c.notNull().references('metadef_namespace.id').onDelete('cascade'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('json_schema', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .addUniqueConstraint('metadef_property_namespace_name_uq', ['namespace_id', 'name'])
      .execute();

    await serialId(table('metadef_tag'))
      .addColumn('namespace_id', 'integer', (c) => c.notNull().references('metadef_namespace.id').onDelete('cascade'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .addUniqueConstraint('metadef_tag_namespace_name_uq', ['namespace_id', 'name'])
      .execute();
    await db.schema.createIndex('metadef_tag_created_ix').on('metadef_tag').columns(['namespace_id', 'created_at', 'id']).execute();

    await serialId(table('metadef_resource_type'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .execute();

    await serialId(table('metadef_namespace_resource_type'))
      .addColumn('resource_type_id', 'integer', (c) => c.notNull().references('metadef_resource_type.id'))
      .addColumn('namespace_id', 'integer', (c) => c.notNull().references('metadef_namespace.id').onDelete('cascade'))
      .addColumn('properties_target', 'varchar(80)')
      .addColumn('prefix', 'varchar(80)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint')
      .addUniqueConstraint('metadef_ns_rt_uq', ['namespace_id', 'resource_type_id'])
      .execute();
    await db.schema.createIndex('metadef_ns_rt_type_ix').on('metadef_namespace_resource_type').columns(['resource_type_id']).execute();

    // load_metadefs inserts these as protected system types, without updated_at
    const now = Date.now();
    await db
      .insertInto('metadef_resource_type')
      .values(SEEDED_RESOURCE_TYPES.map((name) => ({ name, protected: 1, created_at: now, updated_at: null })))
      .execute();
  },
};
