// Named errors of delegation (application credentials, access rules, trusts), with Keystone's wording.
import { ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '@alto/kernel';

export const ApplicationCredentialNotFound = (id: string) => new NotFoundError(`Could not find Application Credential: ${id}.`, 'identity.application_credential_not_found');
export const AccessRuleNotFound = (id: string) => new NotFoundError(`Could not find Access Rule: ${id}.`, 'identity.access_rule_not_found');
export const TrustNotFound = (id: string) => new NotFoundError(`Could not find trust: ${id}.`, 'identity.trust_not_found');
/** get_unique_role_by_name(): a role named in a request that does not exist. */
export const RoleNameNotFound = (name: string) => new NotFoundError(`Role ${name} is not defined`, 'identity.role_not_found');

export function isTrustNotFound(err: unknown): boolean {
  return err instanceof NotFoundError && err.code === 'identity.trust_not_found';
}

/** Keystone's ForbiddenAction: the action is part of the message (note the final period it adds). */
export function ForbiddenAction(action: string, code = 'identity.forbidden_action'): ForbiddenError {
  return new ForbiddenError(`You are not authorized to perform the requested action: ${action}.`, code);
}

/** Keystone's Forbidden raised with a message: a security error, so the caller sees the generic one. */
export function ForbiddenQuietly(code: string): ForbiddenError {
  return new ForbiddenError('You are not authorized to perform the requested action.', code);
}

export const ApplicationCredentialValidation = (detail: string) => new ValidationError(`Invalid application credential: ${detail}`, 'identity.application_credential_invalid');

export const ApplicationCredentialLimitExceeded = (limit: number) =>
  new ForbiddenError(`Unable to create additional application credentials, maximum of ${limit} already exceeded for user.`, 'identity.application_credential_limit');

export const AccessRuleInUse = () => new ForbiddenError('May not delete access rule in use', 'identity.access_rule_in_use');

/** AuthPluginException: the one 401 whose detail upstream shows. */
export const ApplicationCredentialAuthError = (detail: string) =>
  new UnauthorizedError(`Error authenticating with application credential: ${detail}`, 'identity.auth_failed.application_credential');

const CLIENT_ERROR = 'The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.';
export const TimestampNotInFormat = () => new ValidationError(`Timestamp not in expected format. ${CLIENT_ERROR}`, 'identity.bad_timestamp');
export const ExpiresAtInPast = () => new ValidationError(`The 'expires_at' must not be before now. ${CLIENT_ERROR}`, 'identity.expires_in_past');
