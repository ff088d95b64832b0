// ImagesService on SQLite, PostgreSQL and MariaDB with Glance's default policies in a real
// Enforcer: create rules and quotas, the JSON-patch rules (read-only and reserved attributes,
// draft-4 add, missing properties, core removal, owner, formats after upload, quotas), listing
// markers, delete, deactivate/reactivate and tags.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AltoError, type ErrorKind, type RequestContext } from '@alto/kernel';
import { testEngines } from '@alto/db/testing';
import { CONTAINER_FORMATS, DISK_FORMATS } from '../config.js';
import { selectImage, updateImageRow } from '../store/image.repo.js';
import { insertMember } from '../store/member.repo.js';
import { buildSchemas, schemaValidator, type ImageFrame } from '../api/common.js';
import { parsePatch } from '../api/images.js';
import { projectContext as ctx, startTestCore, type TestCore } from '../testing/core-deps.js';
import type { ProjectLimits } from './deps.js';
import { ImagesService, type NewImage } from './images.service.js';
import type { Image, ImageStatus } from './models.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0, 0);
const PROPERTY_QUOTA = 4;
const TAG_QUOTA = 3;

const member = ctx('p1', ['member', 'reader']);
const reader = ctx('p1', ['reader']);
const other = ctx('p2', ['member', 'reader']);
const admin = ctx('p-adm', ['admin', 'member', 'reader']);

/** Rejects with a domain error of this kind (hence HTTP status) and code. */
async function rejects(p: Promise<unknown> | (() => unknown), kind: ErrorKind, code: string, what?: string): Promise<void> {
  await assert.rejects(
    async () => (typeof p === 'function' ? p() : p),
    (e: unknown) => {
      assert.ok(e instanceof AltoError, `${what ?? code}: ${String(e)}`);
      assert.deepEqual([e.kind, e.code], [kind, code], `${what ?? code}: ${e.message}`);
      return true;
    },
  );
}

for (const engine of testEngines()) {
  describe(`images service on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let core: TestCore;
    let svc: ImagesService;
    const frame = { validate: schemaValidator(buildSchemas(DISK_FORMATS, CONTAINER_FORMATS)) } as Pick<ImageFrame, 'validate'> as ImageFrame;
    before(async () => {
      core = await startTestCore(engine.dialect, { startMs: T0, config: { imagePropertyQuota: PROPERTY_QUOTA, imageTagQuota: TAG_QUOTA } });
      svc = new ImagesService(core.deps);
    });
    after(() => core?.close());

    const create = (c: RequestContext, over: Partial<NewImage> = {}) => svc.create(c, { properties: {}, ...over });
    /** The PATCH route's steps: parse (read-only and reserved keys, schema), modify_image on the image, the service. */
    const patch = async (c: RequestContext, id: string, ops: unknown[], draft: 4 | 10 = 10) => {
      const changes = parsePatch(frame, ops, draft);
      core.deps.authz.enforce('modify_image', c, await svc.getImageOrThrow(c, id));
      return svc.update(c, id, changes);
    };
    const setStatus = async (id: string, status: ImageStatus) => assert.equal(await updateImageRow(core.database.db, id, { status }), 1);

    test('create: owner and visibility rules, whole-second times, quotas, ids never reused', async () => {
      core.clock.set(T0 + 1_234);
      const img = await create(member, { name: 'mine', tags: ['t', 't'], properties: { k: 'v' } });
      assert.deepEqual([img.owner, img.visibility, img.status, img.tags, img.createdAt.getTime()], ['p1', 'shared', 'queued', ['t'], T0 + 1_000]);
      const stored = (await selectImage(core.database.db, img.id))!;
      assert.deepEqual({ ...stored }, { ...img });

      await rejects(create(member, { owner: 'p2' }), 'forbidden', 'image.foreign_owner');
      assert.equal((await create(admin, { owner: 'p2' })).owner, 'p2');
      await rejects(create(member, { visibility: 'public' }), 'forbidden', 'image.policy');
      assert.equal((await create(member, { visibility: 'community' })).visibility, 'community');
      assert.equal((await create(admin, { visibility: 'public', owner: 'p1' })).visibility, 'public');

      const props = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, 'v']));
      await create(member, { properties: props(PROPERTY_QUOTA) });
      await rejects(create(member, { properties: props(PROPERTY_QUOTA + 1) }), 'payload_too_large', 'image.too_large');
      await create(member, { tags: ['a', 'b', 'c', 'a', 'b'] });
      await rejects(create(member, { tags: ['a', 'b', 'c', 'd'] }), 'payload_too_large', 'image.too_large');
      await rejects(create(member, { properties: { ['x'.repeat(256)]: 'v' } }), 'bad_request', 'image.bad_request');
      await rejects(create(member, { minRam: -1 }), 'bad_request', 'image.bad_request');

      // an id once used, even deleted, is taken for good
      const id = randomUUID();
      await create(member, { id });
      await rejects(create(member, { id }), 'conflict', 'image.duplicate');
      await svc.delete(member, id);
      await rejects(create(other, { id }), 'conflict', 'image.duplicate');

      // image_count_total counts the owner's live images only
      const limited = new ImagesService({ ...core.deps, limits: { limitsOf: async (p): Promise<ProjectLimits> => (p === 'p-lim' ? { imageCountTotal: 2 } : {}) } });
      const lim = ctx('p-lim', ['member', 'reader']);
      const first = await limited.create(lim, { properties: {} });
      await limited.create(lim, { properties: {} });
      await rejects(limited.create(lim, { properties: {} }), 'quota_exceeded', 'image.over_limit');
      await limited.delete(lim, first.id);
      await limited.create(lim, { properties: {} });
      await limited.create(member, { properties: {} });
    });

    test('patch: read-only and reserved attributes are refused before anything changes', async () => {
      const img = await create(member, { name: 'ro', properties: { k: 'v' } });
      for (const key of ['status', 'size', 'virtual_size', 'checksum', 'id', 'created_at', 'updated_at', 'os_hash_algo', 'os_hash_value', 'direct_url', 'self', 'file', 'schema']) {
        await rejects(() => patch(member, img.id, [{ op: 'replace', path: `/${key}`, value: 'x' }]), 'forbidden', 'image.read_only', `replace ${key}`);
        await rejects(() => patch(member, img.id, [{ op: 'add', path: `/${key}`, value: 'x' }]), 'forbidden', 'image.read_only', `add ${key}`);
      }
      await rejects(() => patch(member, img.id, [{ op: 'remove', path: '/checksum' }]), 'forbidden', 'image.read_only');
      for (const key of ['os_glance_import_task', 'os_glance_x', 'deleted', 'deleted_at', 'location']) {
        await rejects(() => patch(member, img.id, [{ op: 'add', path: `/${key}`, value: 'x' }]), 'forbidden', 'image.reserved', `add ${key}`);
      }
      // a refused op later in the patch refuses the whole patch
      await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/name', value: 'never' }, { op: 'replace', path: '/status', value: 'active' }]), 'forbidden', 'image.read_only');
      const now = (await selectImage(core.database.db, img.id))!;
      assert.deepEqual([now.name, now.status, now.properties], ['ro', 'queued', { k: 'v' }]);
      // who may patch at all is modify_image: a reader of the project 403, another project 404
      await rejects(() => patch(reader, img.id, [{ op: 'replace', path: '/name', value: 'x' }]), 'forbidden', 'image.policy');
      await rejects(() => patch(other, img.id, [{ op: 'replace', path: '/name', value: 'x' }]), 'not_found', 'image.not_found');
    });

    test('patch: draft-4 add of a present property, replace or remove of a missing one, removal of core attributes', async () => {
      const img = await create(member, { name: 'ops', properties: { color: 'blue' }, tags: ['x'] });
      await rejects(() => patch(member, img.id, [{ add: '/color', value: 'red' }], 4), 'conflict', 'image.property_present');
      await rejects(() => patch(member, img.id, [{ add: '/name', value: 'other' }], 4), 'conflict', 'image.property_present');
      await rejects(() => patch(member, img.id, [{ add: '/min_ram', value: 5 }], 4), 'conflict', 'image.property_present');
      let got = await patch(member, img.id, [{ add: '/flavor', value: 'vanilla' }, { replace: '/color', value: 'green' }], 4);
      assert.deepEqual(got.properties, { color: 'green', flavor: 'vanilla' });
      // draft 10: add of a present property or core attribute replaces it
      got = await patch(member, img.id, [{ op: 'add', path: '/color', value: 'red' }, { op: 'add', path: '/name', value: 'added' }]);
      assert.deepEqual([got.name, got.properties.color], ['added', 'red']);

      await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/nothere', value: 'x' }]), 'conflict', 'image.no_property');
      await rejects(() => patch(member, img.id, [{ op: 'remove', path: '/nothere' }]), 'conflict', 'image.no_property');
      await rejects(() => patch(member, img.id, [{ remove: '/nothere' }], 4), 'conflict', 'image.no_property');
      for (const key of ['name', 'visibility', 'protected', 'os_hidden', 'owner', 'disk_format', 'container_format', 'min_disk', 'min_ram']) {
        await rejects(() => patch(member, img.id, [{ op: 'remove', path: `/${key}` }]), 'forbidden', 'image.core_remove', `remove ${key}`);
      }
      await rejects(() => patch(member, img.id, [{ op: 'remove', path: '/tags' }]), 'forbidden', 'image.forbidden');
      // all or nothing: the name change before the failing op is not kept
      await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/name', value: 'never' }, { op: 'remove', path: '/nothere' }]), 'conflict', 'image.no_property');
      got = (await selectImage(core.database.db, img.id))!;
      assert.deepEqual([got.name, got.properties, got.tags], ['added', { color: 'red', flavor: 'vanilla' }, ['x']]);

      got = await patch(member, img.id, [{ op: 'remove', path: '/flavor' }, { op: 'replace', path: '/tags', value: ['b', 'a', 'b'] }, { op: 'replace', path: '/min_ram', value: 512 }]);
      assert.deepEqual([got.properties, got.tags.sort(), got.minRam], [{ color: 'red' }, ['a', 'b'], 512]);
      await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/min_disk', value: -1 }]), 'bad_request', 'image.bad_request');
      await rejects(() => patch(member, img.id, [{ op: 'add', path: '/num', value: 5 }]), 'bad_request', 'image.schema');
      await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/disk_format', value: 'qcow3' }]), 'bad_request', 'image.schema');
    });

    test('patch: owner only by admin, formats only before the data, visibility by policy, quotas 413', async () => {
      core.clock.set(T0 + 10_000);
      const img = await create(member, { name: 'own', diskFormat: 'raw', containerFormat: 'bare', visibility: 'private' });
      await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/owner', value: 'p2' }]), 'forbidden', 'image.owner_not_admin');
      await rejects(() => patch(member, img.id, [{ op: 'add', path: '/owner', value: 'p2' }]), 'forbidden', 'image.owner_not_admin');
      // even to the same owner (upstream refuses any owner change by a non-admin)
      await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/owner', value: 'p1' }]), 'forbidden', 'image.owner_not_admin');

      // visibility: community by the owner's member, public by admin only
      await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/visibility', value: 'public' }]), 'forbidden', 'image.policy');
      assert.equal((await patch(member, img.id, [{ op: 'replace', path: '/visibility', value: 'community' }])).visibility, 'community');
      assert.equal((await patch(admin, img.id, [{ op: 'replace', path: '/visibility', value: 'public' }])).visibility, 'public');
      // each op to public is checked: on an image already public, and when a later op undoes it
      await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/visibility', value: 'public' }]), 'forbidden', 'image.policy');
      const flip = await create(member, { visibility: 'private' });
      await rejects(() => patch(member, flip.id, [{ op: 'replace', path: '/visibility', value: 'public' }, { op: 'replace', path: '/visibility', value: 'private' }]), 'forbidden', 'image.policy');
      await rejects(() => patch(other, flip.id, [{ op: 'replace', path: '/visibility', value: 'community' }]), 'not_found', 'image.not_found');
      assert.equal((await patch(member, flip.id, [{ op: 'replace', path: '/visibility', value: 'community' }, { op: 'replace', path: '/visibility', value: 'shared' }])).visibility, 'shared');

      // formats change while queued (and importing), never once the image has data
      core.clock.set(T0 + 20_000);
      let got = await patch(member, img.id, [{ op: 'replace', path: '/disk_format', value: 'qcow2' }, { op: 'replace', path: '/container_format', value: 'ovf' }]);
      assert.deepEqual([got.diskFormat, got.containerFormat, got.updatedAt.getTime()], ['qcow2', 'ovf', T0 + 20_000]);
      await setStatus(img.id, 'importing');
      got = await patch(member, img.id, [{ op: 'replace', path: '/disk_format', value: 'raw' }]);
      assert.equal(got.diskFormat, 'raw');
      for (const status of ['active', 'saving', 'uploading', 'deactivated'] as const) {
        await setStatus(img.id, status);
        await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/disk_format', value: 'qcow2' }]), 'forbidden', 'image.format_not_queued', `disk_format while ${status}`);
        await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/container_format', value: 'bare' }]), 'forbidden', 'image.format_not_queued', `container_format while ${status}`);
        // upstream's setter refuses any assignment after the upload, even of the same value
        await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/disk_format', value: 'raw' }]), 'forbidden', 'image.format_not_queued', `same disk_format while ${status}`);
      }
      // other attributes of an active image still change
      assert.equal((await patch(member, img.id, [{ op: 'replace', path: '/name', value: 'renamed' }])).name, 'renamed');

      // the owner moves only by admin; the old owner then loses a private image
      await patch(admin, img.id, [{ op: 'replace', path: '/visibility', value: 'private' }]);
      got = await patch(admin, img.id, [{ op: 'replace', path: '/owner', value: 'p2' }]);
      assert.equal(got.owner, 'p2');
      await rejects(svc.getImageOrThrow(member, img.id), 'not_found', 'image.not_found');
      assert.equal((await svc.getImageOrThrow(other, img.id)).owner, 'p2');

      // quotas count what the whole patch leaves, and refuse all of it
      const q = await create(member, { properties: { a: '1', b: '2', c: '3' }, tags: ['t1', 't2'] });
      await patch(member, q.id, [{ op: 'add', path: '/d', value: '4' }]);
      await rejects(() => patch(member, q.id, [{ op: 'replace', path: '/name', value: 'never' }, { op: 'add', path: '/e', value: '5' }]), 'payload_too_large', 'image.too_large');
      assert.deepEqual((await patch(member, q.id, [{ op: 'remove', path: '/a' }, { op: 'add', path: '/e', value: '5' }])).properties, { b: '2', c: '3', d: '4', e: '5' });
      await rejects(() => patch(member, q.id, [{ op: 'replace', path: '/tags', value: ['1', '2', '3', '4'] }]), 'payload_too_large', 'image.too_large');
      assert.deepEqual((await patch(member, q.id, [{ op: 'replace', path: '/tags', value: ['1', '2', '3', '3', '2'] }])).tags.sort(), ['1', '2', '3']);
      const left = (await selectImage(core.database.db, q.id))!;
      assert.deepEqual([left.name, Object.keys(left.properties).sort(), left.tags], [null, ['b', 'c', 'd', 'e'], ['1', '2', '3']]);
    });

    test('list: admin from context_is_admin, markers that are unknown or not visible', async () => {
      const tag = `svc-list-${engine.dialect}`;
      const mine = await create(member, { tags: [tag], visibility: 'private' });
      const theirs = await create(other, { tags: [tag], visibility: 'private' });
      const community = await create(other, { tags: [tag], visibility: 'community' });
      const params = { memberStatus: 'accepted' as const, filters: { tags: [tag] }, sort: [{ key: 'id' as const, dir: 'asc' as const }], limit: 10 };
      const ids = (l: Image[]) => l.map((i) => i.id);
      assert.deepEqual(ids(await svc.list(member, params)), [mine.id]);
      assert.deepEqual(ids(await svc.list(admin, params)), [mine.id, theirs.id].sort());
      assert.deepEqual(ids(await svc.list(admin, { ...params, visibility: 'all' })), [mine.id, theirs.id, community.id].sort());
      assert.deepEqual(ids(await svc.list(member, { ...params, visibility: 'community' })), [community.id]);
      await rejects(svc.list(member, { ...params, marker: randomUUID() }), 'bad_request', 'image.bad_marker');
      await rejects(svc.list(member, { ...params, marker: theirs.id }), 'forbidden', 'image.marker_not_visible');
      const first = ids(await svc.list(admin, { ...params, visibility: 'all', limit: 1 }));
      assert.deepEqual(ids(await svc.list(admin, { ...params, visibility: 'all', marker: first[0]! })), [mine.id, theirs.id, community.id].sort().slice(1));
    });

    test('concurrent tag adds on one image all land, once each', async () => {
      const img = await create(member, {});
      await Promise.all(['x', 'y', 'x', 'y', 'x'].map((t) => svc.addTag(member, img.id, t)));
      assert.deepEqual((await svc.getImageOrThrow(member, img.id)).tags, ['x', 'y']);
    });

    test('show, delete, deactivate/reactivate and tags', async () => {
      const img = await create(member, { visibility: 'shared', protected: true, tags: ['a'] });
      // shared: the owner and every member, whatever its status; nobody else
      await rejects(svc.getImageOrThrow(other, img.id), 'not_found', 'image.not_found');
      await insertMember(core.database.db, { imageId: img.id, memberId: 'p2', status: 'rejected', createdAt: new Date(T0), updatedAt: new Date(T0) });
      assert.equal((await svc.getImageOrThrow(other, img.id)).id, img.id);
      assert.equal((await svc.getImageOrThrow(admin, img.id)).id, img.id);

      await rejects(svc.deactivate(member, img.id), 'forbidden', 'image.deactivate_status');
      await setStatus(img.id, 'active');
      await svc.deactivate(member, img.id);
      await svc.deactivate(member, img.id);
      assert.equal((await svc.getImageOrThrow(member, img.id)).status, 'deactivated');
      await svc.reactivate(member, img.id);
      await svc.reactivate(member, img.id);
      assert.equal((await svc.getImageOrThrow(member, img.id)).status, 'active');

      core.clock.set(T0 + 60_000);
      await svc.addTag(member, img.id, 'b');
      await svc.addTag(member, img.id, 'c');
      await rejects(svc.addTag(member, img.id, 'd'), 'payload_too_large', 'image.too_large');
      await svc.addTag(member, img.id, 'c'); // already there: no quota check, no change
      await rejects(svc.deleteTag(member, img.id, 'nope'), 'not_found', 'image.tag_not_found');
      await svc.deleteTag(member, img.id, 'a');
      const tagged = await svc.getImageOrThrow(member, img.id);
      assert.deepEqual([tagged.tags, tagged.updatedAt.getTime()], [['b', 'c'], T0 + 60_000]);

      await rejects(svc.delete(member, img.id), 'forbidden', 'image.protected');
      await patch(member, img.id, [{ op: 'replace', path: '/protected', value: false }]);
      await svc.delete(member, img.id);
      await rejects(svc.delete(member, img.id), 'not_found', 'image.not_found');
      await rejects(svc.getImageOrThrow(admin, img.id), 'not_found', 'image.not_found');
      await rejects(() => patch(member, img.id, [{ op: 'replace', path: '/name', value: 'x' }]), 'not_found', 'image.not_found');
    });
  });
}
