// The project repository's own queries on every engine: the four tag filters (grouped
// subqueries), subtree and parent walks, and the domain cascade's ordered deletes.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, testEngines, type ScratchDatabase } from '@alto/db/testing';
import { identityMigrations } from './migrations/index.js';
import { ROOT_DOMAIN_ID, type IdentityDB } from './schema.js';
import type { Project } from '../domain/models.js';
import { deleteDomainRows, insertProject, replaceTags, rowToProject, selectParentRows, selectProjectRow, selectProjectRows, selectSubtreeRows, type TagFilter } from './project.repo.js';

for (const engine of testEngines()) {
  describe(`project repository on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let scratch: ScratchDatabase;
    let database: Database<IdentityDB>;

    const add = async (p: Partial<Project> & { id: string }) => {
      const project: Project = {
        name: p.id,
        domainId: 'dom',
        parentId: 'dom',
        isDomain: false,
        description: '',
        enabled: true,
        extra: {},
        tags: [],
        options: {},
        ...p,
      };
      await insertProject(database.db, project, 0);
    };

    before(async () => {
      scratch = await scratchDatabase(engine.dialect);
      database = scratch.open<IdentityDB>();
      await migrateToLatest(database, identityMigrations);
      await add({ id: 'dom', domainId: ROOT_DOMAIN_ID, parentId: null, isDomain: true, tags: ['a'] });
      // dom > ab > (a > a-child), c; none
      await add({ id: 'ab', tags: ['a', 'b'] });
      await add({ id: 'a', parentId: 'ab', tags: ['a'], options: { immutable: true }, extra: { e: 1 } });
      await add({ id: 'a-child', parentId: 'a' });
      await add({ id: 'c', parentId: 'ab', tags: ['c'] });
      await add({ id: 'none' });
    });
    after(async () => {
      await database.close();
      await scratch.drop();
    });

    const ids = async (tags: TagFilter) => (await selectProjectRows(database.db, { isDomain: false, tags })).map((r) => r.id);

    test('tags: all of, any of, not all of, none of, combined', async () => {
      assert.deepEqual(await ids({ all: ['a', 'b'] }), ['ab']);
      assert.deepEqual(await ids({ all: ['a'] }), ['a', 'ab']);
      assert.deepEqual(await ids({ any: ['b', 'c'] }), ['ab', 'c']);
      assert.deepEqual(await ids({ notAll: ['a', 'b'] }), ['a', 'a-child', 'c', 'none']);
      assert.deepEqual(await ids({ notAny: ['a', 'c'] }), ['a-child', 'none']);
      assert.deepEqual(await ids({ all: ['a'], notAll: ['b'] }), ['a']);
      assert.deepEqual(await ids({ any: ['a'], notAny: ['b'] }), ['a']);
      assert.deepEqual(await ids({ all: ['missing'] }), []);
      // domains carry tags too
      assert.deepEqual((await selectProjectRows(database.db, { isDomain: true, tags: { all: ['a'] } })).map((r) => r.id), ['dom']);
    });

    test('rows come back with their tags and options; extra keeps only the extra attributes', async () => {
      const a = rowToProject((await selectProjectRow(database.db, 'a'))!);
      assert.deepEqual(a.tags, ['a']);
      assert.deepEqual(a.options, { immutable: true });
      assert.deepEqual(a.extra, { e: 1 });
      await replaceTags(database.db, 'none', ['x', 'y']);
      assert.deepEqual((await selectProjectRow(database.db, 'none'))!.tags, ['x', 'y']);
      await replaceTags(database.db, 'none', []);
      assert.deepEqual((await selectProjectRow(database.db, 'none'))!.tags, []);
    });

    test('subtree level by level, parents nearest first up to the domain', async () => {
      assert.deepEqual((await selectSubtreeRows(database.db, 'ab')).map((r) => r.id), ['a', 'c', 'a-child']);
      assert.deepEqual((await selectSubtreeRows(database.db, 'dom')).map((r) => r.id), ['ab', 'none', 'a', 'c', 'a-child']);
      assert.deepEqual((await selectSubtreeRows(database.db, 'a-child')).map((r) => r.id), []);
      assert.deepEqual((await selectParentRows(database.db, { id: 'a-child', parent_id: 'a' })).map((r) => r.id), ['a', 'ab', 'dom']);
      assert.deepEqual(await selectParentRows(database.db, { id: 'dom', parent_id: null }), []);
    });

    test('a domain delete removes its tree leaves first, its users, groups and roles, then itself', async () => {
      await database.db.insertInto('user').values({ id: 'u1', domain_id: 'dom', name: 'u1', enabled: 1, default_project_id: 'c', extra: '{}', options: '{}', created_at: 0, last_active_at: null, failed_auth_at: null }).execute();
      await database.db.insertInto('group').values({ id: 'g1', domain_id: 'dom', name: 'g1', description: null, extra: '{}' }).execute();
      await database.db.insertInto('user_group_membership').values({ user_id: 'u1', group_id: 'g1' }).execute();
      await database.db.insertInto('role').values({ id: 'r1', name: 'r1', domain_id: 'dom', description: null, extra: '{}', options: '{}' }).execute();
      await database.db.insertInto('assignment').values({ type: 'UserProject', actor_id: 'u1', target_id: 'a-child', role_id: 'r1', inherited: 0 }).execute();
      await database.db.insertInto('domain_config').values({ domain_id: 'dom', group: 'ldap', option: 'password', value: '"p"', sensitive: 1 }).execute();
      const gone = await deleteDomainRows(database.db, 'dom', 1);
      assert.deepEqual(gone.projectIds.slice(0, 1), ['a-child']);
      assert.deepEqual(new Set(gone.projectIds), new Set(['ab', 'a', 'a-child', 'c', 'none']));
      assert.deepEqual(gone.userIds, ['u1']);
      assert.deepEqual(gone.groupIds, ['g1']);
      assert.deepEqual(gone.roleIds, ['r1']);
      for (const table of ['project_tag', 'domain_config', 'user_group_membership', 'assignment', 'role', 'group', 'user'] as const) {
        assert.equal((await database.db.selectFrom(table).selectAll().execute()).length, 0, table);
      }
      assert.deepEqual((await database.db.selectFrom('project').select('id').execute()).map((r) => r.id), [ROOT_DOMAIN_ID]);
    });
  });
}
