// /v3/users/{user_id}/application_credentials and /v3/users/{user_id}/access_rules.
import Type from 'typebox';
import { UnauthorizedError, type RequestContext } from '@alto/kernel';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import type { ApplicationCredentialDetail, ApplicationCredentialInput, CallerToken } from '../domain/application-credentials.service.js';
import { ApplicationCredentialNotFound } from '../domain/delegation.errors.js';
import { BadRequest } from '../domain/errors.js';
import { Bool, Description, IdString, Name255, PathId, baseUrl, callerOf, collection, filtersOf, nullable, tokenCredentials, type Frame } from './common.js';
import { wireUser } from './users.js';
import { accessRuleView, applicationCredentialView } from './delegation.views.js';

/** keystone/application_credential/schema.py. */
export const RoleRefs = Type.Array(
  Type.Object({ id: Type.Optional(IdString), name: Type.Optional(Name255) }, { minProperties: 1, maxProperties: 1, additionalProperties: false }),
);
const AccessRules = Type.Array(
  Type.Object(
    {
      path: Type.Optional(Type.String({ minLength: 0, maxLength: 225, pattern: '^\\/.*' })),
      method: Type.Optional(Type.String({ pattern: '^(POST|GET|HEAD|PATCH|PUT|DELETE)$' })),
      service: Type.Optional(IdString),
      id: Type.Optional(IdString),
    },
    { additionalProperties: false },
  ),
);
const AppCredCreate = Type.Object(
  {
    name: Name255,
    description: Type.Optional(nullable(Description)),
    secret: Type.Optional(nullable(Type.String())),
    expires_at: Type.Optional(nullable(Type.String())),
    roles: Type.Optional(RoleRefs),
    unrestricted: Type.Optional(Bool),
    access_rules: Type.Optional(AccessRules),
  },
  { required: ['name'], additionalProperties: true },
);
const UserParams = Type.Object({ user_id: PathId });
const AppCredParams = Type.Object({ user_id: PathId, application_credential_id: PathId });
const RuleParams = Type.Object({ user_id: PathId, access_rule_id: PathId });

type Body = { name: string; description?: string | null; secret?: string | null; expires_at?: string | null; roles?: { id?: string; name?: string }[]; unrestricted?: boolean; access_rules?: { id?: string; service?: string; path?: string; method?: string }[] };

function inputOf(b: Body): ApplicationCredentialInput {
  return {
    name: b.name,
    description: b.description,
    secret: b.secret,
    expiresAt: b.expires_at,
    unrestricted: b.unrestricted,
    roles: b.roles?.map((r) => (r.id !== undefined ? { id: r.id } : { name: r.name! })),
    accessRules: b.access_rules?.map((r) => {
      if (r.service !== undefined && r.path !== undefined && r.method !== undefined) return { ...(r.id !== undefined ? { id: r.id } : {}), service: r.service, path: r.path, method: r.method };
      if (r.id === undefined) throw BadRequest("Invalid input for field 'access_rules': a rule needs an id, or a service, path and method.", 'identity.access_rule_ref');
      return { id: r.id };
    }),
  };
}

export function applicationCredentialRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  const userTarget = async (id: string) => {
    const u = await s.users.getUserOrThrow(id).catch(() => undefined);
    return u ? { user: wireUser(u) } : {};
  };
  /** The caller's own token: a credential takes at most its roles, on its project. */
  const callerToken = async (ctx: RequestContext): Promise<CallerToken> => {
    if (!ctx.authToken) throw new UnauthorizedError();
    const t = await s.tokens.validate(ctx.authToken);
    return { projectId: t.project?.id, roleIds: t.roles.map((r) => r.id) };
  };
  /**
   * COMPAT(keystone): upstream checks ownership against the credential's user, not the one in the
   * path (_update_request_user_id_attribute); the route checked the path's, so a credential of
   * someone else is checked again as theirs.
   */
  const asOwner = (policy: string, cred: ApplicationCredentialDetail, pathUserId: string, ctx: RequestContext) => {
    if (cred.userId === pathUserId) return;
    if (!frame.enforce) throw ApplicationCredentialNotFound(cred.id);
    frame.enforce(policy, { user_id: cred.userId }, ctx);
  };
  return [
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/application_credentials',
      params: UserParams,
      policy: 'identity:list_application_credentials',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ params, query, req }) => {
        const creds = await s.applicationCredentials.listApplicationCredentials(params.user_id, filtersOf(query, { name: 'name' }), callerOf(req));
        const base = baseUrl(req, frame);
        return collection('application_credentials', creds.map((c) => applicationCredentialView(c, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/users/:user_id/application_credentials',
      params: UserParams,
      policy: 'identity:create_application_credential',
      credentials: tokenCredentials,
      body: AppCredCreate,
      bodyKey: 'application_credential',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [404, 409],
      handler: async ({ params, body, req }, ctx) => {
        const created = await s.applicationCredentials.createApplicationCredential(params.user_id, inputOf(body), callerOf(req), await callerToken(ctx));
        return { application_credential: applicationCredentialView(created, baseUrl(req, frame), created.secret) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/application_credentials/:application_credential_id',
      params: AppCredParams,
      policy: 'identity:get_application_credential',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        const cred = await s.applicationCredentials.showApplicationCredential(params.application_credential_id, callerOf(req));
        asOwner('identity:get_application_credential', cred, params.user_id, ctx);
        return { application_credential: applicationCredentialView(cred, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/users/:user_id/application_credentials/:application_credential_id',
      params: AppCredParams,
      policy: 'identity:delete_application_credential',
      credentials: tokenCredentials,
      status: 204,
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        const cred = await s.applicationCredentials.showApplicationCredential(params.application_credential_id, callerOf(req)).catch(() => undefined);
        if (cred) asOwner('identity:delete_application_credential', cred, params.user_id, ctx);
        await s.applicationCredentials.deleteApplicationCredential(params.application_credential_id, callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/access_rules',
      params: UserParams,
      policy: 'identity:list_access_rules',
      credentials: tokenCredentials,
      target: ({ params }) => userTarget(params.user_id),
      errors: [],
      handler: async ({ params, query, req }) => {
        const rules = await s.applicationCredentials.listAccessRules(params.user_id, filtersOf(query, { service: 'service', path: 'path', method: 'method' }), callerOf(req));
        const base = baseUrl(req, frame);
        return collection('access_rules', rules.map((r) => accessRuleView(r, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/access_rules/:access_rule_id',
      params: RuleParams,
      policy: 'identity:get_access_rule',
      credentials: tokenCredentials,
      target: ({ params }) => userTarget(params.user_id),
      errors: [404],
      handler: async ({ params, req }) => ({
        access_rule: accessRuleView(await s.applicationCredentials.getAccessRuleOrThrow(params.user_id, params.access_rule_id, callerOf(req)), baseUrl(req, frame)),
      }),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/users/:user_id/access_rules/:access_rule_id',
      params: RuleParams,
      policy: 'identity:delete_access_rule',
      credentials: tokenCredentials,
      target: ({ params }) => userTarget(params.user_id),
      status: 204,
      errors: [404],
      handler: async ({ params, req }) => {
        await s.applicationCredentials.deleteAccessRule(params.user_id, params.access_rule_id, callerOf(req));
        return undefined;
      },
    }),
  ];
}
