// The token document Keystone returns from POST/GET /v3/auth/tokens.
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
    token.is_domain = false;
  }
  if (t.domain) token.domain = { id: t.domain.id, name: t.domain.name };
  if (t.scope.type === 'system') token.system = { all: true };
  if (t.scope.type !== 'unscoped') {
    token.roles = t.roles.map((r) => ({ id: r.id, name: r.name }));
    if (catalog) token.catalog = catalog;
  }
  return { token };
}
