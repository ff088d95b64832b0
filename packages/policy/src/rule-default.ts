// Policy defaults as data: oslo's RuleDefault / DocumentedRuleDefault / DeprecatedRule.
import { PolicyDefinitionError } from './errors.js';

/** A token's scope, as oslo derives it from the credentials. */
export type ScopeType = 'system' | 'domain' | 'project';
export const SCOPE_TYPES: readonly ScopeType[] = ['system', 'domain', 'project'];

/** One API call a policy guards, for docs and the sample file. */
export interface Operation {
  /** An HTTP method; Keystone writes a list for a few system-grant rules, and samples print it as a list. */
  readonly method: string | readonly string[];
  readonly path: string;
}

/** The rule a default replaced; honoured while `enforce_new_defaults` is off. */
export interface DeprecatedRule {
  readonly name: string;
  readonly checkStr: string;
  readonly deprecatedReason?: string;
  readonly deprecatedSince?: string;
}

export interface RuleDefault {
  /** Upstream name, e.g. `identity:create_project` or `admin_required`. */
  readonly name: string;
  readonly checkStr: string;
  readonly description?: string;
  /** Token scopes the API accepts; absent means any (no scope check). */
  readonly scopeTypes?: readonly ScopeType[];
  /** The calls it guards; a rule with operations is a documented rule and needs a description. */
  readonly operations?: readonly Operation[];
  readonly deprecatedRule?: DeprecatedRule;
  /** The policy itself goes away; needs deprecatedReason and deprecatedSince. */
  readonly deprecatedForRemoval?: boolean;
  readonly deprecatedReason?: string;
  readonly deprecatedSince?: string;
}

/** The checks oslo's RuleDefault and DocumentedRuleDefault constructors make. */
export function validateRuleDefault(rule: RuleDefault): void {
  const fail = (why: string): never => {
    throw new PolicyDefinitionError(`Invalid policy rule default "${rule.name}": ${why}.`, 'policy.invalid_default');
  };
  if (typeof rule.name !== 'string' || rule.name === '') fail('a name is required');
  if (typeof rule.checkStr !== 'string') fail('checkStr must be a string');
  if (rule.deprecatedForRemoval === true && (rule.deprecatedReason === undefined || rule.deprecatedSince === undefined)) {
    fail('deprecated for removal without deprecatedReason and deprecatedSince');
  }
  if (rule.scopeTypes !== undefined) {
    const seen = new Set<string>();
    for (const scope of rule.scopeTypes as readonly string[]) {
      if (!(SCOPE_TYPES as readonly string[]).includes(scope)) fail(`unknown scope type "${scope}" (use ${SCOPE_TYPES.join(', ')})`);
      if (seen.has(scope)) fail('scopeTypes must be unique');
      seen.add(scope);
    }
  }
  if (rule.operations !== undefined) {
    if (rule.description === undefined || rule.description === '') fail('a documented rule needs a description');
    if (rule.operations.length === 0) fail('operations must not be empty');
    for (const op of rule.operations) {
      const methodOk = typeof op.method === 'string' || (Array.isArray(op.method) && op.method.every((m) => typeof m === 'string'));
      if (!methodOk || typeof op.path !== 'string') fail('each operation needs a method and a path');
    }
  }
  if (rule.deprecatedRule !== undefined) {
    if (rule.deprecatedRule.name === '' || typeof rule.deprecatedRule.checkStr !== 'string') fail('deprecatedRule needs a name and a checkStr');
  }
}
