// Errors of projects, domains and domain configuration, in Keystone's words (keystone/exception.py).
import { ForbiddenError, NotFoundError, ValidationError } from '@alto/kernel';

export const ProjectTagNotFound = (tag: string) => new NotFoundError(`Could not find project tag: ${tag}.`, 'identity.project_tag_not_found');

/** `what`: "any options", "group ldap" or "option url in group ldap". */
export const DomainConfigNotFound = (domainId: string, what: string) =>
  new NotFoundError(`Could not find ${what} in domain configuration for domain ${domainId}.`, 'identity.domain_config_not_found');

/** Keystone's InvalidDomainConfig is a 403. */
export const InvalidDomainConfig = (reason: string) => new ForbiddenError(`Invalid domain specific configuration: ${reason}.`, 'identity.invalid_domain_config');

export const DomainIdInvalid = () => new ValidationError('Domain ID does not conform to required UUID format.', 'identity.domain_id_invalid');
