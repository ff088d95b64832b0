// /v3/groups, group membership (/v3/groups/{id}/users[/{user_id}]) and /v3/users/{id}/groups.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import type { Group } from '../domain/groups.service.js';
import { BadRequest } from '../domain/errors.js';
import { Description, IdString, Name255, PathId, baseUrl, callerOf, collection, filtersOf, nullable, queryStr, tokenCredentials, type Frame } from './common.js';
import { userView } from './views.js';
import { wireUser } from './users.js';

const GroupProps = { description: Type.Optional(nullable(Description)), domain_id: Type.Optional(IdString), name: Type.Optional(Name255) };
const GroupCreate = Type.Object(GroupProps, { required: ['name'], additionalProperties: true });
const GroupUpdate = Type.Object(GroupProps, { minProperties: 1, additionalProperties: true });
const Params = Type.Object({ group_id: PathId });
const MemberParams = Type.Object({ group_id: PathId, user_id: PathId });
const UserParams = Type.Object({ user_id: PathId });
const KNOWN = new Set(['id', 'name', 'domain_id', 'description', 'links']);

/** What policy sees of a group. */
export function wireGroup(g: Group) {
  return { id: g.id, name: g.name, domain_id: g.domainId, description: g.description };
}

/** Extra attributes first, as Keystone's model dict renders them. */
export function groupView(g: Group, base: string) {
  return { ...g.extra, id: g.id, name: g.name, domain_id: g.domainId, description: g.description, links: { self: `${base}/v3/groups/${g.id}` } };
}

/** Keystone normalizes extra attribute names on create (`a:b` and `a-b` become `a_b`). */
function createExtras(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([k]) => !KNOWN.has(k)).map(([k, v]) => [k.replace(/[:-]/g, '_'), v]));
}

export function groupRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  // Keystone builds these targets leniently: a missing group or user is left out for policy to
  // decide, and reported as a 404 afterwards.
  const groupTarget = async (id: string) => {
    const g = await s.groups.getGroupOrThrow(id).catch(() => undefined);
    return g ? { group: wireGroup(g) } : {};
  };
  const memberTarget = async (groupId: string, userId: string) => {
    const [g, u] = await Promise.all([s.groups.getGroupOrThrow(groupId).catch(() => undefined), s.users.getUserOrThrow(userId).catch(() => undefined)]);
    return { ...(g ? { group: wireGroup(g) } : {}), ...(u ? { user: wireUser(u) } : {}) };
  };

  return [
    defineRoute({
      method: 'GET',
      url: '/v3/groups',
      policy: 'identity:list_groups',
      credentials: tokenCredentials,
      target: (_i, ctx) => (ctx.domainId ? { group: { domain_id: ctx.domainId } } : {}),
      errors: [],
      handler: async ({ req, query }, ctx) => {
        let groups = await s.groups.listGroups(filtersOf(query, { domain_id: 'domainId', name: 'name' }));
        // a domain-scoped caller sees its own domain's groups only
        if (ctx.domainId) groups = groups.filter((g) => g.domainId === ctx.domainId);
        const base = baseUrl(req, frame);
        return collection('groups', groups.map((g) => groupView(g, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/groups',
      policy: 'identity:create_group',
      credentials: tokenCredentials,
      target: ({ body }) => ({ group: (body as { group?: unknown } | undefined)?.group ?? {} }),
      body: GroupCreate,
      bodyKey: 'group',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [404, 409],
      handler: async ({ body, req }) => {
        const g = body as Record<string, unknown>;
        const created = await s.groups.createGroup(
          {
            name: g.name as string,
            domainId: g.domain_id as string | undefined,
            description: g.description as string | null | undefined,
            extra: createExtras(g),
          },
          callerOf(req),
        );
        return { group: groupView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/groups/:group_id',
      params: Params,
      policy: 'identity:get_group',
      credentials: tokenCredentials,
      target: ({ params }) => groupTarget(params.group_id),
      errors: [404],
      handler: async ({ params, req }) => ({ group: groupView(await s.groups.getGroupOrThrow(params.group_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/groups/:group_id',
      params: Params,
      policy: 'identity:update_group',
      credentials: tokenCredentials,
      target: ({ params }) => groupTarget(params.group_id),
      body: GroupUpdate,
      bodyKey: 'group',
      bodyKeyMissing: 'null',
      errors: [400, 404, 409],
      handler: async ({ params, body, req }) => {
        const g = body as Record<string, unknown>;
        if (g.id != null && g.id !== params.group_id) throw BadRequest('Cannot change ID', 'identity.immutable_id');
        const updated = await s.groups.updateGroup(
          params.group_id,
          {
            ...(g.name !== undefined ? { name: g.name as string } : {}),
            ...(g.domain_id !== undefined ? { domainId: g.domain_id as string } : {}),
            ...(g.description !== undefined ? { description: g.description as string | null } : {}),
            extra: Object.fromEntries(Object.entries(g).filter(([k]) => !KNOWN.has(k))),
          },
          callerOf(req),
        );
        return { group: groupView(updated, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/groups/:group_id',
      params: Params,
      policy: 'identity:delete_group',
      credentials: tokenCredentials,
      // Keystone loads the group before policy here: an unknown group is a 404 for anyone
      target: async ({ params }) => ({ group: wireGroup(await s.groups.getGroupOrThrow(params.group_id)) }),
      status: 204,
      errors: [404],
      handler: async ({ params, req }) => {
        await s.groups.deleteGroup(params.group_id, callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/groups/:group_id/users',
      params: Params,
      policy: 'identity:list_users_in_group',
      credentials: tokenCredentials,
      target: ({ params }) => groupTarget(params.group_id),
      errors: [400, 404],
      handler: async ({ params, query, req }, ctx) => {
        const q = query as Record<string, unknown>;
        let users = await s.groups.listUsersInGroup(params.group_id, {
          ...filtersOf(q, { domain_id: 'domainId', name: 'name', password_expires_at: 'passwordExpiresAt' }, { enabled: 'enabled' }),
        });
        if (ctx.domainId) users = users.filter((u) => u.domainId === ctx.domainId);
        const base = baseUrl(req, frame);
        return collection('users', users.map((u) => userView(u, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v3/groups/:group_id/users/:user_id',
      params: MemberParams,
      policy: 'identity:add_user_to_group',
      credentials: tokenCredentials,
      target: ({ params }) => memberTarget(params.group_id, params.user_id),
      status: 204,
      errors: [404],
      handler: async ({ params, req }) => {
        await s.groups.addUserToGroup(params.user_id, params.group_id, callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: ['GET', 'HEAD'],
      url: '/v3/groups/:group_id/users/:user_id',
      params: MemberParams,
      policy: 'identity:check_user_in_group',
      credentials: tokenCredentials,
      target: ({ params }) => memberTarget(params.group_id, params.user_id),
      status: 204,
      errors: [404],
      handler: async ({ params }) => {
        await s.groups.checkUserInGroup(params.user_id, params.group_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/groups/:group_id/users/:user_id',
      params: MemberParams,
      policy: 'identity:remove_user_from_group',
      credentials: tokenCredentials,
      target: ({ params }) => memberTarget(params.group_id, params.user_id),
      status: 204,
      errors: [404],
      handler: async ({ params, req }) => {
        await s.groups.removeUserFromGroup(params.user_id, params.group_id, callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/groups',
      params: UserParams,
      policy: 'identity:list_groups_for_user',
      credentials: tokenCredentials,
      target: async ({ params }) => {
        const u = await s.users.getUserOrThrow(params.user_id).catch(() => undefined);
        return u ? { user: wireUser(u) } : {};
      },
      errors: [404],
      handler: async ({ params, query, req }, ctx) => {
        const name = queryStr((query as Record<string, unknown>).name);
        let groups = await s.groups.listGroupsForUser(params.user_id, name !== undefined ? { name } : {});
        if (ctx.domainId) groups = groups.filter((g) => g.domainId === ctx.domainId);
        const base = baseUrl(req, frame);
        // membership_expires_at belongs to the membership (federated ones expire; ours never do)
        return collection(
          'groups',
          groups.map((g) => {
            const { links, ...rest } = groupView(g, base);
            return { ...rest, membership_expires_at: null, links };
          }),
          req,
          frame,
        );
      },
    }),
  ];
}
