// Identity's named errors, with Keystone's wording (keystone/exception.py) and stable codes.
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '@alto/kernel';

const nf = (code: string, message: string) => new NotFoundError(message, `identity.${code}`);

export const DomainNotFound = (id: string) => nf('domain_not_found', `Could not find domain: ${id}.`);
export const ProjectNotFound = (id: string) => nf('project_not_found', `Could not find project: ${id}.`);
export const UserNotFound = (id: string) => nf('user_not_found', `Could not find user: ${id}.`);
export const RoleNotFound = (id: string) => nf('role_not_found', `Could not find role: ${id}.`);
export const RegionNotFound = (id: string) => nf('region_not_found', `Could not find region: ${id}.`);
export const ServiceNotFound = (id: string) => nf('service_not_found', `Could not find service: ${id}.`);
export const EndpointNotFound = (id: string) => nf('endpoint_not_found', `Could not find endpoint: ${id}.`);
/** Keystone's token validation messages (no final period): garbage, or expired/revoked. */
export const TokenUnrecognized = () => nf('token_unrecognized', 'Could not recognize Fernet token');
export const TokenInvalid = () => nf('token_invalid', 'Failed to validate token');
export const ImpliedRoleNotFound = (prior: string, implied: string) => nf('implied_role_not_found', `${prior} does not imply ${implied}.`);
export const RoleAssignmentNotFound = (roleId: string, actorId: string, targetId: string) =>
  nf('role_assignment_not_found', `Could not find role assignment with role: ${roleId}, user or group: ${actorId}, project, domain, or system: ${targetId}.`);

/** Keystone: "Conflict occurred attempting to store project - Duplicate entry found with name x at domain ID y." */
export function Conflict(type: string, details: string): ConflictError {
  return new ConflictError(`Conflict occurred attempting to store ${type} - ${details}.`, `identity.conflict_${type}`);
}

/**
 * Every authentication failure reads the same (wrong password, unknown user, disabled user,
 * no role on the project), so that a caller learns nothing about which accounts exist.
 */
export function AuthFailed(reason: string): UnauthorizedError {
  return new UnauthorizedError('The request you have made requires authentication.', `identity.auth_failed.${reason}`);
}

export function Forbidden(message = 'You are not authorized to perform the requested action.', code = 'identity.forbidden'): ForbiddenError {
  return new ForbiddenError(message, code);
}

export const ImmutableUpdate = (type: string, id: string) =>
  new ForbiddenError(`Unable to update immutable ${type} resource: \`${id}. Set resource option "immutable" to false first.`, 'identity.immutable_update');
export const ImmutableDelete = (type: string, id: string) =>
  new ForbiddenError(`Unable to delete immutable ${type} resource: \`${id}. Set resource option "immutable" to false first.`, 'identity.immutable_delete');

/** Keystone's generic ValidationError: "Expecting to find <attribute> in <target>. The server could not comply ..." */
export function ExpectingToFind(attribute: string, target: string): ValidationError {
  return new ValidationError(
    `Expecting to find ${attribute} in ${target}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`,
    'identity.expecting_to_find',
  );
}

export function BadRequest(message: string, code = 'identity.bad_request'): ValidationError {
  return new ValidationError(message, code);
}
