// Who may call the volume actions and the attachments API: every persona on both mounts
// (/v3/<own project>/... and /v3/...), on a volume of the member's project, as Cinder's
// default policies decide (another project's volume is not found, a reader may only look).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ADMIN_PROJECT, OTHER_PROJECT, OWNER_PROJECT, startAttachHarness, type AttachHarness } from '../testing/attach-harness.js';

const noQemu = spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0 ? 'qemu-img is not installed (Debian qemu-utils)' : false;
const PROJECT_OF: Record<string, string> = { '<admin>': ADMIN_PROJECT, '<member>': OWNER_PROJECT, '<reader>': OWNER_PROJECT, '<other>': OTHER_PROJECT };
const PERSONAS = ['<admin>', '<member>', '<reader>', '<other>'] as const;
const CONNECTOR = { host: 'compute-1', initiator: 'iqn.x' };

interface Case {
  what: string;
  /** Builds the request on a fresh volume of the member's project. */
  request: (h: AttachHarness, volumeId: string) => Promise<{ method: string; path: string; body?: unknown; version?: string }>;
  /** Status per persona: admin, member, reader, other. */
  expect: [number, number, number, number];
  /** The backend must hold the volume (the worker connects it). */
  file?: boolean;
}

const action = (body: unknown, version?: string) => async (_h: AttachHarness, id: string) => ({ method: 'POST', path: `/volumes/${id}/action`, body, ...(version ? { version } : {}) });
/** A reserved attachment of the volume, made by its member. */
async function attachment(h: AttachHarness, volumeId: string): Promise<string> {
  const r = await h.call('<member>', 'POST', '/v3/attachments', { attachment: { volume_uuid: volumeId, instance_uuid: '00000000-0000-4000-8000-00000000e001' } }, '3.27');
  return (JSON.parse(r.body) as { attachment: { id: string } }).attachment.id;
}

const CASES: Case[] = [
  { what: 'os-show_image_metadata', request: action({ 'os-show_image_metadata': null }), expect: [200, 200, 200, 404] },
  { what: 'os-set_image_metadata', request: action({ 'os-set_image_metadata': { metadata: { k: 'v' } } }), expect: [200, 200, 403, 404] },
  { what: 'os-set_bootable', request: action({ 'os-set_bootable': { bootable: true } }), expect: [200, 200, 403, 404] },
  { what: 'os-update_readonly_flag', request: action({ 'os-update_readonly_flag': { readonly: true } }), expect: [202, 202, 403, 404] },
  { what: 'os-extend', request: action({ 'os-extend': { new_size: 2 } }), expect: [202, 202, 403, 404] },
  { what: 'os-reserve', request: action({ 'os-reserve': null }), expect: [202, 202, 403, 404] },
  { what: 'os-initialize_connection', request: action({ 'os-initialize_connection': { connector: CONNECTOR } }), expect: [200, 200, 403, 404], file: true },
  { what: 'os-attach', request: action({ 'os-attach': { instance_uuid: '00000000-0000-4000-8000-00000000e002', mountpoint: '/dev/vdb' } }), expect: [202, 202, 403, 404] },
  { what: 'os-detach', request: action({ 'os-detach': null }), expect: [202, 202, 403, 404] },
  { what: 'os-retype', request: action({ 'os-retype': { new_type: 'personas-type' } }), expect: [202, 202, 403, 404] },
  { what: 'os-reset_status', request: action({ 'os-reset_status': { status: 'error' } }), expect: [202, 403, 403, 404] },
  { what: 'os-force_delete', request: action({ 'os-force_delete': null }), expect: [202, 403, 403, 404] },
  { what: 'os-force_detach', request: action({ 'os-force_detach': {} }), expect: [202, 403, 403, 404] },
  { what: 'POST /attachments', request: async (_h, id) => ({ method: 'POST', path: '/attachments', body: { attachment: { volume_uuid: id } }, version: '3.27' }), expect: [200, 200, 403, 404] },
  { what: 'GET /attachments/{id}', request: async (h, id) => ({ method: 'GET', path: `/attachments/${await attachment(h, id)}`, version: '3.27' }), expect: [200, 200, 200, 404] },
  {
    what: 'PUT /attachments/{id}',
    request: async (h, id) => ({ method: 'PUT', path: `/attachments/${await attachment(h, id)}`, body: { attachment: { connector: CONNECTOR } }, version: '3.27' }),
    expect: [200, 200, 403, 404],
    file: true,
  },
  { what: 'os-complete', request: async (h, id) => ({ method: 'POST', path: `/attachments/${await attachment(h, id)}/action`, body: { 'os-complete': null }, version: '3.44' }), expect: [204, 204, 403, 404] },
  { what: 'DELETE /attachments/{id}', request: async (h, id) => ({ method: 'DELETE', path: `/attachments/${await attachment(h, id)}`, version: '3.27' }), expect: [200, 200, 403, 404] },
];

describe('personas on the volume action and attachment routes', { skip: noQemu }, () => {
  let h: AttachHarness;
  before(async () => {
    h = await startAttachHarness();
    const now = Date.now();
    await h.database.db.insertInto('volume_type').values({ id: '0e0e0e0e-0000-4000-8000-000000000001', name: 'personas-type', description: null, is_public: 1, qos_specs_id: null, created_at: now, updated_at: null, deleted: 0, deleted_at: null }).execute();
  });
  after(async () => h?.close());

  for (const mount of ['project', 'bare'] as const) {
    test(`each persona's answer, /v3/${mount === 'project' ? '<own project>/' : ''}...`, async () => {
      for (const c of CASES) {
        for (const [i, persona] of PERSONAS.entries()) {
          const id = await h.volume({}, c.file ?? false);
          const r = await c.request(h, id);
          const url = mount === 'project' ? `/v3/${PROJECT_OF[persona]!}${r.path}` : `/v3${r.path}`;
          const res = await h.call(persona, r.method, url, r.body, r.version);
          assert.equal(res.statusCode, c.expect[i], `${c.what}: ${persona} ${r.method} ${url}: ${res.body}`);
        }
      }
    });
  }
});
