// Named errors of groups and role assignments, in Keystone's words (keystone/exception.py).
import { ForbiddenError, NotFoundError, ValidationError } from '@alto/kernel';

export const GroupNotFound = (id: string) => new NotFoundError(`Could not find group: ${id}.`, 'identity.group_not_found');

/** Keystone raises a bare NotFound here, with no final period. */
export const UserNotInGroup = (userId: string, groupId: string) => new NotFoundError(`User '${userId}' not found in group '${groupId}'`, 'identity.user_not_in_group');

export const DomainSpecificRoleMismatch = (roleId: string, projectId: string) =>
  new ForbiddenError(`Project ${projectId} must be in the same domain as the role ${roleId} being assigned.`, 'identity.role_domain_mismatch');

export const DomainRoleInSystemGrant = (roleId: string) =>
  new ValidationError(`Role ${roleId} is a domain-specific role. Unable to use a domain-specific role in a system assignment.`, 'identity.domain_role_system_grant');

/** Keystone's InvalidImpliedRole; its own message is a SecurityError's, so the detail never shows. */
export const InvalidImpliedRole = (roleId: string) => new ForbiddenError(`${roleId} cannot be an implied roles.`, 'identity.invalid_implied_role');

export const InvalidOperator = (op: string) =>
  new ValidationError(`The given operator ${op} is not valid. It must be one of the following: 'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'.`, 'identity.invalid_operator');

export const TimestampInvalid = () =>
  new ValidationError(
    'Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.',
    'identity.invalid_timestamp',
  );
