// /v3/credentials: blobs (EC2 key pairs, certificates, TOTP seeds) stored encrypted, readable by their owner and admins.
import Type from 'typebox';
import { ForbiddenError, type RequestContext } from '@alto/kernel';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import { BadRequest } from '../domain/errors.js';
import { isDelegatedMethod } from '../domain/delegation.js';
import { ForbiddenAction } from '../domain/delegation.errors.js';
import type { Credential } from '../domain/credentials.service.js';
import { PathId, baseUrl, callerOf, collection, filtersOf, nullable, tokenCredentials, type Frame } from './common.js';
import { extraOf } from './domains.js';

const CredentialProps = {
  blob: Type.Optional(Type.String()),
  project_id: Type.Optional(nullable(Type.String())),
  type: Type.Optional(Type.String()),
  user_id: Type.Optional(Type.String()),
};
// upstream's create schema: an EC2 credential needs a project (if/then keeps the message about the missing field)
const CredentialCreate = Type.Object(CredentialProps, {
  required: ['blob', 'type', 'user_id'],
  additionalProperties: true,
  if: { properties: { type: { const: 'ec2' } } },
  then: { required: ['project_id'] },
});
const CredentialUpdate = Type.Object(CredentialProps, { minProperties: 1, additionalProperties: true });
const Params = Type.Object({ credential_id: PathId });
const ListQuery = Type.Object({ user_id: Type.Optional(Type.String()), type: Type.Optional(Type.String()) }, { additionalProperties: true });
const KNOWN = new Set(['id', 'user_id', 'project_id', 'type', 'blob', 'links']);

/** A token that stands for a delegation (trust, application credential, OAuth1, EC2): keystone's is_delegated_method plus trust scope. */
export function isDelegated(ctx: RequestContext): boolean {
  return Boolean(ctx.trustId) || Boolean(ctx.applicationCredentialId) || isDelegatedMethod(ctx.authMethods);
}

/**
 * COMPAT(keystone 22.0.2-0+deb12u5, CVE-2026-90460 / LP#2159643): a delegated token (trust,
 * application credential, OAuth1, EC2) may not read or change credentials at all, or a stolen
 * delegation could read a user's other secrets (TOTP seeds included).
 */
export function requirePrimaryAuth(ctx: RequestContext): void {
  if (isDelegated(ctx)) throw ForbiddenAction('Delegated tokens cannot access credentials directly', 'identity.credential_delegated_token');
}

/** What policy sees of a credential: its owner and scope, never the blob. */
export function wireCredential(c: Credential) {
  return { id: c.id, user_id: c.userId, project_id: c.projectId, type: c.type };
}

export function credentialView(c: Credential, base: string) {
  return { ...c.extra, id: c.id, user_id: c.userId, project_id: c.projectId, type: c.type, blob: c.blob, links: { self: `${base}/v3/credentials/${c.id}` } };
}

export function credentialRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  const target = async (id: string) => {
    // a missing credential is a 404 from the handler, after policy, as upstream
    const c = await s.credentials.getCredentialOrThrow(id).catch(() => undefined);
    return c ? { credential: wireCredential(c) } : {};
  };
  const enforce = (policy: string, t: Record<string, unknown>, ctx: RequestContext) => {
    if (!frame.enforce) throw new ForbiddenError(undefined, 'identity.no_enforcer');
    frame.enforce(policy, t, ctx);
  };
  const allowed = (policy: string, t: Record<string, unknown>, ctx: RequestContext) => {
    try {
      enforce(policy, t, ctx);
      return true;
    } catch {
      return false;
    }
  };
  return [
    defineRoute({
      method: 'GET',
      url: '/v3/credentials',
      query: ListQuery,
      policy: 'identity:list_credentials',
      credentials: tokenCredentials,
      target: (_i, ctx) => (ctx.systemScope ? {} : { credential: { user_id: ctx.userId } }),
      errors: [],
      handler: async ({ req, query }, ctx) => {
        const all = await s.credentials.listCredentials(filtersOf(query, { user_id: 'userId', type: 'type' }));
        // the list policy lets anyone ask; each credential is then shown only to who may read it
        const visible = isDelegated(ctx) ? [] : all.filter((c) => allowed('identity:get_credential', { target: { credential: wireCredential(c) } }, ctx));
        const base = baseUrl(req, frame);
        return collection('credentials', visible.map((c) => credentialView(c, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/credentials',
      policy: 'identity:create_credential',
      credentials: tokenCredentials,
      target: ({ body }) => ({ credential: (body as { credential?: unknown } | undefined)?.credential ?? {} }),
      body: CredentialCreate,
      bodyKey: 'credential',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [403, 409],
      handler: async ({ body, req }, ctx) => {
        requirePrimaryAuth(ctx);
        const b = body as Record<string, unknown>;
        const created = await s.credentials.createCredential(
          {
            userId: b.user_id as string,
            projectId: (b.project_id as string | null | undefined) ?? null,
            type: b.type as string,
            blob: b.blob as string,
            extra: extraOf(b, KNOWN),
          },
          callerOf(req),
        );
        return { credential: credentialView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/credentials/:credential_id',
      params: Params,
      policy: 'identity:get_credential',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.credential_id),
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        const c = await s.credentials.getCredentialOrThrow(params.credential_id);
        requirePrimaryAuth(ctx);
        return { credential: credentialView(c, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/credentials/:credential_id',
      params: Params,
      policy: 'identity:update_credential',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.credential_id),
      body: CredentialUpdate,
      bodyKey: 'credential',
      bodyKeyMissing: 'null',
      errors: [404],
      handler: async ({ params, body, req }, ctx) => {
        const current = await s.credentials.getCredentialOrThrow(params.credential_id);
        requirePrimaryAuth(ctx);
        const b = body as Record<string, unknown>;
        if (b.id !== undefined && b.id !== null && b.id !== params.credential_id) throw BadRequest('Cannot change ID', 'identity.cannot_change_id');
        // the owner may change their credential, but not hand it to someone else: policy again on the result
        const { blob: _blob, links: _links, ...fields } = b;
        enforce('identity:update_credential', { target: { credential: { ...wireCredential(current), ...fields } } }, ctx);
        const updated = await s.credentials.updateCredential(
          params.credential_id,
          {
            ...(b.user_id !== undefined ? { userId: b.user_id as string } : {}),
            ...(b.project_id !== undefined ? { projectId: b.project_id as string | null } : {}),
            ...(b.type !== undefined ? { type: b.type as string } : {}),
            ...(b.blob !== undefined ? { blob: b.blob as string } : {}),
            extra: extraOf(b, KNOWN),
          },
          callerOf(req),
        );
        return { credential: credentialView(updated, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/credentials/:credential_id',
      params: Params,
      policy: 'identity:delete_credential',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.credential_id),
      status: 204,
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        await s.credentials.getCredentialOrThrow(params.credential_id);
        requirePrimaryAuth(ctx);
        await s.credentials.deleteCredential(params.credential_id, callerOf(req));
        return undefined;
      },
    }),
  ];
}
