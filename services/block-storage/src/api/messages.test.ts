// /v3/messages through the HTTP frame (SQLite, manual clock, static tokens): the recorded
// upstream exchanges replayed over messages recorded as the scheduler records them, then pages,
// filters per microversion, expiry, other projects and admins.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Action, Detail, Resource } from '../domain/message-fields.js';
import { OTHER_PROJECT, OWNER_PROJECT, contextOf, fixture, scrubTimes, startAdminHarness, substitute, faultMessage, type AdminHarness } from '../testing/admin-harness.js';

type Json = Record<string, any>;

const DOOMED = '5d0c2a7e-6a0e-4c8e-9e1b-000000000001';
const TYPED = '5d0c2a7e-6a0e-4c8e-9e1b-000000000002';
const noValidHost = (resourceUuid: string, projectId = OWNER_PROJECT) => ({
  projectId,
  resourceType: Resource.VOLUME,
  resourceUuid,
  action: Action.SCHEDULE_ALLOCATE_VOLUME,
  errorName: 'NoValidBackend',
  requestId: 'req-0123',
});

describe('messages: the upstream recording', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness();
  });
  after(async () => h?.close());

  test('messages.json replays', async () => {
    // the recording's two scheduling failures, the later first in lists
    const typed = await h.messages.record(noValidHost(TYPED));
    h.clock.advance(1000);
    const doomed = await h.messages.record(noValidHost(DOOMED));
    const map = {
      '<project:owner>': OWNER_PROJECT,
      '<cinder>': 'http://cinder.test:8776',
      '<message:0>': doomed,
      '<message:1>': typed,
      '<volume:doomed>': DOOMED,
      '<volume:typed>': TYPED,
      '<request-id>': 'req-0123',
    };
    for (const ex of substitute(fixture('messages.json'), map)) {
      if (ex.note || !ex.request.path.includes('/messages')) continue;
      const version = ex.request.headers['OpenStack-API-Version']?.replace('volume ', '');
      const r = await h.call(ex.request.headers['X-Auth-Token']!, ex.request.method, ex.request.path, undefined, version);
      assert.equal(r.statusCode, ex.response.status, `${ex.name}: ${r.body}`);
      if (ex.response.body === null) assert.equal(r.body, '', ex.name);
      else assert.deepEqual(scrubTimes(r.json()), ex.response.body, ex.name);
    }
  });
});

describe('messages beyond the recording', () => {
  let h: AdminHarness;
  const ids: string[] = [];
  before(async () => {
    h = await startAdminHarness({ maxLimit: 3 });
    for (let i = 0; i < 4; i++) {
      ids.push(await h.messages.record({ ...noValidHost(`5d0c2a7e-6a0e-4c8e-9e1b-00000000010${i}`), ...(i === 3 ? { action: Action.EXTEND_VOLUME, errorName: null, detail: Detail.DRIVER_FAILED_EXTEND } : {}) }));
      h.clock.advance(1000);
    }
    await h.messages.record(noValidHost(DOOMED, OTHER_PROJECT));
  });
  after(async () => h?.close());

  const list = async (as: string, q = '', v = '3.5') => h.call(as, 'GET', `/v3/messages${q}`, undefined, v);
  const idsOf = async (as: string, q = '', v = '3.5') => ((await list(as, q, v)).json().messages as Json[]).map((m) => m.id as string);

  test('pages: newest first, osapi_max_limit caps a page and links the next; limit, marker, offset, sort from 3.5', async () => {
    const first = (await list('<member>')).json();
    assert.deepEqual(first.messages.map((m: Json) => m.id), [ids[3], ids[2], ids[1]]);
    assert.match(first.messages_links[0].href, new RegExp(`/v3/${OWNER_PROJECT}/messages\\?marker=${ids[1]}$`));
    assert.deepEqual(await idsOf('<member>', `?marker=${ids[1]}`), [ids[0]]);
    assert.deepEqual(await idsOf('<member>', '?sort=created_at:asc&limit=2&offset=1'), [ids[1], ids[2]]);
    // before 3.5 the query is ignored (but the page is still osapi_max_limit long)
    assert.deepEqual(await idsOf('<member>', '?limit=1&sort=created_at:asc', '3.3'), [ids[3], ids[2], ids[1]]);
    assert.equal(faultMessage(await list('<member>', '?offset=-1')), 'offset must be >= 0');
    assert.equal(faultMessage(await list('<member>', '?sort=colour')), 'Invalid input received: Invalid sort key');
    assert.equal(faultMessage(await list('<member>', '?marker=5d0c2a7e-6a0e-4c8e-9e1b-000000000999')), 'Message 5d0c2a7e-6a0e-4c8e-9e1b-000000000999 could not be found.');
  });

  test('filters: any column before 3.31 (unknown ones match nothing), the allowed five from 3.31, like filters for admins', async () => {
    assert.deepEqual(await idsOf('<member>', '?event_id=VOLUME_VOLUME_007_010'), [ids[3]]);
    assert.deepEqual(await idsOf('<member>', '?detail_id=010', '3.30'), [ids[3]]);
    assert.deepEqual(await idsOf('<member>', '?colour=red', '3.30'), []);
    const r = await list('<member>', '?detail_id=010&colour=red', '3.31');
    assert.equal(r.statusCode, 400);
    assert.equal(faultMessage(r), 'Invalid filters detail_id,colour are found in query options.');
    assert.equal(faultMessage(await list('<member>', '?event_id~=007', '3.34')), 'Invalid filters event_id~ are found in query options.');
    assert.deepEqual(await idsOf('<member>', '?all_tenants=1&resource_type=VOLUME', '3.31'), [ids[3], ids[2], ids[1]]);
    assert.deepEqual(await idsOf('<admin>', `?event_id~=007&project_id=${OWNER_PROJECT}`, '3.34'), [ids[3]]);
  });

  test('projects: members see their own messages, admins everyone\'s; a message of another project is not found', async () => {
    const theirs = (await h.messages.list(contextOf('<other>'), { checkFilters: true, likeFilters: true, sort: [{ key: 'created_at', dir: 'desc' }], limit: 10 }))[0]!;
    assert.equal(theirs.resource_uuid, DOOMED);
    assert.equal((await h.call('<member>', 'GET', `/v3/messages/${theirs.id}`, undefined, '3.3')).statusCode, 404);
    assert.equal((await h.call('<member>', 'DELETE', `/v3/messages/${theirs.id}`, undefined, '3.3')).statusCode, 404);
    assert.equal((await h.call('<admin>', 'GET', `/v3/messages/${theirs.id}`, undefined, '3.3')).json().message.user_message, 'schedule allocate volume:Could not find any available weighted backend.');
    assert.deepEqual(await idsOf('<admin>', `?resource_uuid=${DOOMED}`), [theirs.id]);
    assert.deepEqual(await idsOf('<member>', `?resource_uuid=${DOOMED}`), []);
    // a reader reads but does not delete
    assert.equal(faultMessage(await h.call('<reader>', 'DELETE', `/v3/messages/${ids[0]}`, undefined, '3.3')), "Policy doesn't allow message:delete to be performed.");
    const m = (await h.call('<reader>', 'GET', `/v3/messages/${ids[3]}`, undefined, '3.3')).json().message as Json;
    assert.equal(m.user_message, 'extend volume:Volume Driver failed to extend volume.');
  });

  test('expired messages are gone before the cleanup runs, and the cleanup removes them', async () => {
    h.clock.advance(2592000 * 1000 - 2500);
    assert.deepEqual(await idsOf('<member>', '?limit=10'), [ids[3], ids[2]]);
    assert.equal((await h.call('<member>', 'GET', `/v3/messages/${ids[0]}`, undefined, '3.3')).statusCode, 404);
    assert.equal(await h.messages.cleanupExpired(), 2);
  });
});
