// Runs the backup driver conformance suite on the posix driver, plus what only its directory shows.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runBackupDriverConformance } from '../spi/backup-driver.conformance.js';
import { PosixBackupDriver } from './posix-backup.js';

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;
const driverModule = fileURLToPath(new URL('./posix-backup.js', import.meta.url));

/** Every path under root that is not inside a committed backup directory (xx/yy/<id>). */
async function strays(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const a of await readdir(root)) {
    for (const b of await readdir(join(root, a)).catch(() => [])) {
      for (const c of await readdir(join(root, a, b)).catch(() => [])) if (!/^[A-Za-z0-9-]+$/.test(c)) out.push(`${a}/${b}/${c}`);
    }
  }
  return out;
}

runBackupDriverConformance('posix', async () => {
  const root = await mkdtemp(join(tmpdir(), 'alto-posix-backup-'));
  const path = join(root, 'backups');
  const driver = new PosixBackupDriver({ path, chunkBytes: CHUNK });
  return {
    driver,
    cleanup: () => rm(root, { recursive: true, force: true }),
    spawnBackup: (backupId, sourceFile, sizeGb) =>
      spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { PosixBackupDriver } = await import(${JSON.stringify(driverModule)});
           const d = new PosixBackupDriver({ path: ${JSON.stringify(path)}, chunkBytes: ${CHUNK} });
           await d.open();
           await d.backup(${JSON.stringify(backupId)}, ${JSON.stringify(sourceFile)}, ${sizeGb});`,
        ],
        { stdio: 'ignore' },
      ),
    corrupt: async (backupId) => {
      const dir = driver.backupDir(backupId);
      const object = (await readdir(dir)).find((n) => n.startsWith('chunk-'))!;
      const file = await open(join(dir, object), 'r+');
      const b = Buffer.alloc(1);
      await file.read(b, 0, 1, 100);
      b[0] = b[0]! ^ 0xff;
      await file.write(b, 0, 1, 100);
      await file.close();
    },
    strays: () => strays(path),
  };
});

describe('posix backup driver', () => {
  it('lays backups out as Cinder’s posix container: <id[0:2]>/<id[2:4]>/<id> with chunks and a metadata file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'alto-posix-backup-'));
    try {
      const driver = new PosixBackupDriver({ path: root, chunkBytes: MiB });
      await driver.open();
      const id = randomUUID();
      const src = join(root, 'src.raw');
      const data = randomBytes(2 * MiB + 5);
      await writeFile(src, data);
      const { objectCount } = await driver.backup(id, src, 1);
      // three chunks of data; the other 1021 MiB are zeros, recorded but not stored
      assert.equal(objectCount, 3);
      const dir = join(root, id.slice(0, 2), id.slice(2, 4), id);
      assert.equal(driver.backupDir(id), dir);
      assert.equal(PosixBackupDriver.containerOf(id), `${id.slice(0, 2)}/${id.slice(2, 4)}/${id}`);
      assert.deepEqual((await readdir(dir)).sort(), ['chunk-00000', 'chunk-00001', 'chunk-00002', 'metadata.json']);
      const meta = JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8')) as { chunks: { object?: string; sha256: string }[]; total_bytes: number };
      assert.equal(meta.chunks.length, 1024);
      assert.equal(meta.total_bytes, 1024 * MiB);
      assert.match(meta.chunks[0]!.sha256, /^[0-9a-f]{64}$/);
      await driver.delete(id);
      assert.deepEqual((await readdir(root)).sort(), ['src.raw'], 'the empty fan-out directories go too');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('a metadata file of another backup is corrupt, not a backup', async () => {
    const root = await mkdtemp(join(tmpdir(), 'alto-posix-backup-'));
    try {
      const driver = new PosixBackupDriver({ path: root, chunkBytes: MiB });
      await driver.open();
      const [a, b] = [randomUUID(), randomUUID()];
      const src = join(root, 'src.raw');
      await writeFile(src, randomBytes(MiB));
      await driver.backup(a, src, 1);
      const bDir = driver.backupDir(b);
      await rm(bDir, { recursive: true, force: true });
      await import('node:fs/promises').then((fs) => fs.cp(driver.backupDir(a), bDir, { recursive: true }));
      await assert.rejects(driver.exists(b), /not a version 1 record of this backup/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('open() says what to fix when the path cannot be used', async () => {
    const root = await mkdtemp(join(tmpdir(), 'alto-posix-backup-'));
    try {
      await writeFile(join(root, 'file'), 'x');
      await assert.rejects(new PosixBackupDriver({ path: join(root, 'file', 'sub') }).open(), /backup_posix_path.*create it writable/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
