// The image store on SQLite, PostgreSQL and MariaDB: the migration, Glance's list visibility rules,
// every filter, sorted keyset pages that yield each image once, the upload compare-and-set, soft
// delete and the quota usage sums.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { isForeignKeyViolation, isUniqueViolation, migrateToLatest, migrationStatus, type Database } from '@alto/db';
import { scratchDatabase, testEngines, type ScratchDatabase } from '@alto/db/testing';
import type { Image, ImageStatus, MemberStatus, Visibility } from '../domain/models.js';
import { imageMigrations } from './migrations/index.js';
import type { ImageDB } from './schema.js';
import {
  imageIdExists,
  insertImage,
  insertLocation,
  listImages,
  selectImage,
  selectImageRowAnyState,
  selectPendingDeletes,
  selectStaleHolds,
  softDeleteImage,
  updateImageRow,
  usageOf,
  type ImageFilters,
  type ImageListQuery,
  type SortKey,
  type SortSpec,
} from './image.repo.js';
import { insertMember, selectMembers } from './member.repo.js';

const GiB = 1024 ** 3;

/** An image row as the service would insert it; every test tags its own images to list only them. */
function image(over: Partial<Image> & { tags: string[] }): Image {
  return {
    id: randomUUID(),
    name: null,
    status: 'queued',
    visibility: 'shared',
    protected: false,
    osHidden: false,
    owner: 'p-default',
    size: null,
    virtualSize: null,
    checksum: null,
    osHashAlgo: null,
    osHashValue: null,
    diskFormat: null,
    containerFormat: null,
    minDisk: 0,
    minRam: 0,
    createdAt: new Date(1_000_000),
    updatedAt: new Date(1_000_000),
    properties: {},
    locations: [],
    uploadId: null,
    uploadOwner: null,
    uploadLeaseUntil: null,
    stagingLocation: null,
    stagingSize: null,
    ...over,
  };
}

for (const engine of testEngines()) {
  describe(`image store on ${engine.dialect}`, { skip: engine.unavailable }, () => {
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

    const query = (over: Partial<ImageListQuery> & { filters: ImageFilters }): ImageListQuery => ({
      projectId: undefined,
      isAdmin: false,
      visibility: undefined,
      memberStatus: 'accepted',
      sort: [{ key: 'created_at', dir: 'desc' }],
      limit: 1000,
      ...over,
    });

    test('the migration applies once; defaults, case-sensitive keys and foreign keys hold', async () => {
      const status = await migrationStatus(database, imageMigrations);
      assert.deepEqual(status.pending, []);
      assert.deepEqual(status.applied, Object.keys(imageMigrations));
      assert.deepEqual(await migrateToLatest(database, imageMigrations), []);

      const db = database.db;
      const id = randomUUID();
      // only the NOT NULL columns without defaults: the others take the DDL's defaults
      await db.insertInto('image').values({ id, status: 'queued', visibility: 'private', created_at: 1, updated_at: 1 } as never).execute();
      const row = (await selectImageRowAnyState(db, id))!;
      assert.deepEqual([Number(row.protected), Number(row.os_hidden), Number(row.min_disk), Number(row.min_ram), Number(row.deleted)], [0, 0, 0, 0, 0]);
      assert.equal(row.name, null);
      assert.equal(row.size, null);

      // property names and tags are case-sensitive keys on every engine (MariaDB: utf8mb4_bin)
      await db.insertInto('image_property').values([{ image_id: id, name: 'Key', value: 'a' }, { image_id: id, name: 'key', value: 'b' }]).execute();
      await db.insertInto('image_tag').values([{ image_id: id, value: 'Tag' }, { image_id: id, value: 'tag' }]).execute();
      await assert.rejects(db.insertInto('image_tag').values({ image_id: id, value: 'tag' }).execute(), (e) => isUniqueViolation(e));
      await assert.rejects(db.insertInto('image').values({ id, status: 'queued', visibility: 'private', created_at: 1, updated_at: 1 } as never).execute(), (e) => isUniqueViolation(e));
      await assert.rejects(db.insertInto('image_tag').values({ image_id: randomUUID(), value: 'x' }).execute(), (e) => isForeignKeyViolation(e));
      const got = (await selectImage(db, id))!;
      assert.deepEqual(got.properties, { Key: 'a', key: 'b' });
      assert.deepEqual(got.tags, ['Tag', 'tag']);

      // sizes past 2^32 and 2^53-safe timestamps come back as numbers
      const big = image({ tags: ['mig'], size: 40 * GiB + 7, virtualSize: 80 * GiB, createdAt: new Date(Date.UTC(2030, 0, 1, 0, 0, 0, 123)) });
      await insertImage(db, big);
      const back = (await selectImage(db, big.id))!;
      assert.equal(back.size, 40 * GiB + 7);
      assert.equal(back.virtualSize, 80 * GiB);
      assert.equal(back.createdAt.getTime(), big.createdAt.getTime());
      // name filters compare case-sensitively too
      await insertImage(db, image({ tags: ['mig'], name: 'Ubuntu', owner: 'p-mig' }));
      const names = async (name: string[]) => (await listImages(db, query({ projectId: 'p-mig', filters: { tags: ['mig'], name } }))).map((i) => i.name);
      assert.deepEqual(await names(['Ubuntu']), ['Ubuntu']);
      assert.deepEqual(await names(['ubuntu']), []);
    });

    test('list visibility: owner, public, community only when asked or owned, shared for members by status, admin', async () => {
      const db = database.db;
      const tags = ['vis'];
      const kinds: Record<string, Image> = {
        pub: image({ tags, visibility: 'public', owner: 'p-own' }),
        priv: image({ tags, visibility: 'private', owner: 'p-own' }),
        shared: image({ tags, visibility: 'shared', owner: 'p-own' }),
        lonely: image({ tags, visibility: 'shared', owner: 'p-own' }),
        comm: image({ tags, visibility: 'community', owner: 'p-own' }),
        commAdm: image({ tags, visibility: 'community', owner: 'p-adm' }),
        privOut: image({ tags, visibility: 'private', owner: 'p-out' }),
        // a membership on a non-shared image gives nothing (Glance keeps members when visibility changes)
        privMember: image({ tags, visibility: 'private', owner: 'p-own' }),
        gone: image({ tags, visibility: 'public', owner: 'p-own' }),
      };
      for (const i of Object.values(kinds)) await insertImage(db, i);
      const member = (imageId: string, memberId: string, status: MemberStatus) => insertMember(db, { imageId, memberId, status, createdAt: new Date(1), updatedAt: new Date(1) });
      await member(kinds.shared!.id, 'p-acc', 'accepted');
      await member(kinds.shared!.id, 'p-pend', 'pending');
      await member(kinds.shared!.id, 'p-rej', 'rejected');
      await member(kinds.privMember!.id, 'p-acc', 'accepted');
      await member(kinds.gone!.id, 'p-acc', 'accepted');
      assert.equal(await softDeleteImage(db, kinds.gone!.id, 2_000_000), 1);

      const nameOf = new Map(Object.entries(kinds).map(([k, i]) => [i.id, k]));
      const list = async (projectId: string | undefined, visibility?: Visibility | 'all', memberStatus: MemberStatus | 'all' = 'accepted', isAdmin = false) =>
        (await listImages(db, query({ projectId, isAdmin, visibility, memberStatus, filters: { tags } }))).map((i) => nameOf.get(i.id)!).sort();
      const cases: [string, Promise<string[]>, string[]][] = [
        ['owner default', list('p-own'), ['comm', 'lonely', 'priv', 'privMember', 'pub', 'shared']],
        // member_status never hides the caller's own images
        ['owner member_status=rejected', list('p-own', undefined, 'rejected'), ['comm', 'lonely', 'priv', 'privMember', 'pub', 'shared']],
        ['owner shared', list('p-own', 'shared', 'pending'), ['lonely', 'shared']],
        ['owner private', list('p-own', 'private'), ['priv', 'privMember']],
        ['accepted member default', list('p-acc'), ['pub', 'shared']],
        ['accepted member shared', list('p-acc', 'shared'), ['shared']],
        ['accepted member private', list('p-acc', 'private'), []],
        ['accepted member member_status=pending', list('p-acc', undefined, 'pending'), ['pub']],
        ['pending member default', list('p-pend'), ['pub']],
        ['pending member member_status=pending', list('p-pend', undefined, 'pending'), ['pub', 'shared']],
        ['pending member member_status=all', list('p-pend', undefined, 'all'), ['pub', 'shared']],
        ['pending member shared', list('p-pend', 'shared'), []],
        ['pending member shared, all', list('p-pend', 'shared', 'all'), ['shared']],
        ['rejected member default', list('p-rej'), ['pub']],
        ['rejected member member_status=rejected', list('p-rej', undefined, 'rejected'), ['pub', 'shared']],
        ['outsider default', list('p-out'), ['privOut', 'pub']],
        ['outsider community', list('p-out', 'community'), ['comm', 'commAdm']],
        ['outsider public', list('p-out', 'public'), ['pub']],
        ['outsider all', list('p-out', 'all'), ['comm', 'commAdm', 'privOut', 'pub']],
        ['outsider shared, all', list('p-out', 'shared', 'all'), []],
        ['no project default', list(undefined), ['pub']],
        ['no project all', list(undefined, 'all'), ['comm', 'commAdm', 'pub']],
        // admin: everything but other projects' community images, unless asked by visibility
        ['admin default', list('p-adm', undefined, 'accepted', true), ['commAdm', 'lonely', 'priv', 'privMember', 'privOut', 'pub', 'shared']],
        ['admin community', list('p-adm', 'community', 'accepted', true), ['comm', 'commAdm']],
        ['admin private', list('p-adm', 'private', 'accepted', true), ['priv', 'privMember', 'privOut']],
        ['admin shared, member_status ignored', list('p-adm', 'shared', 'rejected', true), ['lonely', 'shared']],
        ['admin all', list('p-adm', 'all', 'accepted', true), ['comm', 'commAdm', 'lonely', 'priv', 'privMember', 'privOut', 'pub', 'shared']],
      ];
      for (const [what, got, want] of cases) assert.deepEqual(await got, want, what);
    });

    test('every filter: in-lists, tags, properties, sizes, times, os_hidden, protected, core equality', async () => {
      const db = database.db;
      const tags = (...t: string[]) => ['flt', ...t];
      const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000);
      const imgs = {
        a: image({ name: 'alpha', status: 'active', diskFormat: 'qcow2', containerFormat: 'bare', size: 100, checksum: 'c-a', minDisk: 1, minRam: 512, protected: true,
          properties: { os_distro: 'ubuntu', arch: 'x86_64' }, tags: tags('linux', 'lts'), createdAt: at(1), updatedAt: at(50) }),
        b: image({ name: 'beta', status: 'queued', diskFormat: 'raw', containerFormat: 'bare', properties: { os_distro: 'debian' }, tags: tags('linux'), createdAt: at(2), updatedAt: at(2) }),
        c: image({ name: 'gamma', status: 'active', diskFormat: 'iso', containerFormat: 'ovf', size: 5 * GiB, osHidden: true, properties: { os_distro: 'ubuntu' }, tags: tags(),
          createdAt: at(3), updatedAt: at(90) }),
        d: image({ name: null, status: 'deactivated', diskFormat: 'qcow2', containerFormat: 'docker', size: 100, minRam: 1024, tags: tags('lts'), createdAt: at(4), updatedAt: at(4) }),
        e: image({ name: 'alpha', status: 'active', diskFormat: 'vmdk', containerFormat: 'bare', size: 300, virtualSize: 1000, osHashAlgo: 'sha512', osHashValue: 'h-e',
          properties: { arch: 'aarch64' }, tags: tags('linux', 'lts'), createdAt: at(5), updatedAt: at(50) }),
      };
      for (const i of Object.values(imgs)) await insertImage(db, { ...i, owner: 'p-flt', visibility: 'private' });
      const nameOf = new Map(Object.entries(imgs).map(([k, i]) => [i.id, k]));
      const list = async (f: ImageFilters) => (await listImages(db, query({ projectId: 'p-flt', filters: { ...f, tags: [...(f.tags ?? []), 'flt'] } }))).map((i) => nameOf.get(i.id)!).sort().join('');
      const ms = (s: number) => at(s).getTime();

      const cases: [ImageFilters, string][] = [
        [{}, 'abde'],
        [{ osHidden: false }, 'abde'],
        [{ osHidden: true }, 'c'],
        [{ name: ['alpha'] }, 'ae'],
        [{ name: ['alpha', 'beta'] }, 'abe'],
        [{ name: ['Alpha'] }, ''],
        [{ name: [] }, ''],
        [{ id: [imgs.a.id, imgs.c.id] }, 'a'],
        [{ id: [imgs.a.id, imgs.c.id], osHidden: true }, 'c'],
        [{ status: ['active', 'deactivated'] }, 'ade'],
        [{ status: ['queued'] }, 'b'],
        [{ diskFormat: ['qcow2'] }, 'ad'],
        [{ diskFormat: ['qcow2', 'vmdk'], containerFormat: ['bare'] }, 'ae'],
        [{ containerFormat: ['bare', 'docker'] }, 'abde'],
        [{ owner: ['p-flt'] }, 'abde'],
        [{ owner: ['p-else'] }, ''],
        [{ tags: ['linux'] }, 'abe'],
        [{ tags: ['linux', 'lts'] }, 'ae'],
        [{ tags: ['lts', 'nope'] }, ''],
        [{ properties: { os_distro: ['ubuntu'] } }, 'a'],
        [{ properties: { os_distro: ['ubuntu'] }, osHidden: true }, 'c'],
        [{ properties: { os_distro: ['ubuntu', 'debian'] } }, 'ab'],
        [{ properties: { os_distro: ['ubuntu'], arch: ['x86_64'] } }, 'a'],
        [{ properties: { os_distro: ['debian'], arch: ['x86_64'] } }, ''],
        [{ properties: { arch: ['x86_64', 'aarch64'] } }, 'ae'],
        [{ properties: { Arch: ['x86_64'] } }, ''],
        // a NULL size is outside every range
        [{ sizeMin: 0 }, 'ade'],
        [{ sizeMin: 100 }, 'ade'],
        [{ sizeMax: 100 }, 'ad'],
        [{ sizeMin: 101, sizeMax: 300 }, 'e'],
        [{ sizeMin: 301 }, ''],
        [{ sizeMin: 4 * GiB, osHidden: true }, 'c'],
        [{ sizeMax: 4 * GiB, osHidden: true }, ''],
        [{ createdAt: [{ op: 'gt', ms: ms(2) }] }, 'de'],
        [{ createdAt: [{ op: 'gte', ms: ms(2) }, { op: 'lt', ms: ms(5) }] }, 'bd'],
        [{ createdAt: [{ op: 'eq', ms: ms(4) }] }, 'd'],
        [{ createdAt: [{ op: 'neq', ms: ms(1) }] }, 'bde'],
        [{ createdAt: [{ op: 'lte', ms: ms(1) }] }, 'a'],
        [{ updatedAt: [{ op: 'gte', ms: ms(50) }] }, 'ae'],
        [{ updatedAt: [{ op: 'gt', ms: ms(50) }], osHidden: true }, 'c'],
        [{ updatedAt: [{ op: 'lt', ms: ms(50) }], createdAt: [{ op: 'gt', ms: ms(2) }] }, 'd'],
        [{ protected: true }, 'a'],
        [{ protected: false }, 'bde'],
        [{ core: { size: '100' } }, 'ad'],
        [{ core: { size: 'abc' } }, ''],
        [{ core: { size: String(5 * GiB) }, osHidden: true }, 'c'],
        [{ core: { checksum: 'c-a' } }, 'a'],
        [{ core: { min_ram: '1024' } }, 'd'],
        [{ core: { min_disk: '1' } }, 'a'],
        [{ core: { min_disk: '0' } }, 'bde'],
        [{ core: { os_hash_value: 'h-e', os_hash_algo: 'sha512' } }, 'e'],
        [{ core: { virtual_size: '1000' } }, 'e'],
        [{ core: { virtual_size: ' 1000 ' } }, 'e'],
        [{ core: { checksum: 'c-a', size: '300' } }, ''],
        // everything at once still narrows to the one image matching all of it
        [{ name: ['alpha'], status: ['active'], diskFormat: ['qcow2'], tags: ['lts'], properties: { arch: ['x86_64'] }, sizeMin: 1, sizeMax: 100, protected: true,
          createdAt: [{ op: 'lt', ms: ms(2) }], updatedAt: [{ op: 'eq', ms: ms(50) }], core: { min_ram: '512' } }, 'a'],
      ];
      for (const [f, want] of cases) assert.equal(await list(f), want, JSON.stringify(f));
    });

    test('sorted keyset pages return every image exactly once, in the order of one whole page', async () => {
      const db = database.db;
      const tags = ['page'];
      const names = ['alpha', 'beta', 'alphabet', '', null, null];
      const sizes = [null, 0, 10, 10, 5 * GiB];
      const disks = ['qcow2', 'raw', null];
      const containers = ['bare', 'ovf', null];
      const statuses: ImageStatus[] = ['active', 'queued', 'deactivated'];
      const visibilities: Visibility[] = ['private', 'shared', 'public', 'community'];
      const images: Image[] = [];
      for (let i = 0; i < 50; i++) {
        // few distinct values per key so that long runs of equal values cross page boundaries
        const img = image({
          tags,
          owner: 'p-page',
          name: names[i % names.length]!,
          size: sizes[(i * 7) % sizes.length]!,
          diskFormat: disks[(i * 5) % disks.length]!,
          containerFormat: containers[Math.floor(i / 3) % containers.length]!,
          status: statuses[(i * 11) % statuses.length]!,
          visibility: visibilities[i % visibilities.length]!,
          minDisk: i % 2,
          minRam: (i * 3) % 4,
          createdAt: new Date(1_000_000 + Math.floor(i / 10) * 1000),
          updatedAt: new Date(2_000_000 + (i % 4) * 1000),
        });
        images.push(img);
        await insertImage(db, img);
      }

      const sortValue = (img: Image, key: SortKey): string | number => {
        switch (key) {
          case 'name': return img.name ?? '';
          case 'disk_format': return img.diskFormat ?? '';
          case 'container_format': return img.containerFormat ?? '';
          case 'size': return img.size ?? -1;
          case 'created_at': return img.createdAt.getTime();
          case 'updated_at': return img.updatedAt.getTime();
          case 'min_disk': return img.minDisk;
          case 'min_ram': return img.minRam;
          default: return img[key];
        }
      };
      /** What the order must be: NULLs as the smallest value, then the id in the last key's direction. */
      const expected = (sort: SortSpec[]): string[] => {
        const keys = sort.some((s) => s.key === 'id') ? sort : [...sort, { key: 'id' as const, dir: sort.at(-1)!.dir }];
        const cmp = (a: Image, b: Image): number => {
          for (const { key, dir } of keys) {
            const x = sortValue(a, key);
            const y = sortValue(b, key);
            if (x === y) continue;
            return (x < y ? -1 : 1) * (dir === 'asc' ? 1 : -1);
          }
          return 0;
        };
        return [...images].sort(cmp).map((i) => i.id);
      };
      const combos: SortSpec[][] = [
        [{ key: 'created_at', dir: 'desc' }],
        [{ key: 'name', dir: 'asc' }, { key: 'created_at', dir: 'asc' }],
        [{ key: 'name', dir: 'desc' }, { key: 'size', dir: 'asc' }, { key: 'created_at', dir: 'desc' }],
        [{ key: 'disk_format', dir: 'asc' }, { key: 'container_format', dir: 'desc' }, { key: 'id', dir: 'asc' }],
        [{ key: 'status', dir: 'asc' }, { key: 'updated_at', dir: 'desc' }, { key: 'created_at', dir: 'desc' }],
        [{ key: 'size', dir: 'desc' }],
        [{ key: 'visibility', dir: 'asc' }, { key: 'min_disk', dir: 'desc' }, { key: 'min_ram', dir: 'asc' }],
        [{ key: 'id', dir: 'desc' }, { key: 'name', dir: 'asc' }],
      ];
      const page = (sort: SortSpec[], limit: number, marker?: Image) =>
        listImages(db, query({ projectId: 'p-page', visibility: 'all', filters: { tags }, sort, limit, ...(marker ? { marker } : {}) }));
      for (const sort of combos) {
        const what = sort.map((s) => `${s.key}:${s.dir}`).join(',');
        const whole = (await page(sort, 1000)).map((i) => i.id);
        assert.deepEqual(whole, expected(sort), `one page, ${what}`);
        for (const limit of [1, 7, 49, 50]) {
          if (limit === 1 && sort.length > 2) continue; // enough single steps from the shorter combos
          const walked: string[] = [];
          let marker: Image | undefined;
          for (let n = 0; n < 60; n++) {
            const got = await page(sort, limit, marker);
            assert.ok(got.length <= limit);
            walked.push(...got.map((i) => i.id));
            if (got.length < limit) break;
            marker = got.at(-1);
          }
          assert.equal(new Set(walked).size, walked.length, `no image twice, ${what} by ${limit}`);
          assert.deepEqual(walked, whole, `pages of ${limit}, ${what}`);
        }
      }
    });

    test('upload compare-and-set: of concurrent holds exactly one wins; the lease guards the commit', async () => {
      const db = database.db;
      const img = image({ tags: ['cas'], owner: 'p-cas' });
      await insertImage(db, img);
      const holders = Array.from({ length: 6 }, (_, i) => `upload-${i}`);
      const results = await Promise.all(
        holders.map((uploadId) =>
          database.db.transaction().execute((trx) => updateImageRow(trx, img.id, { status: 'saving', upload_id: uploadId, upload_owner: 'me', upload_lease_until: 5 }, { fromStatus: 'queued' })),
        ),
      );
      assert.deepEqual([...results].sort(), [0, 0, 0, 0, 0, 1]);
      const winner = holders[results.indexOf(1)]!;
      const held = (await selectImage(db, img.id))!;
      assert.equal(held.status, 'saving');
      assert.equal(held.uploadId, winner);
      assert.equal(held.uploadLeaseUntil, 5);

      // a loser cannot commit, nor can a commit from the wrong status
      const loser = holders.find((h) => h !== winner)!;
      const commit = { status: 'active', size: 3, upload_id: null, upload_owner: null, upload_lease_until: null } as const;
      assert.equal(await updateImageRow(db, img.id, commit, { fromStatus: 'saving', uploadId: loser }), 0);
      assert.equal(await updateImageRow(db, img.id, commit, { fromStatus: ['queued', 'importing'], uploadId: winner }), 0);
      assert.equal((await selectImage(db, img.id))!.status, 'saving');
      assert.equal(await updateImageRow(db, img.id, commit, { fromStatus: ['uploading', 'saving'], uploadId: winner }), 1);
      const done = (await selectImage(db, img.id))!;
      assert.deepEqual([done.status, done.size, done.uploadId], ['active', 3, null]);
      // the winner's second commit finds the hold gone
      assert.equal(await updateImageRow(db, img.id, commit, { fromStatus: 'saving', uploadId: winner }), 0);
      // unguarded updates of an unknown or deleted image change nothing
      assert.equal(await updateImageRow(db, randomUUID(), { name: 'x' }), 0);
      assert.equal(await softDeleteImage(db, img.id, 9), 1);
      assert.equal(await updateImageRow(db, img.id, { name: 'x' }), 0);
    });

    test('stale holds: lapsed leases, and with an owner given, every hold of another process', async () => {
      const db = database.db;
      const hold = async (owner: string, until: number) => {
        const img = image({ tags: ['hold'], owner: 'p-hold', status: 'saving', uploadId: randomUUID(), uploadOwner: owner, uploadLeaseUntil: until });
        await insertImage(db, img);
        return img.id;
      };
      const lapsedMine = await hold('me', 999);
      const liveMine = await hold('me', 2_000);
      const liveOther = await hold('dead-process', 2_000);
      const lapsedOther = await hold('dead-process', 500);
      await insertImage(db, image({ tags: ['hold'], owner: 'p-hold', status: 'active' }));
      const deleted = await hold('dead-process', 1);
      await softDeleteImage(db, deleted, 1);
      const stale = async (notOwner?: string) => (await selectStaleHolds(db, 1_000, notOwner)).filter((r) => r.owner === 'p-hold').map((r) => r.id).sort();
      assert.deepEqual(await stale(), [lapsedMine, lapsedOther].sort());
      assert.deepEqual(await stale('me'), [lapsedMine, liveOther, lapsedOther].sort());
      assert.ok(!(await stale('someone-else')).includes(deleted));
      assert.ok((await stale('someone-else')).includes(liveMine));
    });

    test('soft delete keeps the row and the id, marks the data for deletion, drops the members', async () => {
      const db = database.db;
      const img = image({ tags: ['del', 'x'], owner: 'p-del', visibility: 'shared', status: 'active', size: 10, properties: { k: 'v' }, uploadId: 'u', uploadOwner: 'o', uploadLeaseUntil: 7 });
      const other = image({ tags: ['del'], owner: 'p-del', status: 'active' });
      await insertImage(db, img);
      await insertImage(db, other);
      await insertLocation(db, img.id, { id: randomUUID(), store: 'file1', url: 'file:///a', metadata: { n: 1 }, status: 'active' }, 1);
      await insertLocation(db, img.id, { id: randomUUID(), store: 'file2', url: 'file:///b', metadata: {}, status: 'active' }, 2);
      const otherLoc = randomUUID();
      await insertLocation(db, other.id, { id: otherLoc, store: 'file1', url: 'file:///c', metadata: {}, status: 'active' }, 3);
      for (const m of ['p-m1', 'p-m2']) await insertMember(db, { imageId: img.id, memberId: m, status: 'accepted', createdAt: new Date(1), updatedAt: new Date(1) });
      const before = (await selectImage(db, img.id))!;
      assert.deepEqual(before.locations.map((l) => [l.store, l.url, l.metadata]), [['file1', 'file:///a', { n: 1 }], ['file2', 'file:///b', {}]]);

      assert.equal(await softDeleteImage(db, img.id, 4_000), 1);
      assert.equal(await selectImage(db, img.id), undefined);
      const row = (await selectImageRowAnyState(db, img.id))!;
      assert.deepEqual([Number(row.deleted), Number(row.deleted_at), row.status, Number(row.updated_at), row.upload_id, row.upload_owner, row.upload_lease_until], [1, 4_000, 'deleted', 4_000, null, null, null]);
      assert.equal(await imageIdExists(db, img.id), true);
      assert.deepEqual(await selectMembers(db, img.id), []);
      const pending = await selectPendingDeletes(db, 100);
      assert.deepEqual(pending.filter((p) => p.imageId === img.id).map((p) => p.url).sort(), ['file:///a', 'file:///b']);
      assert.ok(!pending.some((p) => p.id === otherLoc), "another image's data stays");
      assert.equal((await selectImage(db, other.id))!.locations.length, 1);
      // not listed, even for admin asking for everything, nor by id
      const listed = await listImages(db, query({ projectId: 'p-del', isAdmin: true, visibility: 'all', filters: { tags: ['del'] } }));
      assert.deepEqual(listed.map((i) => i.id), [other.id]);
      assert.deepEqual(await listImages(db, query({ projectId: 'p-del', isAdmin: true, visibility: 'all', filters: { id: [img.id] } })), []);
      // twice: nothing left to delete; the id cannot be taken again
      assert.equal(await softDeleteImage(db, img.id, 5_000), 0);
      assert.equal(Number((await selectImageRowAnyState(db, img.id))!.deleted_at), 4_000);
      await assert.rejects(insertImage(db, image({ id: img.id, tags: [] })), (e) => isUniqueViolation(e));
    });

    test('usage: active bytes, staged bytes, images and holds of one owner, deleted ones excluded', async () => {
      const db = database.db;
      const owner = 'p-usage';
      await insertImage(db, image({ tags: [], owner, status: 'active', size: 10 * GiB + 1 }));
      await insertImage(db, image({ tags: [], owner, status: 'active', size: 100 }));
      await insertImage(db, image({ tags: [], owner, status: 'uploading', uploadId: 'u1', uploadOwner: 'me', uploadLeaseUntil: 9, stagingSize: 4 * GiB }));
      await insertImage(db, image({ tags: [], owner, status: 'queued', stagingLocation: 'file:///s', stagingSize: 50 }));
      await insertImage(db, image({ tags: [], owner, status: 'saving', uploadId: 'u2', uploadOwner: 'me', uploadLeaseUntil: 9 }));
      const deleted = image({ tags: [], owner, status: 'active', size: 1000, stagingSize: 1000, uploadId: 'u3' });
      await insertImage(db, deleted);
      await softDeleteImage(db, deleted.id, 1);
      await insertImage(db, image({ tags: [], owner: 'p-usage-other', status: 'active', size: 77, uploadId: 'u4' }));
      assert.deepEqual(await usageOf(db, owner), { sizeTotal: 10 * GiB + 101, stageTotal: 4 * GiB + 50, countTotal: 5, countUploading: 2 });
      assert.deepEqual(await usageOf(db, 'p-usage-nobody'), { sizeTotal: 0, stageTotal: 0, countTotal: 0, countUploading: 0 });
    });
  });
}
