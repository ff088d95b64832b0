// The database matrix for tests: one test body run on SQLite always, and on PostgreSQL and
// MariaDB when their servers are given (ALTO_TEST_POSTGRES_URL, ALTO_TEST_MYSQL_URL). CI sets
// ALTO_TEST_REQUIRE_ENGINES so that a missing server fails the run instead of skipping.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { openDatabase, type Database } from './database.js';
import type { Dialect } from './connection-url.js';

export interface TestEngine {
  dialect: Dialect;
  /** Set when the engine cannot run here; the test is skipped (or fails when required). */
  unavailable?: string;
}

const ENV: Record<Exclude<Dialect, 'sqlite'>, string> = { postgres: 'ALTO_TEST_POSTGRES_URL', mysql: 'ALTO_TEST_MYSQL_URL' };

export function testEngines(env: NodeJS.ProcessEnv = process.env): TestEngine[] {
  const required = new Set((env.ALTO_TEST_REQUIRE_ENGINES ?? '').split(',').filter(Boolean));
  return (['sqlite', 'postgres', 'mysql'] as const).map((dialect) => {
    if (dialect === 'sqlite' || env[ENV[dialect]]) return { dialect };
    const why = `${ENV[dialect]} is not set (scripts/test starts the server and sets it)`;
    if (required.has(dialect)) throw new Error(`database engine ${dialect} is required for this run but ${why}`);
    return { dialect, unavailable: why };
  });
}

export interface ScratchDatabase {
  connection: string;
  open<DB>(): Database<DB>;
  drop(): Promise<void>;
}

/** A new, empty database on the given engine; drop() removes it. */
export async function scratchDatabase(dialect: Dialect, env: NodeJS.ProcessEnv = process.env): Promise<ScratchDatabase> {
  const name = `alto_t_${randomBytes(5).toString('hex')}`;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'alto-db-'));
    const connection = `sqlite:///${join(dir, `${name}.db`)}`;
    return {
      connection,
      open: <DB>() => openDatabase<DB>({ connection, sqlite_synchronous: 'normal' }),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const adminUrl = env[ENV[dialect]];
  if (!adminUrl) throw new Error(`${ENV[dialect]} is not set`);
  const admin = openDatabase({ connection: adminUrl, max_pool_size: 1 });
  const quoted = dialect === 'postgres' ? `"${name}"` : `\`${name}\``;
  try {
    await sql.raw(`CREATE DATABASE ${quoted}`).execute(admin.db);
  } finally {
    await admin.close();
  }
  const u = new URL(adminUrl.replace(/^[a-z0-9+]+:/i, 'http:'));
  u.pathname = `/${name}`;
  const connection = adminUrl.replace(/^([a-z0-9+]+:).*$/i, '$1') + u.href.slice('http:'.length);
  return {
    connection,
    open: <DB>() => openDatabase<DB>({ connection }),
    drop: async () => {
      const a = openDatabase({ connection: adminUrl, max_pool_size: 1 });
      try {
        await sql.raw(dialect === 'postgres' ? `DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${quoted}`).execute(a.db);
      } finally {
        await a.close();
      }
    },
  };
}
