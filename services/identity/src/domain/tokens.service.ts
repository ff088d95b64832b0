// Tokens: issue Keystone-compatible Fernet tokens, validate them (cached in memory until identity
// data changes), revoke them. Validation re-reads the user, scope and roles, as Keystone does,
// so disabling or deleting anything a token depends on stops the token.
import { LRUCache } from 'lru-cache';
import { UnauthorizedError } from '@alto/kernel';
import type { AuthContext } from '@alto/http';
import type { TokenFormatter, TokenPayload, ParsedToken } from '../crypto/token-formatter.js';
import type { FernetKeySource } from '../crypto/key-repository.js';
import type { FernetKey } from '../crypto/fernet.js';
import { newAuditId } from '../crypto/token-formatter.js';
import type { Scope } from './models.js';
import { TokenInvalid, TokenUnrecognized } from './errors.js';
import type { CoreDeps } from './deps.js';
import type { ResourceService } from './resource.service.js';
import type { UsersService } from './users.service.js';
import type { RolesService } from './roles.service.js';
import type { RevocationService } from './revocation.service.js';

export interface Named {
  id: string;
  name: string;
}

export interface TokenData {
  id: string;
  methods: string[];
  /** [own audit id] or [own, the chain's first]. */
  auditIds: string[];
  expiresAt: Date;
  issuedAt: Date;
  user: Named & { domain: Named; passwordExpiresAt: number | null };
  scope: Scope;
  project?: Named & { domain: Named };
  domain?: Named;
  roles: Named[];
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
  private readonly settings: TokenSettings;
  private readonly cache: LRUCache<string, CacheEntry>;

  constructor(
    deps: CoreDeps,
    services: { formatter: TokenFormatter; keys: FernetKeySource; resources: ResourceService; users: UsersService; roles: RolesService; revocations: RevocationService },
    settings: TokenSettings,
  ) {
    this.d = deps;
    this.formatter = services.formatter;
    this.keys = services.keys;
    this.resources = services.resources;
    this.users = services.users;
    this.roles = services.roles;
    this.revocations = services.revocations;
    this.settings = settings;
    this.cache = new LRUCache({ max: settings.cacheEntries });
  }

  /** Makes a token for a user already authenticated by some method. */
  async issue(req: { userId: string; methods: string[]; scope: Scope; expiresAt?: Date; parentAuditIds?: string[] }): Promise<TokenData> {
    const now = this.d.clock.nowMs();
    // Keystone keeps whole seconds in the token
    const expiresAt = req.expiresAt ?? new Date(Math.floor(now / 1000) * 1000 + this.settings.expiration * 1000);
    const auditIds = [newAuditId(), ...(req.parentAuditIds ? [req.parentAuditIds[req.parentAuditIds.length - 1]!] : [])];
    const payload: TokenPayload = { userId: req.userId, methods: req.methods, scope: toTokenScope(req.scope), expiresAt, auditIds };
    const id = await this.formatter.create(payload);
    const keys = await this.keys.keys();
    const data = await this.build({ ...payload, issuedAt: new Date(Math.floor(now / 1000) * 1000), payloadVersion: 0 }, id, 'issue');
    this.cache.set(id, { generation: this.d.invalidator.generation, keys, data });
    return data;
  }

  /**
   * What a token stands for. Throws a NotFoundError (404 on X-Subject-Token) for anything that
   * is not a valid, unrevoked token of an enabled user with access to its scope.
   */
  async validate(id: string, opts: { allowExpired?: boolean } = {}): Promise<TokenData> {
    const now = this.d.clock.nowMs();
    const graceMs = opts.allowExpired ? this.settings.allowExpiredWindow * 1000 : 0;
    const keys = await this.keys.keys();
    const hit = this.cache.get(id);
    if (hit && hit.generation === this.d.invalidator.generation && hit.keys === keys) {
      if (hit.data.expiresAt.getTime() + graceMs <= now) throw TokenInvalid();
      if (this.revocations.isRevoked(revocable(hit.data))) throw TokenInvalid();
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
    if (this.revocations.isRevoked(revocable(data))) throw TokenInvalid();
    this.cache.set(id, { generation, keys, data });
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
    };
    const scope = fromTokenScope(p.scope);
    if (scope.type === 'unscoped') return { ...base, scope, roles: [] };
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
      roleIds = await this.roles.effectiveRoleIds(user.id, { project: pr.id });
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
    return { ...base, scope, roles, ...(project ? { project } : {}), ...(domain ? { domain } : {}) };
  }
}

export function toTokenScope(s: Scope): TokenPayload['scope'] {
  return s.type === 'system' ? { type: 'system', system: 'all' } : s;
}

export function fromTokenScope(s: TokenPayload['scope']): Scope {
  return s.type === 'system' ? { type: 'system' } : s;
}

function revocable(t: TokenData) {
  return {
    userId: t.user.id,
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
    tokenExpiresAt: t.expiresAt,
  };
}
