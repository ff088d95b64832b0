// /v3/auth: issue, validate, check and revoke tokens; the catalog, projects, domains and system
// a token can reach.
import Type from 'typebox';
import { NotFoundError, UnauthorizedError, type RequestContext } from '@alto/kernel';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { FastifyRequest } from 'fastify';
import type { IdentityServices } from '../services.js';
import { ExpectingToFind, Forbidden } from '../domain/errors.js';
import { baseUrl, callerOf, collection, queryBool, tokenCredentials, type Frame } from './common.js';
import { tokenView } from './auth.views.js';
import { oauth1SignedRequest } from './oauth1.js';
import { domainView, projectView } from './views.js';
import type { TokenData } from '../domain/tokens.service.js';

const NameOrId = Type.Object({ id: Type.Optional(Type.String()), name: Type.Optional(Type.String()) });

/** Keystone's token_issue schema: extra keys are tolerated, types are not. */
const AuthBody = Type.Object({
      identity: Type.Object(
        {
          methods: Type.Array(Type.String()),
          password: Type.Optional(
            Type.Object({
              user: Type.Optional(Type.Object({ id: Type.Optional(Type.String()), name: Type.Optional(Type.String()), password: Type.Optional(Type.String()), domain: Type.Optional(NameOrId) })),
            }),
          ),
          token: Type.Optional(Type.Object({ id: Type.String() }, { required: ['id'] })),
          // upstream has no schema for it; the fields it reads must at least be strings
          application_credential: Type.Optional(
            Type.Object({
              id: Type.Optional(Type.String()),
              name: Type.Optional(Type.String()),
              secret: Type.Optional(Type.String()),
              user: Type.Optional(Type.Object({ id: Type.Optional(Type.String()), name: Type.Optional(Type.String()), domain: Type.Optional(NameOrId) })),
            }),
          ),
        },
        { required: ['methods'] },
      ),
      scope: Type.Optional(
        Type.Union([
          Type.String(),
          Type.Object({
            project: Type.Optional(Type.Object({ id: Type.Optional(Type.String()), name: Type.Optional(Type.String()), domain: Type.Optional(NameOrId) })),
            domain: Type.Optional(NameOrId),
            'OS-TRUST:trust': Type.Optional(Type.Object({ id: Type.Optional(Type.String()) })),
            system: Type.Optional(Type.Object({ all: Type.Optional(Type.Boolean()) })),
          }),
        ]),
      ),
});

const TokenQuery = Type.Object({ nocatalog: Type.Optional(Type.String()), allow_expired: Type.Optional(Type.String()) }, { additionalProperties: true });

function subjectToken(req: FastifyRequest): string {
  const v = req.headers['x-subject-token'];
  const t = Array.isArray(v) ? v[0] : v;
  if (!t) throw new NotFoundError('No token in the request', 'identity.missing_subject_token');
  return t;
}

/**
 * keystonemiddleware says it enforces application credential access rules with this header;
 * without it (or below 1.0) a token restricted by access rules does not validate.
 */
function withoutAccessRules(req: FastifyRequest): boolean {
  const v = req.headers['openstack-identity-access-rules'];
  const version = Number.parseFloat((Array.isArray(v) ? v[0] : v) ?? '');
  return !(version >= 1.0);
}

/** "nocatalog" is a flag: present (any value) means no catalog, as Keystone reads it. */
const wantsCatalog = (q: { nocatalog?: string }) => q.nocatalog === undefined;

export function authRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  // a trust token's catalog is the trustor's, as upstream builds it
  const render = async (t: TokenData, withCatalog: boolean) =>
    tokenView(t, withCatalog && t.scope.type !== 'unscoped' ? await s.catalog.catalogFor(t.project?.id, t.trust?.trustorId ?? t.user.id) : undefined);

  // The subject token feeds policy as target.token, as Keystone does.
  const subjectTarget = async (req: FastifyRequest, allowExpired: boolean) => {
    const t = await s.tokens.validate(subjectToken(req), { allowExpired });
    return { token: { user_id: t.user.id, user: { domain: { id: t.user.domain.id } } } };
  };

  /** The caller's own token, for routes about "what can this token reach". */
  const callerToken = (ctx: RequestContext) => {
    if (!ctx.authToken) throw new UnauthorizedError();
    return s.tokens.validate(ctx.authToken);
  };

  return [
    defineRoute({
      method: 'POST',
      url: '/v3/auth/tokens',
      auth: 'none',
      policy: null,
      query: TokenQuery,
      body: AuthBody,
      bodyKey: 'auth',
      bodyKeyMissing: () => ExpectingToFind('auth', 'request body'),
      status: 201,
      errors: [401, 404],
      handler: async ({ body, query, req, reply }) => {
        const token = await s.auth.authenticate(body, callerOf(req).initiator, { oauth1: oauth1SignedRequest(req, frame, true) });
        void reply.header('x-subject-token', token.id);
        return render(token, wantsCatalog(query));
      },
    }),
    // validate (GET, with the token document) and check (HEAD): same steps, own policy names
    ...(
      [
        ['GET', 'identity:validate_token'],
        ['HEAD', 'identity:check_token'],
      ] as const
    ).map(([method, policy]) =>
      defineRoute({
        method,
        url: '/v3/auth/tokens',
        policy,
        query: TokenQuery,
        target: ({ req, query }) => subjectTarget(req, queryBool(query.allow_expired) === true),
        credentials: tokenCredentials,
        errors: [404],
        handler: async ({ req, reply, query }) => {
          const id = subjectToken(req);
          const t = await s.tokens.validate(id, { allowExpired: queryBool(query.allow_expired) === true, withoutAccessRules: withoutAccessRules(req) });
          void reply.header('x-subject-token', id);
          return method === 'GET' ? render(t, wantsCatalog(query)) : undefined;
        },
      }),
    ),
    defineRoute({
      method: 'GET',
      url: '/v3/auth/tokens/OS-PKI/revoked',
      // COMPAT(keystone AuthTokenOSPKIResource): the deprecated PKI revocation list stays routed,
      // unenforced, and refuses every token-bearing caller (tokens are not stored, so no list exists)
      policy: null,
      errors: [403],
      handler: async () => {
        throw Forbidden(undefined, 'identity.pki_revocation_list_unsupported');
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/auth/tokens',
      policy: 'identity:revoke_token',
      target: ({ req }) => subjectTarget(req, false),
      credentials: tokenCredentials,
      status: 204,
      errors: [404],
      handler: async ({ req }) => {
        await s.tokens.revoke(subjectToken(req));
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/auth/catalog',
      policy: 'identity:get_auth_catalog',
      credentials: tokenCredentials,
      errors: [403],
      handler: async ({ req }, ctx) => {
        const t = await callerToken(ctx);
        // Keystone serves the catalog to project-scoped tokens only (AuthCatalogResource); its
        // reason is a SecurityError's, so the caller sees the generic message
        if (t.scope.type !== 'project') throw Forbidden(undefined, 'identity.catalog_needs_scope');
        const catalog = await s.catalog.catalogFor(t.project?.id, t.user.id);
        const self = `${baseUrl(req, frame)}/v3/auth/catalog`;
        return { catalog, links: { self, previous: null, next: null } };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/auth/projects',
      policy: 'identity:get_auth_projects',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req }, ctx) => {
        const t = await callerToken(ctx);
        const ids = await s.roles.targetsOfUser(t.user.id, 'project');
        // disabled projects are listed too, as upstream does
        const projects = (await s.resources.listProjectsByIds(ids)).filter((p) => !p.isDomain);
        const base = baseUrl(req, frame);
        return collection('projects', projects.map((p) => projectView(p, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/auth/domains',
      policy: 'identity:get_auth_domains',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req }, ctx) => {
        const t = await callerToken(ctx);
        const ids = new Set(await s.roles.targetsOfUser(t.user.id, 'domain'));
        const domains = (await s.resources.listDomains({ enabled: true })).filter((d) => ids.has(d.id));
        const base = baseUrl(req, frame);
        return collection('domains', domains.map((d) => domainView(d, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/auth/system',
      policy: 'identity:get_auth_system',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req }, ctx) => {
        const t = await callerToken(ctx);
        const has = (await s.roles.targetsOfUser(t.user.id, 'system')).length > 0;
        return { system: has ? [{ all: true }] : [], links: { self: `${baseUrl(req, frame)}/v3/auth/system`, previous: null, next: null } };
      },
    }),
  ];
}

