// Row <-> model conversions shared by the repositories.
import type { Kysely } from 'kysely';
import type { IdentityDB } from './schema.js';

/** A database handle or a transaction; repositories accept either. */
export type Db = Kysely<IdentityDB>;

export const bool = (v: number | boolean): boolean => v === 1 || v === true;
export const int = (v: boolean): number => (v ? 1 : 0);

export function parseJson<T extends object>(text: string | null | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
