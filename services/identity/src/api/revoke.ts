// OS-REVOKE: GET /v3/OS-REVOKE/events, the revocation events as Keystone renders them.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import type { RevocationEventRow } from '../store/revocation.repo.js';
import { InvalidInput } from '../domain/catalog.errors.js';
import { baseUrl, queryStr, tokenCredentials, type Frame } from './common.js';

/**
 * The date forms python-iso8601 accepts (oslo's parse_isotime): a year, year-month, a date, or a
 * date and time with optional minutes, seconds, fraction and offset; no offset means UTC.
 */
const ISO8601 =
  /^(\d{4})(?:(?:-(\d{1,2})|(\d{2})(?!$))(?:(?:-(\d{1,2})|(\d{2}))(?:[ T](\d{2})(?::?(\d{2}))?(?::?(\d{1,2})(?:[.,](\d+))?)?(Z|([-+])(\d{2}):?(\d{2})?)?)?)?)?$/;

/** Milliseconds since the epoch, or undefined when Keystone would refuse the value. */
export function parseIsoTime(s: string): number | undefined {
  const m = ISO8601.exec(s);
  if (!m) return undefined;
  const num = (v: string | undefined, d = 0) => (v === undefined ? d : Number(v));
  const [year, month, day] = [num(m[1]), num(m[2] ?? m[3], 1), num(m[4] ?? m[5], 1)];
  const [hour, minute, second] = [num(m[6]), num(m[7]), num(m[8])];
  const ms = m[9] ? Number(`0.${m[9]}`) * 1000 : 0;
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate() || hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (m[11]) offset = (m[11] === '-' ? -1 : 1) * (num(m[12]) * 60 + num(m[13])) * 60_000;
  return Date.UTC(year, month - 1, day, hour, minute, second) + Math.floor(ms) - offset;
}

const seconds = (ms: number) => Math.floor(ms / 1000) * 1000;
/** keystone.common.utils.isotime: whole seconds, with a zero fraction when subsecond. */
const isotime = (ms: number, subsecond: boolean) => new Date(seconds(ms)).toISOString().replace(/\.\d{3}Z$/, subsecond ? '.000000Z' : 'Z');

/** keystone/models/revoke_model.py RevokeEvent.to_dict: only the fields an event sets. */
export function revokeEventView(e: RevocationEventRow): Record<string, unknown> {
  // an event with a domain and an expiry revokes one domain-scoped token
  const domainScoped = e.domain_id !== null && e.expires_at !== null;
  const out: Record<string, unknown> = {};
  const put = (k: string, v: string | null) => {
    if (v !== null) out[k] = v;
  };
  put('user_id', e.user_id);
  put('role_id', e.role_id);
  put('domain_id', domainScoped ? null : e.domain_id);
  put('domain_scope_id', domainScoped ? e.domain_id : null);
  put('project_id', e.project_id);
  put('audit_id', e.audit_id);
  put('audit_chain_id', e.audit_chain_id);
  put('OS-TRUST:trust_id', e.trust_id);
  put('OS-OAUTH1:consumer_id', e.consumer_id);
  put('OS-OAUTH1:access_token_id', e.access_token_id);
  if (e.expires_at !== null) out.expires_at = isotime(e.expires_at, false);
  out.issued_before = isotime(e.issued_before, true);
  out.revoked_at = isotime(e.revoked_at, true);
  return out;
}

export function revokeRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v3/OS-REVOKE/events',
      query: Type.Object({ since: Type.Optional(Type.String()) }, { additionalProperties: true }),
      policy: 'identity:list_revoke_events',
      credentials: tokenCredentials,
      errors: [400],
      handler: async ({ query, req }) => {
        const since = queryStr((query as Record<string, unknown>).since);
        let sinceMs: number | undefined;
        if (since) {
          sinceMs = parseIsoTime(since);
          if (sinceMs === undefined) throw InvalidInput(`invalidate date format ${since}`, 'revoke_since');
        }
        // Keystone stores whole seconds and returns events revoked strictly after `since`
        const events = s.revocations
          .list()
          .filter((e) => sinceMs === undefined || seconds(e.revoked_at) > sinceMs)
          .sort((a, b) => a.revoked_at - b.revoked_at);
        // self without the query string, as upstream builds it by hand
        return { events: events.map(revokeEventView), links: { next: null, self: `${baseUrl(req, frame)}/v3/OS-REVOKE/events`, previous: null } };
      },
    }),
  ];
}
