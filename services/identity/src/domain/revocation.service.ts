// Revocation events (OS-REVOKE): written to the database, mirrored in memory so that token
// validation never queries for them, re-read periodically and on a peer's broadcast.
import { newHexId, ServiceUnavailableError } from '@alto/kernel';
import type { CoreDeps } from './deps.js';
import { insertRevocationEvent, pruneRevocationEvents, selectRevocationEvents, type RevocationEventRow } from '../store/revocation.repo.js';

/** What a token says about itself, for matching against events. */
export interface RevocableToken {
  userId: string;
  projectId?: string | undefined;
  domainId?: string | undefined;
  /** Domains the token touches: the user's and the scope's. */
  domainIds: string[];
  roleIds: string[];
  auditIds: string[];
  trustId?: string | undefined;
  /** Fernet timestamp: whole seconds. */
  issuedAtMs: number;
}

export type EventFields = Partial<Pick<RevocationEventRow, 'user_id' | 'project_id' | 'domain_id' | 'role_id' | 'trust_id' | 'audit_id' | 'audit_chain_id'>>;

/**
 * Keystone's revoke model: an event revokes a token when every field the event sets matches the
 * token and the token was issued at or before issued_before. Tokens carry whole seconds, so a
 * token made in the same second as the event is revoked too: this fails closed, like upstream.
 */
export function eventMatches(e: RevocationEventRow, t: RevocableToken): boolean {
  if (t.issuedAtMs > e.issued_before) return false;
  if (e.user_id !== null && e.user_id !== t.userId) return false;
  if (e.project_id !== null && e.project_id !== t.projectId) return false;
  if (e.domain_id !== null && !t.domainIds.includes(e.domain_id)) return false;
  if (e.role_id !== null && !t.roleIds.includes(e.role_id)) return false;
  if (e.trust_id !== null && e.trust_id !== t.trustId) return false;
  if (e.audit_id !== null && e.audit_id !== t.auditIds[0]) return false;
  if (e.audit_chain_id !== null && e.audit_chain_id !== t.auditIds[t.auditIds.length - 1]) return false;
  return true;
}

export class RevocationService {
  private readonly d: CoreDeps;
  private events: RevocationEventRow[] = [];
  /** Events by audit id: DELETE /v3/auth/tokens makes these, and they are by far the most. */
  private byAudit = new Map<string, RevocationEventRow>();
  private generic: RevocationEventRow[] = [];
  private readonly retentionMs: number;
  private loaded = false;

  /** retentionMs: how long an event can matter (token lifetime plus the allow_expired window). */
  constructor(deps: CoreDeps, retentionMs: number) {
    this.d = deps;
    this.retentionMs = retentionMs;
  }

  async load(): Promise<void> {
    this.index(await selectRevocationEvents(this.d.db, this.d.clock.nowMs() - this.retentionMs));
    this.loaded = true;
  }

  get ready(): boolean {
    return this.loaded;
  }

  private index(events: RevocationEventRow[]): void {
    this.events = events;
    this.byAudit = new Map();
    this.generic = [];
    for (const e of events) this.add(e);
  }

  private add(e: RevocationEventRow): void {
    const onlyAudit = e.audit_id !== null && e.user_id === null && e.project_id === null && e.domain_id === null && e.role_id === null && e.trust_id === null && e.audit_chain_id === null;
    if (onlyAudit) this.byAudit.set(e.audit_id!, e);
    else this.generic.push(e);
  }

  /** Throws until the events have been read once: an unknown revocation list must not pass tokens. */
  isRevoked(t: RevocableToken): boolean {
    if (!this.loaded) throw new ServiceUnavailableError('The revocation list is not loaded yet (is the identity database migrated?).', 'identity.revocations_not_loaded');
    const a = t.auditIds[0];
    const byAudit = a === undefined ? undefined : this.byAudit.get(a);
    if (byAudit && eventMatches(byAudit, t)) return true;
    for (const e of this.generic) if (eventMatches(e, t)) return true;
    return false;
  }

  /** Persists an event and applies it here at once; peers learn of it through the invalidator. */
  async revoke(fields: EventFields): Promise<RevocationEventRow> {
    const now = this.d.clock.nowMs();
    const e: RevocationEventRow = {
      id: newHexId(),
      domain_id: fields.domain_id ?? null,
      project_id: fields.project_id ?? null,
      user_id: fields.user_id ?? null,
      role_id: fields.role_id ?? null,
      trust_id: fields.trust_id ?? null,
      consumer_id: null,
      access_token_id: null,
      issued_before: now,
      expires_at: null,
      revoked_at: now,
      audit_id: fields.audit_id ?? null,
      audit_chain_id: fields.audit_chain_id ?? null,
    };
    await insertRevocationEvent(this.d.db, e);
    this.events.push(e);
    this.add(e);
    this.d.invalidator.invalidate('revocation event');
    return e;
  }

  /** Events since a time, for GET /v3/OS-REVOKE/events. */
  list(sinceMs = 0): RevocationEventRow[] {
    return this.events.filter((e) => e.revoked_at >= sinceMs);
  }

  /** Re-reads from the database (another replica may have added events) and drops old ones. */
  async refresh(): Promise<void> {
    const horizon = this.d.clock.nowMs() - this.retentionMs;
    await pruneRevocationEvents(this.d.db, horizon);
    this.index(await selectRevocationEvents(this.d.db, horizon));
    this.loaded = true;
  }
}
