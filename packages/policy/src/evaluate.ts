// Turns a parsed check into a closure once, so a request only walks closures: no rule text is
// parsed and no template is compiled per request. Semantics are oslo's _checks.py.
import { FALSE_CHECK, checkToString } from './checks.js';
import type { Check } from './checks.js';
import { PolicyEvaluationError } from './errors.js';
import { classifyKind } from './literal.js';
import { isPlainObject, pyRepr, pyStr } from './python.js';
import { compileTemplate, renderTemplate } from './template.js';

/** What the caller is (oslo's creds dict, e.g. `policyCredentials(ctx)`). */
export type Credentials = Readonly<Record<string, unknown>>;
/**
 * What the call acts on. Keys are looked up verbatim by `%(key)s`, so Keystone-style rules need
 * a flattened target (`target.project.id`); see flattenTarget.
 */
export type Target = Readonly<Record<string, unknown>>;

/** Finds the compiled rule `rule:name` refers to; undefined makes the check false. */
export type RuleResolver = (name: string) => CompiledCheck | undefined;

/** A service's own check kind (oslo's `register(kind, CheckClass)`), built once per check. */
export type CustomCheckFactory = (kind: string, match: string) => (target: Target, creds: Credentials) => boolean;

interface EvalState {
  readonly target: Target;
  readonly creds: Credentials;
  readonly resolve: RuleResolver;
  lowerRoles: ReadonlySet<string> | undefined;
  depth: number;
}

type CheckFn = (state: EvalState) => boolean;

export interface CompileOptions {
  readonly customChecks?: ReadonlyMap<string, CustomCheckFactory>;
}

// Python gives up at ~1000 frames with RecursionError; no sane rule chain is this deep.
const MAX_RULE_DEPTH = 100;

const NO_RULES: RuleResolver = () => undefined;

// Lets a `rule:` reference run another compiled check inside the same evaluation (shared depth
// and role cache) without making that entry point public. Assigned once, by the class below.
let runWithin: (compiled: CompiledCheck, state: EvalState) => boolean;

/** A check compiled to closures; build with compileCheck. */
export class CompiledCheck {
  readonly check: Check;
  /** oslo's str() of the check. */
  readonly text: string;
  readonly #fn: CheckFn;

  static {
    runWithin = (compiled, state) => compiled.#fn(state);
  }

  private constructor(check: Check, fn: CheckFn) {
    this.check = check;
    this.text = checkToString(check);
    this.#fn = fn;
  }

  /** @internal use compileCheck */
  static create(check: Check, options: CompileOptions): CompiledCheck {
    return new CompiledCheck(check, compile(check, options));
  }

  /** Evaluates against a target and credentials exactly as given (no scope handling). */
  evaluate(target: Target, creds: Credentials, resolve: RuleResolver = NO_RULES): boolean {
    return this.#fn({ target, creds, resolve, lowerRoles: undefined, depth: 0 });
  }
}

export function compileCheck(check: Check, options: CompileOptions = {}): CompiledCheck {
  return CompiledCheck.create(check, options);
}

function compile(check: Check, options: CompileOptions): CheckFn {
  switch (check.type) {
    case 'true':
      return () => true;
    case 'false':
      return () => false;
    case 'not': {
      const inner = compile(check.check, options);
      return (s) => !inner(s);
    }
    case 'and': {
      const parts = check.checks.map((c) => compile(c, options));
      return (s) => parts.every((p) => p(s));
    }
    case 'or': {
      const parts = check.checks.map((c) => compile(c, options));
      return (s) => parts.some((p) => p(s));
    }
    case 'rule':
      return compileRuleRef(check.match);
    case 'role':
      return compileRole(check.match);
    case 'generic':
      return compileGeneric(check.kind, check.match);
    case 'custom': {
      const factory = options.customChecks?.get(check.kind);
      if (factory === undefined) return compile(FALSE_CHECK, options);
      const fn = factory(check.kind, check.match);
      return (s) => fn(s.target, s.creds);
    }
  }
}

function compileRuleRef(name: string): CheckFn {
  return (s) => {
    const rule = s.resolve(name);
    if (rule === undefined) return false;
    if (s.depth >= MAX_RULE_DEPTH) {
      throw new PolicyEvaluationError(`rule references nest deeper than ${MAX_RULE_DEPTH} at "rule:${name}" (a cycle?)`);
    }
    s.depth++;
    try {
      return runWithin(rule, s);
    } finally {
      s.depth--;
    }
  };
}

function compileRole(match: string): CheckFn {
  const template = compileTemplate(match);
  return (s) => {
    const wanted = renderTemplate(template, s.target);
    if (wanted === undefined) return false;
    if (!Object.hasOwn(s.creds, 'roles')) return false;
    s.lowerRoles ??= lowerRoles(s.creds.roles);
    return s.lowerRoles.has(wanted.toLowerCase());
  };
}

/** `[x.lower() for x in creds['roles']]`, failing where Python would. */
function lowerRoles(roles: unknown): ReadonlySet<string> {
  // Python iterates whatever it is given: a str yields characters, a dict its keys.
  const items: unknown[] = typeof roles === 'string' ? [...roles] : Array.isArray(roles) ? roles : isPlainObject(roles) ? Object.keys(roles) : [];
  if (!Array.isArray(roles) && typeof roles !== 'string' && !isPlainObject(roles)) {
    throw new PolicyEvaluationError(`credentials "roles" must be a list of strings, got ${pyRepr(roles)}`);
  }
  const out = new Set<string>();
  for (const role of items) {
    if (typeof role !== 'string') throw new PolicyEvaluationError(`credentials "roles" must be a list of strings, got an item ${pyRepr(role)}`);
    out.add(role.toLowerCase());
  }
  return out;
}

function compileGeneric(kind: string, match: string): CheckFn {
  const template = compileTemplate(match);
  const cls = classifyKind(kind);
  if (cls.type === 'literal') {
    const literal = cls.text;
    return (s) => renderTemplate(template, s.target) === literal;
  }
  if (cls.type === 'unsupported') {
    return (s) => {
      // oslo interpolates first (a missing key is False) and only then trips over the literal.
      if (renderTemplate(template, s.target) === undefined) return false;
      throw new PolicyEvaluationError(`check "${kind}:${match}": ${cls.reason}`);
    };
  }
  const segments = cls.segments;
  return (s) => {
    const wanted = renderTemplate(template, s.target);
    if (wanted === undefined) return false;
    return findInDict(s.creds, segments, 0, wanted);
  };
}

/** oslo's GenericCheck._find_in_dict: walk dotted keys; a list matches if any element does. */
function findInDict(value: unknown, segments: readonly string[], index: number, wanted: string): boolean {
  if (index === segments.length) return wanted === pyStr(value);
  const key = segments[index] ?? '';
  if (!isPlainObject(value)) {
    throw new PolicyEvaluationError(`cannot look up "${key}" of credentials path "${segments.join('.')}" in ${pyRepr(value)}`);
  }
  if (!Object.hasOwn(value, key)) return false;
  const next = value[key];
  if (Array.isArray(next)) return next.some((item) => findInDict(item, segments, index + 1, wanted));
  return findInDict(next, segments, index + 1, wanted);
}
