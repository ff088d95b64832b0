// Sorted keyset pages for Cinder's lists (sort keys + marker + limit), on every engine alike.
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';

export interface SortSpec {
  /** A column of the listed table. */
  key: string;
  dir: 'asc' | 'desc';
}

/** How a sort column treats NULL: as '' (text) or -1 (numbers), so pages line up on every engine. */
export type NullAs = Record<string, 'text' | 'number'>;

// The helpers take any table's expression builder; the columns were checked against the table's
// sortable keys before they get here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyEB = ExpressionBuilder<any, any>;

export function sortExpr(eb: AnyEB, key: string, nullAs: NullAs): Expression<unknown> {
  const kind = nullAs[key];
  if (kind === 'text') return eb.fn.coalesce(eb.ref(key), sql.lit(''));
  if (kind === 'number') return eb.fn.coalesce(eb.ref(key), sql.lit(-1));
  return eb.ref(key);
}

function markerValue(row: Record<string, unknown>, key: string, nullAs: NullAs): unknown {
  const v = row[key];
  if (v === null || v === undefined) return nullAs[key] === 'number' ? -1 : '';
  return typeof v === 'bigint' ? Number(v) : v;
}

/**
 * The sort with Cinder's default keys appended (process_sort_params): created_at, then id as the
 * tiebreaker, each unless already there, in the first key's direction.
 */
export function withTiebreak(sort: SortSpec[]): SortSpec[] {
  const dir = sort[0]?.dir ?? 'desc';
  const out = [...sort];
  for (const key of ['created_at', 'id']) if (!out.some((k) => k.key === key)) out.push({ key, dir });
  return out;
}

/** Rows strictly after `marker` in the order of `sort` (which must end with id: withTiebreak). */
export function afterMarker(eb: AnyEB, sort: SortSpec[], marker: Record<string, unknown>, nullAs: NullAs): Expression<SqlBool> {
  const ors: Expression<SqlBool>[] = [];
  for (let i = 0; i < sort.length; i++) {
    const ands: Expression<SqlBool>[] = [];
    for (let j = 0; j < i; j++) ands.push(eb(sortExpr(eb, sort[j]!.key, nullAs), '=', markerValue(marker, sort[j]!.key, nullAs)));
    ands.push(eb(sortExpr(eb, sort[i]!.key, nullAs), sort[i]!.dir === 'asc' ? '>' : '<', markerValue(marker, sort[i]!.key, nullAs)));
    ors.push(eb.and(ands));
  }
  return eb.or(ors);
}
