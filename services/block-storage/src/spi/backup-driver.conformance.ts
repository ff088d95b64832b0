// The backup driver conformance suite: node:test cases every BackupDriver's test runs.
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BackupDriverError, type BackupDriver } from './backup-driver.js';

/** One driver made for one test; every call to `make` must give a driver of its own storage. */
export interface BackupDriverHarness {
  /** The driver under test, not yet opened. */
  driver: BackupDriver;
  /** Removes the driver's storage. */
  cleanup(): Promise<void>;
  /**
   * Starts `driver.backup(backupId, sourceFile, sizeGb)` in another process on the same storage
   * (the suite kills it with SIGKILL halfway). A harness without it skips the killed-run case.
   */
  spawnBackup?(backupId: string, sourceFile: string, sizeGb: number): ChildProcess;
  /** Changes one stored byte of a committed backup (the corruption case needs it). */
  corrupt?(backupId: string): Promise<void>;
  /** Anything in the storage that is not a committed backup (what killed runs left). */
  strays?(): Promise<string[]>;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const newId = (): string => randomUUID();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rejectsWith(p: Promise<unknown>, code: BackupDriverError['code']): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BackupDriverError, `expected a BackupDriverError, got ${String(err)}`);
    assert.equal(err.code, code, `BackupDriverError code (message: ${err.message})`);
    return true;
  });
}

/** A sparse raw image of sizeBytes with `parts` written at their offsets. */
async function rawImage(path: string, sizeBytes: number, parts: [number, Buffer][]): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.truncate(sizeBytes);
    for (const [offset, data] of parts) await file.write(data, 0, data.length, offset);
  } finally {
    await file.close();
  }
}

async function headOf(path: string, bytes: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await file.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Whether two files have the same size and the same bytes in these [offset, length] ranges (cheap checks of 1 GiB images). */
async function sameAt(a: string, b: string, ranges: [number, number][]): Promise<boolean> {
  const [fa, fb] = [await open(a, 'r'), await open(b, 'r')];
  try {
    if ((await fa.stat()).size !== (await fb.stat()).size) return false;
    for (const [offset, length] of ranges) {
      const [x, y] = [Buffer.alloc(length), Buffer.alloc(length)];
      await fa.read(x, 0, length, offset);
      await fb.read(y, 0, length, offset);
      if (!x.equals(y)) return false;
    }
    return true;
  } finally {
    await fa.close();
    await fb.close();
  }
}

/** Whether two files hold the same bytes (read in pieces: the images are 1 GiB). */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const [fa, fb] = [await open(a, 'r'), await open(b, 'r')];
  try {
    if ((await fa.stat()).size !== (await fb.stat()).size) return false;
    const [x, y] = [Buffer.alloc(16 * MiB), Buffer.alloc(16 * MiB)];
    for (;;) {
      const [ra, rb] = [await fa.read(x, 0, x.length, null), await fb.read(y, 0, y.length, null)];
      if (ra.bytesRead !== rb.bytesRead || !x.subarray(0, ra.bytesRead).equals(y.subarray(0, rb.bytesRead))) return false;
      if (ra.bytesRead === 0) return true;
    }
  } finally {
    await fa.close();
    await fb.close();
  }
}

function mkfifoMissing(): string | undefined {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'mkfifo is absent (coreutils)';
  }
}

export function runBackupDriverConformance(name: string, make: () => Promise<BackupDriverHarness>): void {
  const opts = { timeout: 60_000 };

  interface Ctx {
    driver: BackupDriver;
    harness: BackupDriverHarness;
    scratch: string;
  }

  async function withDriver(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
    const harness = await make();
    const scratch = await mkdtemp(join(tmpdir(), 'alto-backup-conformance-'));
    try {
      await harness.driver.open();
      await fn({ driver: harness.driver, harness, scratch });
    } finally {
      await rm(scratch, { recursive: true, force: true });
      await harness.cleanup();
    }
  }

  describe(`backup driver conformance: ${name}`, () => {
    it('backs up and restores a raw image byte for byte, idempotently', opts, () =>
      withDriver(async ({ driver, scratch }) => {
        const id = newId();
        const src = join(scratch, 'src.raw');
        await rawImage(src, GiB, [[0, randomBytes(MiB + 7)], [300 * MiB + 11, randomBytes(3 * MiB)], [GiB - 4096, randomBytes(4096)]]);
        assert.equal(await driver.exists(id), false);
        const first = await driver.backup(id, src, 1);
        assert.ok(Number.isInteger(first.objectCount) && first.objectCount > 0, `objectCount ${first.objectCount}`);
        assert.equal(await driver.exists(id), true);
        // again: success with the same count, the stored backup untouched by another source
        const other = join(scratch, 'other.raw');
        await rawImage(other, GiB, [[0, Buffer.alloc(MiB, 0x33)]]);
        assert.deepEqual(await driver.backup(id, other, 1), first);
        const dest = join(scratch, 'dest.raw');
        await writeFile(dest, Buffer.alloc(2 * MiB, 0x44));
        await driver.restore(id, dest);
        assert.ok(await sameAt(src, dest, [[0, 4 * MiB], [300 * MiB, 4 * MiB], [GiB - 4 * MiB, 4 * MiB]]), 'restored over an existing file: the backup’s bytes only');
        await writeFile(dest, Buffer.alloc(MiB, 0x55));
        await driver.restore(id, dest);
        assert.ok((await headOf(dest, 2 * MiB)).equals(await headOf(src, 2 * MiB)), 'restored again, over other bytes');
        assert.equal(await driver.exists(id), true, 'restoring keeps the backup');
      }),
    );

    it('restores exactly what was backed up, including where the source was sparse', opts, () =>
      withDriver(async ({ driver, scratch }) => {
        const id = newId();
        const src = join(scratch, 'src.raw');
        await rawImage(src, GiB, [[5 * MiB, randomBytes(MiB)], [700 * MiB + 1, randomBytes(123)]]);
        await driver.backup(id, src, 1);
        const dest = join(scratch, 'dest.raw');
        await driver.restore(id, dest);
        assert.ok(await sameBytes(src, dest), 'restored bytes equal the source');
        // a source shorter than the volume reads as zeros past its end
        const short = join(scratch, 'short.raw');
        const shortId = newId();
        const data = randomBytes(MiB + 1);
        await writeFile(short, data);
        await driver.backup(shortId, short, 1);
        await driver.restore(shortId, dest);
        const padded = join(scratch, 'padded.raw');
        await rawImage(padded, GiB, [[0, data]]);
        assert.ok(await sameAt(padded, dest, [[0, 4 * MiB], [GiB - 4 * MiB, 4 * MiB]]), 'the short source, then zeros');
      }),
    );

    it('keeps the volume metadata given with a backup and answers it on restore', opts, () =>
      withDriver(async ({ driver, scratch }) => {
        const [withMeta, without] = [newId(), newId()];
        const src = join(scratch, 'src.raw');
        await rawImage(src, GiB, [[0, randomBytes(4096)]]);
        const volumeMeta = { name: 'vol', metadata: { k: 'v' }, imageMetadata: { image_id: 'i' }, bootable: true };
        await driver.backup(withMeta, src, 1, volumeMeta);
        await driver.backup(without, src, 1);
        const dest = join(scratch, 'dest.raw');
        assert.deepEqual(await driver.restore(withMeta, dest), { volumeMeta });
        assert.deepEqual(await driver.restore(without, dest), { volumeMeta: {} });
      }),
    );

    it('deletes idempotently; absent backups are not found; backups are independent', opts, () =>
      withDriver(async ({ driver, scratch, harness }) => {
        const [a, b] = [newId(), newId()];
        const src = join(scratch, 'src.raw');
        await rawImage(src, GiB, [[0, randomBytes(MiB)]]);
        await driver.delete(a);
        await driver.backup(a, src, 1);
        await driver.backup(b, src, 1);
        await driver.delete(a);
        await driver.delete(a);
        assert.equal(await driver.exists(a), false);
        assert.equal(await driver.exists(b), true);
        await rejectsWith(driver.restore(a, join(scratch, 'x.raw')), 'not_found');
        const dest = join(scratch, 'b.raw');
        await driver.restore(b, dest);
        assert.ok(await sameAt(src, dest, [[0, 2 * MiB]]));
        await driver.delete(b);
        if (harness.strays) assert.deepEqual(await harness.strays(), [], 'nothing left behind');
      }),
    );

    it('rejects bad ids, sizes and sources', opts, () =>
      withDriver(async ({ driver, scratch }) => {
        const src = join(scratch, 'src.raw');
        await rawImage(src, 2 * GiB, []);
        for (const bad of ['', '../x', 'a/b', 'a b', '.', 'x\n']) {
          await rejectsWith(driver.backup(bad, src, 2), 'invalid');
          await rejectsWith(driver.restore(bad, join(scratch, 'x')), 'invalid');
          await rejectsWith(driver.delete(bad), 'invalid');
          await rejectsWith(driver.exists(bad), 'invalid');
        }
        const id = newId();
        await rejectsWith(driver.backup(id, src, 0), 'invalid');
        await rejectsWith(driver.backup(id, src, 1), 'invalid');
        await rejectsWith(driver.backup(id, join(scratch, 'absent.raw'), 1), 'not_found');
        assert.equal(await driver.exists(id), false, 'failed backups leave no backup');
      }),
    );

    it('refuses to restore a corrupted backup and leaves the destination as it was', opts, async (t) => {
      const probe = await make();
      const canCorrupt = !!probe.corrupt;
      await probe.cleanup();
      if (!canCorrupt) return t.skip('the harness cannot corrupt a backup');
      await withDriver(async ({ driver, scratch, harness: h }) => {
        const id = newId();
        const src = join(scratch, 'src.raw');
        await rawImage(src, GiB, [[0, randomBytes(2 * MiB)]]);
        await driver.backup(id, src, 1);
        await h.corrupt!(id);
        const dest = join(scratch, 'dest.raw');
        await writeFile(dest, 'before');
        await rejectsWith(driver.restore(id, dest), 'corrupt');
        assert.equal(await readFile(dest, 'utf8'), 'before');
      });
    });

    it('a backup killed halfway does not exist, and the retry replaces what it left', { ...opts, skip: mkfifoMissing() }, async (t) => {
      const probe = await make();
      const canSpawn = !!probe.spawnBackup;
      await probe.cleanup();
      if (!canSpawn) return t.skip('the harness cannot run a backup in another process');
      await withDriver(async ({ driver, scratch, harness }) => {
        const id = newId();
        // the source is a pipe the test feeds: the backup stalls halfway, where it is killed
        const fifo = join(scratch, 'source.fifo');
        execFileSync('mkfifo', [fifo]);
        const child = harness.spawnBackup!(id, fifo, 1);
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        const feed = createWriteStream(fifo);
        feed.on('error', () => undefined);
        const sent = randomBytes(8 * MiB);
        await new Promise<void>((r) => feed.write(sent, () => r()));
        // the pipe took the bytes: the child has read (and is storing) most of them
        await sleep(300);
        child.kill('SIGKILL');
        await exited;
        feed.destroy();
        assert.equal(await driver.exists(id), false, 'a killed backup is not reported as existing');
        await rejectsWith(driver.restore(id, join(scratch, 'x.raw')), 'not_found');

        const src = join(scratch, 'src.raw');
        await rawImage(src, GiB, [[0, randomBytes(3 * MiB)]]);
        await driver.backup(id, src, 1);
        assert.equal(await driver.exists(id), true);
        const dest = join(scratch, 'dest.raw');
        await driver.restore(id, dest);
        assert.ok(await sameAt(src, dest, [[0, 16 * MiB]]), 'the retry’s bytes, nothing of the killed run');
        if (harness.strays) assert.deepEqual(await harness.strays(), [], 'the killed run’s leftovers are gone');
        await driver.delete(id);
      });
    });
  });
}
