// Application credentials and access rules: a user's delegation of (some of) their roles on one
// project to an application, authenticated by a secret stored hashed like passwords, as
// keystone/application_credential and keystone/api/users.py do it.
import { randomBytes } from 'node:crypto';
import { newHexId, type RequestContext } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { Role } from './models.js';
import { AuthFailed, Conflict, ExpectingToFind, RoleAssignmentNotFound } from './errors.js';
import type { Caller, CoreDeps } from './deps.js';
import type { PasswordHasher, UsersService } from './users.service.js';
import type { RolesService } from './roles.service.js';
import type { ResourceService } from './resource.service.js';
import {
  AccessRuleInUse,
  AccessRuleNotFound,
  ApplicationCredentialLimitExceeded,
  ApplicationCredentialNotFound,
  ApplicationCredentialValidation,
  ForbiddenAction,
  ForbiddenQuietly,
  RoleNameNotFound,
} from './delegation.errors.js';
import { isDelegatedMethod, parseExpirationDate, type Instant } from './delegation.js';
import {
  accessRuleInUse,
  countApplicationCredentials,
  deleteAccessRuleRow,
  deleteApplicationCredentialRow,
  findAccessRuleRow,
  insertAccessRule,
  insertApplicationCredential,
  selectAccessRuleRow,
  selectAccessRuleRows,
  selectApplicationCredentialAccessRules,
  selectApplicationCredentialRoleIds,
  selectApplicationCredentialRow,
  selectApplicationCredentialRows,
  type AccessRuleRow,
  type ApplicationCredentialRow,
} from '../store/application-credential.repo.js';

export interface AccessRule {
  id: string;
  userId: string;
  service: string;
  path: string;
  method: string;
}

export interface ApplicationCredential {
  id: string;
  name: string;
  description: string | null;
  userId: string;
  projectId: string | null;
  system: string | null;
  expiresAt: Instant | null;
  unrestricted: boolean;
  roleIds: string[];
  /** Empty when the credential may call any API. */
  accessRules: AccessRule[];
}

/** A credential with its roles resolved (roles deleted since are left out), for views. */
export interface ApplicationCredentialDetail extends ApplicationCredential {
  roles: Role[];
}

export type RoleRef = { id: string } | { name: string };
export type AccessRuleRef = { id: string } | { service: string; path: string; method: string };

export interface ApplicationCredentialInput {
  name: string;
  description?: string | null | undefined;
  secret?: string | null | undefined;
  expiresAt?: string | null | undefined;
  roles?: RoleRef[] | undefined;
  unrestricted?: boolean | undefined;
  accessRules?: AccessRuleRef[] | undefined;
}

/** What the caller's token holds: an application credential takes at most these roles, on this project. */
export interface CallerToken {
  projectId: string | undefined;
  roleIds: string[];
}

/** identity.application_credential in POST /v3/auth/tokens. */
export interface ApplicationCredentialAuthRef {
  id?: string | undefined;
  name?: string | undefined;
  secret?: string | undefined;
  user?: { id?: string | undefined; name?: string | undefined; domain?: { id?: string | undefined; name?: string | undefined } | undefined } | undefined;
}

export interface ApplicationCredentialSettings {
  /** `[application_credential] user_limit`; -1 is no limit. */
  userLimit: number;
}

function rowToAccessRule(r: AccessRuleRow): AccessRule {
  return { id: r.id, userId: r.user_id, service: r.service, path: r.path, method: r.method };
}

/** Keystone's _generate_secret(): 64 random bytes, url-safe base64 without padding. */
function generateSecret(): string {
  return randomBytes(64).toString('base64url');
}

export class ApplicationCredentialsService {
  private readonly d: CoreDeps;
  private readonly users: UsersService;
  private readonly roles: RolesService;
  private readonly resources: ResourceService;
  private readonly hasher: PasswordHasher;
  private readonly settings: ApplicationCredentialSettings;

  constructor(
    deps: CoreDeps,
    s: { users: UsersService; roles: RolesService; resources: ResourceService; hasher: PasswordHasher },
    settings: ApplicationCredentialSettings,
  ) {
    this.d = deps;
    this.users = s.users;
    this.roles = s.roles;
    this.resources = s.resources;
    this.hasher = s.hasher;
    this.settings = settings;
  }

  // ---- who may manage them ----------------------------------------------------------------

  /**
   * _block_delegated_token_app_creds(): a trust, OAuth1 or EC2 token must not mint credentials
   * that outlive its delegation. Application credential tokens are judged by assertUnrestricted.
   */
  private assertNotDelegated(ctx: RequestContext): void {
    if (ctx.authMethods?.includes('application_credential')) return;
    if (ctx.trustId || isDelegatedMethod(ctx.authMethods)) throw ForbiddenQuietly('identity.app_cred_by_delegation');
  }

  /** _check_unrestricted_application_credential(): only an unrestricted credential manages others. */
  private async assertUnrestricted(ctx: RequestContext): Promise<void> {
    if (!ctx.authMethods?.includes('application_credential')) return;
    const own = ctx.applicationCredentialId ? await selectApplicationCredentialRow(this.d.db, ctx.applicationCredentialId) : undefined;
    if (own?.unrestricted !== 1) {
      throw ForbiddenAction("Using method 'application_credential' is not allowed for managing additional application credentials.", 'identity.app_cred_restricted');
    }
  }

  // ---- application credentials ------------------------------------------------------------

  async createApplicationCredential(userId: string, input: ApplicationCredentialInput, caller: Caller, token: CallerToken): Promise<ApplicationCredentialDetail & { secret: string }> {
    this.assertNotDelegated(caller.ctx);
    await this.assertUnrestricted(caller.ctx);
    if (caller.ctx.userId !== userId) throw ForbiddenAction('Cannot create an application credential for another user.');
    const projectId = token.projectId ?? null;
    const secret = input.secret || generateSecret();
    const roleIds = await this.rolesFor(input.roles, token);
    const expiresAt = input.expiresAt ? parseExpirationDate(input.expiresAt, this.d.clock.nowMs()) : null;

    if (this.settings.userLimit >= 0 && (await countApplicationCredentials(this.d.db, userId)) >= this.settings.userLimit) {
      throw ApplicationCredentialLimitExceeded(this.settings.userLimit);
    }
    // the roles must still be the user's on the project, not only in the (possibly older) token
    if (projectId !== null && roleIds.length) {
      const held = new Set(await this.roles.effectiveRoleIds(userId, { project: projectId }));
      const missing = roleIds.find((r) => !held.has(r));
      if (missing) throw ApplicationCredentialValidation(RoleAssignmentNotFound(missing, userId, projectId).message);
    }
    const row: ApplicationCredentialRow = {
      id: newHexId(),
      name: input.name,
      secret_hash: await this.hasher.hash(secret),
      description: input.description ?? null,
      user_id: userId,
      project_id: projectId,
      system: null,
      expires_at: expiresAt?.us ?? null,
      unrestricted: input.unrestricted ? 1 : 0,
      created_at: this.d.clock.nowMs(),
    };
    let rules: AccessRule[] = [];
    try {
      await this.d.db.transaction().execute(async (trx) => {
        rules = [];
        for (const ref of input.accessRules ?? []) {
          // a rule by id must be one of this user's; an identical rule is shared, not repeated
          if ('id' in ref && !('service' in ref)) {
            const found = await selectAccessRuleRow(trx, ref.id);
            if (!found || found.user_id !== userId) throw AccessRuleNotFound(ref.id);
            rules.push(rowToAccessRule(found));
            continue;
          }
          const wanted = ref as { id?: string; service: string; path: string; method: string };
          const byId = wanted.id ? await selectAccessRuleRow(trx, wanted.id) : undefined;
          const existing = byId?.user_id === userId ? byId : await findAccessRuleRow(trx, userId, wanted);
          if (existing) {
            rules.push(rowToAccessRule(existing));
            continue;
          }
          const fresh: AccessRuleRow = { id: newHexId(), user_id: userId, service: wanted.service, path: wanted.path, method: wanted.method };
          await insertAccessRule(trx, fresh);
          rules.push(rowToAccessRule(fresh));
        }
        await insertApplicationCredential(trx, row, roleIds, [...new Set(rules.map((r) => r.id))]);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('application_credential', `Duplicate entry found with name ${input.name}`);
      throw err;
    }
    this.d.notifier.resource('created', 'application_credential', row.id, caller.initiator);
    const cred = this.fromRow(row, roleIds, rules);
    return { ...(await this.detail([cred]))[0]!, secret };
  }

  /**
   * The roles asked for (by id or name), each one the caller's token holds; none asked for
   * means all of the token's roles.
   */
  private async rolesFor(refs: RoleRef[] | undefined, token: CallerToken): Promise<string[]> {
    if (!refs || refs.length === 0) return [...new Set(token.roleIds)];
    const ids: string[] = [];
    for (const ref of refs) {
      if ('id' in ref) {
        ids.push(ref.id);
        continue;
      }
      const found = await this.roles.listRoles({ name: ref.name });
      if (found.length === 0) throw RoleNameNotFound(ref.name);
      ids.push(found[0]!.id);
    }
    // the token's roles, not the user's: a trustee or credential user must not escalate
    const held = new Set(token.roleIds);
    if (ids.some((id) => !held.has(id))) throw ApplicationCredentialValidation('Cannot create an application credential with unassigned role');
    return [...new Set(ids)];
  }

  async getApplicationCredentialOrThrow(id: string): Promise<ApplicationCredential> {
    const row = await selectApplicationCredentialRow(this.d.db, id);
    if (!row) throw ApplicationCredentialNotFound(id);
    return (await this.withLinks([row]))[0]!;
  }

  /** GET .../application_credentials/{id}, checked by the caller's token kind. */
  async showApplicationCredential(id: string, caller: Caller): Promise<ApplicationCredentialDetail> {
    this.assertNotDelegated(caller.ctx);
    return (await this.detail([await this.getApplicationCredentialOrThrow(id)]))[0]!;
  }

  async listApplicationCredentials(userId: string, f: { name?: string }, caller: Caller): Promise<ApplicationCredentialDetail[]> {
    this.assertNotDelegated(caller.ctx);
    const rows = await selectApplicationCredentialRows(this.d.db, { userId, ...(f.name !== undefined ? { name: f.name } : {}) });
    return this.detail(await this.withLinks(rows));
  }

  /** Tokens made with it stop validating: validation re-reads the credential. */
  async deleteApplicationCredential(id: string, caller: Caller): Promise<void> {
    this.assertNotDelegated(caller.ctx);
    await this.assertUnrestricted(caller.ctx);
    if ((await deleteApplicationCredentialRow(this.d.db, id)) === 0) throw ApplicationCredentialNotFound(id);
    this.d.invalidator.invalidate(`application credential ${id} deleted`);
    this.d.notifier.resource('deleted', 'application_credential', id, caller.initiator);
  }

  private fromRow(r: ApplicationCredentialRow, roleIds: string[], rules: AccessRule[]): ApplicationCredential {
    return {
      id: r.id,
      name: r.name,
      description: r.description,
      userId: r.user_id,
      projectId: r.project_id,
      system: r.system,
      expiresAt: r.expires_at === null ? null : { us: Number(r.expires_at), ms: Math.floor(Number(r.expires_at) / 1000) },
      unrestricted: r.unrestricted === 1,
      roleIds,
      accessRules: rules,
    };
  }

  private async withLinks(rows: ApplicationCredentialRow[]): Promise<ApplicationCredential[]> {
    const ids = rows.map((r) => r.id);
    const roles = await selectApplicationCredentialRoleIds(this.d.db, ids);
    const rules = await selectApplicationCredentialAccessRules(this.d.db, ids);
    return rows.map((r) => this.fromRow(r, roles.get(r.id) ?? [], (rules.get(r.id) ?? []).map(rowToAccessRule)));
  }

  private async detail(creds: ApplicationCredential[]): Promise<ApplicationCredentialDetail[]> {
    const roles = await this.roles.rolesByIds(creds.flatMap((c) => c.roleIds));
    return creds.map((c) => ({ ...c, roles: c.roleIds.map((id) => roles.get(id)).filter((r): r is Role => r !== undefined) }));
  }

  // ---- access rules -----------------------------------------------------------------------

  /** A rule by id, only among the user's own (Keystone would show anyone's by id). */
  async getAccessRuleOrThrow(userId: string, id: string, caller: Caller): Promise<AccessRule> {
    this.assertNotDelegated(caller.ctx);
    const row = await selectAccessRuleRow(this.d.db, id);
    if (!row || row.user_id !== userId) throw AccessRuleNotFound(id);
    return rowToAccessRule(row);
  }

  async listAccessRules(userId: string, f: { service?: string; path?: string; method?: string }, caller: Caller): Promise<AccessRule[]> {
    this.assertNotDelegated(caller.ctx);
    return (await selectAccessRuleRows(this.d.db, { userId, ...f })).map(rowToAccessRule);
  }

  /** A rule an application credential still uses is refused (403), as upstream's foreign key does. */
  async deleteAccessRule(userId: string, id: string, caller: Caller): Promise<void> {
    await this.getAccessRuleOrThrow(userId, id, caller);
    if (await accessRuleInUse(this.d.db, id)) throw AccessRuleInUse();
    try {
      await deleteAccessRuleRow(this.d.db, id);
    } catch (err) {
      // a credential took it between the check and the delete
      if (await accessRuleInUse(this.d.db, id)) throw AccessRuleInUse();
      throw err;
    }
    this.d.notifier.resource('deleted', 'access_rule', id, caller.initiator);
  }

  // ---- authentication ---------------------------------------------------------------------

  /**
   * AuthInfo._lookup_app_cred(): the credential an auth request names, by id (404 when unknown,
   * as upstream answers) or by name and user (401 when not exactly one).
   */
  async findForAuth(ref: ApplicationCredentialAuthRef): Promise<ApplicationCredential> {
    if (ref.id) return this.getApplicationCredentialOrThrow(ref.id);
    if (!ref.name) throw ExpectingToFind('name or ID', 'application credential');
    if (!ref.user) throw ExpectingToFind('user', 'application credential');
    let userId = ref.user.id;
    if (!userId) {
      if (!ref.user.domain) throw ExpectingToFind('domain', 'user');
      const d = ref.user.domain;
      const domain = d.id !== undefined ? await this.resources.getDomainOrThrow(d.id).catch(() => undefined) : d.name !== undefined ? await this.resources.findDomainByName(d.name) : undefined;
      if (!domain?.enabled) throw AuthFailed('app_cred_domain');
      const user = ref.user.name !== undefined ? await this.users.findUserByName(domain.id, ref.user.name) : undefined;
      if (!user) throw AuthFailed('app_cred_user');
      userId = user.id;
    }
    const rows = await selectApplicationCredentialRows(this.d.db, { userId, name: ref.name });
    if (rows.length !== 1) throw AuthFailed('app_cred_name');
    return (await this.withLinks(rows))[0]!;
  }

  /** The secret is right, the credential unexpired and its user (and their domain) enabled; returns the user id. */
  async authenticate(cred: ApplicationCredential, secret: string | undefined): Promise<string> {
    const row = await selectApplicationCredentialRow(this.d.db, cred.id);
    if (!row) throw AuthFailed('app_cred_gone');
    const ok = secret !== undefined && secret !== '' && (await this.hasher.verify(secret, row.secret_hash));
    if (!ok) throw AuthFailed('app_cred_secret');
    if (cred.expiresAt && cred.expiresAt.us <= this.d.clock.nowMs() * 1000) throw AuthFailed('app_cred_expired');
    const user = await this.users.getUserOrThrow(cred.userId).catch(() => undefined);
    const domain = user ? await this.resources.getDomainOrThrow(user.domainId).catch(() => undefined) : undefined;
    if (!user?.enabled || !domain?.enabled) throw AuthFailed('disabled');
    return user.id;
  }

  /**
   * The roles a token of this credential carries now: the credential's roles the user still
   * holds on its project (implied ones count as held, but are not added).
   */
  async tokenRoleIds(cred: ApplicationCredential, userId: string, projectId: string): Promise<string[]> {
    const held = new Set(await this.roles.effectiveRoleIds(userId, { project: projectId }));
    return cred.roleIds.filter((r) => held.has(r));
  }
}
