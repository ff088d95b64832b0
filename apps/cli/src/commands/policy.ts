// `alto policy sample <service>`: the default policies as a commented policy.yaml.
import { renderSample } from '@alto/policy';
import { identityPolicies } from '@alto/identity';
import { ValidationError } from '@alto/kernel';

export function policySample(service: string): string {
  if (service !== 'identity') throw new ValidationError(`unknown service "${service}"; known: identity`, 'cli.unknown_service');
  return renderSample(identityPolicies);
}
