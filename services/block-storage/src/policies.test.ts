// Cinder's default policies: they load into @alto/policy, match the upstream dump, and give
// Cinder's answers (oslo's, recorded in the dump) for the block-storage personas.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Enforcer } from '@alto/policy';
import { describePolicyDefaults, readPolicyDump } from '@alto/policy/defaults-suite';
import type { Credentials, Target } from '@alto/policy';
import { blockStoragePolicies } from './policies.js';

// What policies.ts is generated from: fixtures/policies/dump-cinder-policies.py, then cinder-policies-to-ts.py.
describePolicyDefaults('blockStoragePolicies', blockStoragePolicies, readPolicyDump(new URL('../fixtures/policies/cinder-policies.json', import.meta.url)), { upstream: 'cinder', minMasterRules: 150, minCases: 40 });

describe('blockStoragePolicies for our personas (enforce_scope and enforce_new_defaults on)', () => {
  const enforcer = new Enforcer(blockStoragePolicies, { enforceScope: true, enforceNewDefaults: true });

  // Credentials as Cinder's RequestContext.to_policy_values() gives them to oslo: oslo's values
  // plus is_admin, which Cinder sets from context_is_admin (role:admin).
  const creds = (projectId: string, roles: string[]): Credentials => ({
    user_id: `u-${projectId}`,
    user_domain_id: null,
    system_scope: null,
    domain_id: null,
    project_id: projectId,
    project_domain_id: null,
    roles,
    is_admin_project: true,
    service_user_id: null,
    service_user_domain_id: null,
    service_project_id: null,
    service_project_domain_id: null,
    service_roles: [],
    is_admin: roles.includes('admin'),
  });
  const ownerMember = creds('p1', ['member', 'reader']);
  const ownerReader = creds('p1', ['reader']);
  const otherMember = creds('p2', ['member', 'reader']);
  const otherAdmin = creds('p2', ['admin', 'member', 'reader']);
  // context.authorize(..., target_obj=volume) of a volume p1 owns.
  const volume: Target = { id: 'v1', project_id: 'p1', user_id: 'u-p1', status: 'available', size: 1 };
  const allows = (rule: string, target: Target, who: Credentials): boolean => enforcer.authorize(rule, target, who);

  it('lets a member of the owner project use its volume, a reader only look', () => {
    for (const rule of ['volume:get', 'volume:update', 'volume:delete', 'volume:extend', 'volume:create_snapshot', 'backup:create', 'volume_extension:volume_actions:attach']) {
      assert.equal(allows(rule, volume, ownerMember), true, rule);
    }
    assert.equal(allows('volume:get', volume, ownerReader), true);
    assert.equal(allows('volume:get_volume_metadata', volume, ownerReader), true);
    for (const rule of ['volume:update', 'volume:delete', 'volume:extend', 'volume:create_snapshot']) assert.equal(allows(rule, volume, ownerReader), false, rule);
  });

  it('hides a volume from another project\'s member', () => {
    for (const rule of ['volume:get', 'volume:delete', 'volume:create_transfer']) assert.equal(allows(rule, volume, otherMember), false, rule);
    // but a transfer is accepted with the accepting caller's own default target
    assert.equal(allows('volume:accept_transfer', { project_id: 'p2', user_id: 'u-p2' }, otherMember), true);
  });

  it('keeps admin APIs for admins, and role:admin in any project is a cloud admin (Cinder\'s Xena defaults)', () => {
    for (const rule of ['volume:force_delete', 'volume_extension:volume_admin_actions:reset_status']) {
      assert.equal(allows(rule, volume, ownerMember), false, rule);
      assert.equal(allows(rule, volume, otherAdmin), true, rule);
    }
    assert.equal(allows('volume:get', volume, otherAdmin), true);
    assert.equal(allows('volume_extension:type_create', { project_id: 'p1', user_id: 'u-p1' }, ownerMember), false);
    // admin_api reads is_admin: without it a member-only token never passes, with it anyone would
    assert.equal(allows('volume_extension:type_create', { project_id: 'p1' }, { ...ownerMember, is_admin: true }), true);
  });

  it('lets a project read its own quotas but not another\'s; updating them is admin only', () => {
    assert.equal(allows('volume_extension:quotas:show', { project_id: 'p1' }, ownerReader), true);
    assert.equal(allows('volume_extension:quotas:show', { project_id: 'p1' }, otherMember), false);
    assert.equal(allows('volume_extension:quotas:update', { project_id: 'p1' }, ownerMember), false);
    assert.equal(allows('volume_extension:quotas:update', { project_id: 'p1' }, otherAdmin), true);
  });

  it('has no scope_types, so a system-scoped token is never InvalidScope', () => {
    const systemReader: Credentials = { ...creds('p1', ['reader']), project_id: null, system_scope: 'all', system: 'all' };
    assert.doesNotThrow(() => enforcer.enforce('volume:get', { project_id: null }, systemReader));
    assert.equal(allows('volume:get', volume, systemReader), false);
  });

  it('opens volume:create to anyone when enforce_new_defaults is off (deprecated "" is or-ed in)', () => {
    const legacy = new Enforcer(blockStoragePolicies, { enforceNewDefaults: false });
    assert.equal(legacy.authorize('volume:create', { project_id: 'p1' }, creds('p9', [])), true);
    assert.equal(enforcer.authorize('volume:create', { project_id: 'p1' }, creds('p9', [])), false);
  });
});
