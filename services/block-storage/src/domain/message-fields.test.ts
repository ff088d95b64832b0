// Cinder's message vocabulary: texts by id, unknown ids, errors mapped to details, legacy events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Action, Detail, translateAction, translateDetail, translateDetailId, userMessageOf } from './message-fields.js';

test('ids translate to their texts; unknown ones to Cinder\'s fallbacks', () => {
  assert.equal(translateAction('009'), 'create snapshot');
  assert.equal(translateAction('999'), 'unknown action');
  assert.equal(translateDetail('029'), 'The image disk format must be the same as the volume format for the volume type you are requesting.');
  assert.equal(translateDetail(null), 'An unknown error occurred.');
});

test('an error\'s name picks its detail before the given one; no match and no detail is unknown', () => {
  assert.equal(translateDetailId('SnapshotLimitExceeded', Detail.SNAPSHOT_CREATE_ERROR), Detail.QUOTA_EXCEED.id);
  assert.equal(translateDetailId('OSError', Detail.SNAPSHOT_CREATE_ERROR), '013');
  assert.equal(translateDetailId(undefined, { id: '777', text: 'made up' }), '001');
});

test('user_message: "<action>:<detail>", or the text of a legacy event id', () => {
  assert.equal(userMessageOf({ action_id: Action.BACKUP_RESTORE.id, detail_id: '026', event_id: 'VOLUME_VOLUME_BACKUP_015_026' }), 'restore backup:Backup driver failed to restore backup.');
  assert.equal(userMessageOf({ action_id: null, detail_id: null, event_id: 'VOLUME_000002' }), 'No storage could be allocated for this volume request. You may be able to try another size or volume type.');
});
