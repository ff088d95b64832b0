// The Enforcer: registered defaults plus operator overrides, merged and compiled once, then
// checked per request with oslo's scope and deprecation semantics.
import { checkToString, ruleReferences } from './checks.js';
import type { Check } from './checks.js';
import { InvalidScope, PolicyDefinitionError, PolicyNotAuthorized, PolicyNotRegistered, PolicySyntaxError, keystoneForbiddenMessage } from './errors.js';
import { compileCheck } from './evaluate.js';
import type { CompiledCheck, Credentials, CustomCheckFactory, RuleResolver, Target } from './evaluate.js';
import { parseRule } from './parser.js';
import type { ParseOptions } from './parser.js';
import { loadPolicyFile } from './policy-file.js';
import type { PolicyOverrides } from './policy-file.js';
import { pyTruthy } from './python.js';
import { validateRuleDefault } from './rule-default.js';
import type { RuleDefault, ScopeType } from './rule-default.js';

/** oslo.policy's `[oslo_policy]` options, by their upstream names. */
export interface OsloPolicyConfig {
  /** Reject tokens whose scope a rule does not list. Default true (oslo master always does). */
  readonly enforce_scope?: boolean;
  /** Ignore deprecated check strings. Default true: we ship the secure RBAC defaults. */
  readonly enforce_new_defaults?: boolean;
  /** Path of a policy.yaml/policy.json with overrides; read as given, nothing is searched. */
  readonly policy_file?: string | null;
  /** Rule used for `rule:` references to undefined rules. Default "default". */
  readonly policy_default_rule?: string | null;
}

export interface EnforcerOptions {
  readonly enforceScope?: boolean;
  readonly enforceNewDefaults?: boolean;
  readonly defaultRule?: string | null;
  /** Parsed policy files; a later one overrides an earlier one (policy_file, then policy.d). */
  readonly overrides?: PolicyOverrides | readonly PolicyOverrides[];
  /** How override rules are parsed: `strict` (default) rejects bad rules at load, `lenient` fails them closed as oslo does. */
  readonly overrideMode?: 'strict' | 'lenient';
  /** Service-specific check kinds (oslo's `register()`), e.g. Neutron's `field:`. */
  readonly customChecks?: Readonly<Record<string, CustomCheckFactory>>;
  /** The 403 text; Keystone's ForbiddenAction wording by default. */
  readonly forbiddenMessage?: (action: string) => string;
  /** Told about things an operator should fix; called at load and for scope mismatches that are not enforced. */
  readonly onWarning?: (message: string) => void;
}

type Decision = { readonly allowed: true } | { readonly allowed: false; readonly scope?: { readonly tokenScope: ScopeType; readonly scopeTypes: readonly ScopeType[] } };

const ALLOWED: Decision = { allowed: true };
const DENIED: Decision = { allowed: false };

export class Enforcer {
  readonly enforceScope: boolean;
  readonly enforceNewDefaults: boolean;
  /** Problems found while loading (undefined references, ignored or redundant overrides ...). */
  readonly warnings: readonly string[];

  readonly #registered: ReadonlyMap<string, RuleDefault>;
  readonly #rules: ReadonlyMap<string, CompiledCheck>;
  readonly #resolve: RuleResolver;
  readonly #message: (action: string) => string;
  readonly #onWarning: ((message: string) => void) | undefined;

  constructor(defaults: readonly RuleDefault[], options: EnforcerOptions = {}) {
    this.enforceScope = options.enforceScope ?? true;
    this.enforceNewDefaults = options.enforceNewDefaults ?? true;
    this.#message = options.forbiddenMessage ?? keystoneForbiddenMessage;
    this.#onWarning = options.onWarning;
    const customChecks = new Map(Object.entries(options.customChecks ?? {}));
    const parseOptions: ParseOptions = { customKinds: new Set(customChecks.keys()) };
    const warnings: string[] = [];

    const registered = new Map<string, RuleDefault>();
    const defaultChecks = new Map<string, { check: Check; deprecated: Check | undefined }>();
    for (const rule of defaults) {
      validateRuleDefault(rule);
      if (registered.has(rule.name)) throw new PolicyDefinitionError(`Policy ${rule.name} is already registered`, 'policy.duplicate');
      registered.set(rule.name, rule);
      defaultChecks.set(rule.name, {
        check: parseNamed(rule.checkStr, rule.name, parseOptions),
        deprecated: rule.deprecatedRule === undefined ? undefined : parseNamed(rule.deprecatedRule.checkStr, rule.deprecatedRule.name, parseOptions),
      });
    }
    this.#registered = registered;

    // Every override, later files winning; oslo's `file_rules`.
    const fileRules = new Map<string, Check>();
    const overrideList = options.overrides === undefined ? [] : Array.isArray(options.overrides) ? (options.overrides as readonly PolicyOverrides[]) : [options.overrides as PolicyOverrides];
    const overrideParse: ParseOptions = { ...parseOptions, mode: options.overrideMode ?? 'strict' };
    for (const file of overrideList) {
      warnings.push(...file.warnings);
      for (const [name, value] of file.rules) {
        fileRules.set(name, parseNamed(value, name, overrideParse, file.source));
      }
    }

    const effective = new Map<string, Check>(fileRules);
    let fellBack = 0;
    for (const [name, rule] of registered) {
      const parsed = defaultChecks.get(name);
      if (parsed === undefined) continue;
      const override = fileRules.get(name);
      if (override !== undefined) {
        if (checkToString(override) === checkToString(parsed.check)) {
          warnings.push(`Policy "${name}" in the policy file is the same as the default; it can be removed.`);
        }
        if (rule.deprecatedForRemoval === true) {
          warnings.push(`Policy "${name}" was deprecated for removal in ${rule.deprecatedSince ?? '?'} (${rule.deprecatedReason ?? ''}); its override may be ignored in future.`);
        }
        continue;
      }
      const { check, orDeprecated } = this.#withDeprecated(rule, parsed.check, parsed.deprecated, fileRules, warnings);
      if (orDeprecated) fellBack++;
      effective.set(name, check);
    }
    if (fellBack > 0) {
      warnings.push(
        `${fellBack} policies also accept their deprecated check strings because enforce_new_defaults is off; ` +
          'run with enforce_new_defaults = true once the deployment uses the new default roles and scopes.',
      );
    }

    const compiled = new Map<string, CompiledCheck>();
    for (const [name, check] of effective) compiled.set(name, compileCheck(check, { customChecks }));
    this.#rules = compiled;

    const defaultRule = options.defaultRule === undefined ? 'default' : options.defaultRule;
    // oslo's Rules.__missing__: an unknown name falls back to the default rule when it exists.
    this.#resolve = (name) => compiled.get(name) ?? (defaultRule !== null && defaultRule !== '' ? compiled.get(defaultRule) : undefined);

    const undefinedRefs = [...effective].filter(([, check]) => ruleReferences(check).some((ref) => !effective.has(ref))).map(([name]) => name);
    if (undefinedRefs.length > 0) warnings.push(`Policies ${undefinedRefs.join(', ')} reference a rule that is not defined.`);
    const cyclic = findCycles(effective);
    if (cyclic.length > 0) {
      throw new PolicyDefinitionError(`Policies ${cyclic.join(', ')} are part of a cyclical reference.`, 'policy.cyclic_reference');
    }

    this.warnings = warnings;
    for (const w of warnings) this.#onWarning?.(w);
  }

  /** Builds an enforcer from the `[oslo_policy]` options, reading `policy_file` when one is set. */
  static async fromConfig(
    defaults: readonly RuleDefault[],
    config: OsloPolicyConfig,
    options: Omit<EnforcerOptions, 'enforceScope' | 'enforceNewDefaults' | 'defaultRule' | 'overrides'> = {},
  ): Promise<Enforcer> {
    const file = config.policy_file;
    const overrides = file === undefined || file === null || file === '' ? undefined : await loadPolicyFile(file, { mode: options.overrideMode ?? 'strict' });
    return new Enforcer(defaults, {
      ...options,
      enforceScope: config.enforce_scope ?? true,
      enforceNewDefaults: config.enforce_new_defaults ?? true,
      defaultRule: config.policy_default_rule === undefined ? 'default' : config.policy_default_rule,
      overrides,
    });
  }

  /**
   * Throws PolicyNotAuthorized (or its InvalidScope subclass) unless `action` allows the call;
   * PolicyNotRegistered for a name no default declares.
   */
  enforce(action: string, target: Target, creds: Credentials): void {
    const decision = this.#decide(action, target, creds);
    if (decision.allowed) return;
    if (decision.scope !== undefined) throw new InvalidScope(action, decision.scope.scopeTypes, decision.scope.tokenScope, this.#message(action));
    throw new PolicyNotAuthorized(action, this.#message(action));
  }

  /** Whether `action` allows the call; PolicyNotRegistered for a name no default declares. */
  authorize(action: string, target: Target, creds: Credentials): boolean {
    return this.#decide(action, target, creds).allowed;
  }

  /** The rule a name is enforced with after overrides and deprecations, as oslo prints it. */
  effectiveRule(name: string): string | undefined {
    return this.#rules.get(name)?.text;
  }

  /** The registered default, if any. */
  registered(name: string): RuleDefault | undefined {
    return this.#registered.get(name);
  }

  get names(): readonly string[] {
    return [...this.#registered.keys()];
  }

  #decide(action: string, target: Target, creds: Credentials): Decision {
    const rule = this.#registered.get(action);
    if (rule === undefined) throw new PolicyNotRegistered(action);
    // oslo copies system_scope to `system`, the key older services set and its scope check reads.
    const effectiveCreds = pyTruthy(creds.system_scope) ? { ...creds, system: creds.system_scope } : creds;
    const scopeTypes = rule.scopeTypes;
    if (scopeTypes !== undefined && scopeTypes.length > 0) {
      const tokenScope: ScopeType = pyTruthy(effectiveCreds.system) ? 'system' : pyTruthy(effectiveCreds.domain_id) ? 'domain' : 'project';
      if (!scopeTypes.includes(tokenScope)) {
        if (this.enforceScope) return { allowed: false, scope: { tokenScope, scopeTypes } };
        this.#onWarning?.(`Policy ${action} failed scope check: the token is ${tokenScope} scoped but the policy requires ${scopeTypes.join(', ')}.`);
      }
    }
    const compiled = this.#rules.get(action);
    if (compiled === undefined) return DENIED;
    return compiled.evaluate(target, effectiveCreds, this.#resolve) ? ALLOWED : DENIED;
  }

  /** oslo's _handle_deprecated_rule (master): which check a default is enforced with. */
  #withDeprecated(
    rule: RuleDefault,
    check: Check,
    deprecatedCheck: Check | undefined,
    fileRules: ReadonlyMap<string, Check>,
    warnings: string[],
  ): { check: Check; orDeprecated: boolean } {
    const deprecated = rule.deprecatedRule;
    if (deprecated === undefined || deprecatedCheck === undefined) return { check, orDeprecated: false };
    const since = deprecated.deprecatedSince ?? rule.deprecatedSince ?? '?';
    if (deprecated.name !== rule.name) {
      const oldOverride = fileRules.get(deprecated.name);
      if (oldOverride !== undefined) {
        warnings.push(
          `Policy "${deprecated.name}" was renamed to "${rule.name}" in ${since}; the policy file still sets the old name. ` +
            'Rename it, or keep both while rolling the upgrade out.',
        );
        // An operator's override of the old name keeps applying, unless it is the old default
        // or just an alias of the new name (what the sample generator writes).
        const text = checkToString(oldOverride);
        if (text !== checkToString(deprecatedCheck) && text !== `rule:${rule.name}`) return { check: oldOverride, orDeprecated: false };
      }
    }
    if (!this.enforceNewDefaults && deprecated.checkStr !== rule.checkStr) {
      return { check: { type: 'or', checks: [check, deprecatedCheck] }, orDeprecated: true };
    }
    return { check, orDeprecated: false };
  }
}

function parseNamed(rule: string | Parameters<typeof parseRule>[0], name: string, options: ParseOptions, source?: string): Check {
  try {
    return parseRule(rule, options);
  } catch (err) {
    if (err instanceof PolicySyntaxError) throw err.inPolicy(name, source);
    throw err;
  }
}

/** Names whose `rule:` references lead back to themselves (oslo's _cycle_check). */
function findCycles(rules: ReadonlyMap<string, Check>): string[] {
  const refs = new Map<string, string[]>();
  for (const [name, check] of rules) refs.set(name, ruleReferences(check).filter((r) => rules.has(r)));
  const cyclic: string[] = [];
  for (const start of rules.keys()) {
    // Depth-first from `start`, looking for a path back to it.
    const seen = new Set<string>();
    const stack = [...(refs.get(start) ?? [])];
    let found = false;
    while (stack.length > 0 && !found) {
      const next = stack.pop() ?? '';
      if (next === start) found = true;
      else if (!seen.has(next)) {
        seen.add(next);
        stack.push(...(refs.get(next) ?? []));
      }
    }
    if (found) cyclic.push(start);
  }
  return cyclic;
}

