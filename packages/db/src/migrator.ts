// Runs a service's frozen migrations (alto db sync); migrations see only Kysely<any> and the dialect.
import type { Kysely } from 'kysely';
import { Migrator, type Migration } from 'kysely/migration';
import type { Dialect } from './connection-url.js';
import type { Database } from './database.js';

/**
 * A migration frozen in time: it must not import application code, so that what it does never
 * changes after it ships. The dialect lets it emit engine-specific DDL where engines differ.
 */
export interface FrozenMigration {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

const TABLE = 'alto_migration';
const LOCK_TABLE = 'alto_migration_lock';

function migrator<DB>(database: Database<DB>, migrations: Record<string, FrozenMigration>): Migrator {
  const wrapped: Record<string, Migration> = {};
  for (const [name, m] of Object.entries(migrations)) wrapped[name] = { up: (db) => m.up(db, database.dialect) };
  return new Migrator({
    db: database.db,
    provider: { getMigrations: async () => wrapped },
    migrationTableName: TABLE,
    migrationLockTableName: LOCK_TABLE,
  });
}

export async function migrationStatus<DB>(database: Database<DB>, migrations: Record<string, FrozenMigration>): Promise<MigrationStatus> {
  const infos = await migrator(database, migrations).getMigrations();
  return {
    applied: infos.filter((i) => i.executedAt).map((i) => i.name),
    pending: infos.filter((i) => !i.executedAt).map((i) => i.name),
  };
}

/**
 * Applies pending migrations in name order, under the migrator's lock so that two db-sync Jobs
 * never race. Returns the names applied.
 */
export async function migrateToLatest<DB>(database: Database<DB>, migrations: Record<string, FrozenMigration>): Promise<string[]> {
  const { error, results } = await migrator(database, migrations).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? '(setup)'} failed on ${database.description}: ${error instanceof Error ? error.message : JSON.stringify(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
