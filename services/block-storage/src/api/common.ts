// What every block storage route shares: the project-in-URL routes, links, Cinder's list
// parameters (limit, marker, sort) and its timestamp format.
import Type from 'typebox';
import type { TObject } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import { inMicroversionRange, requestBaseUrl, type AnyRoute } from '@alto/http';
import { BadRequest, InvalidInput, MalformedRequestUrl } from '../domain/errors.js';
import type { SortSpec } from '../store/keyset.js';
import type { BlockStorageServices } from '../services.js';

export interface BlockStorageFrame {
  services: BlockStorageServices;
  /** osapi_max_limit: the largest page. */
  maxLimit: number;
  publicEndpoint?: string | undefined;
}

/** The wire query: fastify gives repeated keys as arrays. */
export type RawQuery = Record<string, string | string[] | undefined>;

/** The last value of a query key (repeated keys: the last wins, as webob's GET[] does). */
export const q1 = (query: RawQuery, key: string): string | undefined => {
  const v = query[key];
  return Array.isArray(v) ? v.at(-1) : v;
};

/**
 * Mounts each route twice, as Cinder does since 3.67: `/v3/{project_id}/<url>` (the project
 * must be the token's: else 400 "Malformed request url") and `/v3/<url>`.
 */
export function projectRoutes(routes: AnyRoute[]): AnyRoute[] {
  const out: AnyRoute[] = [];
  for (const r of routes) {
    const params = (r.params as TObject | undefined)?.properties ?? {};
    out.push({
      ...r,
      url: `/v3/:project_id${r.url}`,
      params: Type.Object({ ...params, project_id: Type.String() }),
      target: async (input, ctx) => {
        if ((input.params as { project_id: string }).project_id !== ctx.projectId) throw MalformedRequestUrl();
        return r.target ? r.target(input, ctx) : { project_id: ctx.projectId ?? null, user_id: ctx.userId ?? null };
      },
    });
    out.push({ ...r, url: `/v3${r.url}` });
  }
  return out;
}

/** The project a response's links name: the URL's, else the caller's. */
export function linkProject(req: FastifyRequest, ctx: RequestContext): string {
  return (req.params as { project_id?: string }).project_id ?? ctx.projectId ?? '';
}

export function baseUrl(frame: BlockStorageFrame, req: FastifyRequest): string {
  return (frame.publicEndpoint ?? requestBaseUrl(req)).replace(/\/+$/, '');
}

/** Cinder's self and bookmark links of a resource (`volumes`, `snapshots`, `backups` ...). */
export function resourceLinks(frame: BlockStorageFrame, req: FastifyRequest, ctx: RequestContext, collection: string, id: string) {
  const base = baseUrl(frame, req);
  const project = linkProject(req, ctx);
  return [
    { rel: 'self', href: `${base}/v3/${project}/${collection}/${id}` },
    { rel: 'bookmark', href: `${base}/${project}/${collection}/${id}` },
  ];
}

/** The `<collection>_links` next link: the request's own query with the last item as marker. */
export function nextLinks(frame: BlockStorageFrame, req: FastifyRequest, ctx: RequestContext, path: string, query: RawQuery, lastId: string) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (k === 'marker' || v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
  }
  params.append('marker', lastId);
  return [{ rel: 'next', href: `${baseUrl(frame, req)}/v3/${linkProject(req, ctx)}/${path}?${params.toString()}` }];
}

/** limit: a positive integer, capped at osapi_max_limit (Cinder's _get_limit_param). */
export function parseLimit(query: RawQuery, max: number): number {
  const raw = q1(query, 'limit');
  if (raw === undefined) return max;
  if (!/^-?\d+$/.test(raw.trim())) throw BadRequest('limit param must be an integer', 'volume.bad_limit');
  const n = Number(raw);
  if (n < 0) throw BadRequest('limit param must be positive', 'volume.bad_limit');
  return Math.min(n, max);
}

/**
 * sort=k1:dir,k2 or the legacy sort_key/sort_dir (Cinder's _get_sort_params); default
 * created_at desc. Keys are checked against `allowed` (mapped by `aliases`, e.g. name).
 */
export function parseSort(query: RawQuery, allowed: Set<string>, aliases: Record<string, string> = {}): SortSpec[] {
  const sort = q1(query, 'sort');
  const sortKey = q1(query, 'sort_key');
  const sortDir = q1(query, 'sort_dir');
  const specs: SortSpec[] = [];
  const dirOf = (d: string | undefined): 'asc' | 'desc' => {
    const v = (d ?? 'desc').trim().toLowerCase();
    if (v !== 'asc' && v !== 'desc') throw InvalidInput("Unknown sort direction, must be 'desc' or 'asc'");
    return v;
  };
  if (sort !== undefined) {
    if (sortKey !== undefined || sortDir !== undefined) throw InvalidInput("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.");
    for (const part of sort.split(',')) {
      const [k, d] = part.split(':');
      if (!k?.trim()) continue;
      specs.push({ key: k.trim(), dir: dirOf(d) });
    }
  } else if (sortKey !== undefined || sortDir !== undefined) {
    specs.push({ key: (sortKey ?? 'created_at').trim(), dir: dirOf(sortDir) });
  }
  if (!specs.length) return [{ key: 'created_at', dir: 'desc' }];
  return specs.map((s) => {
    const key = aliases[s.key] ?? s.key;
    if (!allowed.has(key)) throw InvalidInput('Invalid sort key');
    return { key, dir: s.dir };
  });
}

/** oslo's PERFECT_TIME_FORMAT, Cinder's wire format for times: 2026-11-21T10:00:00.000000. */
export function cinderTime(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  const d = new Date(Number(ms));
  return `${d.toISOString().slice(0, 19)}.${String(d.getUTCMilliseconds() * 1000).padStart(6, '0')}`;
}

export const atLeast = (req: FastifyRequest, v: string) => inMicroversionRange(req.microversion, { min: v });

/** Cinder's boolean query/body strings (oslo strutils.bool_from_string, strict). */
export function parseBool(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(s)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(s)) return false;
  throw InvalidInput(`Unrecognized value '${String(v)}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes' (${field})`);
}

/**
 * A dict filter's value (metadata, glance_metadata, extra_specs) as Cinder's ast.literal_eval
 * reads it: JSON or Python's single-quoted dict, its values as strings; undefined when it is not
 * a dict (each list says what that means for it).
 */
export function literalDict(raw: string): Record<string, string> | undefined {
  for (const text of [raw, raw.replace(/'/g, '"')]) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      continue;
    }
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)])) : undefined;
  }
  return undefined;
}

/** literalDict, where anything but a dict is refused (the volume and type lists). */
export function dictFilter(raw: string, key: string): Record<string, string> {
  const v = literalDict(raw);
  if (!v) throw InvalidInput(`Invalid ${key} filter: ${raw}`);
  return v;
}

/** A resource's filterable columns: the column of each query key, and which columns hold booleans (0/1) and numbers. */
export interface FilterColumns {
  columnOf: Record<string, string>;
  booleans: ReadonlySet<string>;
  numeric: ReadonlySet<string>;
}

/**
 * One column filter of a list, as Cinder's: `key~` is a LIKE from 3.34, a boolean column takes
 * Cinder's boolean strings, a number column matches nothing for what is not a whole number, and
 * a key the resource does not have matches nothing (COMPAT(cinder): an admin may filter on anything).
 */
export function columnFilter(q: { eq: object; like: object; none?: boolean }, req: FastifyRequest, key: string, raw: string, c: FilterColumns): void {
  const eq = q.eq as Record<string, unknown>;
  const like = q.like as Record<string, string>;
  const likeCol = key.endsWith('~') && atLeast(req, '3.34') ? c.columnOf[key.slice(0, -1)] : undefined;
  const col = c.columnOf[key];
  if (likeCol) like[likeCol] = raw;
  else if (!col) q.none = true;
  else if (c.booleans.has(col)) eq[col] = parseBool(raw, key) ? 1 : 0;
  else if (c.numeric.has(col)) {
    if (/^\d+$/.test(raw)) eq[col] = Number(raw);
    else q.none = true;
  } else eq[col] = raw;
}

/** One `POST /volumes/{id}/action` action (`{"os-extend": {...}}`), as several files contribute them. */
export interface VolumeActionSpec {
  /** The upstream policy name checked against the volume's target. */
  policy: string;
  /** Status on success (Cinder: 202 for most, 200 for some). */
  status?: number;
  /** The first microversion the action exists at. */
  minVersion?: string;
  handler: (input: { volumeId: string; body: unknown; req: FastifyRequest; reply: FastifyReply }, ctx: RequestContext) => Promise<unknown>;
}
