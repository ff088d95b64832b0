// Runs the store conformance suite on the filesystem store, plus what only files show (layout, ids, errors).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StoreError } from '../spi/store.js';
import { runStoreConformance } from '../spi/store.conformance.js';
import { FilesystemStore, type FilesystemStoreOptions } from './filesystem-store.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'alto-fs-store-'));
}

runStoreConformance('filesystem', async () => {
  const root = await tempDir();
  const options: FilesystemStoreOptions = { id: 'file', datadir: join(root, 'images'), chunkSize: 65536 };
  return {
    driver: new FilesystemStore(options),
    cleanup: () => rm(root, { recursive: true, force: true }),
    spawn: { module: new URL('./filesystem-store.js', import.meta.url).href, exportName: 'FilesystemStore', options },
  };
});

// a small write batch too, so the batching paths (several writes in flight order) run in the suite
runStoreConformance('filesystem, 4 KiB chunks and write batches', async () => {
  const root = await tempDir();
  const options: FilesystemStoreOptions = { id: 'small', datadir: join(root, 'a', 'b', 'images'), chunkSize: 4096, writeBatchBytes: 4096 };
  return {
    driver: new FilesystemStore(options),
    cleanup: () => rm(root, { recursive: true, force: true }),
    spawn: { module: new URL('./filesystem-store.js', import.meta.url).href, exportName: 'FilesystemStore', options },
  };
});

async function* bytes(data: Uint8Array, size = 65536): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += size) yield data.subarray(at, at + size);
}

async function withStore(fn: (store: FilesystemStore, root: string) => Promise<void>, extra: Partial<FilesystemStoreOptions> = {}): Promise<void> {
  const root = await tempDir();
  try {
    const store = new FilesystemStore({ id: 'file', datadir: join(root, 'images'), chunkSize: 65536, ...extra });
    await store.open();
    await fn(store, root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('filesystem store', () => {
  it('keeps data at file://<datadir>/<imageId> and shows what Glance shows for a file store', () =>
    withStore(async (store, root) => {
      const imageId = randomUUID();
      const { location } = await store.write(imageId, randomUUID(), bytes(randomBytes(10)));
      assert.equal(location, `file://${root}/images/${imageId}`);
      assert.equal((await stat(join(root, 'images', imageId))).size, 10);
      assert.equal(store.type, 'file');
      assert.deepEqual(store.properties, { data_dir: join(root, 'images'), chunk_size: 65536, thin_provisioning: false });
    }));

  it('makes a relative datadir absolute', () => {
    const store = new FilesystemStore({ id: 'file', datadir: 'images', chunkSize: 4096 });
    assert.equal(store.datadir, join(process.cwd(), 'images'));
    assert.ok(store.owns(`file://${process.cwd()}/images/${randomUUID()}`));
  });

  it('writes into .partial/<imageId>.<uploadId> and shows nothing at the location before commit', () =>
    withStore(async (store, root) => {
      const imageId = randomUUID();
      const uploadId = randomUUID();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const source = async function* (): AsyncGenerator<Uint8Array> {
        yield randomBytes(1000);
        await gate;
        yield randomBytes(1000);
      };
      const writing = store.write(imageId, uploadId, source());
      const images = join(root, 'images');
      for (let i = 0; i < 500 && !(await readdir(join(images, '.partial'))).includes(`${imageId}.${uploadId}`); i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(await readdir(join(images, '.partial')), [`${imageId}.${uploadId}`]);
      assert.deepEqual(await readdir(images), ['.partial']);
      release();
      await writing;
      assert.deepEqual((await readdir(images)).sort(), ['.partial', imageId].sort());
      assert.deepEqual(await readdir(join(images, '.partial')), []);
    }));

  it('leaves the data directory as it was after failed, aborted and oversized writes', () =>
    withStore(async (store, root) => {
      const failing = async function* (): AsyncGenerator<Uint8Array> {
        yield randomBytes(70000);
        throw new Error('boom');
      };
      await assert.rejects(store.write(randomUUID(), randomUUID(), failing()), { code: 'backend' });
      await assert.rejects(store.write(randomUUID(), randomUUID(), bytes(randomBytes(100000)), { maxBytes: 99999 }), { code: 'size_exceeded' });
      const ac = new AbortController();
      const stalling = async function* (): AsyncGenerator<Uint8Array> {
        yield randomBytes(70000);
        ac.abort();
        await new Promise(() => {});
      };
      await assert.rejects(store.write(randomUUID(), randomUUID(), stalling(), { signal: ac.signal }), { code: 'aborted' });
      assert.deepEqual(await readdir(join(root, 'images')), ['.partial']);
      assert.deepEqual(await readdir(join(root, 'images', '.partial')), []);
    }));

  it('writes the bytes of a slow upload within writeBatchDelayMs, so the mtime of its partial shows progress', () =>
    withStore(
      async (store, root) => {
        const imageId = randomUUID();
        const uploadId = randomUUID();
        const partial = join(root, 'images', '.partial', `${imageId}.${uploadId}`);
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const source = async function* (): AsyncGenerator<Uint8Array> {
          yield Buffer.alloc(10);
          await new Promise((r) => setTimeout(r, 30));
          yield Buffer.alloc(10);
          await gate;
        };
        const writing = store.write(imageId, uploadId, source());
        let written = 0;
        for (let i = 0; i < 500 && written < 20; i++) {
          await new Promise((r) => setTimeout(r, 10));
          written = (await stat(partial)).size;
        }
        assert.equal(written, 20, 'both small chunks on disk though the 4 MiB batch is far from full');
        release();
        assert.equal((await writing).size, 20);
      },
      { writeBatchDelayMs: 20 },
    ));

  it('keeps the source failure as the cause of a backend error', () =>
    withStore(async (store) => {
      const cause = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      const failing = async function* (): AsyncGenerator<Uint8Array> {
        yield randomBytes(10);
        throw cause;
      };
      await assert.rejects(store.write(randomUUID(), randomUUID(), failing()), (err: unknown) => {
        assert.ok(err instanceof StoreError);
        assert.equal(err.code, 'backend');
        assert.equal(err.cause, cause);
        assert.match(err.message, /source failed: socket hang up/);
        return true;
      });
    }));

  it('refuses ids that could name a path outside the data directory, and releases the source', () =>
    withStore(async (store, root) => {
      for (const [imageId, uploadId] of [
        ['../escape', 'u'],
        ['a', '../../x'],
        ['a/b', 'u'],
        ['', 'u'],
        ['a', ''],
        ['a.b', 'u'],
        ['.partial', 'u'],
      ] as const) {
        let released = false;
        const source = async function* (): AsyncGenerator<Uint8Array> {
          try {
            yield randomBytes(10);
          } finally {
            released = true;
          }
        };
        const it = source();
        await it.next(); // started, so return() runs its finally
        await assert.rejects(store.write(imageId, uploadId, it), { code: 'backend' }, `${imageId}.${uploadId}`);
        await new Promise((r) => setImmediate(r));
        assert.ok(released, `source released after refusing ${imageId}.${uploadId}`);
        await assert.rejects(store.discardPartial(imageId, uploadId), { code: 'backend' });
      }
      assert.deepEqual(await readdir(join(root, 'images', '.partial')), []);
      assert.deepEqual((await readdir(root)).sort(), ['images']);
    }));

  it('refuses a second writer with the same upload id while the first is at work', () =>
    withStore(async (store) => {
      const imageId = randomUUID();
      const uploadId = randomUUID();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const slow = async function* (): AsyncGenerator<Uint8Array> {
        yield Buffer.from('first');
        await gate;
      };
      const first = store.write(imageId, uploadId, slow());
      for (let i = 0; i < 500; i++) {
        const list = [];
        for await (const p of store.partials()) list.push(p);
        if (list.length > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await assert.rejects(store.write(imageId, uploadId, bytes(Buffer.from('second'))), { code: 'backend' });
      release();
      const { location } = await first;
      const parts: Buffer[] = [];
      for await (const part of await store.read(location)) parts.push(part as Buffer);
      assert.equal(Buffer.concat(parts).toString(), 'first');
    }));

  it('serves reads in chunks of filesystem_store_chunk_size', () =>
    withStore(
      async (store) => {
        const { location } = await store.write(randomUUID(), randomUUID(), bytes(randomBytes(20000)));
        const sizes: number[] = [];
        for await (const part of await store.read(location)) sizes.push((part as Buffer).byteLength);
        assert.deepEqual(sizes, [4096, 4096, 4096, 4096, 3616]);
      },
      { chunkSize: 4096 },
    ));

  it('ignores files in .partial that are not named <imageId>.<uploadId>', () =>
    withStore(async (store, root) => {
      await writeFile(join(root, 'images', '.partial', 'stray'), 'x');
      await writeFile(join(root, 'images', '.partial', 'a.b.c'), 'x');
      const list = [];
      for await (const p of store.partials()) list.push(p);
      assert.deepEqual(list, []);
    }));

  it('refuses to read, size or delete locations of other stores', () =>
    withStore(async (store) => {
      for (const location of ['file:///etc/passwd', `file://${store.datadir}/../x`, `file://${store.datadir}/.partial`]) {
        await assert.rejects(store.read(location), { code: 'backend' });
        await assert.rejects(store.size(location), { code: 'backend' });
        await assert.rejects(store.delete(location), { code: 'backend' });
      }
    }));

  it('says which path it cannot use and why when open() fails', async () => {
    const root = await tempDir();
    try {
      await writeFile(join(root, 'file'), 'x');
      const store = new FilesystemStore({ id: 'fast', datadir: join(root, 'file', 'images'), chunkSize: 65536 });
      await assert.rejects(store.open(), (err: unknown) => {
        assert.ok(err instanceof StoreError);
        assert.equal(err.code, 'backend');
        assert.match(err.message, /image store "fast"/);
        assert.ok(err.message.includes(join(root, 'file', 'images')), err.message);
        assert.match(err.message, /ENOTDIR \(not a directory\)/);
        return true;
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reports a file size limit hit (EFBIG) as full and leaves nothing', async () => {
    const root = await tempDir();
    try {
      const options: FilesystemStoreOptions = { id: 'file', datadir: join(root, 'images'), chunkSize: 65536 };
      const script = `
        const { FilesystemStore } = await import(${JSON.stringify(new URL('./filesystem-store.js', import.meta.url).href)});
        const store = new FilesystemStore(${JSON.stringify(options)});
        await store.open();
        async function* src() { for (let i = 0; i < 64; i++) yield Buffer.alloc(65536); }
        try { await store.write('img', 'up', src()); console.log('written'); }
        catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message })); }
      `;
      // ulimit -f counts 1 KiB blocks: 1 MiB allowed, 4 MiB offered
      const child = spawn('/bin/sh', ['-c', `ulimit -f 1024; exec "$0" --input-type=module -e "$1"`, process.execPath, script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const status = await new Promise<number | string | null>((r) => child.on('exit', (code, signal) => r(signal ?? code)));
      assert.equal(status, 0, `child: ${out}${err}`);
      const result = JSON.parse(out) as { code: string; message: string };
      assert.equal(result.code, 'full', result.message);
      assert.match(result.message, /EFBIG/);
      assert.deepEqual(await readdir(join(root, 'images')), ['.partial']);
      assert.deepEqual(await readdir(join(root, 'images', '.partial')), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
