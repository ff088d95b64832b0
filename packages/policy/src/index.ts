// @alto/policy: an oslo.policy-compatible rule engine, defaults registry and overrides loader.
export type { Check } from './checks.js';
export { checkToString, ruleReferences, TRUE_CHECK, FALSE_CHECK } from './checks.js';
export { parseRule } from './parser.js';
export type { ParseOptions, RuleList } from './parser.js';
export { compileCheck, CompiledCheck } from './evaluate.js';
export type { CompileOptions, Credentials, CustomCheckFactory, RuleResolver, Target } from './evaluate.js';
export { Enforcer } from './enforcer.js';
export type { EnforcerOptions, OsloPolicyConfig } from './enforcer.js';
export { SCOPE_TYPES, validateRuleDefault } from './rule-default.js';
export type { DeprecatedRule, Operation, RuleDefault, ScopeType } from './rule-default.js';
export { loadPolicyFile, parsePolicyFile } from './policy-file.js';
export type { PolicyFileOptions, PolicyOverrides } from './policy-file.js';
export { renderRuleSample, renderSample } from './sample.js';
export type { SampleOptions } from './sample.js';
export { flattenTarget } from './flatten.js';
export {
  InvalidScope,
  PolicyDefinitionError,
  PolicyEvaluationError,
  PolicyFileError,
  PolicyNotAuthorized,
  PolicyNotRegistered,
  PolicySyntaxError,
  keystoneForbiddenMessage,
} from './errors.js';
