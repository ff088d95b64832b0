// OS-OAUTH1: consumers, the signed request-token / authorize / access-token flow, and a user's access tokens.
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import { defineRoute, type AnyRoute } from '@alto/http';
import { ForbiddenError, type RequestContext } from '@alto/kernel';
import type { IdentityServices } from '../services.js';
import { BadRequest } from '../domain/errors.js';
import type { AccessToken, Consumer } from '../domain/oauth1.service.js';
import type { OAuth1Request } from '../domain/oauth1.js';
import type { Role } from '../domain/models.js';
import { Description, IdString, Name255, PathId, baseUrl, callerOf, collection, nullable, tokenCredentials, type Frame } from './common.js';
import { isoMicros } from './views.js';
import { extraOf } from './domains.js';
import { isDelegated } from './credentials.js';

const ConsumerProps = { description: Type.Optional(nullable(Description)) };
const ConsumerCreate = Type.Object(ConsumerProps, { additionalProperties: true });
// the secret is Keystone's to choose, once
const ConsumerUpdate = Type.Object(ConsumerProps, { additionalProperties: true, minProperties: 1, not: { required: ['secret'] } });
const ConsumerParams = Type.Object({ consumer_id: PathId });
const RequestTokenParams = Type.Object({ request_token_id: PathId });
const UserParams = Type.Object({ user_id: PathId });
const AccessTokenParams = Type.Object({ user_id: PathId, access_token_id: PathId });
const AccessTokenRoleParams = Type.Object({ user_id: PathId, access_token_id: PathId, role_id: PathId });
const AuthorizeBody = Type.Object(
  {
    roles: Type.Optional(
      Type.Array(Type.Object({ id: Type.Optional(IdString), name: Type.Optional(Name255) }, { minProperties: 1, maxProperties: 1, additionalProperties: false })),
    ),
  },
  { additionalProperties: true },
);
const KNOWN_CONSUMER = new Set(['id', 'description', 'secret', 'links']);

export function consumerView(c: Consumer, base: string, withSecret = false) {
  return { ...c.extra, id: c.id, description: c.description, ...(withSecret ? { secret: c.secret } : {}), links: { self: `${base}/v3/OS-OAUTH1/consumers/${c.id}` } };
}

/** upstream's _format_token_entity: no secret, no role ids, a link to the roles. */
export function accessTokenView(t: AccessToken, base: string) {
  const self = `${base}/v3/users/${t.authorizingUserId}/OS-OAUTH1/access_tokens/${t.id}`;
  return {
    id: t.id,
    authorizing_user_id: t.authorizingUserId,
    project_id: t.projectId,
    consumer_id: t.consumerId,
    expires_at: t.expiresAt === null ? null : isoMicros(new Date(t.expiresAt)),
    links: { self, roles: `${self}/roles` },
  };
}

/** upstream's _format_role_entity: the role without its description. */
function accessTokenRoleView(r: Role, base: string) {
  return { ...r.extra, id: r.id, name: r.name, domain_id: r.domainId, options: r.options, links: { self: `${base}/v3/roles/${r.id}` } };
}

/** COMPAT(keystone 22.0.2-0+deb12u4, LP#2153453): a delegation cannot manage or mint OAuth1 delegations. */
function blockDelegated(ctx: RequestContext): void {
  if (isDelegated(ctx)) throw new ForbiddenError(undefined, 'identity.oauth1_delegated_token');
}

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The request as the consumer signed it: keystone swaps in its public scheme, keeps host and path. */
function signedRequest(req: FastifyRequest, frame: Frame, baseOnly = false): OAuth1Request {
  const [path = '/', query = ''] = req.url.split('?', 2);
  const base = baseUrl(req, frame);
  const uri = baseOnly ? `${base}${path}` : `${new URL(base).protocol}//${header(req, 'host') ?? new URL(base).host}${path}`;
  return { method: req.method, uri, authorization: header(req, 'authorization'), query: [...new URLSearchParams(query).entries()] };
}

const formEncoded = (t: { id: string; secret: string; expiresAt: number | null }) =>
  `oauth_token=${t.id}&oauth_token_secret=${t.secret}${t.expiresAt !== null ? `&oauth_expires_at=${isoMicros(new Date(t.expiresAt))}` : ''}`;

export function oauth1Routes(s: IdentityServices, frame: Frame): AnyRoute[] {
  return [
    // ---- consumers ---------------------------------------------------------------------------
    defineRoute({
      method: 'POST',
      url: '/v3/OS-OAUTH1/consumers',
      policy: 'identity:create_consumer',
      credentials: tokenCredentials,
      body: ConsumerCreate,
      bodyKey: 'consumer',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [],
      handler: async ({ body, req }) => {
        const b = body as Record<string, unknown>;
        const c = await s.oauth1.createConsumer({ description: (b.description as string | null | undefined) ?? null, extra: extraOf(b, KNOWN_CONSUMER) }, callerOf(req));
        return { consumer: consumerView(c, baseUrl(req, frame), true) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/OS-OAUTH1/consumers',
      policy: 'identity:list_consumers',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req }) => {
        const base = baseUrl(req, frame);
        return collection('consumers', (await s.oauth1.listConsumers()).map((c) => consumerView(c, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/OS-OAUTH1/consumers/:consumer_id',
      params: ConsumerParams,
      policy: 'identity:get_consumer',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }) => ({ consumer: consumerView(await s.oauth1.getConsumerOrThrow(params.consumer_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/OS-OAUTH1/consumers/:consumer_id',
      params: ConsumerParams,
      policy: 'identity:update_consumer',
      credentials: tokenCredentials,
      body: ConsumerUpdate,
      bodyKey: 'consumer',
      bodyKeyMissing: 'empty',
      errors: [404],
      handler: async ({ params, body, req }) => {
        const b = body as Record<string, unknown>;
        if (b.id !== undefined && b.id !== null && b.id !== params.consumer_id) throw BadRequest('Cannot change ID', 'identity.cannot_change_id');
        const c = await s.oauth1.updateConsumer(
          params.consumer_id,
          { ...(b.description !== undefined ? { description: b.description as string | null } : {}), extra: extraOf(b, KNOWN_CONSUMER) },
          callerOf(req),
        );
        return { consumer: consumerView(c, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/OS-OAUTH1/consumers/:consumer_id',
      params: ConsumerParams,
      policy: 'identity:delete_consumer',
      credentials: tokenCredentials,
      status: 204,
      errors: [404],
      handler: async ({ params, req }) => {
        await s.oauth1.deleteConsumer(params.consumer_id, callerOf(req));
        return undefined;
      },
    }),

    // ---- the delegation flow -----------------------------------------------------------------
    defineRoute({
      method: 'POST',
      url: '/v3/OS-OAUTH1/request_token',
      // the consumer's signature is the authentication
      auth: 'none',
      policy: null,
      status: 201,
      errors: [401, 404, 500],
      handler: async ({ req, reply }) => {
        const t = await s.oauth1.createRequestToken(signedRequest(req, frame), header(req, 'requested-project-id'));
        void reply.header('content-type', 'application/x-www-form-urlencoded');
        return formEncoded(t);
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v3/OS-OAUTH1/authorize/:request_token_id',
      params: RequestTokenParams,
      policy: 'identity:authorize_request_token',
      credentials: tokenCredentials,
      body: AuthorizeBody,
      errors: [401, 404],
      handler: async ({ params, body }, ctx) => {
        blockDelegated(ctx);
        const roles = ((body as { roles?: ({ id: string } | { name: string })[] }).roles ?? []);
        const verifier = await s.oauth1.authorizeRequestToken(params.request_token_id, ctx.userId!, roles);
        return { token: { oauth_verifier: verifier } };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/OS-OAUTH1/access_token',
      auth: 'none',
      policy: null,
      status: 201,
      errors: [401, 404, 500],
      handler: async ({ req, reply }) => {
        const t = await s.oauth1.createAccessToken(signedRequest(req, frame));
        void reply.header('content-type', 'application/x-www-form-urlencoded');
        return formEncoded(t);
      },
    }),

    // ---- a user's access tokens --------------------------------------------------------------
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/OS-OAUTH1/access_tokens',
      params: UserParams,
      policy: 'identity:list_access_tokens',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ params, req }, ctx) => {
        blockDelegated(ctx);
        const base = baseUrl(req, frame);
        return collection('access_tokens', (await s.oauth1.listAccessTokens(params.user_id)).map((t) => accessTokenView(t, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/OS-OAUTH1/access_tokens/:access_token_id',
      params: AccessTokenParams,
      policy: 'identity:get_access_token',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        blockDelegated(ctx);
        return { access_token: accessTokenView(await s.oauth1.getUserAccessTokenOrThrow(params.user_id, params.access_token_id), baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/users/:user_id/OS-OAUTH1/access_tokens/:access_token_id',
      params: AccessTokenParams,
      // COMPAT(keystone): upstream guards this route with the EC2 credential rule (and no credential in the target: admins only)
      policy: 'identity:ec2_delete_credential',
      credentials: tokenCredentials,
      status: 204,
      errors: [401, 404],
      handler: async ({ params, req }, ctx) => {
        blockDelegated(ctx);
        await s.oauth1.deleteAccessToken(params.user_id, params.access_token_id, callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/OS-OAUTH1/access_tokens/:access_token_id/roles',
      params: AccessTokenParams,
      policy: 'identity:list_access_token_roles',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }) => {
        const roles = await s.oauth1.listAccessTokenRoles(params.user_id, params.access_token_id);
        const base = baseUrl(req, frame);
        return collection('roles', roles.map((r) => accessTokenRoleView(r, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/OS-OAUTH1/access_tokens/:access_token_id/roles/:role_id',
      params: AccessTokenRoleParams,
      policy: 'identity:get_access_token_role',
      credentials: tokenCredentials,
      errors: [401, 404],
      handler: async ({ params, req }) => ({
        role: accessTokenRoleView(await s.oauth1.getAccessTokenRoleOrThrow(params.user_id, params.access_token_id, params.role_id), baseUrl(req, frame)),
      }),
    }),
  ];
}

export { signedRequest as oauth1SignedRequest };
