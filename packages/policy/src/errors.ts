// The policy engine's errors: the 403s a request can earn and the programming or configuration
// errors a deployment can make (bad rule text, unregistered names, broken policy files).
import { AltoError, ForbiddenError } from '@alto/kernel';
import type { ErrorOptions } from '@alto/kernel';

/** Keystone's ForbiddenAction text, which Keystone returns for both failed rules and bad scope. */
export function keystoneForbiddenMessage(action: string): string {
  return `You are not authorized to perform the requested action: ${action}.`;
}

/** A rule denied the request (oslo's PolicyNotAuthorized, Keystone's ForbiddenAction). */
export class PolicyNotAuthorized extends ForbiddenError {
  readonly action: string;

  constructor(action: string, message = keystoneForbiddenMessage(action), code = 'policy.not_authorized', options?: ErrorOptions) {
    super(message, code, options);
    this.action = action;
  }
}

/**
 * The token's scope is not one the rule allows (oslo's InvalidScope). Keystone answers it with
 * the same ForbiddenAction 403, so it is a PolicyNotAuthorized with its own code.
 */
export class InvalidScope extends PolicyNotAuthorized {
  readonly scopeTypes: readonly string[];
  readonly tokenScope: string;

  constructor(action: string, scopeTypes: readonly string[], tokenScope: string, message = keystoneForbiddenMessage(action)) {
    super(action, message, 'policy.invalid_scope', {
      details: { scope_types: [...scopeTypes], token_scope: tokenScope },
    });
    this.scopeTypes = scopeTypes;
    this.tokenScope = tokenScope;
  }
}

/** Code asked about a policy nobody registered: a programming error, not a 403. */
export class PolicyNotRegistered extends AltoError {
  readonly policy: string;

  constructor(policy: string) {
    super('internal', 'policy.not_registered', `Policy ${policy} has not been registered`);
    this.policy = policy;
  }
}

/** Rule text that oslo's parser cannot read. `offset` is where, in the rule text, it went wrong. */
export class PolicySyntaxError extends AltoError {
  readonly rule: string;
  readonly offset: number;
  readonly reason: string;
  readonly policy: string | undefined;
  readonly source: string | undefined;

  constructor(rule: string, offset: number, reason: string, policy?: string, source?: string) {
    const where = `${policy === undefined ? '' : ` in policy "${policy}"`}${source === undefined ? '' : ` (${source})`}`;
    super('internal', 'policy.syntax_error', `Invalid rule${where} at column ${offset + 1}: ${reason}; rule: ${JSON.stringify(rule)}`);
    this.rule = rule;
    this.offset = offset;
    this.reason = reason;
    this.policy = policy;
    this.source = source;
  }

  /** The same error, naming the policy (and the file) it came from. */
  inPolicy(policy: string, source?: string): PolicySyntaxError {
    return new PolicySyntaxError(this.rule, this.offset, this.reason, policy, source);
  }
}

/** A policy file that cannot be used: unreadable, not a mapping, or holding invalid rules. */
export class PolicyFileError extends AltoError {
  readonly source: string;

  constructor(source: string, message: string, options?: ErrorOptions) {
    super('internal', 'policy.file_invalid', `${source}: ${message}`, options);
    this.source = source;
  }
}

/** Registered defaults or effective rules that cannot work (duplicates, bad fields, cycles). */
export class PolicyDefinitionError extends AltoError {
  constructor(message: string, code = 'policy.invalid_definition') {
    super('internal', code, message);
  }
}

/**
 * Evaluation hit something oslo would raise on (a non-dict in a credentials path, roles that are
 * not strings, a literal Python cannot parse). Keystone answers those with a 500, and so do we.
 */
export class PolicyEvaluationError extends AltoError {
  constructor(message: string) {
    super('internal', 'policy.evaluation_failed', message);
  }
}
