// Users and their passwords: unique names per domain, hashing off the event loop, cascades on
// delete, and the checks authentication relies on.
import { newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { Extra, User } from './models.js';
import { BadRequest, Conflict, UserNotFound } from './errors.js';
import type { Caller, CoreDeps } from './deps.js';
import type { ResourceService } from './resource.service.js';
import {
  clearAuthFailures,
  deleteUserRow,
  insertPassword,
  insertUser,
  recordAuthFailure,
  rowToUser,
  selectCurrentPassword,
  selectPasswordExpiries,
  selectUserRow,
  selectUserRowByName,
  selectUserRows,
  updateUserRow,
  type UserFilter,
} from '../store/user.repo.js';
import { deleteAssignmentsOfActor } from '../store/assignment.repo.js';

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

export class UsersService {
  private readonly d: CoreDeps;
  private readonly resources: ResourceService;
  private readonly hasher: PasswordHasher;

  constructor(deps: CoreDeps, resources: ResourceService, hasher: PasswordHasher) {
    this.d = deps;
    this.resources = resources;
    this.hasher = hasher;
  }

  async getUserOrThrow(id: string): Promise<User> {
    const r = await selectUserRow(this.d.db, id);
    if (!r) throw UserNotFound(id);
    const pw = await selectCurrentPassword(this.d.db, id);
    return rowToUser(r, pw?.expires_at ?? null);
  }

  async findUserByName(domainId: string, name: string): Promise<User | undefined> {
    const r = await selectUserRowByName(this.d.db, domainId, name);
    if (!r) return undefined;
    const pw = await selectCurrentPassword(this.d.db, r.id);
    return rowToUser(r, pw?.expires_at ?? null);
  }

  async listUsers(f: UserFilter): Promise<User[]> {
    const rows = await selectUserRows(this.d.db, f);
    const expiries = await selectPasswordExpiries(this.d.db, rows.map((r) => r.id));
    return rows.map((r) => rowToUser(r, expiries.get(r.id) ?? null));
  }

  private async checkDefaultProject(id: string | null | undefined): Promise<void> {
    if (!id) return;
    const p = await this.resources.getProjectOrThrow(id).catch(() => undefined);
    // Keystone refuses a domain (or nothing) as a default project
    if (!p || p.isDomain) throw BadRequest(`Unable to set default_project_id; the project ${id} does not exist or is a domain.`, 'identity.bad_default_project');
  }

  async createUser(input: UserInput, caller: Caller | undefined): Promise<User> {
    const domainId = input.domainId ?? (caller ? this.resources.defaultDomainFor(caller) : this.d.defaultDomainId);
    await this.resources.getDomainOrThrow(domainId);
    await this.checkDefaultProject(input.defaultProjectId);
    const now = this.d.clock.nowMs();
    const user: User = {
      id: newHexId(),
      name: input.name,
      domainId,
      enabled: input.enabled ?? true,
      defaultProjectId: input.defaultProjectId ?? null,
      extra: input.extra ?? {},
      options: input.options ?? {},
      passwordExpiresAt: null,
      createdAt: now,
    };
    const hash = input.password == null ? undefined : await this.hasher.hash(input.password);
    try {
      await this.d.db.transaction().execute(async (trx) => {
        await insertUser(trx, user);
        if (hash) await insertPassword(trx, { id: newHexId(), user_id: user.id, password_hash: hash, created_at: now, expires_at: null, self_service: 0 });
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
    if (patch.defaultProjectId !== undefined) await this.checkDefaultProject(patch.defaultProjectId);
    const next: User = {
      ...current,
      name: patch.name ?? current.name,
      enabled: patch.enabled ?? current.enabled,
      defaultProjectId: patch.defaultProjectId === undefined ? current.defaultProjectId : patch.defaultProjectId,
      options: patch.options ? { ...current.options, ...patch.options } : current.options,
      extra: patch.extra ? { ...current.extra, ...patch.extra } : current.extra,
    };
    const now = this.d.clock.nowMs();
    const hash = patch.password == null ? undefined : await this.hasher.hash(patch.password);
    try {
      await this.d.db.transaction().execute(async (trx) => {
        await updateUserRow(trx, next);
        if (hash) await insertPassword(trx, { id: newHexId(), user_id: id, password_hash: hash, created_at: now, expires_at: null, self_service: 0 });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('user', `Duplicate entry found with name ${next.name} at domain ID ${next.domainId}`);
      throw err;
    }
    if (current.enabled !== next.enabled || hash) this.d.invalidator.invalidate(`user ${id} changed`);
    this.d.notifier.resource('updated', 'user', id, caller.initiator);
    if (current.enabled && !next.enabled) this.d.notifier.resource('disabled', 'user', id, caller.initiator);
    return { ...next, passwordExpiresAt: hash ? null : current.passwordExpiresAt };
  }

  async deleteUser(id: string, caller: Caller): Promise<void> {
    await this.getUserOrThrow(id);
    await this.d.db.transaction().execute(async (trx) => {
      await deleteAssignmentsOfActor(trx, id);
      await deleteUserRow(trx, id);
    });
    this.d.invalidator.invalidate(`user ${id} deleted`);
    this.d.notifier.resource('deleted', 'user', id, caller.initiator);
  }

  /**
   * True when the password is the user's current one. Always runs a hash comparison, so an
   * unknown user costs the same time as a wrong password.
   */
  async checkPassword(user: User | undefined, password: string): Promise<boolean> {
    const current = user ? await selectCurrentPassword(this.d.db, user.id) : undefined;
    const ok = await this.hasher.verify(password, current?.password_hash ?? (await this.decoyHash()));
    if (!user || !current) return false;
    if (ok) await clearAuthFailures(this.d.db, user.id);
    else await recordAuthFailure(this.d.db, user.id, this.d.clock.nowMs());
    return ok;
  }

  private decoy: Promise<string> | undefined;
  /** A hash of a random password with the configured algorithm, made once. */
  private decoyHash(): Promise<string> {
    this.decoy ??= this.hasher.hash(newHexId());
    return this.decoy;
  }
}
