// Opens a Kysely database on SQLite (better-sqlite3, WAL), PostgreSQL (pg) or MariaDB/MySQL (mysql2).
//
// Column conventions that behave the same on all three engines (repositories rely on them):
// ids and names are varchar(n); booleans are integer 0/1; times are bigint epoch milliseconds
// (PostgreSQL's int8 is parsed to a number here); JSON blobs are text. On MariaDB/MySQL every
// table is created `DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_bin`: names then compare
// case-sensitively as on the other engines, and foreign keys (which need equal collations on
// both sides) can be declared.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { Pool as PgPool } from 'pg';
import { parseConnectionUrl, redact, type Dialect } from './connection-url.js';

export interface DatabaseOptions {
  connection: string;
  max_pool_size?: number;
  connection_recycle_time?: number;
  sqlite_synchronous?: 'full' | 'normal';
}

export interface Database<DB> {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  /** The connection URL without its password. */
  readonly description: string;
  /** Runs a real query; resolves to its round-trip time in ms. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

const PG_INT8 = 20;
const PG_NUMERIC = 1700;

export function openDatabase<DB>(opts: DatabaseOptions): Database<DB> {
  const target = parseConnectionUrl(opts.connection);
  let db: Kysely<DB>;
  // Drivers load on first use: a process on SQLite never pays for pg or mysql2, and back.
  if (target.dialect === 'sqlite') {
    const path = target.path;
    db = new Kysely<DB>({
      dialect: new SqliteDialect({
        database: async () => {
          const { default: SqliteDatabase } = await import('better-sqlite3');
          if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
          const raw = new SqliteDatabase(path);
          // WAL lets readers run beside the writer; FULL makes every commit durable across power
          // loss, NORMAL across a process crash (kill -9), which the embedded default must survive.
          raw.pragma('journal_mode = WAL');
          raw.pragma(`synchronous = ${(opts.sqlite_synchronous ?? 'full').toUpperCase()}`);
          raw.pragma('foreign_keys = ON');
          raw.pragma('busy_timeout = 5000');
          return raw;
        },
      }),
    });
  } else if (target.dialect === 'postgres') {
    const t = target;
    db = new Kysely<DB>({
      dialect: new PostgresDialect({
        pool: async (): Promise<PgPool> => {
          const { default: pg } = await import('pg');
          const pool = new pg.Pool({
            host: t.host,
            port: t.port,
            user: t.user,
            password: t.password,
            database: t.database,
            max: opts.max_pool_size ?? 5,
            idleTimeoutMillis: 30_000,
            maxLifetimeSeconds: opts.connection_recycle_time ?? 3600,
            application_name: 'altostratus',
            types: {
              getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
                // bigint columns hold epoch milliseconds and counters: well inside 2^53
                if (oid === PG_INT8 || oid === PG_NUMERIC) return (v: string) => Number(v);
                return pg.types.getTypeParser(oid, format ?? 'text') as (v: string) => unknown;
              }) as typeof pg.types.getTypeParser,
            },
          });
          // An idle connection the server drops (restart, failover, an administrator's or a test's
          // DROP DATABASE) emits 'error' on the pool; unheard, it would crash the process. pg has
          // already discarded that client and the next query connects anew.
          pool.on('error', () => undefined);
          return pool;
        },
      }),
    });
  } else {
    const t = target;
    db = new Kysely<DB>({
      dialect: new MysqlDialect({
        pool: async () => {
          const { createPool } = await import('mysql2');
          return createPool({
            host: t.host,
            port: t.port,
            user: t.user,
            password: t.password,
            database: t.database,
            connectionLimit: opts.max_pool_size ?? 5,
            charset: 'utf8mb4',
            supportBigNumbers: true,
            timezone: 'Z',
            maxIdle: opts.max_pool_size ?? 5,
            idleTimeout: 60_000,
          });
        },
      }),
    });
  }
  return {
    db,
    dialect: target.dialect,
    description: redact(opts.connection),
    async ping() {
      const t0 = performance.now();
      await sql`select 1`.execute(db);
      return performance.now() - t0;
    },
    async close() {
      await db.destroy();
    },
  };
}
