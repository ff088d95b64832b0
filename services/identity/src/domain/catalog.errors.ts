// Named errors of the catalog-side extensions, with Keystone's wording (keystone/exception.py).
import { ForbiddenError, NotFoundError, ValidationError } from '@alto/kernel';

const nf = (code: string, message: string) => new NotFoundError(message, `identity.${code}`);

export const RegisteredLimitNotFound = (id: string) => nf('registered_limit_not_found', `Could not find registered limit for ${id}.`);
export const LimitNotFound = (id: string) => nf('limit_not_found', `Could not find limit for ${id}.`);
export const PolicyNotFound = (id: string) => nf('policy_not_found', `Could not find policy: ${id}.`);
export const PolicyAssociationNotFound = () => nf('policy_association_not_found', 'Could not find policy association.');
export const NoPolicyForEndpoint = (endpointId: string) => nf('endpoint_policy_not_found', `No policy is associated with endpoint ${endpointId}.`);
export const EndpointGroupNotFound = (id: string) => nf('endpoint_group_not_found', `Could not find Endpoint Group: ${id}.`);
export const EndpointGroupProjectNotFound = () => nf('endpoint_group_project_not_found', 'Endpoint Group Project Association not found');
export const ProjectEndpointNotFound = (endpointId: string, projectId: string) => nf('project_endpoint_not_found', `Endpoint ${endpointId} not found in project ${projectId}`);

/** Keystone's NoLimitReference. */
export const NoLimitReference = () => new ForbiddenError('Unable to create a limit that has no corresponding registered limit.', 'identity.no_limit_reference');
/** Keystone's RegisteredLimitError. */
export const RegisteredLimitInUse = (id: string) =>
  new ForbiddenError(`Unable to update or delete registered limit ${id} because there are project limits associated with it.`, 'identity.registered_limit_in_use');
/** Keystone's InvalidLimit: a limit that breaks the enforcement model's hierarchy rules. */
export const InvalidLimit = (reason: string) => new ForbiddenError(`Invalid resource limit: ${reason}.`, 'identity.invalid_limit');

/** Keystone's ValidationError(message=...): the message alone, no boilerplate. */
export const InvalidInput = (message: string, code: string) => new ValidationError(message, `identity.${code}`);
