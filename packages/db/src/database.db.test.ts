// The column conventions, error recognisers and migrator behave the same on every engine.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { testEngines, scratchDatabase, type ScratchDatabase } from './testing.js';
import type { Database } from './database.js';
import { migrateToLatest, migrationStatus, type FrozenMigration } from './migrator.js';
import { isForeignKeyViolation, isUniqueViolation } from './errors.js';

interface DB {
  parent: { id: string; name: string; enabled: number; created_at: number; extra: string };
  child: { id: string; parent_id: string };
}

const migrations: Record<string, FrozenMigration> = {
  '0001_initial': {
    async up(db: Kysely<any>, dialect) {
      let parent = db.schema
        .createTable('parent')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('extra', 'text', (c) => c.notNull());
      // MariaDB's default collation ignores case; binary makes names compare as on the others
      if (dialect === 'mysql') parent = parent.modifyEnd(sql` COLLATE utf8mb4_bin`);
      await parent.execute();
      let child = db.schema
        .createTable('child')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('parent_id', 'varchar(64)', (c) => c.notNull().references('parent.id'));
      if (dialect === 'mysql') child = child.modifyEnd(sql` COLLATE utf8mb4_bin`);
      await child.execute();
    },
  },
};

for (const engine of testEngines()) {
  describe(`database conventions on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let scratch: ScratchDatabase;
    let database: Database<DB>;
    before(async () => {
      scratch = await scratchDatabase(engine.dialect);
      database = scratch.open<DB>();
      assert.deepEqual(await migrateToLatest(database, migrations), ['0001_initial']);
    });
    after(async () => {
      await database?.close();
      await scratch?.drop();
    });

    test('migrations are applied once', async () => {
      assert.deepEqual(await migrateToLatest(database, migrations), []);
      assert.deepEqual(await migrationStatus(database, migrations), { applied: ['0001_initial'], pending: [] });
    });

    test('bigint milliseconds and integer booleans round-trip as numbers', async () => {
      const now = Date.UTC(2026, 10, 21, 6, 28, 0, 123);
      await database.db.insertInto('parent').values({ id: 'p1', name: 'one', enabled: 1, created_at: now, extra: '{"a":1}' }).execute();
      const row = await database.db.selectFrom('parent').selectAll().where('id', '=', 'p1').executeTakeFirstOrThrow();
      assert.equal(row.created_at, now);
      assert.equal(typeof row.created_at, 'number');
      assert.equal(row.enabled, 1);
      assert.deepEqual(JSON.parse(row.extra), { a: 1 });
    });

    test('names compare case-sensitively on every engine', async () => {
      await database.db.insertInto('parent').values({ id: 'p2', name: 'Case', enabled: 0, created_at: 0, extra: '{}' }).execute();
      await database.db.insertInto('parent').values({ id: 'p3', name: 'case', enabled: 0, created_at: 0, extra: '{}' }).execute();
      const rows = await database.db.selectFrom('parent').select('id').where('name', '=', 'case').execute();
      assert.deepEqual(rows.map((r) => r.id), ['p3']);
    });

    test('unique and foreign key violations are recognised', async () => {
      const dup = await database.db.insertInto('parent').values({ id: 'p1', name: 'dup', enabled: 1, created_at: 0, extra: '{}' }).execute().catch((e: unknown) => e);
      assert.ok(isUniqueViolation(dup), String(dup));
      assert.ok(!isForeignKeyViolation(dup));
      const orphan = await database.db.insertInto('child').values({ id: 'c1', parent_id: 'nope' }).execute().catch((e: unknown) => e);
      assert.ok(isForeignKeyViolation(orphan), String(orphan));
      await database.db.insertInto('child').values({ id: 'c2', parent_id: 'p1' }).execute();
      const inUse = await database.db.deleteFrom('parent').where('id', '=', 'p1').execute().catch((e: unknown) => e);
      assert.ok(isForeignKeyViolation(inUse), String(inUse));
    });

    test('a transaction that fails leaves nothing behind', async () => {
      await assert.rejects(
        database.db.transaction().execute(async (trx) => {
          await trx.insertInto('parent').values({ id: 'p9', name: 'nine', enabled: 1, created_at: 0, extra: '{}' }).execute();
          await trx.insertInto('child').values({ id: 'c9', parent_id: 'missing' }).execute();
        }),
      );
      const row = await database.db.selectFrom('parent').select('id').where('id', '=', 'p9').executeTakeFirst();
      assert.equal(row, undefined);
    });

    test('ping answers with a real query', async () => {
      const ms = await database.ping();
      assert.ok(ms >= 0);
    });
  });
}
