// Identity (Keystone v3) client: password authentication, token validation, and a remote
// TokenValidator that services use to authenticate their callers (keystonemiddleware's job).
import { UnauthorizedError, type Clock } from '@alto/kernel';
import { request } from './http-client.js';

export interface PasswordAuth {
  /** e.g. http://127.0.0.1:5000/v3 */
  authUrl: string;
  username: string;
  password: string;
  userDomainName?: string;
  projectName?: string;
  projectDomainName?: string;
  /** `{"system": {"all": true}}` instead of a project. */
  system?: boolean;
}

export interface KeystoneToken {
  methods: string[];
  user: { id: string; name: string; domain: { id: string; name: string } };
  expires_at: string;
  issued_at: string;
  audit_ids: string[];
  project?: { id: string; name: string; domain: { id: string; name: string } };
  domain?: { id: string; name: string };
  system?: { all: boolean };
  roles?: { id: string; name: string }[];
  catalog?: { id: string; type: string; name: string; endpoints: { id: string; interface: string; region_id: string | null; url: string }[] }[];
  'OS-TRUST:trust'?: { id: string };
  application_credential?: { id: string; name: string; restricted: boolean; access_rules?: { id?: string; service: string; method: string; path: string }[] };
}

export interface IssuedToken {
  id: string;
  token: KeystoneToken;
  ms: number;
}

const v3 = (authUrl: string) => authUrl.replace(/\/+$/, '').replace(/\/v3$/, '') + '/v3';

export async function passwordToken(a: PasswordAuth): Promise<IssuedToken> {
  const scope = a.system ? { system: { all: true } } : a.projectName ? { project: { name: a.projectName, domain: { name: a.projectDomainName ?? 'Default' } } } : undefined;
  const res = await request<{ token: KeystoneToken }>(`${v3(a.authUrl)}/auth/tokens`, {
    method: 'POST',
    body: {
      auth: {
        identity: { methods: ['password'], password: { user: { name: a.username, password: a.password, domain: { name: a.userDomainName ?? 'Default' } } } },
        ...(scope ? { scope } : {}),
      },
    },
  });
  const id = res.headers.get('x-subject-token');
  if (!id) throw new UnauthorizedError('identity service returned no X-Subject-Token', 'client.no_subject_token');
  return { id, token: res.body.token, ms: res.ms };
}

export interface ValidateTokenOptions {
  /** allow_expired: answer for a token past its expiry (the caller needs a service role). */
  allowExpired?: boolean;
  /** With the catalog (keystonemiddleware asks for it; services that only need the scope do not). */
  catalog?: boolean;
}

/**
 * GET /v3/auth/tokens. Says it enforces application credential access rules (as
 * keystonemiddleware does), so a token restricted by them is answered rather than refused.
 */
export async function validateToken(authUrl: string, callerToken: string, subjectToken: string, opts: ValidateTokenOptions = {}): Promise<{ token: KeystoneToken; ms: number }> {
  const query = [...(opts.catalog ? [] : ['nocatalog']), ...(opts.allowExpired ? ['allow_expired=1'] : [])];
  const res = await request<{ token: KeystoneToken }>(`${v3(authUrl)}/auth/tokens${query.length ? `?${query.join('&')}` : ''}`, {
    headers: { 'x-auth-token': callerToken, 'x-subject-token': subjectToken, 'openstack-identity-access-rules': ACCESS_RULES_SUPPORT },
  });
  return { token: res.body.token, ms: res.ms };
}

/** The access rules version this client enforces (keystonemiddleware's ACCESS_RULES_SUPPORT). */
const ACCESS_RULES_SUPPORT = '1';

/** The fields keystonemiddleware derives from a validated token (AuthContext in @alto/http). */
export function contextOfToken(id: string, t: KeystoneToken) {
  return {
    authToken: id,
    userId: t.user.id,
    userName: t.user.name,
    userDomainId: t.user.domain.id,
    userDomainName: t.user.domain.name,
    projectId: t.project?.id,
    projectName: t.project?.name,
    projectDomainId: t.project?.domain.id,
    projectDomainName: t.project?.domain.name,
    domainId: t.domain?.id,
    domainName: t.domain?.name,
    systemScope: t.system?.all ? ('all' as const) : undefined,
    roles: (t.roles ?? []).map((r) => r.name),
    isAdminProject: true,
    serviceRoles: [] as string[],
    authMethods: t.methods,
    auditIds: t.audit_ids,
    tokenExpiresAt: new Date(t.expires_at),
    trustId: t['OS-TRUST:trust']?.id,
    applicationCredentialId: t.application_credential?.id,
    accessRules: t.application_credential?.access_rules?.map((r) => ({ service: r.service, method: r.method, path: r.path })),
    catalogServiceTypes: t.catalog?.map((s) => s.type),
  };
}

/**
 * Validates callers' tokens against the identity service with the service's own token
 * (keystone_authtoken's username/password), renewing that token before it expires.
 */
export function remoteTokenValidator(service: PasswordAuth, clock: Clock) {
  let own: { id: string; expiresMs: number } | undefined;
  const serviceToken = async (): Promise<string> => {
    if (own && own.expiresMs - clock.nowMs() > 60_000) return own.id;
    const t = await passwordToken(service);
    own = { id: t.id, expiresMs: Date.parse(t.token.expires_at) };
    return t.id;
  };
  return {
    async validate(token: string, opts: { allowExpired?: boolean } = {}) {
      const check = async (catalog: boolean) => validateToken(service.authUrl, await serviceToken(), token, { ...opts, catalog });
      const ask = (catalog: boolean) =>
        check(catalog)
          .catch(async (err: unknown) => {
            // 401 is about our own token (revoked: password changed, user disabled...): get a new
            // one and ask once more, as keystonemiddleware does; 404 is about the caller's token
            if ((err as { details?: { status?: number } }).details?.status !== 401) throw err;
            own = undefined;
            return check(catalog);
          })
          .catch((err: unknown) => {
            throw new UnauthorizedError(undefined, 'auth.remote_validation_failed', { cause: err });
          });
      let { token: t } = await ask(false);
      // access rules are checked against the catalog too: ask again with it (only these tokens)
      if (t.application_credential?.access_rules) t = (await ask(true)).token;
      return contextOfToken(token, t);
    },
  };
}
