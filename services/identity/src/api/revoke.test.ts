// OS-REVOKE: GET /v3/OS-REVOKE/events rendered as upstream renders RevokeEvent.to_dict, ?since
// parsed as python-iso8601 does, and guarded by identity:list_revoke_events.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startIdentity, addPersonas, ADMIN_PASSWORD, type Harness } from '../testing/harness.js';
import { parseIsoTime, revokeEventView } from './revoke.js';
import type { RevocationEventRow } from '../store/revocation.repo.js';

describe('parseIsoTime', () => {
  test('accepts what python-iso8601 accepts, UTC unless an offset is given', () => {
    assert.equal(parseIsoTime('2026-11-21T08:05:50Z'), Date.UTC(2026, 10, 21, 8, 5, 50));
    assert.equal(parseIsoTime('2026-11-21T08:05:50.123456Z'), Date.UTC(2026, 10, 21, 8, 5, 50, 123));
    assert.equal(parseIsoTime('2026-11-21T08:05:50'), Date.UTC(2026, 10, 21, 8, 5, 50));
    assert.equal(parseIsoTime('2026-11-21 08:05'), Date.UTC(2026, 10, 21, 8, 5));
    assert.equal(parseIsoTime('2026-11-21T10:05:50+02:00'), Date.UTC(2026, 10, 21, 8, 5, 50));
    assert.equal(parseIsoTime('2026-11-21'), Date.UTC(2026, 10, 21));
    assert.equal(parseIsoTime('20261121'), Date.UTC(2026, 10, 21));
    assert.equal(parseIsoTime('2026-11'), Date.UTC(2026, 10, 1));
    assert.equal(parseIsoTime('2026'), Date.UTC(2026, 0, 1));
  });
  test('refuses the rest', () => {
    for (const s of ['garbage', '', '2026-13-01', '2026-02-30', '202611', '2026-11-21T25:00', '2026-11-21Tx']) assert.equal(parseIsoTime(s), undefined, s);
  });
});

describe('revokeEventView', () => {
  const base: RevocationEventRow = {
    id: 'x',
    domain_id: null,
    project_id: null,
    user_id: null,
    role_id: null,
    trust_id: null,
    consumer_id: null,
    access_token_id: null,
    issued_before: Date.UTC(2026, 10, 21, 8, 5, 50, 999),
    expires_at: null,
    revoked_at: Date.UTC(2026, 10, 21, 8, 5, 51, 1),
    audit_id: null,
    audit_chain_id: null,
  };
  test('only the fields set, whole seconds with a zero fraction', () => {
    assert.deepEqual(revokeEventView({ ...base, audit_id: 'a' }), { audit_id: 'a', issued_before: '2026-11-21T08:05:50.000000Z', revoked_at: '2026-11-21T08:05:51.000000Z' });
  });
  test('trusts and OAuth1 fields carry their extension prefix; a domain with an expiry is a domain scope', () => {
    const v = revokeEventView({ ...base, trust_id: 't', consumer_id: 'c', access_token_id: 'a', domain_id: 'd', expires_at: Date.UTC(2026, 10, 22, 0, 0, 0, 500) });
    assert.deepEqual(v, {
      domain_scope_id: 'd',
      'OS-TRUST:trust_id': 't',
      'OS-OAUTH1:consumer_id': 'c',
      'OS-OAUTH1:access_token_id': 'a',
      expires_at: '2026-11-22T00:00:00Z',
      issued_before: '2026-11-21T08:05:50.000000Z',
      revoked_at: '2026-11-21T08:05:51.000000Z',
    });
    assert.equal(revokeEventView({ ...base, domain_id: 'd' }).domain_id, 'd');
  });
});

describe('GET /v3/OS-REVOKE/events', () => {
  let h: Harness;
  before(async () => {
    h = await startIdentity();
    await addPersonas(h);
  });
  after(() => h.close());

  test('lists the events of revoked tokens and deleted projects; since filters; bad dates are 400', async () => {
    const admin = await h.adminToken();
    const victim = await h.token('demo-member', 'demo-member-pw', { project: 'demo' });
    const audit = (await h.req('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': victim } })).json().token.audit_ids[0] as string;
    assert.equal((await h.req('DELETE', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': victim } })).statusCode, 204);

    const r = await h.req('GET', '/v3/OS-REVOKE/events', { token: admin });
    assert.equal(r.statusCode, 200);
    const body = r.json<{ events: Record<string, string>[]; links: Record<string, string | null> }>();
    const ev = body.events.find((e) => e.audit_id === audit);
    assert.ok(ev, JSON.stringify(body.events));
    assert.deepEqual(Object.keys(ev).sort(), ['audit_id', 'issued_before', 'revoked_at']);
    assert.match(ev.revoked_at!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z$/);
    assert.equal(body.links.next, null);
    assert.equal(body.links.previous, null);
    assert.match(body.links.self!, /^https?:\/\/[^/]+\/v3\/OS-REVOKE\/events$/);

    const since = new Date(Date.parse(ev.revoked_at!) + 1000).toISOString();
    const later = await h.req('GET', `/v3/OS-REVOKE/events?since=${since}`, { token: admin });
    assert.deepEqual(later.json().events, []);
    // strictly after: the event's own second is not "since" it
    const same = await h.req('GET', `/v3/OS-REVOKE/events?since=${ev.revoked_at!}`, { token: admin });
    assert.equal(same.json<{ events: { audit_id?: string }[] }>().events.some((e) => e.audit_id === audit), false);
    const before = await h.req('GET', `/v3/OS-REVOKE/events?since=2020-01-01`, { token: admin });
    assert.ok(before.json<{ events: { audit_id?: string }[] }>().events.some((e) => e.audit_id === audit));

    const bad = await h.req('GET', '/v3/OS-REVOKE/events?since=garbage', { token: admin });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.message, 'invalidate date format garbage');
  });

  test('a project member may not list them; a system admin may', async () => {
    const member = await h.token('demo-reader', 'demo-reader-pw', { project: 'demo' });
    assert.equal((await h.req('GET', '/v3/OS-REVOKE/events', { token: member })).statusCode, 403);
    const system = await h.token('admin', ADMIN_PASSWORD, 'system');
    assert.equal((await h.req('GET', '/v3/OS-REVOKE/events', { token: system })).statusCode, 200);
  });
});
