// Differential test: the matrix fixtures/oslo-differential.py ran through the real oslo.policy,
// run through this engine; every decision, tree and sample line must agree.
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkToString } from './checks.js';
import { compileCheck } from './evaluate.js';
import type { CompiledCheck, Credentials, RuleResolver, Target } from './evaluate.js';
import { Enforcer } from './enforcer.js';
import { InvalidScope, PolicyEvaluationError, PolicyFileError, PolicyNotAuthorized, PolicySyntaxError } from './errors.js';
import { parseRule } from './parser.js';
import type { RuleList } from './parser.js';
import { parsePolicyFile } from './policy-file.js';
import type { RuleDefault } from './rule-default.js';
import { renderSample } from './sample.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

interface CheckCase {
  rule: string | RuleList;
  str: string;
  parseError: boolean;
  rejectAtParse: boolean;
  results: [string, string];
}
interface Config {
  name: string;
  defaults: 'master' | 'zed' | 'synthetic';
  enforceScope: boolean;
  enforceNewDefaults: boolean;
  policyFile: string | null;
  policyFileName: string | null;
  decisions: Record<string, string>;
  effective: Record<string, string>;
}
interface Decisions {
  'oslo.policy': string;
  checks: {
    library: Record<string, string>;
    defaultRule: Record<string, string>;
    creds: Credentials[];
    targets: Target[];
    cases: CheckCase[];
    lists: CheckCase[];
    stricterOnly: { rule: string; osloParseError: boolean }[];
  };
  enforcer: {
    personas: Record<string, Credentials>;
    targets: Record<string, Target>;
    synthetic: RuleDefault[];
    configs: Config[];
  };
  policyFiles: Record<string, { text: string; rules: Record<string, string> }>;
  samples: { synthetic: string; syntheticExcludeDeprecated: string };
}
interface KeystonePolicies {
  master: { commit: string; rules: RuleDefault[] };
  debian: { rules: RuleDefault[] };
}

const decisions = JSON.parse(fixture('oslo-decisions.json')) as Decisions;
const keystone = JSON.parse(fixture('keystone-policies.json')) as KeystonePolicies;

/** Reports the first few differing positions, with what each side said. */
function assertSameRow(actual: string, expected: string, label: (i: number) => string): void {
  if (actual === expected) return;
  const diffs: string[] = [];
  for (let i = 0; i < expected.length && diffs.length < 8; i++) {
    if (actual[i] !== expected[i]) diffs.push(`${label(i)}: oslo ${expected[i]}, ours ${actual[i]}`);
  }
  assert.fail(diffs.join('\n'));
}

function outcome(fn: () => boolean): string {
  try {
    return fn() ? 'T' : 'F';
  } catch (err) {
    if (err instanceof PolicyEvaluationError) return 'E';
    throw err;
  }
}

describe('differential against oslo.policy', () => {
  const { checks } = decisions;
  const resolverFor = (rules: Record<string, string>, defaultRule: string | undefined): RuleResolver => {
    const compiled = new Map<string, CompiledCheck>(Object.entries(rules).map(([k, v]) => [k, compileCheck(parseRule(v, { mode: 'lenient' }))]));
    return (name) => compiled.get(name) ?? (defaultRule === undefined ? undefined : compiled.get(defaultRule));
  };
  const resolvers = [resolverFor(checks.library, undefined), resolverFor({ ...checks.library, ...checks.defaultRule }, 'default')];

  const runCase = (c: CheckCase): void => {
    const lenient = parseRule(c.rule, { mode: 'lenient' });
    assert.equal(checkToString(lenient), c.str, 'tree differs from oslo');
    let strictError: unknown;
    try {
      parseRule(c.rule);
    } catch (err) {
      strictError = err;
    }
    if (c.rejectAtParse) assert.ok(strictError instanceof PolicySyntaxError, 'strict parsing should reject this rule');
    else assert.equal(strictError, undefined, 'strict parsing should accept this rule');

    const compiled = compileCheck(lenient);
    resolvers.forEach((resolve, r) => {
      let row = '';
      for (const creds of checks.creds) for (const target of checks.targets) row += outcome(() => compiled.evaluate(target, creds, resolve));
      const n = checks.targets.length;
      assertSameRow(row, c.results[r] ?? '', (i) => `${r === 0 ? 'no default rule' : 'default rule'} creds[${Math.floor(i / n)}] target[${i % n}]`);
    });
  };

  it(`agrees on ${checks.cases.length} rule texts (parse tree, strictness, ${checks.cases.length * 2 * checks.creds.length * checks.targets.length} evaluations)`, () => {
    const failures: string[] = [];
    for (const c of checks.cases) {
      try {
        runCase(c);
      } catch (err) {
        failures.push(`${JSON.stringify(c.rule)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it(`agrees on ${checks.lists.length} legacy list rules`, () => {
    const failures: string[] = [];
    for (const c of checks.lists) {
      try {
        runCase(c);
      } catch (err) {
        failures.push(`${JSON.stringify(c.rule)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('rejects in strict mode the rules it deliberately does not model', () => {
    for (const { rule } of checks.stricterOnly) {
      assert.throws(() => parseRule(rule), PolicySyntaxError, rule);
    }
  });

  const { enforcer } = decisions;
  const defaultsOf = (name: Config['defaults']): RuleDefault[] =>
    name === 'master' ? keystone.master.rules : name === 'zed' ? keystone.debian.rules : enforcer.synthetic;
  const personas = Object.entries(enforcer.personas);
  const targets = Object.entries(enforcer.targets);

  for (const config of enforcer.configs) {
    const total = Object.keys(config.decisions).length * personas.length * targets.length;
    it(`enforcer: ${config.name} (${total} decisions)`, () => {
      const overrides = config.policyFile === null ? undefined : parsePolicyFile(config.policyFile, { source: config.policyFileName ?? 'policy file' });
      const e = new Enforcer(defaultsOf(config.defaults), {
        enforceScope: config.enforceScope,
        enforceNewDefaults: config.enforceNewDefaults,
        overrides,
      });
      const failures: string[] = [];
      for (const [name, expected] of Object.entries(config.decisions)) {
        let row = '';
        for (const [, creds] of personas) {
          for (const [, target] of targets) {
            try {
              e.enforce(name, target, creds);
              row += 'A';
            } catch (err) {
              if (err instanceof InvalidScope) row += 'S';
              else if (err instanceof PolicyNotAuthorized) row += 'F';
              else if (err instanceof PolicyEvaluationError) row += 'E';
              else throw err;
            }
          }
        }
        try {
          assertSameRow(row, expected, (i) => `${personas[Math.floor(i / targets.length)]?.[0]} on ${targets[i % targets.length]?.[0]}`);
          assert.equal(e.effectiveRule(name), config.effective[name], 'effective rule');
        } catch (err) {
          failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      assert.deepEqual(failures, []);
    });
  }

  it('reads policy files as oslo does (lenient) and refuses the ambiguous ones (strict)', () => {
    for (const [name, file] of Object.entries(decisions.policyFiles)) {
      const parsed = parsePolicyFile(file.text, { source: name, mode: 'lenient' });
      const got = Object.fromEntries([...parsed.rules].map(([k, v]) => [k, checkToString(parseRule(v, { mode: 'lenient' }))]));
      assert.deepEqual(got, file.rules, name);
    }
    assert.throws(() => parsePolicyFile(decisions.policyFiles.yaml_nulls_and_bools?.text ?? ''), PolicyFileError);
    assert.throws(() => parsePolicyFile(decisions.policyFiles.dup_keys?.text ?? ''), PolicyFileError);
  });

  it('renders sample files byte for byte as oslopolicy-sample-generator', () => {
    assert.equal(renderSample(enforcer.synthetic), decisions.samples.synthetic);
    assert.equal(renderSample(enforcer.synthetic, { excludeDeprecated: true }), decisions.samples.syntheticExcludeDeprecated);
    assert.equal(renderSample(keystone.master.rules), fixture('keystone-master-sample.yaml'));
  });
});
