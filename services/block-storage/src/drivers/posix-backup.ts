// The `posix` backup driver: one directory per backup (data chunks and a metadata file with each chunk's sha256), committed by rename.
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BackupDriverError, type BackupDriver } from '../spi/backup-driver.js';

export interface PosixBackupOptions {
  /** backup_posix_path: where backups live; made absolute against the working directory. */
  path: string;
  /** Bytes per data object (Cinder's backup_file_size; smaller here so a retry redoes less). */
  chunkBytes?: number;
}

const GiB = 1024 ** 3;
const ID = /^[A-Za-z0-9-]+$/;
const METADATA = 'metadata.json';
// A backup is built under PART and renamed to its final name when whole, so a final name that
// exists is a complete backup; a PART is what a killed run left, removed by the next run.
const PART = '.part';
// Delete renames first, so a backup being removed never looks whole to exists() or restore().
const DELETING = '.deleting';
const FORMAT_VERSION = 1;

interface ChunkRecord {
  /** Object file name in the backup directory; absent for a chunk of zeros (not stored). */
  object?: string;
  offset: number;
  length: number;
  sha256: string;
}

interface BackupMetadata {
  version: number;
  backup_id: string;
  size_gb: number;
  total_bytes: number;
  chunk_bytes: number;
  chunks: ChunkRecord[];
  /** The volume's metadata at backup time (opaque to the driver). */
  volume_meta?: Record<string, unknown>;
}

function checkId(id: string): void {
  if (!ID.test(id)) throw new BackupDriverError('invalid', `backup id ${JSON.stringify(id)} may hold only letters, digits and "-"`);
}

function errnoOf(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function driverErrorOf(err: unknown, doing: string): BackupDriverError {
  if (err instanceof BackupDriverError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = errnoOf(err);
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') return new BackupDriverError('no_space', `${doing}: ${message}`, { cause: err });
  return new BackupDriverError('backend', `${doing}: ${message}`, { cause: err });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw err;
  }
}

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads the next `length` bytes (fewer only at the end). Sequential, so the source may be a pipe. */
async function readFully(file: FileHandle, buf: Buffer, length: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await file.read(buf, got, length - got, null);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const zeroDigests = new Map<number, string>();
/** The sha256 of `length` zero bytes, computed once per length (a volume is mostly such chunks). */
function zeroDigest(length: number): string {
  let d = zeroDigests.get(length);
  if (d === undefined) zeroDigests.set(length, (d = sha256(Buffer.alloc(length))));
  return d;
}

export class PosixBackupDriver implements BackupDriver {
  readonly name = 'posix';
  // COMPAT(cinder zed): the backup row's `service` names the driver as Cinder records it.
  readonly service = 'cinder.backup.drivers.posix.PosixBackupDriver';
  readonly path: string;
  readonly chunkBytes: number;

  constructor(options: PosixBackupOptions) {
    this.path = resolve(options.path);
    this.chunkBytes = options.chunkBytes ?? 64 * 1024 * 1024;
    if (!Number.isSafeInteger(this.chunkBytes) || this.chunkBytes < 4096) throw new BackupDriverError('invalid', `chunk size ${this.chunkBytes} must be a whole number of at least 4096 bytes`);
  }

  async open(): Promise<void> {
    try {
      await mkdir(this.path, { recursive: true });
      await access(this.path, fsConstants.W_OK | fsConstants.X_OK);
    } catch (err) {
      throw new BackupDriverError('backend', `backup driver posix: cannot use ${this.path} (backup_posix_path): ${err instanceof Error ? err.message : String(err)}; create it writable by this service`, { cause: err });
    }
  }

  /**
   * A backup's directory. COMPAT(cinder zed): laid out as PosixBackupDriver's default container
   * (`<id[0:2]>/<id[2:4]>/<id>`), so a directory holds few entries however many backups there are.
   */
  backupDir(backupId: string): string {
    checkId(backupId);
    return join(this.path, backupId.slice(0, 2), backupId.slice(2, 4), backupId);
  }

  /** The container name Cinder would record for this backup (its directory relative to the path). */
  static containerOf(backupId: string): string {
    return `${backupId.slice(0, 2)}/${backupId.slice(2, 4)}/${backupId}`;
  }

  async exists(backupId: string): Promise<boolean> {
    return (await this.#metadata(backupId)) !== undefined;
  }

  async backup(backupId: string, sourceFile: string, sizeGb: number, volumeMeta?: Record<string, unknown>): Promise<{ objectCount: number }> {
    if (!Number.isSafeInteger(sizeGb) || sizeGb < 1) throw new BackupDriverError('invalid', `size ${sizeGb} GiB must be a whole number of at least 1`);
    const final = this.backupDir(backupId);
    const done = await this.#metadata(backupId);
    if (done) return { objectCount: done.chunks.filter((c) => c.object).length };
    const part = final + PART;
    let source: FileHandle;
    try {
      source = await open(sourceFile, 'r');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw new BackupDriverError('not_found', `source file ${sourceFile} does not exist`);
      throw driverErrorOf(err, `open ${sourceFile}`);
    }
    try {
      const st = await source.stat();
      if (st.isFile() && st.size > sizeGb * GiB) throw new BackupDriverError('invalid', `source of ${st.size} bytes is larger than the backup's ${sizeGb} GiB`);
      // a PART of a killed run is made again from scratch, never continued
      await rm(part, { recursive: true, force: true });
      await mkdir(part, { recursive: true });
      const total = sizeGb * GiB;
      const chunks: ChunkRecord[] = [];
      const buf = Buffer.alloc(this.chunkBytes);
      const zeros = Buffer.alloc(this.chunkBytes);
      let objects = 0;
      for (let offset = 0; offset < total; offset += this.chunkBytes) {
        const want = Math.min(this.chunkBytes, total - offset);
        const got = await readFully(source, buf, want);
        // a source shorter than the volume reads as zeros past its end (a sparse raw image)
        if (got < want) buf.fill(0, got, want);
        const data = buf.subarray(0, want);
        // chunks of zeros (most of a fresh volume) are recorded, not stored
        if (data.equals(zeros.subarray(0, want))) {
          chunks.push({ offset, length: want, sha256: zeroDigest(want) });
          continue;
        }
        const digest = sha256(data);
        const object = `chunk-${String(objects++).padStart(5, '0')}`;
        const out = await open(join(part, object), 'w');
        try {
          await out.writeFile(data);
          await out.sync();
        } finally {
          await out.close();
        }
        chunks.push({ object, offset, length: want, sha256: digest });
      }
      const meta: BackupMetadata = { version: FORMAT_VERSION, backup_id: backupId, size_gb: sizeGb, total_bytes: total, chunk_bytes: this.chunkBytes, chunks, ...(volumeMeta ? { volume_meta: volumeMeta } : {}) };
      await writeFile(join(part, METADATA), JSON.stringify(meta));
      await syncPath(join(part, METADATA));
      await syncPath(part);
      if (await exists(final)) {
        // another run committed first: its backup is as good as ours
        await rm(part, { recursive: true, force: true });
      } else {
        await rename(part, final);
        await syncPath(dirname(final));
      }
      return { objectCount: objects };
    } catch (err) {
      await rm(part, { recursive: true, force: true }).catch(() => undefined);
      throw driverErrorOf(err, `back up ${sourceFile} as backup ${backupId}`);
    } finally {
      await source.close();
    }
  }

  async restore(backupId: string, destFile: string): Promise<{ volumeMeta: Record<string, unknown> }> {
    const dir = this.backupDir(backupId);
    const meta = await this.#metadata(backupId);
    if (!meta) throw new BackupDriverError('not_found', `backup ${backupId} does not exist in ${this.path}`);
    const part = destFile + PART;
    try {
      await rm(part, { force: true });
      const out = await open(part, 'w');
      try {
        // sparse: zero chunks are never written
        await out.truncate(meta.total_bytes);
        for (const c of meta.chunks) {
          if (!c.object) continue;
          const data = await readFile(join(dir, c.object)).catch((err: unknown) => {
            if (errnoOf(err) === 'ENOENT') throw new BackupDriverError('corrupt', `backup ${backupId}: object ${c.object} is missing`);
            throw err;
          });
          if (data.length !== c.length || sha256(data) !== c.sha256) throw new BackupDriverError('corrupt', `backup ${backupId}: object ${c.object} does not match its recorded sha256`);
          await out.write(data, 0, data.length, c.offset);
        }
        await out.sync();
      } finally {
        await out.close();
      }
      await rename(part, destFile);
      await syncPath(dirname(destFile));
    } catch (err) {
      await rm(part, { force: true }).catch(() => undefined);
      throw driverErrorOf(err, `restore backup ${backupId} to ${destFile}`);
    }
    return { volumeMeta: meta.volume_meta ?? {} };
  }

  async delete(backupId: string): Promise<void> {
    const final = this.backupDir(backupId);
    try {
      if (await exists(final)) await rename(final, final + DELETING);
      await rm(final + DELETING, { recursive: true, force: true });
      await rm(final + PART, { recursive: true, force: true });
      // the two fan-out levels go when they are empty (another backup may share them)
      for (const d of [dirname(final), dirname(dirname(final))]) {
        if ((await readdir(d).catch(() => ['?'])).length === 0) await rmdir(d).catch(() => undefined);
      }
    } catch (err) {
      throw driverErrorOf(err, `delete backup ${backupId}`);
    }
  }

  /** A committed backup's metadata, or undefined when there is none. */
  async #metadata(backupId: string): Promise<BackupMetadata | undefined> {
    const file = join(this.backupDir(backupId), METADATA);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
      throw driverErrorOf(err, `read ${file}`);
    }
    let meta: BackupMetadata;
    try {
      meta = JSON.parse(text) as BackupMetadata;
    } catch (err) {
      throw new BackupDriverError('corrupt', `backup ${backupId}: ${file} is not JSON`, { cause: err });
    }
    if (meta.version !== FORMAT_VERSION || meta.backup_id !== backupId || !Array.isArray(meta.chunks)) {
      throw new BackupDriverError('corrupt', `backup ${backupId}: ${file} is not a version ${FORMAT_VERSION} record of this backup`);
    }
    return meta;
  }
}
