// Domain -> wire for delegations: application credentials, access rules and OS-TRUST trusts, as
// Keystone renders them.
import type { Role } from '../domain/models.js';
import type { AccessRule, ApplicationCredentialDetail } from '../domain/application-credentials.service.js';
import type { Trust } from '../domain/trusts.service.js';
import { isoMicros, roleView } from './views.js';

/** Python's datetime.isoformat() of a naive UTC time: microseconds only when there are some. */
export function pythonIsoformat(us: number): string {
  const whole = new Date(Math.floor(us / 1_000_000) * 1000).toISOString().slice(0, 19);
  const micros = us % 1_000_000;
  return micros === 0 ? whole : `${whole}.${String(micros).padStart(6, '0')}`;
}

/** A role inside an application credential: get_role()'s dict, without links. */
function bareRole(r: Role) {
  return { ...r.extra, id: r.id, name: r.name, domain_id: r.domainId, description: r.description, options: r.options };
}

export function accessRuleRef(r: AccessRule) {
  return { id: r.id, service: r.service, path: r.path, method: r.method };
}

export function accessRuleView(r: AccessRule, base: string) {
  return { ...accessRuleRef(r), links: { self: `${base}/v3/access_rules/${r.id}` } };
}

/** The secret appears in the answer to create only: it is stored hashed. */
export function applicationCredentialView(c: ApplicationCredentialDetail, base: string, secret?: string) {
  return {
    id: c.id,
    name: c.name,
    description: c.description,
    user_id: c.userId,
    project_id: c.projectId,
    system: c.system,
    expires_at: c.expiresAt === null ? null : pythonIsoformat(c.expiresAt.us),
    unrestricted: c.unrestricted,
    roles: c.roles.map(bareRole),
    ...(c.accessRules.length ? { access_rules: c.accessRules.map(accessRuleRef) } : {}),
    ...(secret !== undefined ? { secret } : {}),
    // COMPAT(keystone): the link leaves the user out, though no such URL is served
    links: { self: `${base}/v3/application_credentials/${c.id}` },
  };
}

/** What policy sees of a trust (target.trust.*). */
export function wireTrust(t: Trust) {
  return {
    id: t.id,
    trustor_user_id: t.trustorUserId,
    trustee_user_id: t.trusteeUserId,
    project_id: t.projectId,
    impersonation: t.impersonation,
    expires_at: t.expiresAt === null ? null : isoMicros(new Date(t.expiresAt)),
    remaining_uses: t.remainingUses,
    redelegated_trust_id: t.redelegatedTrustId,
    redelegation_count: t.redelegationCount,
  };
}

/** A trust as listed; with its roles (and roles_links) when shown alone or created. */
export function trustView(t: Trust, base: string, roles?: Role[]) {
  return {
    ...t.extra,
    ...wireTrust(t),
    deleted_at: null,
    links: { self: `${base}/v3/OS-TRUST/trusts/${t.id}` },
    ...(roles
      ? {
          roles: roles.map((r) => roleView(r, base)),
          // COMPAT(keystone): upstream builds this link without the OS-TRUST/trusts part
          roles_links: { self: `${base}/v3/${t.id}/roles`, previous: null, next: null },
        }
      : {}),
  };
}
