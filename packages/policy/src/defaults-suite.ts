// The checks every service's default policies pass against the upstream dump they are generated
// from (fixtures/policies/<service>-policies.json: master's rules, the rules only Debian's release
// registers, and oslo.policy's recorded decisions per persona and target). A service's
// policies.test.ts calls it, then adds its own persona checks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseRule } from './parser.js';
import { ruleReferences } from './checks.js';
import { Enforcer } from './enforcer.js';
import { InvalidScope } from './errors.js';
import type { Credentials } from './evaluate.js';
import { validateRuleDefault, type RuleDefault } from './rule-default.js';

type DumpedRule = RuleDefault & { module: string };

interface DecisionCase {
  persona: string;
  targetName: string;
  target: Record<string, unknown>;
  allowed: string[];
  invalidScope: string[];
}

export interface PolicyDump {
  master: { commit: string; rules: DumpedRule[] };
  debian: { version: string; rules: DumpedRule[] };
  decisions: { config: { enforce_scope: boolean; enforce_new_defaults: boolean }; personas: Record<string, Credentials>; cases: DecisionCase[] };
}

export interface PolicyDefaultsSuiteOptions {
  /** The upstream project, for test names (glance, cinder). */
  upstream: string;
  /** At least this many rules in master (the dump is not a stub). */
  minMasterRules?: number;
  /** At least this many recorded decision cases. */
  minCases: number;
}

export function readPolicyDump(url: URL): PolicyDump {
  return JSON.parse(readFileSync(url, 'utf8')) as PolicyDump;
}

/** Registers the dump checks for `rules` as two describe blocks named after `label`. */
export function describePolicyDefaults(label: string, rules: readonly RuleDefault[], dump: PolicyDump, opts: PolicyDefaultsSuiteOptions): void {
  const masterNames = new Set(dump.master.rules.map((r) => r.name));
  const expectedRules = [...dump.master.rules, ...dump.debian.rules.filter((r) => !masterNames.has(r.name))];

  describe(label, () => {
    it('passes oslo\'s RuleDefault checks and parses strictly, deprecated check strings too', () => {
      for (const rule of rules) {
        assert.doesNotThrow(() => validateRuleDefault(rule), rule.name);
        assert.doesNotThrow(() => parseRule(rule.checkStr), rule.name);
        if (rule.deprecatedRule !== undefined) assert.doesNotThrow(() => parseRule(rule.deprecatedRule?.checkStr ?? ''), `${rule.name} (deprecated)`);
      }
    });

    it('refers only to rules it defines', () => {
      const names = new Set(rules.map((r) => r.name));
      for (const rule of rules) {
        for (const ref of ruleReferences(parseRule(rule.checkStr))) assert.ok(names.has(ref), `${rule.name} refers to undefined rule:${ref}`);
      }
    });

    it('loads into an Enforcer without warnings, one name each', () => {
      const enforcer = new Enforcer(rules);
      assert.deepEqual(enforcer.warnings, []);
      assert.equal(enforcer.names.length, rules.length);
    });

    it(`has the names and check strings of ${opts.upstream} master, then the rules only Zed registers`, () => {
      if (opts.minMasterRules !== undefined) assert.ok(dump.master.rules.length > opts.minMasterRules);
      assert.deepEqual(
        rules.map((r) => [r.name, r.checkStr]),
        expectedRules.map((r) => [r.name, r.checkStr]),
      );
      // Every Zed name is there, so a Zed policy.yaml override never names an unknown rule.
      for (const { name } of dump.debian.rules) assert.ok(rules.some((r) => r.name === name), name);
    });

    it('is the dump field for field (descriptions, scopes, operations, deprecations)', () => {
      assert.deepEqual(rules, expectedRules.map(({ module: _module, ...rule }) => rule));
    });
  });

  describe(`${label} decisions (enforce_scope and enforce_new_defaults on)`, () => {
    it('agrees with oslo.policy on every recorded persona, target and rule', () => {
      const enforcer = new Enforcer(rules, { enforceScope: true, enforceNewDefaults: true });
      assert.deepEqual(dump.decisions.config, { enforce_scope: true, enforce_new_defaults: true });
      assert.ok(dump.decisions.cases.length >= opts.minCases);
      for (const c of dump.decisions.cases) {
        const creds = dump.decisions.personas[c.persona];
        assert.ok(creds !== undefined, c.persona);
        const allowed: string[] = [];
        const invalidScope: string[] = [];
        for (const name of enforcer.names) {
          try {
            enforcer.enforce(name, c.target, creds);
            allowed.push(name);
          } catch (err) {
            if (err instanceof InvalidScope) invalidScope.push(name);
          }
        }
        assert.deepEqual({ allowed, invalidScope }, { allowed: c.allowed, invalidScope: c.invalidScope }, `${c.persona} on ${c.targetName}`);
      }
    });
  });
}
