// Glance's default policies: they load into @alto/policy, match the upstream dump, and give
// Glance's answers (oslo's, recorded in the dump) for the image personas that matter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Enforcer, InvalidScope } from '@alto/policy';
import { describePolicyDefaults, readPolicyDump } from '@alto/policy/defaults-suite';
import type { Credentials, Target } from '@alto/policy';
import { imagePolicies } from './policies.js';

// What policies.ts is generated from: fixtures/policies/dump-glance-policies.py, then glance-policies-to-ts.py.
describePolicyDefaults('imagePolicies', imagePolicies, readPolicyDump(new URL('../fixtures/policies/glance-policies.json', import.meta.url)), { upstream: 'glance', minCases: 101 });

describe('imagePolicies for our personas (enforce_scope and enforce_new_defaults on)', () => {
  const enforcer = new Enforcer(imagePolicies, { enforceScope: true, enforceNewDefaults: true });

  // Credentials as Glance's RequestContext.to_policy_values() gives them to oslo.
  const creds = (projectId: string, roles: string[]): Credentials => ({
    user_id: `u-${projectId}`,
    user_domain_id: 'default',
    system_scope: null,
    domain_id: null,
    project_id: projectId,
    project_domain_id: 'default',
    roles,
    is_admin_project: true,
    service_user_id: null,
    service_user_domain_id: null,
    service_project_id: null,
    service_project_domain_id: null,
    service_roles: [],
  });
  const ownerMember = creds('p1', ['member', 'reader']);
  const ownerReader = creds('p1', ['reader']);
  const otherMember = creds('p2', ['member', 'reader']);
  const otherAdmin = creds('p2', ['admin', 'member', 'reader']);
  // ImageTarget of an image p1 owns; member_id is the caller's project when it reached a shared image as a member.
  const image = (visibility: string, memberId: string | null = null): Target => ({ id: 'i1', project_id: 'p1', owner: 'p1', visibility, member_id: memberId });
  const allows = (rule: string, target: Target, who: Credentials): boolean => enforcer.authorize(rule, target, who);

  it('lets a member of the owner project get, modify, delete, upload and download its image', () => {
    for (const rule of ['get_image', 'modify_image', 'delete_image', 'upload_image', 'download_image', 'deactivate', 'reactivate', 'add_member']) {
      assert.equal(allows(rule, image('private'), ownerMember), true, rule);
    }
    assert.equal(allows('add_image', { project_id: 'p1', owner: 'p1', visibility: 'private' }, ownerMember), true);
    // but not create one owned by another project (Glance's "not permitted to create images owned by")
    assert.equal(allows('add_image', { project_id: 'p2', owner: 'p2', visibility: 'private' }, ownerMember), false);
  });

  it('lets a reader of the owner project get and list but neither change nor download', () => {
    assert.equal(allows('get_image', image('private'), ownerReader), true);
    assert.equal(allows('get_images', { project_id: 'p1' }, ownerReader), true);
    for (const rule of ['modify_image', 'delete_image', 'upload_image', 'add_member', 'deactivate']) assert.equal(allows(rule, image('private'), ownerReader), false, rule);
    // upstream: download_image needs role:member even in the owner project
    assert.equal(allows('download_image', image('private'), ownerReader), false);
  });

  it('hides a private image from another project and shows it public, community or shared images', () => {
    assert.equal(allows('get_image', image('private'), otherMember), false);
    assert.equal(allows('download_image', image('private'), otherMember), false);
    for (const visibility of ['public', 'community']) {
      assert.equal(allows('get_image', image(visibility), otherMember), true, visibility);
      assert.equal(allows('download_image', image(visibility), otherMember), true, visibility);
      assert.equal(allows('modify_image', image(visibility), otherMember), false, visibility);
    }
    assert.equal(allows('get_image', image('shared', 'p2'), otherMember), true);
    assert.equal(allows('get_member', image('shared', 'p2'), otherMember), true);
    assert.equal(allows('modify_member', image('shared', 'p2'), otherMember), true);
    assert.equal(allows('delete_member', image('shared', 'p2'), otherMember), false);
    // COMPAT(glance): get_image's 'shared':%(visibility)s lets a non-member read too; upstream's
    // store query (glance.db.utils.is_image_visible) is what hides shared images from non-members.
    assert.equal(allows('get_image', image('shared', null), otherMember), true);
    assert.equal(allows('modify_member', image('shared', null), otherMember), false);
  });

  it('keeps publicize_image for admins and lets owner members communitize', () => {
    const creating = (visibility: string): Target => ({ project_id: 'p1', owner: 'p1', visibility });
    assert.equal(allows('publicize_image', image('private'), ownerMember), false);
    assert.equal(allows('publicize_image', creating('public'), ownerMember), false);
    assert.equal(allows('publicize_image', image('private'), otherAdmin), true);
    assert.equal(allows('communitize_image', image('private'), ownerMember), true);
    assert.equal(allows('communitize_image', creating('community'), ownerMember), true);
    assert.equal(allows('communitize_image', image('private'), otherMember), false);
    assert.equal(allows('communitize_image', image('private'), otherAdmin), true);
  });

  it('lets an admin of any project delete any image (role:admin is cloud-wide in Glance)', () => {
    assert.equal(allows('delete_image', image('private'), otherAdmin), true);
    assert.equal(allows('delete_image', image('private'), otherMember), false);
  });

  it('answers a system-scoped admin with InvalidScope: every image API is project scope', () => {
    const systemAdmin: Credentials = { ...creds('p1', ['admin', 'member', 'reader']), project_id: null, system_scope: 'all' };
    assert.throws(() => enforcer.enforce('get_image', image('public'), systemAdmin), InvalidScope);
  });

  it('opens everything to rule:default when enforce_new_defaults is off, which is why we run it on', () => {
    const legacy = new Enforcer(imagePolicies, { enforceNewDefaults: false });
    assert.equal(legacy.authorize('get_image', image('private'), otherMember), true);
    assert.equal(legacy.authorize('delete_image', image('private'), otherMember), true);
  });
});
