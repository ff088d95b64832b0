// OS-TRUST: a trustor delegates some of their roles on a project to a trustee, optionally letting
// the trustee act as them (impersonation), for a number of uses or a time, and optionally letting
// the trustee pass the delegation on (redelegation, to a bounded depth). As keystone/trust and
// keystone/api/trusts.py.
import { newHexId, type RequestContext } from '@alto/kernel';
import type { Extra, Role } from './models.js';
import { BadRequest, Conflict, RoleNotFound } from './errors.js';
import type { Caller, CoreDeps } from './deps.js';
import type { UsersService } from './users.service.js';
import type { RolesService } from './roles.service.js';
import type { ResourceService } from './resource.service.js';
import type { RevocationService } from './revocation.service.js';
import { ForbiddenAction, ForbiddenQuietly, RoleNameNotFound, TrustNotFound } from './delegation.errors.js';
import { isDelegatedMethod, parseExpirationDate } from './delegation.js';
import { consumeTrustUse, insertTrust, selectTrustRoleIds, selectTrustRow, selectTrustRows, softDeleteTrust, type TrustRow } from '../store/trust.repo.js';
import { parseJson } from '../store/rows.js';

export interface Trust {
  id: string;
  trustorUserId: string;
  trusteeUserId: string;
  projectId: string | null;
  impersonation: boolean;
  /** Epoch ms, whole seconds. */
  expiresAt: number | null;
  remainingUses: number | null;
  redelegatedTrustId: string | null;
  redelegationCount: number | null;
  roleIds: string[];
  /** Attributes the client sent beyond the known ones; Keystone stores and returns them. */
  extra: Extra;
}

export type RoleRef = { id: string } | { name: string };

export interface TrustInput {
  trustorUserId: string;
  trusteeUserId: string;
  impersonation: boolean;
  projectId?: string | null | undefined;
  remainingUses?: number | null | undefined;
  expiresAt?: string | null | undefined;
  allowRedelegation?: boolean | null | undefined;
  redelegationCount?: number | null | undefined;
  roles?: RoleRef[] | undefined;
  extra?: Extra | undefined;
}

export interface TrustSettings {
  /** `[trust] max_redelegation_count`. */
  maxRedelegationCount: number;
}

/** A chain longer than this is corrupt (max_redelegation_count bounds real ones). */
const MAX_CHAIN = 100;

function rowToTrust(r: TrustRow, roleIds: string[]): Trust {
  return {
    id: r.id,
    trustorUserId: r.trustor_user_id,
    trusteeUserId: r.trustee_user_id,
    projectId: r.project_id,
    impersonation: r.impersonation === 1,
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    remainingUses: r.remaining_uses,
    redelegatedTrustId: r.redelegated_trust_id,
    redelegationCount: r.redelegation_count,
    roleIds,
    extra: parseJson(r.extra, {}),
  };
}

export class TrustsService {
  private readonly d: CoreDeps;
  private readonly users: UsersService;
  private readonly roles: RolesService;
  private readonly resources: ResourceService;
  private readonly revocations: RevocationService;
  private readonly settings: TrustSettings;

  constructor(
    deps: CoreDeps,
    s: { users: UsersService; roles: RolesService; resources: ResourceService; revocations: RevocationService },
    settings: TrustSettings,
  ) {
    this.d = deps;
    this.users = s.users;
    this.roles = s.roles;
    this.resources = s.resources;
    this.revocations = s.revocations;
    this.settings = settings;
  }

  /**
   * _check_delegated_token(): application credential, OAuth1 and EC2 tokens are narrower
   * grants and may not read or manage trusts. Trust tokens may: that is redelegation.
   */
  private assertNotDelegated(ctx: RequestContext): void {
    if (isDelegatedMethod(ctx.authMethods)) throw ForbiddenAction('Delegated tokens cannot manage trusts.', 'identity.trust_by_delegation');
  }

  // ---- reads ------------------------------------------------------------------------------

  /** A usable trust: not deleted, expired or used up, and its whole redelegation chain valid. */
  async getTrustOrThrow(id: string): Promise<Trust> {
    const trust = await this.usableOrThrow(id);
    if (trust.redelegatedTrustId) {
      const chain = await this.pedigree(trust);
      for (let i = 1; i < chain.length; i++) {
        const parent = chain[i]!;
        this.validateRedelegation(parent, { ...chain[i - 1]! });
        const agent = await this.users.getUserOrThrow(parent.trusteeUserId).catch(() => undefined);
        if (!agent?.enabled) throw ForbiddenQuietly('identity.trust_agent_disabled');
      }
    }
    return trust;
  }

  /** The driver's get_trust(): one trust, gone when deleted, expired or out of uses. */
  private async usableOrThrow(id: string): Promise<Trust> {
    const row = await selectTrustRow(this.d.db, id);
    if (!row) throw TrustNotFound(id);
    if (row.expires_at !== null && this.d.clock.nowMs() > Number(row.expires_at)) throw TrustNotFound(id);
    if (row.remaining_uses !== null && row.remaining_uses <= 0) throw TrustNotFound(id);
    return rowToTrust(row, (await selectTrustRoleIds(this.d.db, [id])).get(id) ?? []);
  }

  /** [trust, its parent, ..., the original], each usable. */
  private async pedigree(trust: Trust): Promise<Trust[]> {
    const chain = [trust];
    let t = trust;
    while (t.redelegatedTrustId) {
      if (chain.length > MAX_CHAIN) throw TrustNotFound(trust.id);
      t = await this.usableOrThrow(t.redelegatedTrustId);
      chain.push(t);
    }
    return chain;
  }

  async showTrust(id: string, caller: Caller): Promise<Trust> {
    this.assertNotDelegated(caller.ctx);
    return this.getTrustOrThrow(id);
  }

  /** Trusts by trustor or trustee, or all of them; expired and used-up trusts are listed too. */
  async listTrusts(f: { trustorUserId?: string | undefined; trusteeUserId?: string | undefined; otherFilter?: boolean }, caller: Caller): Promise<Trust[]> {
    this.assertNotDelegated(caller.ctx);
    // COMPAT(keystone): a query with neither trustor nor trustee (only unknown keys) lists nothing
    if (f.trustorUserId === undefined && f.trusteeUserId === undefined && f.otherFilter) return [];
    const rows = await selectTrustRows(
      this.d.db,
      f.trustorUserId !== undefined ? { trustorUserId: f.trustorUserId } : f.trusteeUserId !== undefined ? { trusteeUserId: f.trusteeUserId } : {},
    );
    const roles = await selectTrustRoleIds(this.d.db, rows.map((r) => r.id));
    return rows.map((r) => rowToTrust(r, roles.get(r.id) ?? []));
  }

  /** The trust's roles that still exist. */
  async listTrustRoles(id: string, caller: Caller): Promise<Role[]> {
    this.assertNotDelegated(caller.ctx);
    return this.rolesOf(await this.getTrustOrThrow(id));
  }

  async rolesOf(trust: Trust): Promise<Role[]> {
    const byId = await this.roles.rolesByIds(trust.roleIds);
    return trust.roleIds.map((r) => byId.get(r)).filter((r): r is Role => r !== undefined);
  }

  async getTrustRoleOrThrow(id: string, roleId: string, caller: Caller): Promise<Role> {
    this.assertNotDelegated(caller.ctx);
    const trust = await this.getTrustOrThrow(id);
    if (!trust.roleIds.includes(roleId)) throw RoleNotFound(roleId);
    return this.roles.getRoleOrThrow(roleId);
  }

  // ---- create -----------------------------------------------------------------------------

  async createTrust(input: TrustInput, caller: Caller): Promise<Trust> {
    const ctx = caller.ctx;
    this.assertNotDelegated(ctx);
    if (input.projectId && !input.roles?.length) throw ForbiddenAction('At least one role should be specified');
    if (ctx.userId !== input.trustorUserId) throw ForbiddenAction('The authenticated user should match the trustor');
    await this.users.getUserOrThrow(input.trusteeUserId);
    const roleIds: string[] = [];
    for (const ref of input.roles ?? []) {
      if ('id' in ref) roleIds.push(ref.id);
      else {
        const found = await this.roles.listRoles({ name: ref.name });
        if (found.length === 0) throw RoleNameNotFound(ref.name);
        roleIds.push(found[0]!.id);
      }
    }
    // the trustor must hold every role on the project (no project: nothing can be delegated)
    let held = new Set<string>();
    if (input.projectId) {
      // COMPAT(keystone get_roles_for_trustor_and_project): a trustor's domain-specific roles count too
      await this.resources.getProjectOrThrow(input.projectId);
      held = new Set(await this.roles.effectiveRoleIds(input.trustorUserId, { project: input.projectId }, { keepDomainRoles: true }));
    }
    const missing = roleIds.find((r) => !held.has(r));
    if (missing) throw RoleNotFound(missing);
    const expires = input.expiresAt ? parseExpirationDate(input.expiresAt, this.d.clock.nowMs()) : null;
    // a trust-scoped caller redelegates the trust it holds
    const parent = ctx.trustId ? await this.getTrustOrThrow(ctx.trustId) : undefined;

    const trust: Trust = {
      id: newHexId(),
      trustorUserId: input.trustorUserId,
      trusteeUserId: input.trusteeUserId,
      projectId: input.projectId ?? null,
      impersonation: input.impersonation,
      // Keystone keeps (and shows) whole seconds
      expiresAt: expires ? Math.floor(expires.ms / 1000) * 1000 : null,
      remainingUses: input.remainingUses ?? null,
      redelegatedTrustId: null,
      redelegationCount: null,
      roleIds,
      extra: input.extra ?? {},
    };
    this.applyRedelegationRules(trust, input, parent);
    if (parent) {
      for (const t of await this.pedigree(parent)) this.validateRedelegation(t, trust);
    }
    if (new Set(roleIds).size !== roleIds.length) throw Conflict('trust', `Duplicate entry found with ID ${trust.id}`);
    await this.d.db.transaction().execute(async (trx) => {
      await insertTrust(
        trx,
        {
          id: trust.id,
          trustor_user_id: trust.trustorUserId,
          trustee_user_id: trust.trusteeUserId,
          project_id: trust.projectId,
          impersonation: trust.impersonation ? 1 : 0,
          expires_at: trust.expiresAt,
          remaining_uses: trust.remainingUses,
          redelegated_trust_id: trust.redelegatedTrustId,
          redelegation_count: trust.redelegationCount,
          deleted_at: null,
          created_at: this.d.clock.nowMs(),
          extra: JSON.stringify(trust.extra),
        },
        roleIds,
      );
    });
    this.d.notifier.resource('created', 'OS-TRUST:trust', trust.id, caller.initiator);
    return trust;
  }

  /** Manager.create_trust(): the redelegation depth a new trust gets, and what that forbids. */
  private applyRedelegationRules(trust: Trust, input: TrustInput, parent: Trust | undefined): void {
    const max = this.settings.maxRedelegationCount;
    let requested = input.redelegationCount ?? null;
    const redelegatable = input.allowRedelegation === true && requested !== 0;
    if (!redelegatable) {
      trust.redelegationCount = requested = 0;
    } else {
      if (requested !== null && requested > max) throw ForbiddenQuietly('identity.redelegation_too_deep');
      if (trust.remainingUses !== null) throw BadRequest('remaining_uses must not be set if redelegation is allowed', 'identity.redelegation_with_uses');
      trust.redelegationCount = requested;
    }
    if (parent) {
      trust.redelegatedTrustId = parent.id;
      const remaining = (parent.redelegationCount ?? 0) - 1;
      // COMPAT(keystone): a redelegation may not choose its own depth
      if (redelegatable && requested && requested !== remaining) throw ForbiddenQuietly('identity.redelegation_count_changed');
      trust.redelegationCount ??= remaining;
    }
    trust.redelegationCount ??= max;
  }

  /** _validate_redelegation(): what a trust made from `parent` may not exceed. */
  private validateRedelegation(parent: Trust, child: Trust): void {
    const depth = parent.redelegationCount ?? 0;
    if (!(depth > 0 && depth <= this.settings.maxRedelegationCount)) throw ForbiddenQuietly('identity.redelegation_depth');
    if (child.remainingUses !== null) throw ForbiddenQuietly('identity.redelegation_with_uses');
    // COMPAT(keystone): upstream fails with a Python TypeError (400) when the parent never
    // expires and the child does; a child may expire earlier than a parent that never does.
    if (child.expiresAt !== null) {
      if (parent.expiresAt !== null && parent.expiresAt < child.expiresAt) throw ForbiddenQuietly('identity.redelegation_outlives');
    } else {
      child.expiresAt = parent.expiresAt;
    }
    if (!child.roleIds.every((r) => parent.roleIds.includes(r))) throw ForbiddenQuietly('identity.redelegation_roles');
    if (!parent.impersonation && child.impersonation) throw ForbiddenQuietly('identity.redelegation_impersonation');
  }

  // ---- delete -----------------------------------------------------------------------------

  /** Deletes the trust and the trusts redelegated from it; tokens of each are revoked. */
  async deleteTrust(id: string, caller: Caller): Promise<void> {
    this.assertNotDelegated(caller.ctx);
    await this.getTrustOrThrow(id);
    await this.deleteTree(id, caller, 0);
  }

  private async deleteTree(id: string, caller: Caller, depth: number): Promise<void> {
    if (depth <= MAX_CHAIN) {
      for (const child of await selectTrustRows(this.d.db, { redelegatedTrustId: id })) await this.deleteTree(child.id, caller, depth + 1);
    }
    // another request may have deleted it meanwhile; the events are the same either way
    await softDeleteTrust(this.d.db, id, this.d.clock.nowMs());
    await this.revocations.revoke({ trust_id: id });
    this.d.notifier.resource('deleted', 'OS-TRUST:trust', id, caller.initiator);
  }

  // ---- tokens -----------------------------------------------------------------------------

  /** Takes one use after a token was issued; the last use ends the trust's other tokens too. */
  async consumeUse(id: string): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const r = await consumeTrustUse(this.d.db, id);
      if (r === 'gone') throw TrustNotFound(id);
      if (r === 'exhausted') throw ForbiddenQuietly('identity.trust_use_limit');
      if (r === 'unlimited') return;
      if (r === 'consumed') {
        const left = (await selectTrustRow(this.d.db, id))?.remaining_uses;
        if (left === 0) this.d.invalidator.invalidate(`trust ${id} used up`);
        return;
      }
    }
    throw ForbiddenQuietly('identity.trust_consume_contended');
  }

  /**
   * The roles a token of this trust carries: the trust's roles and what they imply, all of which
   * the original trustor must still hold on the project (else 403); domain-specific roles are left out.
   */
  async tokenRoles(trust: Trust): Promise<Role[]> {
    const chain = trust.redelegatedTrustId ? await this.pedigree(trust) : [trust];
    const original = chain[chain.length - 1]!;
    const implications = new Map<string, string[]>();
    for (const rule of await this.roles.listImplications()) implications.set(rule.prior.id, rule.implies.map((r) => r.id));
    const effective = new Set<string>();
    const stack = [...trust.roleIds];
    while (stack.length) {
      const r = stack.pop()!;
      if (effective.has(r)) continue;
      effective.add(r);
      stack.push(...(implications.get(r) ?? []));
    }
    const held = new Set(trust.projectId ? await this.roles.effectiveRoleIds(original.trustorUserId, { project: trust.projectId }, { keepDomainRoles: true }) : []);
    for (const r of effective) if (!held.has(r)) throw ForbiddenQuietly('identity.trustee_has_no_delegated_roles');
    const byId = await this.roles.rolesByIds([...effective]);
    return [...effective].map((r) => byId.get(r)).filter((r): r is Role => r !== undefined && r.domainId === null);
  }
}
