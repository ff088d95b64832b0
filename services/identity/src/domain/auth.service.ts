// Authentication: the password, token and application_credential methods, scope resolution
// (explicit, a trust's project, or the user's default project), and the audit trail of every attempt.
import type { Scope, User } from './models.js';
import { AuthFailed, BadRequest, ExpectingToFind, ProjectNotFound } from './errors.js';
import type { CoreDeps } from './deps.js';
import type { Initiator } from './notifications.js';
import type { ResourceService } from './resource.service.js';
import type { UsersService } from './users.service.js';
import type { RolesService } from './roles.service.js';
import type { TokenData, TokensService } from './tokens.service.js';
import type { TrustsService } from './trusts.service.js';
import type { ApplicationCredential, ApplicationCredentialAuthRef, ApplicationCredentialsService } from './application-credentials.service.js';
import { ApplicationCredentialAuthError, ForbiddenAction, isTrustNotFound } from './delegation.errors.js';
import { isDelegatedMethod } from './delegation.js';
import type { AccessToken, OAuth1Service } from './oauth1.service.js';
import type { OAuth1Request } from './oauth1.js';

interface NameOrId {
  id?: string;
  name?: string;
}

/** The body of POST /v3/auth/tokens, already checked against Keystone's schema. */
export interface AuthRequest {
  identity: {
    methods: string[];
    password?: { user?: NameOrId & { password?: string; domain?: NameOrId } };
    token?: { id: string };
    application_credential?: ApplicationCredentialAuthRef;
  };
  scope?: string | { project?: NameOrId & { domain?: NameOrId }; domain?: NameOrId; system?: { all?: boolean }; 'OS-TRUST:trust'?: { id?: string }; unscoped?: object };
}

/** The methods this deployment accepts, in `[auth] methods` order. */
export const SUPPORTED_METHODS = ['password', 'token', 'oauth1', 'application_credential'];

export class AuthService {
  private readonly d: CoreDeps;
  private readonly resources: ResourceService;
  private readonly users: UsersService;
  private readonly roles: RolesService;
  private readonly tokens: TokensService;
  private readonly trusts: TrustsService;
  private readonly applicationCredentials: ApplicationCredentialsService;
  private readonly oauth1: OAuth1Service | undefined;
  /** `[token] allow_rescope_scoped_token`. */
  private readonly settings: { allowRescopeScopedToken: boolean };

  constructor(
    deps: CoreDeps,
    s: { resources: ResourceService; users: UsersService; roles: RolesService; tokens: TokensService; trusts: TrustsService; applicationCredentials: ApplicationCredentialsService; oauth1?: OAuth1Service },
    settings: { allowRescopeScopedToken: boolean } = { allowRescopeScopedToken: true },
  ) {
    this.d = deps;
    this.settings = settings;
    this.resources = s.resources;
    this.users = s.users;
    this.roles = s.roles;
    this.tokens = s.tokens;
    this.trusts = s.trusts;
    this.applicationCredentials = s.applicationCredentials;
    this.oauth1 = s.oauth1;
  }

  /** `request.oauth1`: the HTTP request as signed, for the oauth1 method (its Authorization header carries the access token). */
  async authenticate(body: AuthRequest, initiator: Initiator, request: { oauth1?: OAuth1Request } = {}): Promise<TokenData> {
    const methods = body.identity.methods;
    if (methods.length === 0) throw AuthFailed('no_methods');
    for (const m of methods) {
      if (!SUPPORTED_METHODS.includes(m)) throw AuthFailed('unsupported_method');
      if (!(m in body.identity)) throw ExpectingToFind(m, 'identity');
    }
    // An application credential brings its own scope; Keystone looks it up before any method runs.
    let appCred: ApplicationCredential | undefined;
    if (methods.includes('application_credential')) {
      if (body.scope !== undefined) throw ApplicationCredentialAuthError('Application credentials cannot request a scope.');
      appCred = await this.applicationCredentials.findForAuth(body.identity.application_credential ?? {});
    }
    let userId: string | undefined;
    let parent: TokenData | undefined;
    let tokenMethods: string[] = [];
    let accessToken: AccessToken | undefined;
    try {
      if (methods.includes('token')) {
        // Keystone answers a bad token here as validation does: 404; a token restricted by
        // access rules is refused here, as no one would enforce them on the new token
        parent = await this.tokens.validate(body.identity.token!.id, { withoutAccessRules: true }).catch((err: unknown) => {
          throw isTrustNotFound(err) ? AuthFailed('trust_not_found') : err;
        });
        assertMayMakeTokens(parent, body.scope, this.settings.allowRescopeScopedToken);
        userId = parent.user.id;
        tokenMethods = parent.methods;
      }
      if (appCred) {
        const appUserId = await this.applicationCredentials.authenticate(appCred, body.identity.application_credential?.secret);
        if (userId && userId !== appUserId) throw AuthFailed('methods_disagree');
        userId = appUserId;
      }
      if (methods.includes('oauth1')) {
        if (!this.oauth1 || !request.oauth1) throw AuthFailed('unsupported_method');
        accessToken = await this.oauth1.authenticate(request.oauth1);
        if (userId && userId !== accessToken.authorizingUserId) throw AuthFailed('methods_disagree');
        userId = accessToken.authorizingUserId;
      }
      if (methods.includes('password')) {
        const pwUserId = await this.checkPassword(body.identity.password?.user);
        if (userId && userId !== pwUserId) throw AuthFailed('methods_disagree');
        userId = pwUserId;
      }
    } catch (err) {
      this.d.notifier.authenticate('failure', undefined, initiator);
      throw err;
    }
    this.d.notifier.authenticate('success', userId, initiator);

    const trustId = typeof body.scope === 'object' ? body.scope['OS-TRUST:trust']?.id : undefined;
    // an OAuth1 access token is for one project, whatever scope the request names (upstream's set_scope)
    const scope: Scope = appCred
      ? await this.applicationCredentialScope(appCred)
      : accessToken
        ? { type: 'project', projectId: accessToken.projectId }
        : await this.resolveScope(body.scope, userId!);
    // Rescoping keeps the original expiry and joins the original's audit chain.
    const allMethods = [...new Set([...methods, ...tokenMethods])];
    await this.users.checkMfaRules(userId!, allMethods, SUPPORTED_METHODS);
    const token = await this.tokens
      .issue({
        userId: userId!,
        methods: allMethods,
        scope,
        ...(parent ? { expiresAt: parent.expiresAt, parentAuditIds: parent.auditIds } : {}),
        ...(trustId !== undefined ? { trustId } : {}),
        ...(appCred ? { applicationCredentialId: appCred.id, ...(appCred.expiresAt ? { notAfter: new Date(appCred.expiresAt.ms) } : {}) } : {}),
        ...(accessToken ? { accessTokenId: accessToken.id } : {}),
      })
      .catch((err: unknown) => {
        throw isTrustNotFound(err) ? AuthFailed('trust_not_found') : err;
      });
    // a use is taken only once the token exists
    if (trustId !== undefined) await this.trusts.consumeUse(trustId);
    return token;
  }

  /** An application credential's token is scoped to its project, and only there. */
  private async applicationCredentialScope(cred: ApplicationCredential): Promise<Scope> {
    // COMPAT(keystone): upstream issues a project-less token for a credential made with an
    // unscoped token; a Fernet application credential payload needs a project, so it is refused.
    if (!cred.projectId) throw AuthFailed('app_cred_without_project');
    return { type: 'project', projectId: cred.projectId };
  }

  /** A trust's project, once the trust is found usable (an unusable one is a 401). */
  private async trustScope(ref: { id?: string }): Promise<Scope> {
    if (!ref.id) throw ExpectingToFind('trust_id', 'trust');
    const trust = await this.trusts.getTrustOrThrow(ref.id).catch((err: unknown) => {
      throw isTrustNotFound(err) ? AuthFailed('trust_not_found') : err;
    });
    // COMPAT(keystone): a trust without a project cannot scope a token; upstream says so this way
    if (trust.projectId === null) throw ProjectNotFound('None');
    const project = await this.resources.getProjectOrThrow(trust.projectId).catch(() => undefined);
    const domain = project ? await this.resources.getDomainOrThrow(project.domainId).catch(() => undefined) : undefined;
    if (!project || project.isDomain || !project.enabled || !domain?.enabled) throw AuthFailed('scope_project_missing');
    return { type: 'project', projectId: project.id };
  }

  private async checkPassword(u: (NameOrId & { password?: string; domain?: NameOrId }) | undefined): Promise<string> {
    if (!u) throw ExpectingToFind('user', 'password');
    if (u.id === undefined && u.name === undefined) throw BadRequest('Invalid input for field identity/password/user: id or name must be present.', 'identity.auth_user_ref');
    // a missing or empty password is an authentication failure, as upstream answers it
    if (u.password === undefined || u.password === '') {
      await this.users.checkPassword(undefined, 'x');
      throw AuthFailed('no_password');
    }
    let user: User | undefined;
    if (u.id !== undefined) {
      user = await this.users.getUserOrThrow(u.id).catch(() => undefined);
    } else {
      if (!u.domain) throw ExpectingToFind('domain', 'user');
      if (u.domain.id === undefined && u.domain.name === undefined) throw BadRequest('Invalid input for field identity/password/user/domain: id or name must be present.', 'identity.auth_domain_ref');
      const domain = u.domain.id !== undefined ? await this.resources.getDomainOrThrow(u.domain.id).catch(() => undefined) : await this.resources.findDomainByName(u.domain.name!);
      user = domain ? await this.users.findUserByName(domain.id, u.name!) : undefined;
    }
    // The hash is checked even for an unknown user, so both cost the same and read the same.
    const ok = await this.users.checkPassword(user, u.password);
    if (!user || !ok) throw AuthFailed('bad_credentials');
    const domain = await this.resources.getDomainOrThrow(user.domainId).catch(() => undefined);
    if (!user.enabled || !domain?.enabled) throw AuthFailed('disabled');
    return user.id;
  }

  private async resolveScope(scope: AuthRequest['scope'], userId: string): Promise<Scope> {
    if (scope === 'unscoped' || (typeof scope === 'object' && scope.unscoped !== undefined)) return { type: 'unscoped' };
    if (typeof scope === 'string') throw BadRequest(`Invalid input for field 'scope': ${JSON.stringify(scope)} is not a valid scope`, 'identity.bad_scope');
    if (!scope || Object.keys(scope).length === 0) return this.defaultProjectScope(userId);
    const kinds = ['project', 'domain', 'system', 'OS-TRUST:trust'].filter((k) => k in scope);
    if (kinds.length === 0) throw ExpectingToFind('system, project, domain, OS-TRUST:trust or unscoped', 'scope');
    if (kinds.length > 1) throw BadRequest('Specifying more than one of project, domain, trust or system is not allowed.', 'identity.multiple_scopes');
    if (scope['OS-TRUST:trust']) return this.trustScope(scope['OS-TRUST:trust']);
    // COMPAT(keystone): {"system": {"all": false}} still yields a system-scoped token
    if (scope.system) return { type: 'system' };
    if (scope.domain) {
      const d = scope.domain;
      if (d.id === undefined && d.name === undefined) throw BadRequest('Invalid input for field scope/domain: id or name must be present.', 'identity.scope_domain_ref');
      const domain = d.id !== undefined ? await this.resources.getDomainOrThrow(d.id).catch(() => undefined) : await this.resources.findDomainByName(d.name!);
      if (!domain) throw AuthFailed('scope_domain_missing');
      return { type: 'domain', domainId: domain.id };
    }
    const p = scope.project!;
    if (p.id === undefined && p.name === undefined) throw BadRequest('Invalid input for field scope/project: id or name must be present.', 'identity.scope_project_ref');
    if (p.id !== undefined) {
      const project = await this.resources.getProjectOrThrow(p.id).catch(() => undefined);
      if (!project || project.isDomain) throw AuthFailed('scope_project_missing');
      return { type: 'project', projectId: project.id };
    }
    if (!p.domain) throw ExpectingToFind('domain', 'project');
    if (p.domain.id === undefined && p.domain.name === undefined) throw BadRequest('Invalid input for field scope/project/domain: id or name must be present.', 'identity.scope_project_domain_ref');
    const domain = p.domain.id !== undefined ? await this.resources.getDomainOrThrow(p.domain.id).catch(() => undefined) : await this.resources.findDomainByName(p.domain.name!);
    const project = domain ? await this.resources.findProjectByName(domain.id, p.name!) : undefined;
    if (!project) throw AuthFailed('scope_project_missing');
    return { type: 'project', projectId: project.id };
  }

  /** No scope asked for: the user's default project when it is usable and they have a role there. */
  private async defaultProjectScope(userId: string): Promise<Scope> {
    const user = await this.users.getUserOrThrow(userId);
    if (!user.defaultProjectId) return { type: 'unscoped' };
    const project = await this.resources.getProjectOrThrow(user.defaultProjectId).catch(() => undefined);
    if (!project?.enabled) return { type: 'unscoped' };
    const domain = await this.resources.getDomainOrThrow(project.domainId).catch(() => undefined);
    if (!domain?.enabled) return { type: 'unscoped' };
    const roles = await this.roles.effectiveRoleIds(userId, { project: project.id });
    return roles.length ? { type: 'project', projectId: project.id } : { type: 'unscoped' };
  }
}

/**
 * Token.authenticate()'s guard: a token made through a delegation (a trust, an application
 * credential, OAuth1, EC2) must not be exchanged for another, possibly broader, token.
 */
function assertMayMakeTokens(parent: TokenData, scope: AuthRequest['scope'], allowRescopeScopedToken: boolean): void {
  const asked = typeof scope === 'object' && scope !== null ? scope : {};
  const projectOrDomain = 'project' in asked || 'domain' in asked;
  if (parent.oauth1) throw ForbiddenAction('Using OAuth-scoped token to create another token. Create a new OAuth-scoped token instead', 'identity.rescope_oauth_token');
  if (parent.trust) throw ForbiddenAction('Using trust-scoped token to create another token. Create a new trust-scoped token instead', 'identity.rescope_trust_token');
  // COMPAT(keystone): this action ends with its own period, so the message has two
  if (parent.scope.type === 'system' && projectOrDomain) {
    throw ForbiddenAction('Using a system-scoped token to create a project-scoped or domain-scoped token is not allowed.', 'identity.rescope_system_token');
  }
  if (isDelegatedMethod(parent.methods)) throw ForbiddenAction('Using a delegated token to create another token is not allowed.', 'identity.rescope_delegated_token');
  // [token] allow_rescope_scoped_token = false: only unscoped tokens may be exchanged
  if (!allowRescopeScopedToken && (parent.scope.type === 'project' || parent.scope.type === 'domain')) throw ForbiddenAction('rescope a scoped token', 'identity.rescope_scoped_token');
}
