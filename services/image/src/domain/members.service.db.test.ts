// MembersService on SQLite, PostgreSQL and MariaDB: only shared images have members, a new member
// is pending, duplicates (also concurrent ones) are 409, the member quota 413, a member sees only
// itself, and its answer decides whether the image is in its default list.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AltoError, type ErrorKind } from '@alto/kernel';
import { testEngines } from '@alto/db/testing';
import { selectMember } from '../store/member.repo.js';
import { projectContext as ctx, startTestCore, type TestCore } from '../testing/core-deps.js';
import { ImagesService } from './images.service.js';
import { MembersService } from './members.service.js';

const T0 = Date.UTC(2026, 3, 1, 8, 0, 0);
const owner = ctx('p-own', ['member', 'reader']);
const guest = ctx('p2', ['member', 'reader']);
const admin = ctx('p-adm', ['admin', 'member', 'reader']);

async function rejects(p: Promise<unknown>, kind: ErrorKind, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof AltoError, String(e));
    assert.deepEqual([e.kind, e.code], [kind, code], e.message);
    return true;
  });
}

for (const engine of testEngines()) {
  describe(`members service on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let core: TestCore;
    let images: ImagesService;
    let members: MembersService;
    before(async () => {
      core = await startTestCore(engine.dialect, { startMs: T0, config: { imageMemberQuota: 2 } });
      images = new ImagesService(core.deps);
      members = new MembersService(core.deps, images);
    });
    after(() => core?.close());

    test('add: shared images only, pending, duplicates 409, quota 413, the image is touched', async () => {
      const img = await images.create(owner, { visibility: 'shared', properties: {} });
      core.clock.set(T0 + 5_000);
      const m = await members.add(owner, img, 'p2');
      assert.deepEqual([m.status, m.createdAt.getTime(), m.updatedAt.getTime()], ['pending', T0 + 5_000, T0 + 5_000]);
      assert.equal((await images.getImageOrThrow(owner, img.id)).updatedAt.getTime(), T0 + 5_000);
      await rejects(members.add(owner, img, 'p2'), 'conflict', 'image.member_duplicate');
      await members.add(owner, img, 'p3');
      await rejects(members.add(owner, img, 'p4'), 'payload_too_large', 'image.too_large');

      const priv = await images.create(owner, { visibility: 'private', properties: {} });
      await rejects(members.add(owner, priv, 'p2'), 'forbidden', 'image.not_shared');
      await rejects(members.list(owner, priv), 'forbidden', 'image.not_shared');
    });

    test('concurrent adds: of one member exactly one succeeds, the others are 409; different members all land', async () => {
      const img = await images.create(owner, { visibility: 'shared', properties: {} });
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => members.add(owner, img, 'p-race')));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) {
        if (r.status === 'rejected') assert.deepEqual([(r.reason as AltoError).kind, (r.reason as AltoError).code], ['conflict', 'image.member_duplicate']);
      }
      assert.equal((await members.list(owner, img)).length, 1);
      // different members at once all land (MariaDB: no deadlock between the FK check and the image touch)
      const two = await images.create(owner, { visibility: 'shared', properties: {} });
      await Promise.all(['p-a', 'p-b'].map((p) => members.add(owner, two, p)));
      assert.deepEqual((await members.list(owner, two)).map((m) => m.memberId).sort(), ['p-a', 'p-b']);
    });

    test('a member sees only itself; its answer puts the image in its default list', async () => {
      const img = await images.create(owner, { visibility: 'shared', properties: {}, tags: ['mem-list'] });
      core.clock.set(T0 + 10_000);
      await members.add(owner, img, 'p2');
      core.clock.set(T0 + 11_000);
      await members.add(owner, img, 'p3');
      const ids = async (c: typeof owner) => (await members.list(c, img)).map((m) => m.memberId);
      assert.deepEqual(await ids(owner), ['p2', 'p3']);
      assert.deepEqual(await ids(admin), ['p2', 'p3']);
      assert.deepEqual(await ids(guest), ['p2']);
      await rejects(members.get(guest, img, 'p3'), 'not_found', 'image.member_not_found');
      assert.equal((await members.get(owner, img, 'p3')).status, 'pending');

      const listed = async (memberStatus: 'accepted' | 'pending' | 'rejected' | 'all') =>
        (await images.list(guest, { memberStatus, filters: { tags: ['mem-list'] }, sort: [{ key: 'created_at', dir: 'desc' }], limit: 10 })).map((i) => i.id);
      assert.deepEqual(await listed('accepted'), []);
      assert.deepEqual(await listed('pending'), [img.id]);
      core.clock.set(T0 + 20_000);
      const accepted = await members.updateStatus(guest, img, 'p2', 'accepted');
      assert.deepEqual([accepted.status, accepted.createdAt.getTime(), accepted.updatedAt.getTime()], ['accepted', T0 + 10_000, T0 + 20_000]);
      assert.equal((await selectMember(core.database.db, img.id, 'p2'))!.status, 'accepted');
      assert.deepEqual(await listed('accepted'), [img.id]);
      assert.deepEqual(await listed('pending'), []);
      await members.updateStatus(guest, img, 'p2', 'rejected');
      assert.deepEqual(await listed('accepted'), []);
      assert.deepEqual(await listed('all'), [img.id]);
      // still a member: it can show the image
      assert.equal((await images.getImageOrThrow(guest, img.id)).id, img.id);

      await members.remove(owner, img, 'p2');
      await rejects(members.get(owner, img, 'p2'), 'not_found', 'image.member_not_found');
      await rejects(images.getImageOrThrow(guest, img.id), 'not_found', 'image.not_found');
      assert.deepEqual(await listed('all'), []);
    });
  });
}
