// The Enforcer: registration, scopes, deprecations, overrides, errors and their wording.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ForbiddenError } from '@alto/kernel';
import { Enforcer } from './enforcer.js';
import { InvalidScope, PolicyDefinitionError, PolicyFileError, PolicyNotAuthorized, PolicyNotRegistered, PolicySyntaxError } from './errors.js';
import { flattenTarget } from './flatten.js';
import { parsePolicyFile } from './policy-file.js';
import type { RuleDefault } from './rule-default.js';

const defaults: RuleDefault[] = [
  { name: 'admin_required', checkStr: 'role:admin' },
  {
    name: 'svc:get_thing',
    checkStr: 'role:reader and project_id:%(target.project.id)s',
    description: 'Show a thing.',
    scopeTypes: ['project'],
    operations: [{ method: 'GET', path: '/things/{id}' }],
    deprecatedRule: { name: 'svc:thing:get', checkStr: 'rule:admin_required', deprecatedReason: 'Renamed.', deprecatedSince: 'Zed' },
  },
  {
    name: 'svc:create_thing',
    checkStr: 'role:admin',
    description: 'Create a thing.',
    scopeTypes: ['system', 'project'],
    operations: [{ method: 'POST', path: '/things' }],
    deprecatedRule: { name: 'svc:create_thing', checkStr: 'role:member', deprecatedReason: 'Admins only now.', deprecatedSince: '2024.1' },
  },
  { name: 'svc:system_thing', checkStr: '@', description: 'System.', scopeTypes: ['system'], operations: [{ method: 'GET', path: '/sys' }] },
];

const member = { user_id: 'u1', project_id: 'p1', roles: ['member', 'reader'], system_scope: null, domain_id: null };
const systemAdmin = { user_id: 'u2', project_id: null, roles: ['admin'], system_scope: 'all', domain_id: null };
const domainAdmin = { user_id: 'u3', project_id: null, roles: ['admin'], system_scope: null, domain_id: 'd1' };
const own = flattenTarget({ target: { project: { id: 'p1' } } });

describe('Enforcer', () => {
  it('allows, and denies with Keystone\'s ForbiddenAction text and a stable code', () => {
    const e = new Enforcer(defaults);
    assert.doesNotThrow(() => e.enforce('svc:get_thing', own, member));
    assert.equal(e.authorize('svc:get_thing', { 'target.project.id': 'p2' }, member), false);
    assert.throws(
      () => e.enforce('svc:get_thing', { 'target.project.id': 'p2' }, member),
      (err: unknown) =>
        err instanceof PolicyNotAuthorized &&
        err instanceof ForbiddenError &&
        err.kind === 'forbidden' &&
        err.code === 'policy.not_authorized' &&
        err.action === 'svc:get_thing' &&
        err.message === 'You are not authorized to perform the requested action: svc:get_thing.',
    );
  });

  it('derives the token scope from system_scope, then domain_id, else project', () => {
    const e = new Enforcer(defaults);
    assert.throws(
      () => e.enforce('svc:get_thing', own, systemAdmin),
      (err: unknown) => err instanceof InvalidScope && err.code === 'policy.invalid_scope' && err.tokenScope === 'system' && err.kind === 'forbidden',
    );
    assert.throws(() => e.enforce('svc:create_thing', {}, domainAdmin), (err: unknown) => err instanceof InvalidScope && err.tokenScope === 'domain');
    assert.equal(e.authorize('svc:system_thing', {}, systemAdmin), true);
    assert.equal(e.authorize('svc:system_thing', {}, member), false);
    // a token with neither system nor domain is a project token, even without a project
    assert.equal(e.authorize('svc:system_thing', {}, { roles: [] }), false);
  });

  it('lets scope mismatches through, with a warning, when enforce_scope is off', () => {
    const warnings: string[] = [];
    const e = new Enforcer(defaults, { enforceScope: false, onWarning: (w) => warnings.push(w) });
    assert.equal(e.authorize('svc:system_thing', {}, member), true);
    assert.match(warnings.at(-1) ?? '', /svc:system_thing failed scope check/);
  });

  it('ORs in the deprecated check string only when enforce_new_defaults is off', () => {
    const secure = new Enforcer(defaults);
    const legacy = new Enforcer(defaults, { enforceNewDefaults: false });
    assert.equal(secure.authorize('svc:create_thing', {}, member), false);
    assert.equal(legacy.authorize('svc:create_thing', {}, member), true);
    assert.equal(legacy.effectiveRule('svc:create_thing'), '(role:admin or role:member)');
    assert.match(legacy.warnings.join('\n'), /2 policies also accept their deprecated check strings/);
  });

  it('applies overrides, and keeps honouring an override of a renamed policy\'s old name', () => {
    const renamed = new Enforcer(defaults, { overrides: parsePolicyFile('"svc:thing:get": "role:member"\n', { source: 'policy.yaml' }) });
    assert.equal(renamed.effectiveRule('svc:get_thing'), 'role:member');
    assert.match(renamed.warnings.join('\n'), /renamed to "svc:get_thing"/);
    const both = new Enforcer(defaults, { overrides: parsePolicyFile('"svc:thing:get": "role:member"\n"svc:get_thing": "role:reader"\n') });
    assert.equal(both.effectiveRule('svc:get_thing'), 'role:reader');
    const alias = new Enforcer(defaults, { overrides: parsePolicyFile('"svc:thing:get": "rule:svc:get_thing"\n') });
    assert.equal(alias.effectiveRule('svc:get_thing'), '(role:reader and project_id:%(target.project.id)s)');
  });

  it('falls back to the "default" rule for rule: references to undefined rules', () => {
    const overrides = parsePolicyFile('"svc:get_thing": "rule:nowhere"\ndefault: "role:member"\n');
    assert.equal(new Enforcer(defaults, { overrides }).authorize('svc:get_thing', {}, member), true);
    assert.equal(new Enforcer(defaults, { overrides, defaultRule: null }).authorize('svc:get_thing', {}, member), false);
  });

  it('layers several policy files, the later one winning', () => {
    const e = new Enforcer(defaults, { overrides: [parsePolicyFile('admin_required: "role:a"\n'), parsePolicyFile('admin_required: "role:b"\n')] });
    assert.equal(e.effectiveRule('admin_required'), 'role:b');
  });

  it('treats unregistered names as programming errors', () => {
    const e = new Enforcer(defaults);
    assert.throws(() => e.enforce('svc:nope', {}, member), (err: unknown) => err instanceof PolicyNotRegistered && err.code === 'policy.not_registered' && err.kind === 'internal');
    assert.throws(() => e.authorize('svc:nope', {}, member), PolicyNotRegistered);
  });

  it('rejects bad definitions when it is built', () => {
    assert.throws(() => new Enforcer([...defaults, { name: 'admin_required', checkStr: '@' }]), (err: unknown) => err instanceof PolicyDefinitionError && err.code === 'policy.duplicate');
    assert.throws(() => new Enforcer([{ name: 'x', checkStr: 'role:a and' }]), (err: unknown) => err instanceof PolicySyntaxError && err.policy === 'x');
    assert.throws(() => new Enforcer([{ name: 'x', checkStr: '@', scopeTypes: ['galaxy' as 'system'] }]), PolicyDefinitionError);
    assert.throws(() => new Enforcer([{ name: 'x', checkStr: '@', operations: [{ method: 'GET', path: '/' }] }]), /needs a description/);
    assert.throws(() => new Enforcer([{ name: 'x', checkStr: '@', deprecatedForRemoval: true }]), /deprecated for removal/);
    const cyclic = parsePolicyFile('a: "rule:b"\nb: "rule:a or role:x"\n');
    assert.throws(() => new Enforcer(defaults, { overrides: cyclic }), (err: unknown) => err instanceof PolicyDefinitionError && err.code === 'policy.cyclic_reference');
  });

  it('rejects a bad override at load, naming the policy and the file, unless told to fail it closed', () => {
    const bad = parsePolicyFile('"svc:get_thing": "role:member or"\n', { source: '/etc/alto/policy.yaml' });
    assert.throws(
      () => new Enforcer(defaults, { overrides: bad }),
      (err: unknown) => err instanceof PolicySyntaxError && err.policy === 'svc:get_thing' && err.message.includes('/etc/alto/policy.yaml') && err.offset === 14,
    );
    const lenient = new Enforcer(defaults, { overrides: bad, overrideMode: 'lenient' });
    assert.equal(lenient.effectiveRule('svc:get_thing'), '!');
  });

  it('warns about undefined references and overrides that repeat the default', () => {
    const e = new Enforcer(defaults, { overrides: parsePolicyFile('admin_required: "role:admin"\n"svc:get_thing": "rule:ghost"\n') });
    assert.match(e.warnings.join('\n'), /"admin_required" in the policy file is the same as the default/);
    assert.match(e.warnings.join('\n'), /svc:get_thing reference a rule that is not defined/);
  });

  it('takes a custom 403 text and service-specific check kinds', () => {
    const e = new Enforcer([{ name: 'net:get', checkStr: 'field:shared' }], {
      forbiddenMessage: (action) => `Policy doesn't allow ${action} to be performed.`,
      customChecks: { field: (_kind, match) => (target) => target[match] === true },
    });
    assert.equal(e.authorize('net:get', { shared: true }, {}), true);
    assert.throws(() => e.enforce('net:get', {}, {}), { message: "Policy doesn't allow net:get to be performed." });
  });

  it('does not modify the caller\'s credentials', () => {
    const creds = { ...systemAdmin };
    new Enforcer(defaults).authorize('svc:system_thing', {}, creds);
    assert.deepEqual(creds, systemAdmin);
  });

  it('reads [oslo_policy] options and an explicit policy_file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alto-policy-'));
    try {
      const file = join(dir, 'policy.yaml');
      await writeFile(file, '"svc:create_thing": "role:member"\n');
      const e = await Enforcer.fromConfig(defaults, { policy_file: file });
      assert.equal(e.enforceScope, true);
      assert.equal(e.enforceNewDefaults, true);
      assert.equal(e.authorize('svc:create_thing', {}, member), true);
      const legacy = await Enforcer.fromConfig(defaults, { enforce_scope: false, enforce_new_defaults: false });
      assert.equal(legacy.authorize('svc:system_thing', {}, member), true);
      await assert.rejects(Enforcer.fromConfig(defaults, { policy_file: join(dir, 'missing.yaml') }), PolicyFileError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('flattenTarget', () => {
  it('flattens as Keystone\'s flatten_dict: nested objects to dotted keys, lists kept, empty objects dropped', () => {
    assert.deepEqual(flattenTarget({ target: { project: { id: 'p1', domain_id: 'd1', tags: ['a'] }, empty: {} }, user_id: 'u1' }), {
      'target.project.id': 'p1',
      'target.project.domain_id': 'd1',
      'target.project.tags': ['a'],
      user_id: 'u1',
    });
  });
});
