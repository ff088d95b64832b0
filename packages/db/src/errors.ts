// Recognises driver errors across SQLite, PostgreSQL and MariaDB so services can translate them.
interface DriverError {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
}

function fields(err: unknown): DriverError {
  return typeof err === 'object' && err !== null ? (err) : {};
}

/** A UNIQUE or PRIMARY KEY constraint was violated (the row already exists). */
export function isUniqueViolation(err: unknown): boolean {
  const e = fields(err);
  return (
    e.code === '23505' || // postgres unique_violation
    e.errno === 1062 || // mysql ER_DUP_ENTRY
    e.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** A FOREIGN KEY constraint was violated (missing parent, or a child still refers to the row). */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = fields(err);
  return e.code === '23503' || e.errno === 1451 || e.errno === 1452 || e.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/**
 * A transaction lost a race and can be retried as a whole: deadlocks, serialization failures,
 * Galera certification conflicts (reported as deadlocks), SQLite busy.
 */
export function isRetryable(err: unknown): boolean {
  const e = fields(err);
  return (
    e.code === '40001' || // serialization_failure
    e.code === '40P01' || // deadlock_detected
    e.errno === 1213 || // ER_LOCK_DEADLOCK (also Galera's wsrep conflict)
    e.errno === 1205 || // ER_LOCK_WAIT_TIMEOUT
    e.code === 'SQLITE_BUSY'
  );
}

/** Runs fn, retrying it when the database says the transaction can be retried. */
export async function withRetry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryable(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 * 2 ** i + Math.random() * 10));
    }
  }
}
