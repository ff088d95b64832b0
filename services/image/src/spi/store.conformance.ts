// The image store conformance suite: node:test cases every ImageStoreDriver's test runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { StoreError, type ImageStoreDriver, type PartialWrite, type StoredData } from './store.js';

/** One backend made for one test; every call to `make` must give a backend of its own (own directory, bucket, prefix). */
export interface StoreHarness {
  /** The driver under test, not yet opened. */
  driver: ImageStoreDriver;
  /** Removes the backend and everything in it. */
  cleanup(): Promise<void>;
  /**
   * How another process builds a driver on the same backend: `new (await import(module))[exportName](options)`.
   * The kill -9 case needs it; a driver whose data dies with its process (in memory) leaves it out.
   */
  spawn?: { module: string; exportName: string; options: unknown };
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** A fresh image id of the shape Glance uses. */
const newId = (): string => randomUUID();

async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += size) yield data.subarray(at, Math.min(at + size, data.byteLength));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Uint8Array));
  return Buffer.concat(parts);
}

async function listPartials(driver: ImageStoreDriver): Promise<PartialWrite[]> {
  const out: PartialWrite[] = [];
  for await (const p of driver.partials()) out.push(p);
  return out;
}

const hasPartial = (list: PartialWrite[], imageId: string, uploadId: string): boolean => list.some((p) => p.imageId === imageId && p.uploadId === uploadId);

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects with a StoreError of this code (and says what it got otherwise). */
async function rejectsWith(p: Promise<unknown>, code: StoreError['code']): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code, `StoreError code (message: ${err.message})`);
    return true;
  });
}

async function assertNoPartials(driver: ImageStoreDriver): Promise<void> {
  assert.deepEqual(await listPartials(driver), [], 'no partial data left behind');
}

/** The child side of the kill -9 case: writes through the driver, says "ready" once data went in, then stalls forever. */
const KILLED_WRITER = `
const [moduleUrl, exportName, options, imageId, uploadId, bytes] = JSON.parse(process.argv[1]);
const Driver = (await import(moduleUrl))[exportName];
const driver = new Driver(options);
await driver.open();
setInterval(() => {}, 60000);
async function* source() {
  for (let sent = 0; sent < bytes; sent += 65536) yield Buffer.alloc(65536, sent % 251);
  process.stdout.write('ready\\n');
  await new Promise(() => {});
}
await driver.write(imageId, uploadId, source());
process.stdout.write('finished\\n');
`;

export function runStoreConformance(name: string, make: () => Promise<StoreHarness>): void {
  async function withStore(fn: (driver: ImageStoreDriver, harness: StoreHarness) => Promise<void>): Promise<void> {
    const harness = await make();
    try {
      await harness.driver.open();
      await fn(harness.driver, harness);
    } finally {
      await harness.cleanup();
    }
  }

  // a driver that hangs fails its case instead of the whole run
  const opts = { timeout: 20_000 };

  describe(`image store conformance: ${name}`, () => {
    it('writes and reads back the exact bytes, in odd-sized chunks and from a Readable', opts, () =>
      withStore(async (driver) => {
        const data = randomBytes(3 * MiB + 17);
        const stored = await driver.write(newId(), newId(), chunked(data, 65_537));
        assert.equal(stored.size, data.byteLength);
        assert.ok(driver.owns(stored.location), `owns its own location ${stored.location}`);
        assert.equal(await driver.size(stored.location), data.byteLength);
        assert.ok((await readAll(await driver.read(stored.location))).equals(data), 'bytes read equal bytes written');

        const small = randomBytes(1000);
        const fromReadable = await driver.write(newId(), newId(), Readable.from(chunked(small, 1)));
        assert.equal(fromReadable.size, small.byteLength);
        assert.notEqual(fromReadable.location, stored.location);
        assert.ok((await readAll(await driver.read(fromReadable.location))).equals(small));
        await assertNoPartials(driver);
      }),
    );

    it('stores an empty image', opts, () =>
      withStore(async (driver) => {
        const stored = await driver.write(newId(), newId(), chunked(new Uint8Array(0), 1));
        assert.equal(stored.size, 0);
        assert.equal(await driver.size(stored.location), 0);
        assert.equal((await readAll(await driver.read(stored.location))).byteLength, 0);
        await assertNoPartials(driver);
      }),
    );

    it('reads byte ranges: first bytes, middle, last byte, whole', opts, () =>
      withStore(async (driver) => {
        const data = randomBytes(300 * KiB + 5);
        const { location } = await driver.write(newId(), newId(), chunked(data, 64 * KiB));
        const last = data.byteLength - 1;
        const ranges = [
          { start: 0, end: 0 },
          { start: 0, end: 9 },
          { start: 1000, end: 200 * KiB },
          { start: 64 * KiB - 1, end: 64 * KiB },
          { start: last, end: last },
          { start: 0, end: last },
        ];
        for (const range of ranges) {
          const got = await readAll(await driver.read(location, range));
          assert.ok(got.equals(data.subarray(range.start, range.end + 1)), `bytes ${range.start}-${range.end} (got ${got.byteLength} bytes)`);
        }
      }),
    );

    it('copyTo (when offered) hands over the exact bytes and ranges, and stops when the sink fails', opts, () =>
      withStore(async (driver) => {
        if (!driver.copyTo) return;
        const data = randomBytes(3 * 1024 * 1024 + 5);
        const { location } = await driver.write(newId(), newId(), chunked(data, 65537));
        const collect = async (range?: { start: number; end: number }) => {
          const parts: Buffer[] = [];
          // copy each chunk before resolving: the driver may reuse its buffer afterwards
          const n = await driver.copyTo!(location, { write: async (c) => void parts.push(Buffer.from(c)) }, range);
          return { n, bytes: Buffer.concat(parts) };
        };
        const whole = await collect();
        assert.equal(whole.n, data.length);
        assert.ok(whole.bytes.equals(data), 'copyTo bytes equal bytes written');
        for (const r of [{ start: 0, end: 0 }, { start: 5, end: 70000 }, { start: data.length - 1, end: data.length - 1 }]) {
          const got = await collect(r);
          assert.ok(got.bytes.equals(data.subarray(r.start, r.end + 1)), `range ${r.start}-${r.end}`);
        }
        let calls = 0;
        await assert.rejects(
          driver.copyTo(location, {
            write: async () => {
              if (++calls === 2) throw new Error('client went away');
            },
          }),
          /client went away/,
        );
        assert.ok(calls <= 3, 'copyTo stops soon after the sink fails');
        await driver.delete(location);
        await rejectsWith(driver.copyTo(location, { write: async () => undefined }), 'not_found');
      }),
    );

    it('fails with not_found on absent data, and deletes idempotently', opts, () =>
      withStore(async (driver) => {
        const { location } = await driver.write(newId(), newId(), chunked(randomBytes(10), 10));
        await driver.delete(location);
        await rejectsWith(driver.read(location), 'not_found');
        await rejectsWith(driver.read(location, { start: 0, end: 0 }), 'not_found');
        await rejectsWith(driver.size(location), 'not_found');
        await driver.delete(location);
      }),
    );

    it('a source that throws midway leaves nothing and rejects with backend; committed data survives', opts, () =>
      withStore(async (driver) => {
        const failing = async function* (): AsyncGenerator<Uint8Array> {
          yield randomBytes(64 * KiB);
          yield randomBytes(64 * KiB);
          throw new Error('client went away');
        };
        await rejectsWith(driver.write(newId(), newId(), failing()), 'backend');
        await assertNoPartials(driver);

        // a failed rewrite of an image does not touch the bytes already committed for it
        const imageId = newId();
        const before = randomBytes(100 * KiB);
        const { location } = await driver.write(imageId, newId(), chunked(before, 64 * KiB));
        await rejectsWith(driver.write(imageId, newId(), failing()), 'backend');
        await assertNoPartials(driver);
        assert.ok((await readAll(await driver.read(location))).equals(before));
      }),
    );

    it('an aborted write leaves nothing and rejects with aborted, even while the source stalls', opts, () =>
      withStore(async (driver) => {
        const ac = new AbortController();
        const stalled = deferred();
        const stalling = async function* (): AsyncGenerator<Uint8Array> {
          for (let i = 0; i < 8; i++) yield randomBytes(64 * KiB);
          stalled.resolve();
          await new Promise(() => {}); // a client that never sends the rest
        };
        const writing = driver.write(newId(), newId(), stalling(), { signal: ac.signal });
        await stalled.promise;
        ac.abort(new Error('client disconnected'));
        await rejectsWith(writing, 'aborted');
        await assertNoPartials(driver);

        const already = new AbortController();
        already.abort();
        await rejectsWith(driver.write(newId(), newId(), chunked(randomBytes(10), 10), { signal: already.signal }), 'aborted');
        await assertNoPartials(driver);
      }),
    );

    it('a write over maxBytes leaves nothing and rejects with size_exceeded; exactly maxBytes is fine', opts, () =>
      withStore(async (driver) => {
        const data = randomBytes(MiB);
        await rejectsWith(driver.write(newId(), newId(), chunked(data, 64 * KiB), { maxBytes: MiB - 1 }), 'size_exceeded');
        await assertNoPartials(driver);
        const stored = await driver.write(newId(), newId(), chunked(data, 64 * KiB), { maxBytes: MiB });
        assert.equal(stored.size, MiB);
        await rejectsWith(driver.write(newId(), newId(), chunked(randomBytes(1), 1), { maxBytes: 0 }), 'size_exceeded');
        await assertNoPartials(driver);
      }),
    );

    it('keeps two concurrent writes of different images apart', opts, () =>
      withStore(async (driver) => {
        const a = randomBytes(2 * MiB + 3);
        const b = randomBytes(MiB + 7);
        // interleave: each source waits for the other's progress now and then
        let turn = 0;
        const source = async function* (data: Uint8Array, me: number): AsyncGenerator<Uint8Array> {
          for await (const part of chunked(data, 32 * KiB)) {
            if (turn % 2 !== me) await new Promise((r) => setImmediate(r));
            turn++;
            yield part;
          }
        };
        const [sa, sb] = await Promise.all([driver.write(newId(), newId(), source(a, 0)), driver.write(newId(), newId(), source(b, 1))]);
        assert.notEqual(sa.location, sb.location);
        assert.deepEqual([sa.size, sb.size], [a.byteLength, b.byteLength]);
        assert.ok((await readAll(await driver.read(sa.location))).equals(a));
        assert.ok((await readAll(await driver.read(sb.location))).equals(b));
        await assertNoPartials(driver);
      }),
    );

    it('two uploads of one image are separate partials until each commits', opts, () =>
      withStore(async (driver) => {
        const imageId = newId();
        const [u1, u2] = [newId(), newId()];
        const [d1, d2] = [randomBytes(200 * KiB), randomBytes(300 * KiB)];
        const [g1, g2] = [deferred(), deferred()];
        const gated = async function* (data: Uint8Array, gate: Promise<void>): AsyncGenerator<Uint8Array> {
          yield data.subarray(0, 64 * KiB);
          await gate;
          yield data.subarray(64 * KiB);
        };
        const w1 = driver.write(imageId, u1, gated(d1, g1.promise));
        const w2 = driver.write(imageId, u2, gated(d2, g2.promise));
        await waitFor('both uploads listed as partials', async () => {
          const list = await listPartials(driver);
          return hasPartial(list, imageId, u1) && hasPartial(list, imageId, u2);
        });
        g1.resolve();
        const s1: StoredData = await w1;
        const left = await listPartials(driver);
        assert.ok(!hasPartial(left, imageId, u1), 'the committed upload is no partial any more');
        assert.ok(hasPartial(left, imageId, u2), 'the other upload is still a partial');
        g2.resolve();
        const s2 = await w2;
        await assertNoPartials(driver);
        // the later commit is what its location holds
        assert.ok((await readAll(await driver.read(s2.location))).equals(d2));
        if (s1.location !== s2.location) assert.ok((await readAll(await driver.read(s1.location))).equals(d1));
      }),
    );

    it('a write killed with SIGKILL leaves a partial that partials() lists and discardPartial() removes', opts, async (t) => {
      const harness = await make();
      try {
        const { driver, spawn: how } = harness;
        if (!how) {
          t.skip('the harness gives no way to build this driver in another process');
          return;
        }
        await driver.open();
        const imageId = newId();
        const uploadId = newId();
        const startedAt = Date.now();
        const child = spawn(process.execPath, ['--input-type=module', '-e', KILLED_WRITER, JSON.stringify([how.module, how.exportName, how.options, imageId, uploadId, 4 * MiB])], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const exited = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, signal) => r(signal ?? code)));
        try {
          let out = '';
          let err = '';
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          await new Promise<void>((resolve, reject) => {
            child.stdout.on('data', (d: Buffer) => {
              out += d.toString();
              if (out.includes('ready\n')) resolve();
            });
            child.on('exit', (code) => reject(new Error(`writer exited (${code}) before it was ready: ${out}${err}`)));
          });
          await waitFor('the killed upload listed as a partial', async () => hasPartial(await listPartials(driver), imageId, uploadId));
        } finally {
          child.kill('SIGKILL');
        }
        assert.equal(await exited, 'SIGKILL');

        const found = (await listPartials(driver)).find((p) => p.imageId === imageId && p.uploadId === uploadId);
        assert.ok(found, 'still listed once its writer is dead');
        assert.ok(found.modifiedAt instanceof Date);
        // file systems keep coarse times; a minute either way still tells a lease apart from garbage
        assert.ok(Math.abs(found.modifiedAt.getTime() - startedAt) < 60_000, `modifiedAt ${found.modifiedAt.toISOString()} is about now`);

        await driver.discardPartial(imageId, uploadId);
        await assertNoPartials(driver);
        await driver.discardPartial(imageId, uploadId);

        // the image can be written again afterwards
        const data = randomBytes(1000);
        const stored = await driver.write(imageId, newId(), chunked(data, 100));
        assert.ok((await readAll(await driver.read(stored.location))).equals(data));
      } finally {
        await harness.cleanup();
      }
    });

    it('reports sane capacity', opts, () =>
      withStore(async (driver) => {
        const { totalBytes, freeBytes } = await driver.capacity();
        assert.ok(Number.isSafeInteger(totalBytes) && totalBytes > 0, `totalBytes ${totalBytes}`);
        assert.ok(Number.isSafeInteger(freeBytes) && freeBytes >= 0 && freeBytes <= totalBytes, `freeBytes ${freeBytes} of ${totalBytes}`);
      }),
    );

    it('owns its own locations only', opts, () =>
      withStore(async (driver) =>
        withStore(async (other) => {
          const mine = await driver.write(newId(), newId(), chunked(randomBytes(10), 10));
          const theirs = await other.write(newId(), newId(), chunked(randomBytes(10), 10));
          assert.ok(driver.owns(mine.location));
          assert.ok(other.owns(theirs.location));
          assert.ok(!driver.owns(theirs.location), `${driver.id} does not own ${theirs.location}`);
          assert.ok(!other.owns(mine.location), `${other.id} does not own ${mine.location}`);
          for (const foreign of ['', 'file:///', 'file:///etc/passwd', 'http://example.com/image', 'rbd://fsid/images/x/snap', `${mine.location}/..`, `${mine.location}x/../x`]) {
            assert.ok(!driver.owns(foreign), `does not own ${JSON.stringify(foreign)}`);
          }
          assert.equal(typeof driver.id, 'string');
          assert.equal(typeof driver.type, 'string');
          assert.equal(typeof driver.properties, 'object');
        }),
      ),
    );
  });
}
