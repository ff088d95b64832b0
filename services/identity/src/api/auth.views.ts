// The token document Keystone returns from POST/GET /v3/auth/tokens (render_token.py).
import type { TokenData } from '../domain/tokens.service.js';
import type { CatalogEntry } from '../domain/catalog.service.js';
import { isoMicros, isoSeconds } from './views.js';

export function tokenView(t: TokenData, catalog: CatalogEntry[] | undefined): { token: Record<string, unknown> } {
  const token: Record<string, unknown> = {
    methods: t.methods,
    user: {
      domain: { id: t.user.domain.id, name: t.user.domain.name },
      id: t.user.id,
      name: t.user.name,
      password_expires_at: t.user.passwordExpiresAt === null ? null : isoSeconds(t.user.passwordExpiresAt),
    },
    audit_ids: t.auditIds,
    expires_at: isoMicros(t.expiresAt),
    issued_at: isoMicros(t.issuedAt),
  };
  if (t.project) {
    token.project = { domain: { id: t.project.domain.id, name: t.project.domain.name }, id: t.project.id, name: t.project.name };
    // a trust-scoped token says nothing about is_domain, as upstream renders it
    if (!t.trust) token.is_domain = false;
  }
  if (t.trust) {
    token['OS-TRUST:trust'] = { id: t.trust.id, impersonation: t.trust.impersonation, trustee_user: { id: t.trust.trusteeId }, trustor_user: { id: t.trust.trustorId } };
  }
  if (t.oauth1) token['OS-OAUTH1'] = { access_token_id: t.oauth1.accessTokenId, consumer_id: t.oauth1.consumerId };
  if (t.domain) token.domain = { id: t.domain.id, name: t.domain.name };
  if (t.scope.type === 'system') token.system = { all: true };
  if (t.scope.type !== 'unscoped') {
    // trust tokens carry whole roles (get_role()), others id and name
    token.roles = t.roles.map((r) =>
      r.detail ? { ...r.detail.extra, id: r.id, name: r.name, description: r.detail.description, domain_id: r.detail.domainId, options: r.detail.options } : { id: r.id, name: r.name },
    );
    if (catalog) token.catalog = catalog;
  }
  if (t.applicationCredential) {
    const a = t.applicationCredential;
    token.application_credential = { id: a.id, name: a.name, restricted: a.restricted, ...(a.accessRules.length ? { access_rules: a.accessRules } : {}) };
  }
  return { token };
}
