// Tokens: issue Keystone-compatible Fernet tokens, validate them (cached in memory until identity
// data changes), revoke them. Validation re-reads the user, scope and roles (and the trust or
// application credential a token carries), as Keystone does, so disabling or deleting anything a
// token depends on stops the token.
import { LRUCache } from 'lru-cache';
import { UnauthorizedError } from '@alto/kernel';
import type { AuthContext } from '@alto/http';
import type { TokenFormatter, TokenPayload, ParsedToken } from '../crypto/token-formatter.js';
import type { FernetKeySource } from '../crypto/key-repository.js';
import type { FernetKey } from '../crypto/fernet.js';
import { newAuditId } from '../crypto/token-formatter.js';
import type { Role, Scope } from './models.js';
import { TokenInvalid, TokenUnrecognized } from './errors.js';
import { ForbiddenQuietly, TrustNotFound } from './delegation.errors.js';
import type { CoreDeps } from './deps.js';
import type { ResourceService } from './resource.service.js';
import type { UsersService } from './users.service.js';
import type { RolesService } from './roles.service.js';
import type { RevocableToken, RevocationService } from './revocation.service.js';
import type { TrustsService } from './trusts.service.js';
import type { ApplicationCredentialsService } from './application-credentials.service.js';
import type { OAuth1TokenSource } from './oauth1.service.js';

export interface Named {
  id: string;
  name: string;
}

/** A role in a token; trust tokens show the whole role, as upstream renders them. */
export interface TokenRole extends Named {
  detail?: Pick<Role, 'description' | 'domainId' | 'options' | 'extra'>;
}

/** OS-TRUST:trust of a trust-scoped token. */
export interface TokenTrust {
  id: string;
  impersonation: boolean;
  trustorId: string;
  trusteeId: string;
  /** Epoch ms; the token stops validating when the trust expires. */
  expiresAt: number | null;
}

/** The application credential a token was made with. */
export interface TokenApplicationCredential {
  id: string;
  name: string;
  restricted: boolean;
  accessRules: { id: string; service: string; path: string; method: string }[];
}

export interface TokenData {
  id: string;
  methods: string[];
  /** [own audit id] or [own, the chain's first]. */
  auditIds: string[];
  expiresAt: Date;
  issuedAt: Date;
  /** The user the token acts as: for an impersonating trust, the trustor. */
  user: Named & { domain: Named; passwordExpiresAt: number | null };
  /** The user who authenticated (the trustee of a trust token); the token's own user id. */
  authUserId: string;
  scope: Scope;
  project?: Named & { domain: Named };
  domain?: Named;
  roles: TokenRole[];
  trust?: TokenTrust;
  applicationCredential?: TokenApplicationCredential;
  /** OS-OAUTH1 of a token made with an OAuth1 access token (payload 7). */
  oauth1?: { accessTokenId: string; consumerId: string };
}

export interface TokenSettings {
  /** `[token] expiration`, seconds. */
  expiration: number;
  /** `[token] allow_expired_window`, seconds. */
  allowExpiredWindow: number;
  cacheEntries: number;
}

interface CacheEntry {
  generation: number;
  /** The key set the token was checked against: a rotation that purges its key ends it. */
  keys: readonly FernetKey[];
  data: TokenData;
}

export class TokensService {
  private readonly d: CoreDeps;
  private readonly formatter: TokenFormatter;
  private readonly keys: FernetKeySource;
  private readonly resources: ResourceService;
  private readonly users: UsersService;
  private readonly roles: RolesService;
  private readonly revocations: RevocationService;
  private readonly trusts: TrustsService;
  private readonly applicationCredentials: ApplicationCredentialsService;
  private readonly oauth1: OAuth1TokenSource | undefined;
  private readonly settings: TokenSettings;
  private readonly cache: LRUCache<string, CacheEntry>;

  constructor(
    deps: CoreDeps,
    services: {
      formatter: TokenFormatter;
      keys: FernetKeySource;
      resources: ResourceService;
      users: UsersService;
      roles: RolesService;
      revocations: RevocationService;
      trusts: TrustsService;
      applicationCredentials: ApplicationCredentialsService;
      oauth1?: OAuth1TokenSource;
    },
    settings: TokenSettings,
  ) {
    this.d = deps;
    this.formatter = services.formatter;
    this.keys = services.keys;
    this.resources = services.resources;
    this.users = services.users;
    this.roles = services.roles;
    this.revocations = services.revocations;
    this.trusts = services.trusts;
    this.applicationCredentials = services.applicationCredentials;
    this.oauth1 = services.oauth1;
    this.settings = settings;
    this.cache = new LRUCache({ max: settings.cacheEntries });
  }

  /**
   * Makes a token for a user already authenticated by some method. `notAfter` caps the expiry
   * (an application credential's own, CVE-2022-2447); a trust or credential id makes the
   * token trust-scoped (payload 3) or an application credential token (payload 9).
   */
  async issue(req: {
    userId: string;
    methods: string[];
    scope: Scope;
    expiresAt?: Date;
    notAfter?: Date;
    parentAuditIds?: string[];
    trustId?: string;
    applicationCredentialId?: string;
    accessTokenId?: string;
  }): Promise<TokenData> {
    const now = this.d.clock.nowMs();
    // Keystone keeps whole seconds in the token
    let expiresAt = req.expiresAt ?? new Date(Math.floor(now / 1000) * 1000 + this.settings.expiration * 1000);
    if (req.notAfter && req.notAfter < expiresAt) expiresAt = new Date(Math.floor(req.notAfter.getTime() / 1000) * 1000);
    const auditIds = [newAuditId(), ...(req.parentAuditIds ? [req.parentAuditIds[req.parentAuditIds.length - 1]!] : [])];
    const payload: TokenPayload = {
      userId: req.userId,
      methods: req.methods,
      scope: toTokenScope(req.scope),
      expiresAt,
      auditIds,
      ...(req.trustId ? { trustId: req.trustId } : {}),
      ...(req.applicationCredentialId ? { applicationCredentialId: req.applicationCredentialId } : {}),
      ...(req.accessTokenId ? { accessTokenId: req.accessTokenId } : {}),
    };
    const id = await this.formatter.create(payload);
    const keys = await this.keys.keys();
    const data = await this.build({ ...payload, issuedAt: new Date(Math.floor(now / 1000) * 1000), payloadVersion: 0 }, id, 'issue');
    this.cache.set(id, { generation: this.d.invalidator.generation, keys, data });
    return data;
  }

  /**
   * What a token stands for. Throws a NotFoundError (404 on X-Subject-Token) for anything that
   * is not a valid, unrevoked token of an enabled user with access to its scope.
   * `withoutAccessRules`: the caller cannot enforce application credential access rules
   * (no OpenStack-Identity-Access-Rules header), so tokens restricted by them are refused.
   */
  async validate(id: string, opts: { allowExpired?: boolean; withoutAccessRules?: boolean } = {}): Promise<TokenData> {
    const now = this.d.clock.nowMs();
    const graceMs = opts.allowExpired ? this.settings.allowExpiredWindow * 1000 : 0;
    const keys = await this.keys.keys();
    const hit = this.cache.get(id);
    if (hit && hit.generation === this.d.invalidator.generation && hit.keys === keys) {
      if (hit.data.expiresAt.getTime() + graceMs <= now) throw TokenInvalid();
      if (this.isRevoked(hit.data)) throw TokenInvalid();
      // a trust can expire before its tokens do
      if (hit.data.trust?.expiresAt != null && now > hit.data.trust.expiresAt) throw TrustNotFound(hit.data.trust.id);
      if (opts.withoutAccessRules && hit.data.applicationCredential?.accessRules.length) throw TokenInvalid();
      return hit.data;
    }
    let parsed: ParsedToken;
    try {
      parsed = await this.formatter.parse(id);
    } catch {
      throw TokenUnrecognized();
    }
    if (parsed.expiresAt.getTime() + graceMs <= now) throw TokenInvalid();
    const generation = this.d.invalidator.generation;
    const data = await this.build(parsed, id, 'validate');
    if (this.isRevoked(data)) throw TokenInvalid();
    this.cache.set(id, { generation, keys, data });
    if (opts.withoutAccessRules && data.applicationCredential?.accessRules.length) throw TokenInvalid();
    return data;
  }

  /** DELETE /v3/auth/tokens: revokes this token (by its audit id) everywhere. */
  async revoke(id: string): Promise<void> {
    const data = await this.validate(id);
    await this.revocations.revoke({ audit_id: data.auditIds[0]! });
    this.cache.delete(id);
  }

  /** Fills in user, scope and roles from the database; refuses what Keystone refuses. */
  private async build(p: ParsedToken, id: string, why: 'issue' | 'validate'): Promise<TokenData> {
    const fail = () => (why === 'issue' ? new UnauthorizedError(undefined, 'identity.auth_failed.scope') : TokenInvalid());
    const user = await this.users.getUserOrThrow(p.userId).catch(() => {
      throw fail();
    });
    const userDomain = await this.resources.getDomainOrThrow(user.domainId).catch(() => {
      throw fail();
    });
    if (!user.enabled || !userDomain.enabled) throw fail();
    const base = {
      id,
      methods: p.methods,
      auditIds: p.auditIds,
      expiresAt: p.expiresAt,
      issuedAt: p.issuedAt,
      user: { id: user.id, name: user.name, domain: { id: userDomain.id, name: userDomain.name }, passwordExpiresAt: user.passwordExpiresAt },
      authUserId: user.id,
    };
    // A delegation is re-read every time: deleting, expiring or using up a trust, or deleting
    // an application credential, ends its tokens (TokenModel.mint()).
    const trust = p.trustId ? await this.trusts.getTrustOrThrow(p.trustId) : undefined;
    let delegation: Pick<TokenData, 'trust' | 'applicationCredential'> = {};
    if (trust) {
      if (user.id !== trust.trusteeUserId) throw ForbiddenQuietly('identity.not_trustee');
      const trustor = await this.users.getUserOrThrow(trust.trustorUserId).catch(() => {
        throw fail();
      });
      const trustorDomain = await this.resources.getDomainOrThrow(trustor.domainId).catch(() => {
        throw fail();
      });
      if (!trustorDomain.enabled) throw fail();
      if (!trustor.enabled) throw ForbiddenQuietly('identity.trustor_disabled');
      if (trust.impersonation) {
        base.user = { id: trustor.id, name: trustor.name, domain: { id: trustorDomain.id, name: trustorDomain.name }, passwordExpiresAt: trustor.passwordExpiresAt };
      }
      delegation = { trust: { id: trust.id, impersonation: trust.impersonation, trustorId: trustor.id, trusteeId: user.id, expiresAt: trust.expiresAt } };
    }
    const appCred = p.applicationCredentialId ? await this.applicationCredentials.getApplicationCredentialOrThrow(p.applicationCredentialId) : undefined;
    if (appCred) {
      if (appCred.userId !== user.id) throw fail();
      delegation = {
        applicationCredential: {
          id: appCred.id,
          name: appCred.name,
          restricted: !appCred.unrestricted,
          accessRules: appCred.accessRules.map((r) => ({ id: r.id, service: r.service, path: r.path, method: r.method })),
        },
      };
    }
    const scope = fromTokenScope(p.scope);
    if (scope.type === 'unscoped') return { ...base, scope, roles: [], ...delegation };
    let roleIds: string[];
    let project: TokenData['project'];
    let domain: TokenData['domain'];
    if (scope.type === 'project') {
      const pr = await this.resources.getProjectOrThrow(scope.projectId).catch(() => {
        throw fail();
      });
      const prDomain = await this.resources.getDomainOrThrow(pr.domainId).catch(() => {
        throw fail();
      });
      if (!pr.enabled || !prDomain.enabled || pr.isDomain) throw fail();
      project = { id: pr.id, name: pr.name, domain: { id: prDomain.id, name: prDomain.name } };
      if (trust) {
        if (trust.projectId !== pr.id) throw fail();
        // the trust's roles (and what they imply) that its trustor still holds there, or 403
        const roles: TokenRole[] = (await this.trusts.tokenRoles(trust)).map((r) => ({
          id: r.id,
          name: r.name,
          detail: { description: r.description, domainId: r.domainId, options: r.options, extra: r.extra },
        }));
        if (roles.length === 0) throw fail();
        return { ...base, scope, roles, project, ...delegation };
      }
      if (p.accessTokenId) {
        // the access token is re-read: deleting it (or its consumer) ends its tokens
        const access = await this.oauth1?.tokenAccess(p.accessTokenId, user.id, pr.id).catch(() => undefined);
        if (!access || access.roleIds.length === 0) throw fail();
        const byId = await this.roles.rolesByIds(access.roleIds);
        return { ...base, scope, roles: [...byId.values()].map((r) => ({ id: r.id, name: r.name })), project, oauth1: { accessTokenId: p.accessTokenId, consumerId: access.consumerId } };
      }
      if (appCred) {
        if (appCred.projectId !== pr.id) throw fail();
        // the credential's roles the user still holds there
        roleIds = await this.applicationCredentials.tokenRoleIds(appCred, user.id, pr.id);
      } else {
        roleIds = await this.roles.effectiveRoleIds(user.id, { project: pr.id });
      }
    } else if (trust || appCred || p.accessTokenId) {
      throw fail();
    } else if (scope.type === 'domain') {
      const dm = await this.resources.getDomainOrThrow(scope.domainId).catch(() => {
        throw fail();
      });
      if (!dm.enabled) throw fail();
      domain = { id: dm.id, name: dm.name };
      roleIds = await this.roles.effectiveRoleIds(user.id, { domain: dm.id });
    } else {
      roleIds = await this.roles.effectiveRoleIds(user.id, { system: 'all' });
    }
    if (roleIds.length === 0) throw fail();
    const byId = await this.roles.rolesByIds(roleIds);
    const roles = [...byId.values()].map((r) => ({ id: r.id, name: r.name }));
    return { ...base, scope, roles, ...(project ? { project } : {}), ...(domain ? { domain } : {}), ...delegation };
  }

  /**
   * Keystone matches an event's user_id against the token's user, trustor and trustee: a
   * password change or disable of the trustor revokes the trust's tokens too.
   */
  private isRevoked(t: TokenData): boolean {
    const r = revocable(t);
    if (this.revocations.isRevoked(r)) return true;
    return t.trust !== undefined && this.revocations.isRevoked({ ...r, userId: t.trust.trustorId });
  }
}

export function toTokenScope(s: Scope): TokenPayload['scope'] {
  return s.type === 'system' ? { type: 'system', system: 'all' } : s;
}

export function fromTokenScope(s: TokenPayload['scope']): Scope {
  return s.type === 'system' ? { type: 'system' } : s;
}

function revocable(t: TokenData): RevocableToken {
  return {
    userId: t.authUserId,
    trustId: t.trust?.id,
    projectId: t.project?.id,
    domainId: t.domain?.id,
    domainIds: [t.user.domain.id, ...(t.project ? [t.project.domain.id] : []), ...(t.domain ? [t.domain.id] : [])],
    roleIds: t.roles.map((r) => r.id),
    auditIds: t.auditIds,
    issuedAtMs: t.issuedAt.getTime(),
  };
}

/** The RequestContext fields a validated token gives (keystonemiddleware's headers). */
export function toAuthContext(t: TokenData): AuthContext {
  return {
    authToken: t.id,
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
    systemScope: t.scope.type === 'system' ? 'all' : undefined,
    roles: t.roles.map((r) => r.name),
    // oslo.context's default when no admin project is configured
    isAdminProject: true,
    serviceRoles: [],
    authMethods: t.methods,
    auditIds: t.auditIds,
    trustId: t.trust?.id,
    applicationCredentialId: t.applicationCredential?.id,
    // Keystone shows access_rules only when there are some; an empty list restricts nothing
    accessRules: t.applicationCredential?.accessRules.length ? t.applicationCredential.accessRules.map((r) => ({ service: r.service, method: r.method, path: r.path })) : undefined,
    tokenExpiresAt: t.expiresAt,
  };
}
