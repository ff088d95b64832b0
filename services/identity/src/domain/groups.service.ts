// Groups and their members: unique names per domain, membership, and the token revocations
// Keystone makes when a membership or a group that carried roles goes away.
import { newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { Extra, User } from './models.js';
import { BadRequest, Conflict } from './errors.js';
import { GroupNotFound, InvalidOperator, TimestampInvalid, UserNotInGroup } from './assignment.errors.js';
import type { Caller, CoreDeps } from './deps.js';
import type { ResourceService } from './resource.service.js';
import type { UsersService } from './users.service.js';
import type { RevocationService } from './revocation.service.js';
import {
  deleteGroupRow,
  deleteMembership,
  insertGroup,
  insertMembership,
  membershipExists,
  rowToGroup,
  selectGroupRow,
  selectGroupRows,
  selectGroupRowsOfUser,
  selectMemberIds,
  selectMemberRows,
  updateGroupRow,
  type PasswordComparator,
} from '../store/group.repo.js';
import { actorHasAssignments, GROUP_TYPES } from '../store/assignment.repo.js';
import { selectPasswordExpiries } from '../store/user.repo.js';

export interface Group {
  id: string;
  name: string;
  domainId: string;
  description: string | null;
  extra: Extra;
}

export interface GroupInput {
  name: string;
  domainId?: string | undefined;
  description?: string | null | undefined;
  extra?: Extra;
}

export interface GroupPatch {
  name?: string;
  /** Only accepted when it is the group's own domain (Keystone's "Cannot change Domain ID"). */
  domainId?: string;
  description?: string | null;
  extra?: Extra;
}

export interface MembersQuery {
  domainId?: string;
  name?: string;
  enabled?: boolean;
  /** Keystone's `password_expires_at` filter: `[lt|lte|gt|gte|eq|neq:]<ISO 8601 time>`. */
  passwordExpiresAt?: string;
}

const OPERATORS: Record<string, PasswordComparator> = { lt: '<', lte: '<=', gt: '>', gte: '>=', eq: '=', neq: '<>' };
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** keystone's _translate_expired_password_hints: an operator before the first ':' (at index 2 or 3), else `eq`. */
export function parsePasswordExpiresFilter(value: string): { op: PasswordComparator; at: number } {
  const colon = value.indexOf(':');
  const [opName, time] = colon === 2 || colon === 3 ? [value.slice(0, colon), value.slice(colon + 1)] : ['eq', value];
  const m = ISO_TIME.exec(time);
  // times without a zone are UTC, as oslo's parse_isotime reads them
  const at = m ? Date.parse(m[1] ? time : `${time.includes('T') || time.includes(' ') ? time : `${time}T00:00:00`}Z`) : NaN;
  if (Number.isNaN(at)) throw TimestampInvalid();
  const op = OPERATORS[opName];
  if (!op) throw InvalidOperator(opName);
  return { op, at };
}

export class GroupsService {
  private readonly d: CoreDeps;
  private readonly resources: ResourceService;
  private readonly users: UsersService;
  private readonly revocations: RevocationService;

  constructor(deps: CoreDeps, services: { resources: ResourceService; users: UsersService; revocations: RevocationService }) {
    this.d = deps;
    this.resources = services.resources;
    this.users = services.users;
    this.revocations = services.revocations;
  }

  async getGroupOrThrow(id: string): Promise<Group> {
    const r = await selectGroupRow(this.d.db, id);
    if (!r) throw GroupNotFound(id);
    return rowToGroup(r);
  }

  async listGroups(f: { domainId?: string; name?: string }): Promise<Group[]> {
    return (await selectGroupRows(this.d.db, f)).map(rowToGroup);
  }

  async groupsByIds(ids: string[]): Promise<Map<string, Group>> {
    const rows = await selectGroupRows(this.d.db, { ids: [...new Set(ids)] });
    return new Map(rows.map((r) => [r.id, rowToGroup(r)]));
  }

  async createGroup(input: GroupInput, caller: Caller): Promise<Group> {
    const domainId = input.domainId ?? this.resources.defaultDomainFor(caller);
    await this.resources.getDomainOrThrow(domainId);
    const group: Group = {
      id: newHexId(),
      name: input.name.trim(),
      domainId,
      description: input.description === undefined ? '' : input.description,
      extra: input.extra ?? {},
    };
    try {
      await insertGroup(this.d.db, group);
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('group', `Duplicate entry found with name ${group.name} at domain ID ${domainId}`);
      throw err;
    }
    this.d.notifier.resource('created', 'group', group.id, caller.initiator);
    return group;
  }

  async updateGroup(id: string, patch: GroupPatch, caller: Caller): Promise<Group> {
    const current = await this.getGroupOrThrow(id);
    if (patch.domainId !== undefined && patch.domainId !== current.domainId) throw BadRequest('Cannot change Domain ID', 'identity.immutable_domain_id');
    const next: Group = {
      ...current,
      name: patch.name === undefined ? current.name : patch.name.trim(),
      description: patch.description === undefined ? current.description : patch.description,
      extra: patch.extra ? { ...current.extra, ...patch.extra } : current.extra,
    };
    try {
      await updateGroupRow(this.d.db, next);
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('group', `Duplicate entry found with name ${next.name} at domain ID ${next.domainId}`);
      throw err;
    }
    this.d.notifier.resource('updated', 'group', id, caller.initiator);
    return next;
  }

  /**
   * Memberships and the group's role assignments go with it. When the group held any role,
   * its members' tokens are revoked, as Keystone does (a group without roles changed no token).
   */
  async deleteGroup(id: string, caller: Caller): Promise<void> {
    await this.getGroupOrThrow(id);
    const { hadRoles, members } = await this.d.db.transaction().execute(async (trx) => {
      const hadRoles = await actorHasAssignments(trx, id, GROUP_TYPES);
      const members = (await selectMemberIds(trx, [id])).get(id) ?? [];
      await deleteGroupRow(trx, id);
      return { hadRoles, members };
    });
    this.d.invalidator.invalidate(`group ${id} deleted`);
    this.d.notifier.resource('deleted', 'group', id, caller.initiator);
    if (hadRoles) for (const userId of members) await this.revocations.revoke({ user_id: userId });
  }

  /** Keystone's driver checks the group, then the user. */
  private async groupAndUser(userId: string, groupId: string): Promise<{ group: Group; user: User }> {
    const group = await this.getGroupOrThrow(groupId);
    const user = await this.users.getUserOrThrow(userId);
    return { group, user };
  }

  async addUserToGroup(userId: string, groupId: string, caller: Caller): Promise<void> {
    await this.groupAndUser(userId, groupId);
    try {
      await insertMembership(this.d.db, userId, groupId);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err; // a concurrent add: already a member, as asked
    }
    this.d.invalidator.invalidate(`user ${userId} added to group ${groupId}`);
    // Keystone announces membership changes as an update of the group
    this.d.notifier.resource('updated', 'group', groupId, caller.initiator);
  }

  /** The user's tokens are revoked: they may carry roles that came through the group. */
  async removeUserFromGroup(userId: string, groupId: string, caller: Caller): Promise<void> {
    if ((await deleteMembership(this.d.db, userId, groupId)) === 0) {
      await this.groupAndUser(userId, groupId);
      throw UserNotInGroup(userId, groupId);
    }
    await this.revocations.revoke({ user_id: userId });
    this.d.notifier.resource('updated', 'group', groupId, caller.initiator);
  }

  async checkUserInGroup(userId: string, groupId: string): Promise<void> {
    await this.groupAndUser(userId, groupId);
    if (!(await membershipExists(this.d.db, userId, groupId))) throw UserNotInGroup(userId, groupId);
  }

  async listUsersInGroup(groupId: string, q: MembersQuery): Promise<User[]> {
    await this.getGroupOrThrow(groupId);
    const rows = await selectMemberRows(this.d.db, groupId, {
      ...(q.domainId !== undefined ? { domainId: q.domainId } : {}),
      ...(q.name !== undefined ? { name: q.name } : {}),
      ...(q.enabled !== undefined ? { enabled: q.enabled } : {}),
      ...(q.passwordExpiresAt !== undefined ? { passwordExpires: parsePasswordExpiresFilter(q.passwordExpiresAt) } : {}),
    });
    const expiries = await selectPasswordExpiries(this.d.db, rows.map((r) => r.id));
    // through the users service, so an inactive member reads as disabled here too
    return rows.map((r) => this.users.toUser({ ...r, password_expires_at: expiries.get(r.id) ?? null }));
  }

  async listGroupsForUser(userId: string, f: { name?: string } = {}): Promise<Group[]> {
    await this.users.getUserOrThrow(userId);
    return (await selectGroupRowsOfUser(this.d.db, userId, f)).map(rowToGroup);
  }
}
