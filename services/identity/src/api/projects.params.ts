// Parameters shared by /v3/projects and /v3/domains: tags, and the tag and inexact name filters.
import Type from 'typebox';
import type { TagFilter } from '../domain/resource.service.js';
import { queryStr } from './common.js';

/** Keystone's tag rules (API-WG tags guideline): 1-255 characters, no '/' or ','. */
export const Tag = Type.String({ minLength: 1, maxLength: 255, pattern: '^[^,/]*$' });
export const Tags = Type.Array(Tag, { maxItems: 80, uniqueItems: true });

/** ?tags=a,b &tags-any= &not-tags= &not-tags-any=, as comma-separated lists. */
export function tagFilterOf(q: Record<string, unknown>): TagFilter | undefined {
  const list = (k: string) => {
    const v = queryStr(q[k]);
    return v === undefined ? undefined : v.split(',');
  };
  const f: TagFilter = {};
  const all = list('tags');
  const any = list('tags-any');
  const notAll = list('not-tags');
  const notAny = list('not-tags-any');
  if (all) f.all = all;
  if (any) f.any = any;
  if (notAll) f.notAll = notAll;
  if (notAny) f.notAny = notAny;
  return Object.keys(f).length ? f : undefined;
}

/** ?name__contains=x and its friends (Keystone's inexact filters; the i- forms ignore case). */
export function nameMatcherOf(q: Record<string, unknown>): ((name: string) => boolean) | undefined {
  const tests: ((name: string) => boolean)[] = [];
  for (const [key, raw] of Object.entries(q)) {
    const m = /^name__(i?)(contains|startswith|endswith)$/.exec(key);
    const value = queryStr(raw);
    if (!m || value === undefined) continue;
    const fold = m[1] === 'i' ? (s: string) => s.toLowerCase() : (s: string) => s;
    const v = fold(value);
    if (m[2] === 'contains') tests.push((n) => fold(n).includes(v));
    else if (m[2] === 'startswith') tests.push((n) => fold(n).startsWith(v));
    else tests.push((n) => fold(n).endsWith(v));
  }
  return tests.length ? (n) => tests.every((t) => t(n)) : undefined;
}
