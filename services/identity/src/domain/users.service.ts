// Users and their passwords: unique names per domain, hashing off the event loop, cascades on
// delete, and Keystone's [security_compliance] rules at authentication and password change.
import { newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { Extra, User } from './models.js';
import { AuthFailed, BadRequest, Conflict, UserNotFound } from './errors.js';
import type { Caller, CoreDeps } from './deps.js';
import type { ResourceService } from './resource.service.js';
import type { RevocationService } from './revocation.service.js';
import {
  LOCK_PASSWORD,
  NO_SECURITY_COMPLIANCE,
  PasswordExpired,
  PasswordHistoryReused,
  PasswordSelfServiceDisabled,
  PasswordValidationFailed,
  InsufficientAuthMethods,
  UserDisabled,
  checkMinimumAge,
  checkPasswordRegex,
  historyToKeep,
  isInactive,
  lockState,
  mergeOptions,
  mfaRulesSatisfied,
  mustChangeOnFirstUse,
  passwordExpiry,
  passwordIsExpired,
  utcDay,
  type SecurityCompliance,
} from './password-rules.js';
import {
  clearAuthFailures,
  deleteUserRow,
  insertUser,
  markActive,
  pushPassword,
  recordAuthFailure,
  rowToUser,
  selectCurrentPassword,
  selectPasswordHistory,
  selectUserRow,
  selectUserRowByName,
  selectUserRows,
  updateUserRow,
  type UserFilter,
  type UserRow,
} from '../store/user.repo.js';
import { deleteAssignmentsOfActor } from '../store/assignment.repo.js';
import type { Db } from '../store/rows.js';
import { deleteCredentialsOfUser } from '../store/credential.repo.js';
import { deleteApplicationCredentialsOfUser } from '../store/application-credential.repo.js';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** false for a wrong password; throws for a hash it cannot read. */
  verify(password: string, hash: string): Promise<boolean>;
}

export interface UserInput {
  name: string;
  domainId?: string | undefined;
  password?: string | null | undefined;
  enabled?: boolean;
  defaultProjectId?: string | null | undefined;
  options?: Record<string, unknown>;
  extra?: Extra;
}

export interface UserPatch {
  name?: string;
  enabled?: boolean;
  password?: string | null;
  defaultProjectId?: string | null;
  options?: Record<string, unknown>;
  extra?: Extra;
}

export type Comparison = 'lt' | 'lte' | 'gt' | 'gte' | 'eq' | 'neq';
export type TextMatch = 'equals' | 'contains' | 'startswith' | 'endswith';

/** GET /v3/users filters beyond the exact ones the database applies. */
export interface UserListFilter extends UserFilter {
  /** ?password_expires_at=lt:2026-01-01T00:00:00Z, on the current password. */
  passwordExpiresAt?: { op: Comparison; atMs: number }[];
  /** ?name__icontains=x and friends. */
  nameMatches?: { op: TextMatch; value: string; caseSensitive: boolean }[];
  /** ?idp_id=, ?protocol_id=, ?unique_id=: federated users only, and there are none here. */
  federatedOnly?: boolean;
}

/** A stored password with no hash: a user whose password was set to null cannot use one. */
const NO_PASSWORD = '';

const COMPARE: Record<Comparison, (a: number, b: number) => boolean> = {
  lt: (a, b) => a < b,
  lte: (a, b) => a <= b,
  gt: (a, b) => a > b,
  gte: (a, b) => a >= b,
  eq: (a, b) => a === b,
  neq: (a, b) => a !== b,
};

function textMatches(v: string, m: { op: TextMatch; value: string; caseSensitive: boolean }): boolean {
  const [s, x] = m.caseSensitive ? [v, m.value] : [v.toLowerCase(), m.value.toLowerCase()];
  if (m.op === 'contains') return s.includes(x);
  if (m.op === 'startswith') return s.startsWith(x);
  if (m.op === 'endswith') return s.endsWith(x);
  return s === x;
}

type Outcome = 'ok' | 'bad' | 'expired';

export class UsersService {
  private readonly d: CoreDeps;
  private readonly resources: ResourceService;
  private readonly hasher: PasswordHasher;
  private readonly revocations: RevocationService | undefined;
  private readonly sc: SecurityCompliance;

  constructor(deps: CoreDeps, resources: ResourceService, hasher: PasswordHasher, opts: { revocations?: RevocationService; securityCompliance?: SecurityCompliance } = {}) {
    this.d = deps;
    this.resources = resources;
    this.hasher = hasher;
    this.revocations = opts.revocations;
    this.sc = opts.securityCompliance ?? NO_SECURITY_COMPLIANCE;
  }

  /** A row as the API sees it: an inactive user reads as disabled, as Keystone's model does. */
  toUser(r: UserRow): User {
    const u = rowToUser(r, r.password_expires_at);
    if (u.enabled && isInactive({ lastActiveAt: r.last_active_at, createdAt: r.created_at, options: u.options }, this.sc, this.d.clock.nowMs())) u.enabled = false;
    return u;
  }

  async getUserOrThrow(id: string): Promise<User> {
    const r = await selectUserRow(this.d.db, id);
    if (!r) throw UserNotFound(id);
    return this.toUser(r);
  }

  async findUserByName(domainId: string, name: string): Promise<User | undefined> {
    const r = await selectUserRowByName(this.d.db, domainId, name);
    return r ? this.toUser(r) : undefined;
  }

  async listUsers(f: UserListFilter): Promise<User[]> {
    if (f.federatedOnly) return [];
    const { passwordExpiresAt, nameMatches, federatedOnly: _f, ...exact } = f;
    let users = (await selectUserRows(this.d.db, exact)).map((r) => this.toUser(r));
    for (const c of passwordExpiresAt ?? []) users = users.filter((u) => u.passwordExpiresAt !== null && COMPARE[c.op](u.passwordExpiresAt, c.atMs));
    for (const m of nameMatches ?? []) users = users.filter((u) => textMatches(u.name, m));
    return users;
  }

  /** Keystone refuses a domain as a default project; a project that does not exist is accepted. */
  private async checkDefaultProject(id: string | null | undefined): Promise<void> {
    if (!id) return;
    const p = await this.resources.getProjectOrThrow(id).catch(() => undefined);
    if (p?.isDomain) throw BadRequest(`User's default project ID cannot be a domain ID: ${id}`, 'identity.default_project_is_domain');
  }

  /** Keystone's validate_password: the regex, which also refuses a null password once set. */
  private checkNewPassword(password: string | null): void {
    if (!this.sc.password_regex) return;
    if (password === null) throw PasswordValidationFailed('Password must be a string type');
    checkPasswordRegex(password, this.sc);
  }

  /**
   * The expiry of a password an administrator sets: already passed when the user must change it
   * on first use. Bootstrap (no caller) sets the operator's own password, so it is exempt.
   */
  private adminSetExpiry(now: number, options: Record<string, unknown>, caller: Caller | undefined): number | null {
    if (caller && mustChangeOnFirstUse(options, this.sc)) return now;
    return passwordExpiry(now, options, this.sc);
  }

  /** Hash outside any transaction: it is slow and needs no lock. */
  private async hashOf(password: string | null | undefined): Promise<string | undefined> {
    if (password === undefined) return undefined;
    return password === null ? NO_PASSWORD : this.hasher.hash(password);
  }

  private async storePassword(db: Db, userId: string, hash: string, now: number, expiresAt: number | null, selfService: boolean): Promise<void> {
    await pushPassword(db, { id: newHexId(), user_id: userId, password_hash: hash, created_at: now, expires_at: expiresAt, self_service: selfService ? 1 : 0 }, historyToKeep(this.sc));
  }

  async createUser(input: UserInput, caller: Caller | undefined): Promise<User> {
    const domainId = input.domainId ?? (caller ? this.resources.defaultDomainFor(caller) : this.d.defaultDomainId);
    if (input.password !== undefined) this.checkNewPassword(input.password);
    await this.resources.getDomainOrThrow(domainId);
    await this.checkDefaultProject(input.defaultProjectId);
    const now = this.d.clock.nowMs();
    const options = mergeOptions({}, input.options);
    const expiresAt = input.password === undefined ? null : this.adminSetExpiry(now, options, caller);
    const user: User = {
      id: newHexId(),
      name: input.name.trim(),
      domainId,
      enabled: input.enabled ?? true,
      defaultProjectId: input.defaultProjectId ?? null,
      extra: input.extra ?? {},
      options,
      passwordExpiresAt: expiresAt,
      createdAt: now,
    };
    const hash = await this.hashOf(input.password);
    try {
      await this.d.db.transaction().execute(async (trx) => {
        await insertUser(trx, user);
        if (hash !== undefined) await this.storePassword(trx, user.id, hash, now, expiresAt, false);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('user', `Duplicate entry found with name ${user.name} at domain ID ${domainId}`);
      throw err;
    }
    if (caller) this.d.notifier.resource('created', 'user', user.id, caller.initiator);
    return user;
  }

  async updateUser(id: string, patch: UserPatch, caller: Caller): Promise<User> {
    const current = await this.getUserOrThrow(id);
    if (patch.password !== undefined) this.checkNewPassword(patch.password);
    if (patch.defaultProjectId !== undefined) await this.checkDefaultProject(patch.defaultProjectId);
    const next: User = {
      ...current,
      name: patch.name?.trim() ?? current.name,
      enabled: patch.enabled ?? current.enabled,
      defaultProjectId: patch.defaultProjectId === undefined ? current.defaultProjectId : patch.defaultProjectId,
      options: patch.options ? mergeOptions(current.options, patch.options) : current.options,
      extra: patch.extra ? { ...current.extra, ...patch.extra } : current.extra,
    };
    const now = this.d.clock.nowMs();
    const expiresAt = patch.password === undefined ? null : this.adminSetExpiry(now, next.options, caller);
    const hash = await this.hashOf(patch.password);
    try {
      await this.d.db.transaction().execute(async (trx) => {
        await updateUserRow(trx, next);
        // Keystone's enabled setter: every save of an enabled user unlocks it and, with the
        // inactivity rule on, counts as activity (that is how an administrator revives a user)
        if (next.enabled) {
          await clearAuthFailures(trx, id);
          if (this.sc.disable_user_account_days_inactive) await markActive(trx, id, utcDay(now));
        }
        if (hash !== undefined) await this.storePassword(trx, id, hash, now, expiresAt, false);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('user', `Duplicate entry found with name ${next.name} at domain ID ${next.domainId}`);
      throw err;
    }
    this.d.notifier.resource('updated', 'user', id, caller.initiator);
    const disabled = patch.enabled === false && current.enabled;
    if (disabled) this.d.notifier.resource('disabled', 'user', id, caller.initiator);
    if (disabled || typeof patch.password === 'string') await this.revokeTokensOf(id, disabled ? 'disabled' : 'password changed');
    else if (patch.password === null || patch.enabled !== undefined) this.d.invalidator.invalidate(`user ${id} changed`);
    return { ...next, passwordExpiresAt: patch.password === undefined ? current.passwordExpiresAt : expiresAt };
  }

  async deleteUser(id: string, caller: Caller): Promise<void> {
    await this.getUserOrThrow(id);
    await this.d.db.transaction().execute(async (trx) => {
      await deleteAssignmentsOfActor(trx, id);
      await deleteCredentialsOfUser(trx, id);
      await deleteApplicationCredentialsOfUser(trx, id);
      await deleteUserRow(trx, id);
    });
    this.d.notifier.resource('deleted', 'user', id, caller.initiator);
    await this.revokeTokensOf(id, 'deleted');
  }

  /** Keystone's revoke_by_user: an event that ends every token the user holds now. */
  private async revokeTokensOf(userId: string, why: string): Promise<void> {
    if (this.revocations) await this.revocations.revoke({ user_id: userId });
    this.d.invalidator.invalidate(`user ${userId} ${why}`);
  }

  /**
   * The password method's check, as Keystone's password plugin and identity driver make it: an
   * unknown or disabled user and a wrong password all answer false (the hash is computed anyway,
   * so they also cost the same); a locked account throws the same generic 401; an expired
   * (but right) password throws its own 401, which names the user as upstream's does. Success
   * resets the failure count.
   */
  async checkPassword(user: User | undefined, password: string): Promise<boolean> {
    if (user && !user.enabled) {
      await this.hasher.verify(password, await this.decoyHash());
      return false;
    }
    const outcome = await this.authenticateUser(user, password);
    if (outcome === 'expired') throw PasswordExpired(user!.id);
    return outcome === 'ok';
  }

  /** For bootstrap: is this the user's current, unexpired password? No counters move. */
  async passwordUsable(user: User, password: string): Promise<boolean> {
    const current = await selectCurrentPassword(this.d.db, user.id);
    if (!current || current.password_hash === NO_PASSWORD) return false;
    if (passwordIsExpired(current.expires_at, user.options, this.d.clock.nowMs())) return false;
    return this.hasher.verify(password, current.password_hash);
  }

  /** Keystone's identity driver authenticate(): lockout, then the password, enabled, expiry. */
  private async authenticateUser(user: User | undefined, password: string): Promise<Outcome> {
    const row = user ? await selectUserRow(this.d.db, user.id) : undefined;
    if (!user || !row) {
      await this.hasher.verify(password, await this.decoyHash());
      return 'bad';
    }
    const now = this.d.clock.nowMs();
    const lock = lockState({ failedAuthCount: row.failed_auth_count, failedAuthAt: row.failed_auth_at, options: user.options }, this.sc, now);
    // COMPAT(keystone): a locked account reads as any other failure (upstream's notification
    // wrapper replaces AccountLocked with a bare Unauthorized); only the audit trail knows
    if (lock === 'locked') throw AuthFailed('account_locked');
    if (lock === 'lapsed') await clearAuthFailures(this.d.db, user.id);
    const current = await selectCurrentPassword(this.d.db, user.id);
    const usable = current !== undefined && current.password_hash !== NO_PASSWORD;
    const ok = (await this.hasher.verify(password, usable ? current.password_hash : await this.decoyHash())) && usable;
    if (!ok) {
      await recordAuthFailure(this.d.db, user.id, now);
      return 'bad';
    }
    if (!user.enabled) throw UserDisabled(user.id);
    if (passwordIsExpired(current.expires_at, user.options, now)) return 'expired';
    await clearAuthFailures(this.d.db, user.id);
    if (this.sc.disable_user_account_days_inactive) await markActive(this.d.db, user.id, utcDay(now));
    return 'ok';
  }

  /**
   * POST /v3/users/{id}/password: the user proves the original password (an expired one will do,
   * that is how an expired password gets changed), then the new one must pass the regex, the
   * lock_password option, the minimum age of a self-chosen password and the history.
   */
  async changePassword(id: string, originalPassword: string, newPassword: string, caller: Caller): Promise<void> {
    const user = await this.getUserOrThrow(id).catch(() => undefined);
    const outcome = await this.authenticateUser(user, originalPassword);
    this.d.notifier.authenticate(outcome === 'bad' ? 'failure' : 'success', user?.id, caller.initiator);
    // COMPAT(keystone): upstream words this "Error when changing user password: ..." but, as a
    // security error, renders only the generic 401 message
    if (outcome === 'bad' || !user) throw AuthFailed('change_password');
    checkPasswordRegex(newPassword, this.sc);
    if (user.options[LOCK_PASSWORD] === true) throw PasswordSelfServiceDisabled();
    const now = this.d.clock.nowMs();
    const unique = this.sc.unique_last_password_count;
    const history = await selectPasswordHistory(this.d.db, id, Math.max(1, unique));
    const current = history[0];
    if (current?.self_service) checkMinimumAge(current.created_at, this.sc, now);
    if (unique > 0) {
      for (const p of history) {
        if (p.password_hash !== NO_PASSWORD && (await this.hasher.verify(newPassword, p.password_hash))) throw PasswordHistoryReused(unique);
      }
    }
    const expiresAt = passwordExpiry(now, user.options, this.sc);
    const hash = await this.hasher.hash(newPassword);
    await this.d.db.transaction().execute((trx) => this.storePassword(trx, id, hash, now, expiresAt, true));
    this.d.notifier.resource('updated', 'user', id, caller.initiator);
    await this.revokeTokensOf(id, 'password changed');
  }

  /**
   * Keystone's MFA rules: throws the 401 upstream turns into an auth receipt when the methods
   * that succeeded cover none of the user's rules. `offered`: the methods this deployment accepts.
   */
  async checkMfaRules(userId: string, methods: readonly string[], offered: readonly string[]): Promise<void> {
    const user = await this.getUserOrThrow(userId);
    if (!mfaRulesSatisfied(user.options, methods, offered)) throw InsufficientAuthMethods(userId, [...methods]);
  }

  private decoy: Promise<string> | undefined;
  /** A hash of a random password with the configured algorithm, made once. */
  private decoyHash(): Promise<string> {
    this.decoy ??= this.hasher.hash(newHexId());
    return this.decoy;
  }
}
