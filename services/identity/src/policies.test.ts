// Keystone's default policies: they parse, are unique and well scoped, match the upstream dump,
// and give the personas Keystone's answers on a few calls worth reading.
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Enforcer, InvalidScope, PolicyNotAuthorized, SCOPE_TYPES, flattenTarget, parseRule, ruleReferences } from '@alto/policy';
import type { Credentials, RuleDefault } from '@alto/policy';
import { identityPolicies } from './policies.js';

// What policies.ts is generated from (packages/policy/fixtures/keystone-policies-to-ts.py).
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../../packages/policy/fixtures/${name}`, import.meta.url), 'utf8'));
const dump = fixture('keystone-policies.json') as {
  master: { commit: string; rules: (RuleDefault & { module: string })[] };
  debian: { rules: (RuleDefault & { module: string })[] };
};
const overlays = new Set((fixture('keystone-policy-overlays.json') as { fromDebian: { name: string }[] }).fromDebian.map((o) => o.name));

describe('identityPolicies', () => {
  it('parses every check string and deprecated check string strictly', () => {
    for (const rule of identityPolicies) {
      assert.doesNotThrow(() => parseRule(rule.checkStr), rule.name);
      if (rule.deprecatedRule !== undefined) assert.doesNotThrow(() => parseRule(rule.deprecatedRule?.checkStr ?? ''), `${rule.name} (deprecated)`);
    }
  });

  it('has unique names', () => {
    const seen = new Set<string>();
    for (const { name } of identityPolicies) {
      assert.ok(!seen.has(name), `duplicate ${name}`);
      seen.add(name);
    }
  });

  it('uses only system, domain and project scopes, each at most once', () => {
    for (const rule of identityPolicies) {
      const scopes = (rule.scopeTypes ?? []) as readonly string[];
      for (const scope of scopes) assert.ok((SCOPE_TYPES as readonly string[]).includes(scope), `${rule.name}: ${scope}`);
      assert.equal(new Set(scopes).size, scopes.length, rule.name);
    }
  });

  it('documents every identity:* rule and refers only to defined rules', () => {
    const names = new Set(identityPolicies.map((r) => r.name));
    for (const rule of identityPolicies) {
      if (rule.name.startsWith('identity:')) {
        assert.ok(rule.description !== undefined && rule.description !== '', `${rule.name} has no description`);
        assert.ok((rule.operations ?? []).length > 0, `${rule.name} has no operations`);
      }
      for (const ref of ruleReferences(parseRule(rule.checkStr))) assert.ok(names.has(ref), `${rule.name} refers to undefined rule:${ref}`);
    }
  });

  it('is exactly keystone master, with Debian\'s security fixes and the rules only Debian still registers', () => {
    const masterNames = new Set(dump.master.rules.map((r) => r.name));
    const debian = new Map(dump.debian.rules.map((r) => [r.name, r]));
    const expected = [
      ...dump.master.rules.map((r) => (overlays.has(r.name) ? (debian.get(r.name) ?? r) : r)),
      ...dump.debian.rules.filter((r) => !masterNames.has(r.name)),
    ].map(({ module: _module, ...rule }) => rule);
    assert.deepEqual(identityPolicies, expected);
  });

  it('loads into an Enforcer without warnings', () => {
    const enforcer = new Enforcer(identityPolicies);
    assert.deepEqual(enforcer.warnings, []);
    assert.equal(enforcer.names.length, identityPolicies.length);
  });
});

describe('identityPolicies for personas (secure RBAC)', () => {
  const enforcer = new Enforcer(identityPolicies);
  // What Keystone's context gives oslo: to_policy_values() plus token and domain_id.
  const creds = (scope: { system?: true; domainId?: string; projectId?: string; projectDomainId?: string }, roles: string[], userId = 'u1'): Credentials => ({
    user_id: userId,
    user_domain_id: 'd1',
    system_scope: scope.system === true ? 'all' : null,
    domain_id: scope.domainId ?? null,
    project_id: scope.projectId ?? null,
    project_domain_id: scope.projectDomainId ?? null,
    roles,
    is_admin_project: false,
    service_roles: [],
    token: {
      user: { id: userId, domain: { id: 'd1' } },
      ...(scope.domainId === undefined ? {} : { domain: { id: scope.domainId } }),
      ...(scope.projectId === undefined ? {} : { project: { id: scope.projectId, domain: { id: scope.projectDomainId } } }),
      ...(scope.system === true ? { system: { all: true } } : {}),
    },
  });
  const systemReader = creds({ system: true }, ['reader']);
  const domainManager = creds({ domainId: 'd1' }, ['manager', 'member', 'reader']);
  const projectMember = creds({ projectId: 'p1', projectDomainId: 'd1' }, ['member', 'reader']);
  const projectAdmin = creds({ projectId: 'p1', projectDomainId: 'd1' }, ['admin', 'manager', 'member', 'reader']);
  const project = (id: string, domainId: string) => flattenTarget({ target: { project: { id, domain_id: domainId } } });

  it('lets a project member see its own project and nobody else\'s', () => {
    assert.equal(enforcer.authorize('identity:get_project', project('p1', 'd1'), projectMember), true);
    assert.equal(enforcer.authorize('identity:get_project', project('p2', 'd1'), projectMember), false);
  });

  it('lets a domain manager create projects in its own domain only', () => {
    assert.equal(enforcer.authorize('identity:create_project', project('p9', 'd1'), domainManager), true);
    assert.equal(enforcer.authorize('identity:create_project', project('p9', 'd2'), domainManager), false);
  });

  it('does not let a project reader list a domain\'s assignments through its domain_id-less project record (CVE-2026-80183)', () => {
    const projectReader = creds({ projectId: 'p1', projectDomainId: 'd1' }, ['reader']);
    // Keystone's target for scope.project.id=<domain id>: the domain's project row has domain_id None
    const tree = flattenTarget({ target: { project: { id: 'd1', domain_id: null }, domain_id: null } });
    assert.equal(enforcer.authorize('identity:list_role_assignments_for_tree', tree, projectReader), false);
    assert.equal(enforcer.authorize('identity:list_role_assignments_for_tree', flattenTarget({ target: { domain_id: 'd1' } }), creds({ domainId: 'd1' }, ['reader'])), true);
  });

  it('answers a domain token on a system/project rule with InvalidScope, a 403 in Keystone\'s words', () => {
    assert.throws(
      () => enforcer.enforce('identity:create_region', {}, domainManager),
      (err: unknown) => err instanceof InvalidScope && err.code === 'policy.invalid_scope' && err.message === 'You are not authorized to perform the requested action: identity:create_region.',
    );
    // upstream: admin on any project is a cloud admin (rule:admin_required is role:admin)
    assert.equal(enforcer.authorize('identity:create_region', {}, projectAdmin), true);
    assert.equal(enforcer.authorize('identity:list_regions', {}, systemReader), true);
    assert.throws(() => enforcer.enforce('identity:create_region', {}, systemReader), (err: unknown) => err instanceof PolicyNotAuthorized && !(err instanceof InvalidScope));
  });
});
