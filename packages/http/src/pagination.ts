// marker/limit pagination and the `links` every upstream list answer carries.
import { ValidationError } from '@alto/kernel';

export interface Page {
  limit: number;
  marker: string | undefined;
}

/** Reads ?limit and ?marker; limit is clamped to maxLimit as upstream's osapi_max_limit does. */
export function readPage(query: { limit?: unknown; marker?: unknown }, maxLimit: number): Page {
  let limit = maxLimit;
  if (query.limit !== undefined && query.limit !== '') {
    const n = Number(query.limit);
    if (!Number.isInteger(n) || n < 0) throw new ValidationError('limit must be a non-negative integer', 'http.bad_limit');
    limit = Math.min(n, maxLimit);
  }
  const marker = typeof query.marker === 'string' && query.marker !== '' ? query.marker : undefined;
  return { limit, marker };
}

/** The URL of the next page: same path and query, marker replaced by the last item's id. */
export function nextPageUrl(baseUrl: string, pathAndQuery: string, lastId: string): string {
  const u = new URL(pathAndQuery, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  u.searchParams.set('marker', lastId);
  return u.toString();
}

/** `links: [{rel: "next", href}]` when a full page was returned. */
export function pageLinks(baseUrl: string, pathAndQuery: string, items: { id: string }[], limit: number): { rel: string; href: string }[] {
  const last = items[items.length - 1];
  if (!last || items.length < limit) return [];
  return [{ rel: 'next', href: nextPageUrl(baseUrl, pathAndQuery, last.id) }];
}
