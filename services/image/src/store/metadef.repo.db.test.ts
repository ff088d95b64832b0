// The metadefs migration and store on SQLite, PostgreSQL and MariaDB: seeded resource types,
// case-sensitive unique names, visibility-aware keyset pages, cascades, and the service's
// transactions (a failed replace of tags or a half-created namespace leaves nothing behind).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isUniqueViolation, migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, testEngines, type ScratchDatabase } from '@alto/db/testing';
import { systemClock, type RequestContext } from '@alto/kernel';
import { imageMigrations } from './migrations/index.js';
import type { ImageDB } from './schema.js';
import * as repo from './metadef.repo.js';
import { MetadefsService, type MetadefAuthorizer } from '../domain/metadefs.service.js';

const ctx = (projectId: string): RequestContext => ({ requestId: 'req-test', projectId, roles: ['admin'], serviceRoles: [], isAdminProject: false });
/** Policy is not what these tests are about: everything allowed, nobody admin. */
const allowAll: MetadefAuthorizer = { enforceCreds: () => {}, enforce: () => {}, check: () => true, isAdmin: () => false };

for (const engine of testEngines()) {
  describe(`metadef store on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let scratch: ScratchDatabase;
    let database: Database<ImageDB>;
    before(async () => {
      scratch = await scratchDatabase(engine.dialect);
      database = scratch.open<ImageDB>();
      await migrateToLatest(database, imageMigrations);
    });
    after(async () => {
      await database?.close();
      await scratch?.drop();
    });

    const ns = (namespace: string, over: Partial<repo.NamespaceColumns> = {}): repo.NamespaceColumns => ({
      namespace,
      display_name: null,
      description: null,
      visibility: 'public',
      protected: 0,
      owner: 'p1',
      ...over,
    });

    test('migration seeds the six resource types, protected, in load_metadefs order', async () => {
      const types = await repo.selectResourceTypes(database.db);
      assert.deepEqual(
        types.map((t) => t.name),
        ['OS::Glance::Image', 'OS::Cinder::Volume', 'OS::Nova::Server', 'OS::Nova::Aggregate', 'OS::Nova::Flavor', 'OS::Trove::Instance'],
      );
      assert.ok(types.every((t) => t.updatedAt === null && t.createdAt instanceof Date && !Number.isNaN(t.createdAt.getTime())));
      const rows = await database.db.selectFrom('metadef_resource_type').select('protected').execute();
      assert.ok(rows.every((r) => Number(r.protected) === 1));
    });

    test('names are unique per namespace and case-sensitive; children go with their namespace', async () => {
      const db = database.db;
      const id = await repo.insertNamespace(db, ns('case-ns'), 1_000);
      await assert.rejects(repo.insertNamespace(db, ns('case-ns'), 1_000), (e) => isUniqueViolation(e));
      await repo.insertNamespace(db, ns('Case-NS'), 1_000);
      await repo.insertTag(db, id, 'tag', 1_000);
      await repo.insertTag(db, id, 'Tag', 1_000);
      await assert.rejects(repo.insertTag(db, id, 'tag', 1_000), (e) => isUniqueViolation(e));
      await repo.insertObject(db, id, repo.objectColumns({ name: 'b', required: ['x', 'y'], properties: { x: { type: 'string', title: 'X' } } }), 2_000);
      await repo.insertObject(db, id, repo.objectColumns({ name: 'B', description: 'upper' }), 2_000);
      await repo.insertObject(db, id, repo.objectColumns({ name: 'a' }), 2_000);
      await assert.rejects(repo.insertObject(db, id, repo.objectColumns({ name: 'a' }), 2_000), (e) => isUniqueViolation(e));
      await repo.insertProperty(db, id, 'zeta', { type: 'integer', title: 'Z', minimum: 1 }, 2_000);
      await repo.insertProperty(db, id, 'alpha', { name: 'alpha', type: 'string', title: 'A' }, 2_000);
      const rt = await repo.ensureResourceType(db, 'Case::Type', 3_000);
      assert.equal(await repo.ensureResourceType(db, 'Case::Type', 3_000), rt);
      await repo.insertAssociation(db, { namespaceId: id, resourceTypeId: rt, prefix: 'c_', propertiesTarget: null }, 3_000);
      await repo.insertAssociation(db, { namespaceId: id, resourceTypeId: (await repo.selectResourceTypeId(db, 'OS::Glance::Image'))!, prefix: null, propertiesTarget: 'image' }, 3_000);
      await assert.rejects(repo.insertAssociation(db, { namespaceId: id, resourceTypeId: rt, prefix: null, propertiesTarget: null }, 3_000), (e) => isUniqueViolation(e));

      // objects and properties by name, bytewise; associations in the order they were made
      const objects = await repo.selectObjects(db, id);
      assert.deepEqual(objects.map((o) => o.name), ['B', 'a', 'b']);
      assert.deepEqual(objects[2]!.required, ['x', 'y']);
      assert.deepEqual(objects[2]!.properties, { x: { type: 'string', title: 'X' } });
      assert.deepEqual([objects[0]!.description, objects[0]!.required, objects[0]!.properties], ['upper', [], {}]);
      assert.equal(objects[0]!.createdAt.getTime(), 2_000);
      assert.deepEqual((await repo.selectProperties(db, id)).map((p) => [p.name, p.schema]), [
        ['alpha', { name: 'alpha', type: 'string', title: 'A' }],
        ['zeta', { type: 'integer', title: 'Z', minimum: 1 }],
      ]);
      const assoc = (await repo.selectAssociations(db, [id])).get(id)!;
      assert.deepEqual(assoc.map((a) => [a.name, a.prefix, a.propertiesTarget]), [['Case::Type', 'c_', null], ['OS::Glance::Image', null, 'image']]);
      assert.ok(await repo.deleteAssociation(db, id, rt));
      assert.ok(!(await repo.deleteAssociation(db, id, rt)));

      await repo.deleteNamespace(db, id);
      assert.equal(await repo.selectNamespace(db, 'case-ns'), undefined);
      for (const t of ['metadef_object', 'metadef_property', 'metadef_tag', 'metadef_namespace_resource_type'] as const) {
        assert.equal((await db.selectFrom(t).select('id').where('namespace_id', '=', id).execute()).length, 0, t);
      }
      // the resource type stays
      assert.equal(await repo.selectResourceTypeId(db, 'Case::Type'), rt);
    });

    test('namespace pages: visibility, resource type filter, sort keys and markers', async () => {
      const db = database.db;
      const rt = await repo.ensureResourceType(db, 'Page::Type', 1);
      // equal created_at for pg-b and pg-c: the id breaks the tie
      const times: [string, number, string, string][] = [['pg-a', 10, 'public', 'p1'], ['pg-b', 20, 'private', 'p1'], ['pg-c', 20, 'private', 'p2'], ['pg-d', 30, 'public', 'p2']];
      for (const [name, at, visibility, owner] of times) {
        const id = await repo.insertNamespace(db, ns(name, { visibility, owner, display_name: name === 'pg-c' ? 'C' : null }), at);
        await repo.insertAssociation(db, { namespaceId: id, resourceTypeId: rt, prefix: null, propertiesTarget: null }, at);
      }
      const list = async (q: Partial<repo.NamespaceQuery>) =>
        (await repo.listNamespaces(db, { isAdmin: false, projectId: 'p1', resourceTypes: ['Page::Type'], sortKey: 'created_at', sortDir: 'desc', limit: 10, ...q })).map((n) => n.namespace);
      assert.deepEqual(await list({}), ['pg-d', 'pg-b', 'pg-a']);
      assert.deepEqual(await list({ isAdmin: true }), ['pg-d', 'pg-c', 'pg-b', 'pg-a']);
      assert.deepEqual(await list({ projectId: null }), ['pg-d', 'pg-a']);
      assert.deepEqual(await list({ isAdmin: true, visibility: 'private' }), ['pg-c', 'pg-b']);
      assert.deepEqual(await list({ isAdmin: true, resourceTypes: ['Nope::Type'] }), []);

      // walk every sort key both ways in pages of one: the pages must add up to the whole list
      for (const sortKey of repo.NAMESPACE_SORT_KEYS) {
        for (const sortDir of ['asc', 'desc'] as const) {
          const whole = await list({ isAdmin: true, sortKey, sortDir });
          const walked: string[] = [];
          let marker: string | undefined;
          for (;;) {
            const m = marker === undefined ? undefined : await repo.selectNamespace(db, marker);
            const page = await list({ isAdmin: true, sortKey, sortDir, limit: 1, marker: m });
            if (!page.length) break;
            walked.push(page[0]!);
            marker = page[0];
          }
          assert.deepEqual(walked, whole, `${sortKey} ${sortDir}`);
          assert.equal(whole.length, 4);
        }
      }
      assert.deepEqual(await list({ isAdmin: true, sortKey: 'namespace', sortDir: 'asc' }), ['pg-a', 'pg-b', 'pg-c', 'pg-d']);
      assert.deepEqual(await list({ isAdmin: true, sortKey: 'created_at', sortDir: 'asc', limit: 2, marker: await repo.selectNamespace(db, 'pg-b') }), ['pg-c', 'pg-d']);
    });

    test('tags: newest first with ties by id, name order, markers', async () => {
      const db = database.db;
      const id = await repo.insertNamespace(db, ns('tag-order'), 1);
      for (const [name, at] of [['m', 5], ['k', 7], ['z', 7], ['a', 9]] as const) await repo.insertTag(db, id, name, at);
      const names = async (q?: repo.TagQuery) => (await repo.selectTags(db, id, q)).map((t) => t.name);
      assert.deepEqual(await names(), ['a', 'z', 'k', 'm']);
      assert.deepEqual(await names({ sortKey: 'name', sortDir: 'asc' }), ['a', 'k', 'm', 'z']);
      assert.deepEqual(await names({ sortKey: 'created_at', sortDir: 'desc', limit: 2, marker: await repo.selectTag(db, id, 'z') }), ['k', 'm']);
      assert.deepEqual(await names({ sortKey: 'created_at', sortDir: 'desc', limit: 0 }), []);
    });

    test('the service rolls back a failed tag replace and a half-created namespace', async () => {
      const svc = new MetadefsService({ db: database.db, clock: systemClock, authz: allowAll });
      const c = ctx('p1');
      await svc.createNamespace(c, { namespace: 'tx-ns', visibility: 'public' });
      await svc.createTags(c, 'tx-ns', ['one', 'two'], false);
      await assert.rejects(svc.createTags(c, 'tx-ns', ['three', 'three'], false), /name=three already exists/);
      assert.deepEqual((await svc.listTags(c, 'tx-ns', { sortKey: 'name', sortDir: 'asc' })).map((t) => t.name), ['one', 'two']);
      await assert.rejects(
        svc.createNamespace(c, { namespace: 'tx-half', objects: [{ name: 'o' }, { name: 'o' }], tags: ['t'] }),
        /A metadata definition object with name=o already exists in namespace=tx-half\./,
      );
      assert.equal(await repo.selectNamespace(database.db, 'tx-half'), undefined);
      // renaming onto a taken name is a conflict, and leaves the namespace as it was
      await svc.createNamespace(c, { namespace: 'tx-other' });
      await assert.rejects(
        svc.updateNamespace(c, 'tx-ns', { namespace: 'tx-other', displayName: null, description: null, visibility: null, protected: null, owner: null }),
        /same name of tx-other/,
      );
      assert.equal((await repo.selectNamespace(database.db, 'tx-ns'))?.visibility, 'public');
      await svc.createAssociation(c, 'tx-ns', { name: 'Tx::New' });
      await assert.rejects(svc.createAssociation(c, 'tx-ns', { name: 'Tx::New' }), /resource-type=Tx::New to namespace=tx-ns already exists/);
    });
  });
}
