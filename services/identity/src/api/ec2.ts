// OS-EC2: a user's EC2 key pairs (/v3/users/{user_id}/credentials/OS-EC2) and token issue from an AWS signature (/v3/ec2tokens, /v3/s3tokens).
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { RequestContext } from '@alto/kernel';
import type { IdentityServices } from '../services.js';
import { BadRequest } from '../domain/errors.js';
import { ec2BlobOf, type Credential } from '../domain/credentials.service.js';
import { ec2CredentialId, s3SignatureMatches } from '../domain/ec2.js';
import { PathId, baseUrl, callerOf, collection, tokenCredentials, type Frame } from './common.js';
import { isDelegated, wireCredential } from './credentials.js';
import { ForbiddenAction } from '../domain/delegation.errors.js';
import { tokenView } from './auth.views.js';

const UserParams = Type.Object({ user_id: PathId });
const CredParams = Type.Object({ user_id: PathId, credential_id: PathId });

/** COMPAT(keystone 22.0.2-0+deb12u5, LP#2159643): no delegated token reaches the OS-EC2 routes. */
function requirePrimaryAuthForEc2(ctx: RequestContext): void {
  if (isDelegated(ctx)) throw ForbiddenAction('Delegated tokens cannot access credentials directly', 'identity.ec2_delegated_token');
}

/** upstream's _convert_v3_to_ec2_credential, with the self link named by the access key. */
export function ec2CredentialView(c: Credential, base: string) {
  const b = ec2BlobOf(c);
  return {
    user_id: c.userId,
    tenant_id: c.projectId,
    access: b.access ?? null,
    secret: b.secret ?? null,
    trust_id: b.trustId,
    links: { self: `${base}/v3/users/${c.userId}/credentials/OS-EC2/${b.access ?? ''}` },
  };
}

/** Python truthiness of a JSON value, for upstream's `a or b or c`. */
const truthy = (v: unknown) => v !== undefined && v !== null && v !== false && v !== 0 && v !== '' && !(typeof v === 'object' && Object.keys(v).length === 0);

/** The signed request in an ec2tokens or s3tokens body (EC2_S3_Resource.handle_authenticate). */
function signedCredentialsOf(body: unknown): Record<string, unknown> {
  const b = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  if (Object.keys(b).length === 0) throw BadRequest('request must include a request body', 'identity.ec2_no_body');
  // upstream has accepted all three names over the years
  return ([b.credentials, b.credential, b.ec2Credentials].find(truthy) ?? {}) as Record<string, unknown>;
}

export function ec2Routes(s: IdentityServices, frame: Frame): AnyRoute[] {
  // Upstream builds the target from the credential the path names and lets a missing one be a 404 before policy.
  const credentialTarget = async (access: string) => ({ credential: wireCredential(await s.credentials.getCredentialOrThrow(ec2CredentialId(access))) });
  return [
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/credentials/OS-EC2',
      params: UserParams,
      policy: 'identity:ec2_list_credentials',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        requirePrimaryAuthForEc2(ctx);
        const creds = await s.credentials.listEc2Credentials(params.user_id);
        const base = baseUrl(req, frame);
        return collection('credentials', creds.map((c) => ec2CredentialView(c, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/users/:user_id/credentials/OS-EC2',
      params: UserParams,
      policy: 'identity:ec2_create_credential',
      credentials: tokenCredentials,
      target: ({ params }) => ({ credential: { user_id: params.user_id } }),
      status: 201,
      errors: [403, 404, 409],
      handler: async ({ params, body, req }, ctx) => {
        requirePrimaryAuthForEc2(ctx);
        const tenant = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).tenant_id : undefined;
        const projectId = typeof tenant === 'string' ? tenant : tenant === undefined || tenant === null ? undefined : JSON.stringify(tenant);
        const c = await s.credentials.createEc2Credential(params.user_id, projectId, ctx.trustId ?? null, callerOf(req));
        return { credential: ec2CredentialView(c, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/users/:user_id/credentials/OS-EC2/:credential_id',
      params: CredParams,
      policy: 'identity:ec2_get_credential',
      credentials: tokenCredentials,
      target: ({ params }) => credentialTarget(params.credential_id),
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        const c = await s.credentials.getEc2CredentialOrThrow(params.user_id, params.credential_id);
        requirePrimaryAuthForEc2(ctx);
        return { credential: ec2CredentialView(c, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/users/:user_id/credentials/OS-EC2/:credential_id',
      params: CredParams,
      policy: 'identity:ec2_delete_credential',
      credentials: tokenCredentials,
      target: ({ params }) => credentialTarget(params.credential_id),
      status: 204,
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        requirePrimaryAuthForEc2(ctx);
        await s.credentials.deleteEc2Credential(params.user_id, params.credential_id, callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/ec2tokens',
      // COMPAT(keystone 22.0.2-0+deb12u6): upstream now restricts this to service users and admins, as s3tokens
      policy: 'identity:ec2tokens_validate',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ body, reply }) => {
        const token = await s.credentials.authenticateEc2(signedCredentialsOf(body));
        void reply.header('x-subject-token', token.id);
        return tokenView(token, await s.catalog.catalogFor(token.project?.id, token.user.id));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/s3tokens',
      // what swift's s3api (s3token middleware) calls; the same flow with S3's signature
      policy: 'identity:s3tokens_validate',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ body }) => {
        const token = await s.credentials.authenticateEc2(signedCredentialsOf(body), s3SignatureMatches);
        return tokenView(token, await s.catalog.catalogFor(token.project?.id, token.user.id));
      },
    }),
  ];
}
