// /v3/users and /v3/users/{id}/projects.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import { BadRequest } from '../domain/errors.js';
import { Bool, Description, IdString, Name255, PathId, baseUrl, callerOf, collection, nullable, queryStr, filtersOf, tokenCredentials, type Frame } from './common.js';
import { projectView, userView } from './views.js';
import { extraOf } from './domains.js';
import type { User } from '../domain/models.js';
import type { Comparison, TextMatch, UserListFilter } from '../domain/users.service.js';

/** Keystone's user resource options; unknown options are refused. */
const UserOptions = Type.Object(
  {
    ignore_change_password_upon_first_use: Type.Optional(nullable(Bool)),
    ignore_password_expiry: Type.Optional(nullable(Bool)),
    ignore_lockout_failure_attempts: Type.Optional(nullable(Bool)),
    lock_password: Type.Optional(nullable(Bool)),
    ignore_user_inactivity: Type.Optional(nullable(Bool)),
    // lists of distinct method names, none empty, no rule twice (Keystone's MFA_RULES_OPT schema)
    multi_factor_auth_rules: Type.Optional(nullable(Type.Array(Type.Array(Type.String(), { minItems: 1, uniqueItems: true }), { uniqueItems: true }))),
    multi_factor_auth_enabled: Type.Optional(nullable(Bool)),
  },
  { additionalProperties: false },
);
const UserProps = {
  default_project_id: Type.Optional(nullable(IdString)),
  description: Type.Optional(nullable(Description)),
  domain_id: Type.Optional(IdString),
  enabled: Type.Optional(Bool),
  name: Type.Optional(Name255),
  password: Type.Optional(nullable(Type.String())),
  options: Type.Optional(UserOptions),
};
const UserCreate = Type.Object(UserProps, { required: ['name'], additionalProperties: true });
const UserUpdate = Type.Object(UserProps, { minProperties: 1, additionalProperties: true });
const Params = Type.Object({ user_id: PathId });
/** Keystone's password_change schema. */
const PasswordChange = Type.Object(
  { original_password: Type.String(), password: Type.String() },
  { required: ['original_password', 'password'], additionalProperties: false },
);

const OPERATORS = new Set<Comparison>(['lt', 'lte', 'gt', 'gte', 'eq', 'neq']);
const TEXT_MATCHES = new Set<TextMatch>(['contains', 'startswith', 'endswith']);

const allValues = (v: unknown): string[] => (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');

/**
 * `?password_expires_at=lt:2026-11-21T07:00:00Z` (the operator is optional and means eq), read as
 * Keystone reads it: an unknown operator or a time it cannot parse is a 400.
 */
export function parsePasswordExpiresAt(raw: string): { op: Comparison; atMs: number } {
  const [op, ts] = raw.slice(2, 4).includes(':') ? [raw.slice(0, raw.indexOf(':')), raw.slice(raw.indexOf(':') + 1)] : ['eq', raw];
  const atMs = parseIsoTime(ts);
  if (atMs === undefined) throw BadRequest('Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.', 'identity.bad_timestamp');
  if (!OPERATORS.has(op as Comparison)) throw BadRequest(`The given operator ${op} is not valid. It must be one of the following: 'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'.`, 'identity.bad_operator');
  return { op: op as Comparison, atMs };
}

/** ISO 8601 as oslo's parse_isotime takes it; a time without a zone is UTC. */
function parseIsoTime(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), Number((frac + '000').slice(0, 3)));
  if (Number.isNaN(ms) || new Date(ms).getUTCDate() !== Number(d)) return undefined;
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    ms -= (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3])) * 60_000;
  }
  return ms;
}

/** The user list's filters beyond the exact ones: expiry comparisons, name__[i]contains and friends, federation. */
export function userListFilters(q: Record<string, unknown>): Pick<UserListFilter, 'passwordExpiresAt' | 'nameMatches' | 'federatedOnly'> {
  const out: Pick<UserListFilter, 'passwordExpiresAt' | 'nameMatches' | 'federatedOnly'> = {};
  const expiry = allValues(q.password_expires_at);
  if (expiry.length) out.passwordExpiresAt = expiry.map(parsePasswordExpiresAt);
  const matches: NonNullable<UserListFilter['nameMatches']> = [];
  for (const [key, v] of Object.entries(q)) {
    if (!key.startsWith('name__')) continue;
    const comparator = key.slice('name__'.length);
    const caseSensitive = !comparator.startsWith('i');
    const op = (caseSensitive ? comparator : comparator.slice(1)) as TextMatch;
    if (!TEXT_MATCHES.has(op)) continue;
    for (const value of allValues(v)) matches.push({ op, value, caseSensitive });
  }
  if (matches.length) out.nameMatches = matches;
  // COMPAT(keystone): these select federated users only; without federation there are none
  if (['idp_id', 'protocol_id', 'unique_id'].some((k) => q[k] !== undefined)) out.federatedOnly = true;
  return out;
}
const KNOWN = new Set(['id', 'name', 'domain_id', 'enabled', 'password', 'default_project_id', 'options', 'links', 'password_expires_at', 'federated']);

/** What policy sees of a user (Keystone's internal dict, without secrets). */
export function wireUser(u: User) {
  return { id: u.id, name: u.name, domain_id: u.domainId, enabled: u.enabled, default_project_id: u.defaultProjectId };
}

export function userRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  const target = async (id: string) => {
    const u = await s.users.getUserOrThrow(id).catch(() => undefined);
    return u ? { user: wireUser(u) } : {};
  };
  return [
    defineRoute({
      method: 'GET',
      url: '/v3/users',
      policy: 'identity:list_users',
      credentials: tokenCredentials,
      target: (_i, ctx) => (ctx.domainId ? { domain_id: ctx.domainId } : {}),
      errors: [],
      handler: async ({ req, query }, ctx) => {
        const q = query as Record<string, unknown>;
        const domainId = queryStr(q.domain_id) ?? ctx.domainId;
        let users = await s.users.listUsers({
          ...(domainId !== undefined ? { domainId } : {}),
          ...filtersOf(q, { name: 'name' }, { enabled: 'enabled' }),
          ...userListFilters(q),
        });
        if (ctx.domainId) users = users.filter((u) => u.domainId === ctx.domainId);
        const base = baseUrl(req, frame);
        return collection('users', users.map((u) => userView(u, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/users',
      policy: 'identity:create_user',
      credentials: tokenCredentials,
      target: ({ body }) => {
        const { password: _pw, ...rest } = ((body as { user?: Record<string, unknown> } | undefined)?.user ?? {});
        return { user: rest };
      },
      body: UserCreate,
      bodyKey: 'user',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [400, 404, 409],
      handler: async ({ body, req }) => {
        const u = body as Record<string, unknown>;
        const created = await s.users.createUser(
          {
            name: u.name as string,
            domainId: u.domain_id as string | undefined,
            password: u.password as string | null | undefined,
            enabled: (u.enabled as boolean | undefined) ?? true,
            defaultProjectId: u.default_project_id as string | null | undefined,
            options: (u.options as Record<string, unknown> | undefined) ?? {},
            extra: extraOf(u, KNOWN),
          },
          callerOf(req),
        );
        return { user: userView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id',
      params: Params,
      policy: 'identity:get_user',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.user_id),
      errors: [404],
      handler: async ({ params, req }) => ({ user: userView(await s.users.getUserOrThrow(params.user_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/users/:user_id',
      params: Params,
      policy: 'identity:update_user',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.user_id),
      body: UserUpdate,
      bodyKey: 'user',
      bodyKeyMissing: 'null',
      errors: [400, 404, 409],
      handler: async ({ params, body, req }) => {
        const u = body as Record<string, unknown>;
        if (u.domain_id !== undefined && u.domain_id !== (await s.users.getUserOrThrow(params.user_id)).domainId) throw BadRequest('Cannot change Domain ID', 'identity.immutable_domain_id');
        const updated = await s.users.updateUser(
          params.user_id,
          {
            ...(u.name !== undefined ? { name: u.name as string } : {}),
            ...(u.enabled !== undefined ? { enabled: u.enabled as boolean } : {}),
            ...(u.password !== undefined ? { password: u.password as string | null } : {}),
            ...(u.default_project_id !== undefined ? { defaultProjectId: u.default_project_id as string | null } : {}),
            ...(u.options !== undefined ? { options: u.options as Record<string, unknown> } : {}),
            extra: extraOf(u, KNOWN),
          },
          callerOf(req),
        );
        // COMPAT(keystone): PATCH answers carry a copy of the extra attributes; GET does not
        return { user: { ...userView(updated, baseUrl(req, frame)), extra: updated.extra } };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/users/:user_id',
      params: Params,
      policy: 'identity:delete_user',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.user_id),
      status: 204,
      errors: [404],
      handler: async ({ params, req }) => {
        await s.users.deleteUser(params.user_id, callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/users/:user_id/password',
      params: Params,
      // COMPAT(keystone): unenforced and needs no token, so a user whose password expired (and
      // who therefore cannot get a token) can still change it; the original password is the proof
      auth: 'none',
      policy: null,
      body: PasswordChange,
      bodyKey: 'user',
      bodyKeyMissing: 'empty',
      status: 204,
      errors: [400, 401],
      handler: async ({ params, body, req }) => {
        await s.users.changePassword(params.user_id, body.original_password, body.password, callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/projects',
      params: Params,
      policy: 'identity:list_user_projects',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.user_id),
      errors: [404],
      handler: async ({ params, req }) => {
        await s.users.getUserOrThrow(params.user_id);
        const ids = await s.roles.targetsOfUser(params.user_id, 'project');
        const projects = (await s.resources.listProjectsByIds(ids)).filter((p) => !p.isDomain);
        const base = baseUrl(req, frame);
        return collection('projects', projects.map((p) => projectView(p, base)), req, frame);
      },
    }),
  ];
}
