// Who may call the quota, limits, os-services, zone, message and pool routes: every persona on
// both mounts (/v3/<own project>/... and /v3/...), as Cinder's default policies decide.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Action, Resource } from '../domain/message-fields.js';
import { ADMIN_PROJECT, OTHER_PROJECT, OWNER_PROJECT, startAdminHarness, type AdminHarness } from '../testing/admin-harness.js';

const PROJECT_OF: Record<string, string> = { '<admin>': ADMIN_PROJECT, '<member>': OWNER_PROJECT, '<reader>': OWNER_PROJECT, '<other>': OTHER_PROJECT };
const PERSONAS = ['<admin>', '<member>', '<reader>', '<other>'] as const;

interface Case {
  method: string;
  path: string;
  body?: unknown;
  version?: string;
  /** Status per persona: admin, member, reader, other. */
  expect: [number, number, number, number];
}

describe('personas on the admin-side routes', () => {
  let h: AdminHarness;
  let msg = '';
  before(async () => {
    h = await startAdminHarness();
    await h.service({ host: 'host1@file', capabilities: JSON.stringify({ volume_backend_name: 'file', vendor_name: 'Altostratus', storage_protocol: 'file' }) });
    msg = await h.messages.record({ projectId: OWNER_PROJECT, resourceType: Resource.VOLUME, resourceUuid: null, action: Action.ATTACH_VOLUME });
  });
  after(async () => h?.close());

  const cases = (): Case[] => [
    { method: 'GET', path: `/os-quota-sets/${OWNER_PROJECT}`, expect: [200, 200, 200, 403] },
    { method: 'GET', path: `/os-quota-sets/${OWNER_PROJECT}?usage=true`, expect: [200, 200, 200, 403] },
    { method: 'GET', path: `/os-quota-sets/${OWNER_PROJECT}/defaults`, expect: [200, 200, 200, 403] },
    { method: 'PUT', path: `/os-quota-sets/${OWNER_PROJECT}`, body: { quota_set: { volumes: 10 } }, expect: [200, 403, 403, 403] },
    { method: 'DELETE', path: `/os-quota-sets/${OWNER_PROJECT}`, expect: [200, 403, 403, 403] },
    { method: 'GET', path: '/os-quota-class-sets/default', expect: [200, 403, 403, 403] },
    { method: 'PUT', path: '/os-quota-class-sets/default', body: { quota_class_set: { volumes: 10 } }, expect: [200, 403, 403, 403] },
    { method: 'GET', path: '/limits', expect: [200, 200, 200, 200] },
    { method: 'GET', path: '/os-availability-zone', expect: [200, 200, 200, 200] },
    { method: 'GET', path: '/os-services', expect: [200, 403, 403, 403] },
    { method: 'PUT', path: '/os-services/disable', body: { host: 'host1@file', binary: 'cinder-volume' }, expect: [200, 403, 403, 403] },
    { method: 'PUT', path: '/os-services/enable', body: { host: 'host1@file', binary: 'cinder-volume' }, expect: [200, 403, 403, 403] },
    { method: 'GET', path: '/scheduler-stats/get_pools', expect: [200, 403, 403, 403] },
    { method: 'GET', path: '/capabilities/host1@file', expect: [200, 403, 403, 403] },
    { method: 'GET', path: '/messages', version: '3.3', expect: [200, 200, 200, 200] },
    { method: 'GET', path: `/messages/${msg}`, version: '3.3', expect: [200, 200, 200, 404] },
  ];

  for (const mount of ['project', 'bare'] as const) {
    test(`each persona's answer, /v3/${mount === 'project' ? '<own project>/' : ''}...`, async () => {
      for (const c of cases()) {
        for (const [i, persona] of PERSONAS.entries()) {
          const url = mount === 'project' ? `/v3/${PROJECT_OF[persona]}${c.path}` : `/v3${c.path}`;
          const r = await h.call(persona, c.method, url, c.body, c.version);
          assert.equal(r.statusCode, c.expect[i], `${persona} ${c.method} ${url}: ${r.body}`);
        }
      }
    });
  }

  test('deleting a message: not a reader, not another project; the owner\'s member and admins may', async () => {
    const other = await h.messages.record({ projectId: OWNER_PROJECT, resourceType: Resource.VOLUME, action: Action.ATTACH_VOLUME });
    const del = (as: string, id: string) => h.call(as, 'DELETE', `/v3/messages/${id}`, undefined, '3.3');
    assert.equal((await del('<reader>', msg)).statusCode, 403);
    assert.equal((await del('<other>', msg)).statusCode, 404);
    assert.equal((await del('<member>', msg)).statusCode, 204);
    assert.equal((await del('<member>', msg)).statusCode, 404);
    assert.equal((await del('<admin>', other)).statusCode, 204);
  });
});
