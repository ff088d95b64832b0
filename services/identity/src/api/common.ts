// Pieces every identity route uses: Keystone's parameter types, the caller, list filters, links.
import Type from 'typebox';
import type { Static, TSchema } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { requestBaseUrl } from '@alto/http';
import type { RequestContext } from '@alto/kernel';
import { initiatorFromContext, type Caller } from '../domain/deps.js';

/** Keystone's parameter_types: ids, names, descriptions, booleans, URLs. */
export const IdString = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9-]+$' });
export const Name64 = Type.String({ minLength: 1, maxLength: 64, pattern: '[\\S]+' });
export const Name255 = Type.String({ minLength: 1, maxLength: 255, pattern: '[\\S]+' });
export const Description = Type.String();
export const Bool = Type.Boolean();
/** jsonschema's `{"type": ["string", "null"]}`, so errors read as upstream's ("123 is not of type 'string', 'null'"). */
export function nullable<T extends TSchema>(t: T) {
  const type = (t as { type?: unknown }).type;
  if (typeof type === 'string') return Type.Unsafe<Static<T> | null>({ ...(t as object), type: [type, 'null'] });
  return Type.Union([t, Type.Null()]);
}
/** Path ids are opaque strings: anything that fits is looked up (and is then simply not found). */
export const PathId = Type.String({ minLength: 1 });
export const ImmutableOptions = Type.Object({ immutable: Type.Optional(nullable(Bool)) }, { additionalProperties: false });

export interface Frame {
  /** `[DEFAULT] public_endpoint`, when configured. */
  publicEndpoint?: string | undefined;
  /** `[DEFAULT] list_limit`: lists longer than this are cut and marked truncated. */
  listLimit?: number | undefined;
  /**
   * A policy check a handler makes itself, as Keystone's enforce_call() inside a resource
   * (per item of a list, or on the resource as a PATCH would leave it); throws as a route's
   * own check does. Absent where routes are only listed, never called.
   */
  enforce?: ((policy: string, target: Record<string, unknown>, ctx: RequestContext) => void) | undefined;
}

export function baseUrl(req: FastifyRequest, frame: Frame): string {
  return requestBaseUrl(req, frame.publicEndpoint);
}

export function callerOf(req: FastifyRequest, ctx: RequestContext = req.ctx): Caller {
  const agent = req.headers['user-agent'];
  return { ctx, initiator: initiatorFromContext(ctx, { address: req.ip, agent: typeof agent === 'string' ? agent : undefined }) };
}

/** Keystone's boolean filters: only 0, false and False are false; anything else given is true. */
export function queryBool(v: unknown): boolean | undefined {
  if (Array.isArray(v)) return queryBool(v[0]);
  if (v === undefined || v === null) return undefined;
  return !['0', 'false', 'False'].includes(typeof v === 'string' ? v : JSON.stringify(v));
}

/**
 * Keystone's attr_as_boolean for attribute filters (`?enabled=`, `?is_domain=`): oslo's
 * bool_from_string, where 0/f/false/off/n/no (any case) are false and anything else is true.
 */
export function attrAsBoolean(v: unknown): boolean | undefined {
  if (Array.isArray(v)) return attrAsBoolean(v[0]);
  if (v === undefined || v === null) return undefined;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return !['0', 'f', 'false', 'off', 'n', 'no'].includes(text.trim().toLowerCase());
}

/**
 * The list filters a request gave, renamed to the domain's names; filters not given are left out,
 * so a repository sees only what was asked. `enabled` and other booleans read as Keystone's attr_as_boolean.
 */
export function filtersOf<S extends string, B extends string = never>(
  query: unknown,
  strings: Record<string, S>,
  booleans: Record<string, B> = {},
): Partial<Record<S, string>> & Partial<Record<B, boolean>> {
  const q = (query ?? {}) as Record<string, unknown>;
  const out: Record<string, string | boolean> = {};
  for (const [param, name] of Object.entries(strings)) {
    const v = queryStr(q[param]);
    if (v !== undefined) out[name] = v;
  }
  for (const [param, name] of Object.entries(booleans)) {
    const v = attrAsBoolean(q[param]);
    if (v !== undefined) out[name] = v;
  }
  return out as Partial<Record<S, string>> & Partial<Record<B, boolean>>;
}

/** `?name=x` as a string, ignoring repeated parameters' extras. */
export function queryStr(v: unknown): string | undefined {
  if (Array.isArray(v)) return queryStr(v[0]);
  return typeof v === 'string' ? v : undefined;
}

/** The collection wrapper: `{"<key>": [...], "links": {self, previous, next}}`, truncated when over list_limit. */
export function collection<T>(key: string, items: T[], req: FastifyRequest, frame: Frame): Record<string, unknown> {
  const self = `${baseUrl(req, frame)}${req.url.split('?')[0]}`;
  const query = req.url.includes('?') ? `?${req.url.split('?')[1]}` : '';
  const out: Record<string, unknown> = { links: { self: self + query, previous: null, next: null } };
  if (frame.listLimit !== undefined && items.length > frame.listLimit) {
    out[key] = items.slice(0, frame.listLimit);
    out.truncated = true;
  } else {
    out[key] = items;
  }
  return out;
}

/** Keystone's policy credentials carry the token as rendered: `token.project.domain.id` and friends. */
export function tokenCredentials(ctx: RequestContext): Record<string, unknown> {
  return {
    token: {
      user: { id: ctx.userId, domain: { id: ctx.userDomainId, name: ctx.userDomainName } },
      ...(ctx.projectId ? { project: { id: ctx.projectId, name: ctx.projectName, domain: { id: ctx.projectDomainId, name: ctx.projectDomainName } } } : {}),
      ...(ctx.domainId ? { domain: { id: ctx.domainId, name: ctx.domainName } } : {}),
      ...(ctx.systemScope ? { system: { all: true } } : {}),
      roles: ctx.roles.map((name) => ({ name })),
      methods: ctx.authMethods ?? [],
    },
  };
}
