// The user store's SQL on SQLite, PostgreSQL and MariaDB: the current password's expiry beside
// each user, a history that stays ordered within one millisecond and is trimmed, failure counts
// that concurrent attempts all add to, and last_active_at written as a day.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { manualClock, newHexId } from '@alto/kernel';
import { testEngines } from '@alto/db/testing';
import { startIdentity, type Harness } from '../testing/harness.js';
import { markActive, pushPassword, recordAuthFailure, selectPasswordHistory, selectUserRow, selectUserRows } from './user.repo.js';

const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);

for (const engine of testEngines()) {
  describe(`user store on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let h: Harness;
    let userId: string;
    before(async () => {
      h = await startIdentity({ dialect: engine.dialect, clock: manualClock(T0) });
      userId = (await h.identity.services.users.createUser({ name: 'store-user', domainId: 'default' }, undefined)).id;
    });
    after(() => h.close());

    test('passwords pushed in the same millisecond stay in order; older ones expire; history is trimmed', async () => {
      const db = h.database.db;
      const push = (hash: string, expiresAt: number | null) => pushPassword(db, { id: newHexId(), user_id: userId, password_hash: hash, created_at: T0, expires_at: expiresAt, self_service: 0 }, 2);
      await push('h1', null);
      await push('h2', T0 + 5000);
      await push('h3', T0 + 9000);
      const history = await selectPasswordHistory(db, userId, 10);
      assert.deepEqual(history.map((p) => p.password_hash), ['h3', 'h2', 'h1']);
      assert.deepEqual(history.map((p) => p.expires_at), [T0 + 9000, T0, T0]);
      await push('h4', null);
      assert.deepEqual((await selectPasswordHistory(db, userId, 10)).map((p) => p.password_hash), ['h4', 'h3', 'h2']);
      assert.equal((await selectUserRow(db, userId))!.password_expires_at, null);
      await push('h5', T0 + 7000);
      assert.equal((await selectUserRow(db, userId))!.password_expires_at, T0 + 7000);
      const listed = (await selectUserRows(db, { name: 'store-user' }))[0]!;
      assert.equal(listed.password_expires_at, T0 + 7000);
    });

    test('concurrent failures all count; last_active_at moves forward by days only', async () => {
      const db = h.database.db;
      await Promise.all(Array.from({ length: 12 }, (_, i) => recordAuthFailure(db, userId, T0 + i)));
      const row = (await selectUserRow(db, userId))!;
      assert.equal(row.failed_auth_count, 12);
      const day = Date.UTC(2026, 10, 21);
      await markActive(db, userId, day);
      await markActive(db, userId, day - 86_400_000);
      assert.equal((await selectUserRow(db, userId))!.last_active_at, day);
    });
  });
}
