// Parses oslo.db/SQLAlchemy-style connection strings into what each driver needs.
import { resolve } from 'node:path';
import { ValidationError } from '@alto/kernel';

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

export type ConnectionTarget =
  | { dialect: 'sqlite'; path: string }
  | { dialect: 'postgres' | 'mysql'; host: string; port: number; user: string; password: string; database: string; params: Record<string, string> };

/**
 * Accepts the forms operators already write in keystone.conf:
 * `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite://` (memory),
 * `postgresql://` / `postgresql+psycopg2://`, `mysql://` / `mysql+pymysql://` / `mariadb://`.
 */
export function parseConnectionUrl(url: string): ConnectionTarget {
  const m = /^([a-z0-9]+)(?:\+[a-z0-9_]+)?:\/\/(.*)$/i.exec(url);
  if (!m) throw new ValidationError(`database connection "${redact(url)}" is not a URL like postgresql://user:pass@host/db`, 'db.bad_connection');
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (scheme === 'sqlite') {
    if (rest === '' || rest === '/' || rest === '/:memory:') return { dialect: 'sqlite', path: ':memory:' };
    if (!rest.startsWith('/')) throw new ValidationError('sqlite connection must look like sqlite:///relative/path.db or sqlite:////absolute/path.db', 'db.bad_connection');
    // SQLAlchemy: three slashes then the path, so a fourth slash makes it absolute.
    const p = rest.slice(1).split('?')[0]!;
    return { dialect: 'sqlite', path: resolve(p) };
  }
  const dialect: Dialect | undefined =
    scheme === 'postgresql' || scheme === 'postgres' ? 'postgres' : scheme === 'mysql' || scheme === 'mariadb' ? 'mysql' : undefined;
  if (!dialect) throw new ValidationError(`unknown database scheme "${scheme}"; use sqlite, postgresql or mysql`, 'db.bad_connection');
  const u = new URL(`${dialect}://${rest}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!u.hostname || !database) throw new ValidationError(`database connection "${redact(url)}" needs a host and a database name`, 'db.bad_connection');
  return {
    dialect,
    host: u.hostname,
    port: u.port ? Number(u.port) : dialect === 'postgres' ? 5432 : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database,
    params: Object.fromEntries(u.searchParams),
  };
}

/** The URL with its password replaced, for logs and errors. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
