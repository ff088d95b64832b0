// Tests for DataDigest: md5 and sha512 from the hash workers equal node:crypto's one-shot hashes
// for any chunking, data passes through unchanged, hashing holds the stream back, and abandoned
// or concurrent uploads do not disturb each other, and the hashing leaves the event loop free.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { DataDigest, setDigestThreads, type StreamInspector } from './digest.js';

const MiB = 1024 * 1024;

/** A small deterministic PRNG, so a failing chunking can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `data` in chunks of 1 byte to `max` bytes, log-uniformly, with empty chunks now and then. */
function* chunked(data: Uint8Array, seed: number, max = 3 * MiB): Generator<Uint8Array> {
  const rng = mulberry32(seed);
  for (let at = 0; at < data.length; ) {
    if (rng() < 0.02) yield new Uint8Array(0);
    const n = Math.min(data.length - at, Math.max(1, Math.floor(Math.exp(rng() * Math.log(max)))));
    yield data.subarray(at, at + n);
    at += n;
  }
}

const oneShot = (data: Uint8Array) => ({
  size: data.length,
  md5: createHash('md5').update(data).digest('hex'),
  sha512: createHash('sha512').update(data).digest('hex'),
});

/** Runs the data through a digest as a store would, returning what came out and the hashes. */
async function digestOf(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Readable, inspector?: StreamInspector) {
  const d = new DataDigest(inspector);
  const out: Buffer[] = [];
  const sizes: number[] = [];
  const src = Symbol.asyncIterator in source ? source : Readable.from(source, { objectMode: true });
  for await (const c of d.through(src, (n) => sizes.push(n))) out.push(Buffer.from(c));
  return { result: d.result(), passed: Buffer.concat(out), sizes };
}

// every test for both thread layouts: one thread doing both hashes, one thread per hash
for (const threads of [1, 2] as const) {
  describe(`${threads} hash thread${threads > 1 ? 's' : ''}`, () => {
    before(() => setDigestThreads(threads));

    test('empty data: the hashes of nothing', async () => {
      const { result, passed } = await digestOf([]);
      assert.deepEqual(result, oneShot(new Uint8Array(0)));
      assert.equal(passed.length, 0);
      const onlyEmpty = await digestOf([new Uint8Array(0), new Uint8Array(0)]);
      assert.deepEqual(onlyEmpty.result, oneShot(new Uint8Array(0)));
    });

    test('small data (hashed without the workers) in odd chunkings', async () => {
      for (const size of [1, 63, 64 * 1024 + 1, MiB - 1]) {
        const data = randomBytes(size);
        for (const seed of [1, 2]) {
          const { result, passed } = await digestOf(chunked(data, seed * 7919 + size, 4096));
          assert.deepEqual(result, oneShot(data), `size ${size} seed ${seed}`);
          assert.ok(passed.equals(data));
        }
      }
    });

    test('data larger than the ring, in random chunkings from 1 byte to 3 MiB, equals the one-shot hashes', async () => {
      // sizes around the ring (4 MiB) and the message step (1 MiB), and well past them
      const data = randomBytes(21 * MiB + 12345);
      for (const [seed, size] of [
        [11, MiB],
        [12, MiB + 1],
        [13, 4 * MiB],
        [14, 4 * MiB + 7],
        [15, 9 * MiB - 3],
        [16, data.length],
      ] as const) {
        const part = data.subarray(0, size);
        const { result, passed, sizes } = await digestOf(chunked(part, seed));
        assert.deepEqual(result, oneShot(part), `seed ${seed} size ${size}`);
        assert.ok(passed.equals(part), `seed ${seed}: data passes through unchanged`);
        assert.equal(sizes.at(-1), size);
      }
    });

    test('one chunk bigger than the whole ring', async () => {
      const data = randomBytes(10 * MiB + 5);
      const { result, passed } = await digestOf([data]);
      assert.deepEqual(result, oneShot(data));
      assert.ok(passed.equals(data));
    });

    test('chunks are inspected in order, as they pass', async () => {
      const data = randomBytes(3 * MiB);
      const seen: Buffer[] = [];
      const { result } = await digestOf(chunked(data, 21), { feed: (c) => seen.push(Buffer.from(c)) });
      assert.ok(Buffer.concat(seen).equals(data));
      assert.equal(result.size, data.length);
    });

    test('concurrent digests share the workers and each gets its own hashes', async () => {
      const datas = [randomBytes(6 * MiB + 1), randomBytes(2 * MiB), randomBytes(9 * MiB - 1), randomBytes(100)];
      const results = await Promise.all(datas.map((d, i) => digestOf(chunked(d, 100 + i))));
      results.forEach((r, i) => assert.deepEqual(r.result, oneShot(datas[i]!), `digest ${i}`));
    });

    test('an abandoned digest (the store stopped reading) does not disturb the next ones', async () => {
      const data = randomBytes(12 * MiB);
      const d = new DataDigest();
      let n = 0;
      for await (const c of d.through(Readable.from(chunked(data, 31), { objectMode: true }))) {
        n += c.length;
        if (n > 6 * MiB) break;
      }
      assert.throws(() => d.result(), /before through\(\) reached the end/);
      const after = await digestOf(chunked(data, 32));
      assert.deepEqual(after.result, oneShot(data));
    });

    test('a failing source fails through() and the next digest still works', async () => {
      const data = randomBytes(5 * MiB);
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield data.subarray(0, 3 * MiB);
        throw new Error('connection reset');
      }
      const d = new DataDigest();
      await assert.rejects(async () => {
        for await (const _ of d.through(failing())) void _;
      }, /connection reset/);
      assert.deepEqual((await digestOf([data])).result, oneShot(data));
    });

    test('the hashing runs off the event loop: the main thread spends far less CPU than hashing itself', async () => {
      const data = randomBytes(64 * MiB);
      const cpu = () => {
        const u = process.threadCpuUsage();
        return (u.user + u.system) / 1000;
      };
      let t = cpu();
      oneShot(data);
      const inline = cpu() - t;
      const chunks = [...chunked(data, 41, MiB)];
      const d = new DataDigest();
      t = cpu();
      for await (const c of d.through((async function* () {
        yield* chunks;
      })())) void c;
      const mainThread = cpu() - t;
      assert.deepEqual(d.result(), oneShot(data));
      assert.ok(mainThread < inline / 2, `main thread ${mainThread.toFixed(0)} ms of CPU, hashing on it ${inline.toFixed(0)} ms`);
    });
  });
}
