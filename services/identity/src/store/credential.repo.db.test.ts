// The credential and OAuth1 stores' SQL on SQLite, PostgreSQL and MariaDB: counts per user,
// compare-and-swap re-encryption, deletes by user and project, and the request-token exchange
// that only one of two concurrent consumers can win.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { newHexId } from '@alto/kernel';
import { testEngines } from '@alto/db/testing';
import { startIdentity, type Harness } from '../testing/harness.js';
import {
  countCredentialsOfUser,
  deleteCredentialsOfProject,
  deleteCredentialsOfUser,
  insertCredential,
  replaceCredentialBlob,
  selectCredentialRow,
  selectCredentialRows,
  type CredentialRow,
} from './credential.repo.js';
import { deleteConsumerRow, exchangeRequestToken, insertConsumer, insertRequestToken, selectAccessTokenRowsOfUser, selectRequestTokenRow } from './oauth1.repo.js';

for (const engine of testEngines()) {
  describe(`credential and OAuth1 stores on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let h: Harness;
    before(async () => {
      h = await startIdentity({ dialect: engine.dialect });
    });
    after(() => h.close());

    const row = (over: Partial<CredentialRow>): CredentialRow => ({
      id: newHexId(),
      user_id: 'u1',
      project_id: null,
      type: 'cert',
      encrypted_blob: 'blob-a',
      key_hash: 'k1',
      extra: '{}',
      created_at: Date.now(),
      ...over,
    });

    test('count, filters, compare-and-swap re-encryption, deletes by user and by project', async () => {
      const db = h.database.db;
      const a = row({ user_id: 'u1' });
      const b = row({ user_id: 'u1', type: 'ec2', project_id: 'p1' });
      const c = row({ user_id: 'u2', type: 'ec2', project_id: 'p1' });
      for (const r of [a, b, c]) await insertCredential(db, r);
      assert.equal(await countCredentialsOfUser(db, 'u1'), 2);
      assert.deepEqual((await selectCredentialRows(db, { userId: 'u1', type: 'ec2' })).map((r) => r.id), [b.id]);

      assert.ok(await replaceCredentialBlob(db, a.id, 'blob-a', { encrypted_blob: 'blob-b', key_hash: 'k2' }));
      // written meanwhile by someone else: left alone
      assert.ok(!(await replaceCredentialBlob(db, a.id, 'blob-a', { encrypted_blob: 'blob-c', key_hash: 'k3' })));
      assert.deepEqual([(await selectCredentialRow(db, a.id))!.encrypted_blob, (await selectCredentialRow(db, a.id))!.key_hash], ['blob-b', 'k2']);

      await deleteCredentialsOfProject(db, 'p1');
      assert.deepEqual((await selectCredentialRows(db)).map((r) => r.id), [a.id]);
      await deleteCredentialsOfUser(db, 'u1');
      assert.equal(await countCredentialsOfUser(db, 'u1'), 0);
    });

    test('a request token is exchanged once; deleting the consumer takes its tokens', async () => {
      const db = h.database.db;
      const consumer = newHexId();
      await insertConsumer(db, { id: consumer, description: null, secret: newHexId(), extra: '{}' });
      const rt = newHexId();
      await insertRequestToken(db, { id: rt, request_secret: 's', verifier: 'v', authorizing_user_id: 'u9', requested_project_id: 'p9', role_ids: '["r"]', consumer_id: consumer, expires_at: null });
      const access = (id: string) => ({ id, access_secret: 's', authorizing_user_id: 'u9', project_id: 'p9', role_ids: '["r"]', consumer_id: consumer, expires_at: Date.now() + 1000 });
      const [first, second] = await Promise.all([exchangeRequestToken(db, rt, access(newHexId())), exchangeRequestToken(db, rt, access(newHexId()))]);
      assert.deepEqual([first, second].sort(), [false, true]);
      assert.equal(await selectRequestTokenRow(db, rt), undefined);
      assert.equal((await selectAccessTokenRowsOfUser(db, 'u9')).length, 1);
      assert.equal(await deleteConsumerRow(db, consumer), 1);
      assert.equal((await selectAccessTokenRowsOfUser(db, 'u9')).length, 0);
    });
  });
}
