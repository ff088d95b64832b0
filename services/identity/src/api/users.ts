// /v3/users and /v3/users/{id}/projects.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import { BadRequest } from '../domain/errors.js';
import { Bool, Description, IdString, Name255, PathId, baseUrl, callerOf, collection, nullable, queryStr, filtersOf, tokenCredentials, type Frame } from './common.js';
import { projectView, userView } from './views.js';
import { extraOf } from './domains.js';
import type { User } from '../domain/models.js';

/** Keystone's user resource options; unknown options are refused. */
const UserOptions = Type.Object(
  {
    ignore_change_password_upon_first_use: Type.Optional(nullable(Bool)),
    ignore_password_expiry: Type.Optional(nullable(Bool)),
    ignore_lockout_failure_attempts: Type.Optional(nullable(Bool)),
    lock_password: Type.Optional(nullable(Bool)),
    ignore_user_inactivity: Type.Optional(nullable(Bool)),
    multi_factor_auth_rules: Type.Optional(nullable(Type.Array(Type.Array(Type.String())))),
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
