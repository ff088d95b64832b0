// Tests for the key repository: Keystone's layout and rotation, loading errors and warnings, the cached reader, and Keystone itself on the same files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock } from '@alto/kernel';
import { generateFernetKey } from './fernet.js';
import {
  KeyRepositoryError,
  KeyRepositoryReader,
  loadKeyRepository,
  rotateKeyRepository,
  setupKeyRepository,
} from './key-repository.js';
import { copyFixtureKeys, fixtureKey, keystoneUnavailable, python } from './test-support.js';

const unavailable = keystoneUnavailable();

function scratch(): string {
  return join(mkdtempSync(join(tmpdir(), 'alto-keys-')), 'fernet-keys');
}

function ids(path: string): number[] {
  return readdirSync(path)
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

const read = (path: string, id: number) => readFileSync(join(path, String(id)), 'utf8');
const problem = (p: string) => (e: unknown) => e instanceof KeyRepositoryError && e.problem === p && e.code === `identity.key_repository_${p}`;

test('setup makes a 0700 directory with 0600 staged (0) and primary (1) keys, once', async () => {
  const path = scratch();
  const first = await setupKeyRepository(path);
  assert.deepEqual(first, { created: true, keyIds: [1, 0] });
  assert.equal(statSync(path).mode & 0o777, 0o700);
  assert.deepEqual(ids(path), [0, 1]);
  for (const id of [0, 1]) {
    assert.equal(statSync(join(path, String(id))).mode & 0o777, 0o600);
    assert.match(read(path, id), /^[A-Za-z0-9_-]{43}=$/); // no newline, as Keystone writes it
  }
  assert.notEqual(read(path, 0), read(path, 1));
  const before = [read(path, 0), read(path, 1)];
  assert.deepEqual(await setupKeyRepository(path), { created: false, keyIds: [1, 0] });
  assert.deepEqual([read(path, 0), read(path, 1)], before);
});

test('rotate promotes the staged key, stages a new one and keeps max_active_keys', async () => {
  const path = scratch();
  await setupKeyRepository(path);
  let staged = read(path, 0);
  const expected = [
    [0, 1, 2],
    [0, 2, 3],
    [0, 3, 4],
  ];
  for (const [i, want] of expected.entries()) {
    const r = await rotateKeyRepository(path, 3);
    assert.deepEqual(ids(path), want);
    assert.equal(r.promoted, i + 2);
    assert.equal(read(path, r.promoted), staged, 'the promoted key is the old staged key');
    assert.notEqual(read(path, 0), staged, 'a new staged key');
    assert.deepEqual(r.purged, i === 0 ? [] : [i]);
    assert.deepEqual(r.keyIds, [...want].sort((a, b) => b - a));
    staged = read(path, 0);
  }
  const more = await rotateKeyRepository(path, 5);
  assert.deepEqual(more.keyIds, [5, 4, 3, 0]);
  const fewer = await rotateKeyRepository(path, 2);
  assert.deepEqual(fewer, { promoted: 6, purged: [3, 4, 5], keyIds: [6, 0] });
  // max_active_keys = 1 (Keystone's minimum) leaves only the staged key, as Keystone does
  const one = await rotateKeyRepository(path, 1);
  assert.deepEqual(one, { promoted: 7, purged: [6, 7], keyIds: [0] });
  assert.deepEqual(ids(path), [0]);
  assert.equal(statSync(join(path, '0')).mode & 0o777, 0o600);
});

test('load orders keys as Keystone does: primary first, staged last', async () => {
  const path = copyFixtureKeys();
  const loaded = await loadKeyRepository(path);
  assert.deepEqual(
    loaded.keys.map((k) => k.id),
    [3, 2, 1, 0],
  );
  assert.deepEqual(
    loaded.keys.map((k) => k.key.encoded),
    ['3', '2', '1', '0'].map(fixtureKey),
  );
  assert.deepEqual(loaded.warnings, []);
});

test('load says what is wrong: missing, empty, bad key file, duplicate ids', async () => {
  const path = scratch();
  await assert.rejects(loadKeyRepository(path), problem('missing'));
  mkdirSync(path, { mode: 0o700 });
  await assert.rejects(loadKeyRepository(path), problem('empty'));
  writeFileSync(join(path, 'README'), 'not a key');
  writeFileSync(join(path, '0.tmp'), 'half a k');
  mkdirSync(join(path, '7'));
  await assert.rejects(loadKeyRepository(path), problem('empty'));
  writeFileSync(join(path, '1'), 'not-a-fernet-key', { mode: 0o600 });
  await assert.rejects(loadKeyRepository(path), (e: unknown) => problem('bad_key')(e) && e instanceof Error && e.message.includes(join(path, '1')));
  writeFileSync(join(path, '1'), `${generateFernetKey()}\n`, { mode: 0o600 });
  writeFileSync(join(path, '01'), generateFernetKey(), { mode: 0o600 });
  await assert.rejects(loadKeyRepository(path), problem('duplicate_key'));
  rmSync(join(path, '01'));
  const ok = await loadKeyRepository(path);
  assert.deepEqual(
    ok.keys.map((k) => k.id),
    [1],
  );
  const notDir = join(path, '1');
  await assert.rejects(loadKeyRepository(notDir), problem('missing'));
});

test('load skips empty key files and warns about world-readable files, as Keystone warns', async () => {
  const path = scratch();
  await setupKeyRepository(path);
  writeFileSync(join(path, '2'), '', { mode: 0o600 });
  chmodSync(path, 0o755);
  chmodSync(join(path, '1'), 0o644);
  const loaded = await loadKeyRepository(path);
  assert.deepEqual(
    loaded.keys.map((k) => k.id),
    [1, 0],
  );
  assert.equal(loaded.warnings.length, 3);
  assert.ok(loaded.warnings.some((w) => w === `key_repository is world readable: ${path}`));
  assert.ok(loaded.warnings.some((w) => w.includes('Ignoring empty key') && w.includes(join(path, '2'))));
  assert.ok(loaded.warnings.some((w) => w.includes(join(path, '1')) && w.includes('644')));
});

test('a crash mid-rotation leaves a loadable repository; the next rotation cleans up', async () => {
  const path = scratch();
  await setupKeyRepository(path);
  const before = await loadKeyRepository(path);
  // what a crash right after writing the temp files would leave behind
  writeFileSync(join(path, '0.tmp'), 'truncat', { mode: 0o644 });
  writeFileSync(join(path, '2.tmp'), '', { mode: 0o644 });
  const after = await loadKeyRepository(path);
  assert.deepEqual(
    after.keys.map((k) => k.key.encoded),
    before.keys.map((k) => k.key.encoded),
  );
  await rotateKeyRepository(path, 3);
  assert.deepEqual(ids(path), [0, 1, 2]);
  assert.equal(statSync(join(path, '0')).mode & 0o777, 0o600);
  assert.ok(!readdirSync(path).includes('0.tmp'));
  await loadKeyRepository(path);
});

test('rotate refuses what it cannot do, before touching anything', async () => {
  const path = scratch();
  await assert.rejects(rotateKeyRepository(path, 3), problem('missing'));
  mkdirSync(path, { mode: 0o700 });
  await assert.rejects(rotateKeyRepository(path, 3), problem('empty'));
  writeFileSync(join(path, '1'), generateFernetKey(), { mode: 0o600 });
  await assert.rejects(rotateKeyRepository(path, 3), problem('no_staged_key'));
  writeFileSync(join(path, '0'), 'garbage', { mode: 0o600 });
  await assert.rejects(rotateKeyRepository(path, 3), problem('bad_key'));
  assert.deepEqual(readdirSync(path).sort(), ['0', '1']);
  await assert.rejects(rotateKeyRepository(path, 0), problem('bad_option'));
  await assert.rejects(setupKeyRepository(path, { maxActiveKeys: 1.5 }), problem('bad_option'));
  // setup repairs a repository that lost its staged key, as keystone-manage fernet_setup would
  rmSync(join(path, '0'));
  assert.deepEqual((await setupKeyRepository(path)).keyIds, [2, 1, 0]);
});

test('Kubernetes Secret volumes (symlinked ..data) load, and a Secret update is noticed', async () => {
  const root = scratch();
  mkdirSync(root, { mode: 0o700 });
  const gen = (name: string) => {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const id of ['0', '1']) writeFileSync(join(dir, id), generateFernetKey(), { mode: 0o400 });
    return dir;
  };
  gen('..2026_01_01_00_00_00.1');
  symlinkSync('..2026_01_01_00_00_00.1', join(root, '..data'));
  for (const id of ['0', '1']) symlinkSync(join('..data', id), join(root, id));
  const clock = manualClock();
  const reader = new KeyRepositoryReader({ path: root, clock });
  const first = await reader.keys();
  assert.equal(first.length, 2);
  assert.equal(first[0]?.encoded, readFileSync(join(root, '1'), 'utf8'));

  // the kubelet writes a new timestamped directory and swaps ..data atomically
  gen('..2026_02_01_00_00_00.2');
  symlinkSync('..2026_02_01_00_00_00.2', join(root, '..data_tmp'));
  renameSync(join(root, '..data_tmp'), join(root, '..data'));
  assert.equal(await reader.keys(), first, 'cached until the refresh interval');
  clock.advance(5000);
  const second = await reader.keys();
  assert.notEqual(second[0]?.encoded, first[0]?.encoded);
  assert.equal(second[0]?.encoded, readFileSync(join(root, '1'), 'utf8'));
});

test('the reader re-reads at most every refresh interval, and after a miss at most once per miss interval', async () => {
  const path = scratch();
  await setupKeyRepository(path);
  const clock = manualClock();
  const reader = new KeyRepositoryReader({ path, clock, refreshIntervalMs: 10_000, missRefreshIntervalMs: 2000 });
  const a = await reader.keys();
  await rotateKeyRepository(path, 3);
  clock.advance(1000);
  assert.equal(await reader.keys(), a);
  assert.equal(await reader.keysAfterMiss(), undefined, 'too soon after the last read');
  clock.advance(1000);
  const b = await reader.keysAfterMiss();
  assert.ok(b);
  assert.equal(b.length, 3);
  assert.equal(b[1]?.encoded, a[0]?.encoded, 'the old primary is now a secondary');
  clock.advance(2000);
  assert.equal(await reader.keysAfterMiss(), undefined, 'nothing changed on disk');
  assert.equal(await reader.keys(), b);
});

test('concurrent callers share one read', async () => {
  const path = scratch();
  await setupKeyRepository(path);
  const reader = new KeyRepositoryReader({ path, clock: manualClock() });
  const all = await Promise.all([reader.keys(), reader.keys(), reader.keys()]);
  assert.equal(all[0], all[1]);
  assert.equal(all[1], all[2]);
});

test('a failed re-read keeps the old keys and is reported; warnings are reported once', async () => {
  const path = scratch();
  await setupKeyRepository(path);
  chmodSync(join(path, '1'), 0o604);
  const clock = manualClock();
  const warnings: string[] = [];
  const errors: KeyRepositoryError[] = [];
  const reader = new KeyRepositoryReader({ path, clock, onWarning: (w) => warnings.push(w), onReloadError: (e) => errors.push(e) });
  const good = await reader.keys();
  clock.advance(6000);
  await reader.keys();
  assert.equal(warnings.length, 1, 'the same warning is not repeated on every read');
  writeFileSync(join(path, '0'), 'broken by hand', { mode: 0o600 });
  clock.advance(6000);
  assert.equal(await reader.keys(), good);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]?.problem, 'bad_key');
  // without an earlier good read there is nothing to fall back on
  await assert.rejects(new KeyRepositoryReader({ path, clock }).keys(), problem('bad_key'));
});

test('live: Keystone loads a repository we set up and rotated, in the same order', { skip: unavailable }, async () => {
  const path = scratch();
  await setupKeyRepository(path);
  await rotateKeyRepository(path, 3);
  await rotateKeyRepository(path, 3);
  const ours = (await loadKeyRepository(path)).keys.map((k) => k.key.encoded);
  const theirs = python<string[]>('repo-load', null, ['--keys', path]);
  assert.deepEqual(theirs, ours);
  assert.equal(ours.length, 3);
});

test('live: Keystone’s rotate_keys and ours leave the same keys, rotation after rotation', { skip: unavailable }, async () => {
  const start = scratch();
  await setupKeyRepository(start);
  const ks = join(start, '..', 'keystone');
  const us = join(start, '..', 'ours');
  cpSync(start, ks, { recursive: true });
  cpSync(start, us, { recursive: true });
  const maxes = [3, 3, 4, 5, 5, 2, 3, 1, 2, 3];
  const steps = python<{ ids: number[]; keys: Record<string, string> }[]>('repo-rotate', maxes, ['--keys', ks]);
  assert.equal(steps.length, maxes.length);
  for (const [i, max] of maxes.entries()) {
    const theirs = steps[i]!;
    const stagedBefore = read(us, 0);
    const ours = await rotateKeyRepository(us, max);
    assert.deepEqual(ids(us), theirs.ids, `step ${i}, max_active_keys=${max}`);
    assert.deepEqual([...ours.keyIds].sort((a, b) => a - b), theirs.ids);
    // the same staged key was promoted and the same old keys kept; only the new staged keys differ (random)
    for (const id of theirs.ids) if (id !== 0) assert.equal(read(us, id), theirs.keys[String(id)], `step ${i}, key ${id}`);
    if (theirs.ids.includes(ours.promoted)) assert.equal(read(us, ours.promoted), stagedBefore);
    // keep the two in step for the next rotation: Keystone's new staged key becomes ours too
    writeFileSync(join(us, '0'), theirs.keys['0'] ?? '', { mode: 0o600 });
  }
  // and Keystone reads the repository we rotated, in our order
  assert.deepEqual(
    python<string[]>('repo-load', null, ['--keys', us]),
    (await loadKeyRepository(us)).keys.map((k) => k.key.encoded),
  );
});
