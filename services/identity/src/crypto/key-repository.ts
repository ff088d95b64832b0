// Keystone's Fernet key repository on disk (keystone/common/fernet_utils.py): setup, rotation, loading, and a cached reader.
import { constants as fsConstants } from 'node:fs';
import type { Stats } from 'node:fs';
import { access, mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AltoError } from '@alto/kernel';
import type { Clock } from '@alto/kernel';
import { generateFernetKey, parseFernetKey } from './fernet.js';
import type { FernetKey, RandomBytes } from './fernet.js';

/** Keystone's `[fernet_tokens] max_active_keys` default. */
export const DEFAULT_MAX_ACTIVE_KEYS = 3;

/** The staged key: the next primary, already accepted for decryption so every node knows it before it signs. */
export const STAGED_KEY_ID = 0;

/** Keystone's temporary name for a key being written; its loader ignores it because it is not an integer. */
const STAGED_TMP = '0.tmp';

const KEY_FILE_NAME = /^\d+$/;

export type KeyRepositoryProblem =
  | 'missing'
  | 'unreadable'
  | 'not_writable'
  | 'empty'
  | 'bad_key'
  | 'duplicate_key'
  | 'no_staged_key'
  | 'bad_option';

/** The key repository cannot be used as asked. Keystone's equivalent is KeysNotFound, a 500. */
export class KeyRepositoryError extends AltoError {
  readonly problem: KeyRepositoryProblem;
  readonly path: string;

  constructor(problem: KeyRepositoryProblem, path: string, message: string, cause?: unknown) {
    super('internal', `identity.key_repository_${problem}`, message, { cause, details: { problem } });
    this.problem = problem;
    this.path = path;
  }
}

export interface RepositoryKey {
  /** The file's number: 0 is staged, the highest is primary. */
  id: number;
  file: string;
  key: FernetKey;
}

export interface LoadedKeyRepository {
  path: string;
  /** Highest id first, as Keystone's load_keys() orders them: [0] is the primary, the staged key 0 comes last. */
  keys: RepositoryKey[];
  /** Things an operator should fix that do not stop the repository from working. */
  warnings: string[];
}

export interface KeyRepositoryChange {
  /** Key ids on disk afterwards, highest first. */
  keyIds: number[];
}

export interface SetupResult extends KeyRepositoryChange {
  /** False when the repository already had a staged key and was left alone, as keystone-manage fernet_setup does. */
  created: boolean;
}

export interface RotateResult extends KeyRepositoryChange {
  /** The id the staged key was promoted to: the new primary. */
  promoted: number;
  /** Ids removed to keep at most maxActiveKeys, oldest first. */
  purged: number[];
}

export interface KeyWriteOptions {
  randomBytes?: RandomBytes;
}

interface KeyFile {
  id: number;
  file: string;
  text: string;
  stats: Stats;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** keystone's validate_key_repository(): the directory must exist and be readable (and writable when we change it). */
async function checkDirectory(path: string, requiresWrite: boolean): Promise<Stats> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (err) {
    throw new KeyRepositoryError('missing', path, `Key repository ${path} does not exist; run the key setup command to create it.`, err);
  }
  if (!info.isDirectory()) throw new KeyRepositoryError('missing', path, `Key repository ${path} is not a directory.`);
  try {
    await access(path, fsConstants.R_OK | fsConstants.X_OK);
  } catch (err) {
    throw new KeyRepositoryError('unreadable', path, `Key repository ${path} is not readable by this process.`, err);
  }
  if (requiresWrite) {
    try {
      await access(path, fsConstants.W_OK);
    } catch (err) {
      throw new KeyRepositoryError('not_writable', path, `Key repository ${path} is not writable by this process.`, err);
    }
  }
  return info;
}

/**
 * keystone's _get_key_files(): every regular file (symlinks followed, as Kubernetes Secret
 * volumes are made of them) whose name is an integer. Empty files are skipped with a warning,
 * exactly as Keystone skips them; other names (0.tmp, ..data, README) are ignored silently.
 */
async function listKeyFiles(path: string, warnings: string[]): Promise<KeyFile[]> {
  let names: string[];
  try {
    names = await readdir(path);
  } catch (err) {
    throw new KeyRepositoryError('unreadable', path, `Cannot list key repository ${path}: ${describe(err)}`, err);
  }
  const byId = new Map<number, KeyFile>();
  for (const name of names) {
    if (!KEY_FILE_NAME.test(name)) continue;
    const file = join(path, name);
    let stats: Stats;
    try {
      stats = await stat(file);
    } catch {
      continue; // a dangling symlink or a file removed while we listed: not a key
    }
    if (!stats.isFile()) continue;
    const id = Number.parseInt(name, 10);
    if (!Number.isSafeInteger(id)) continue;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      // purged by a rotation running in another process while we listed: no longer a key
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new KeyRepositoryError('unreadable', path, `Cannot read key file ${file}: ${describe(err)}`, err);
    }
    if (text.trim().length === 0) {
      warnings.push(`Ignoring empty key found in key repository: ${file}`);
      continue;
    }
    const other = byId.get(id);
    if (other !== undefined) {
      throw new KeyRepositoryError('duplicate_key', path, `Key files ${other.file} and ${file} both name key ${id}.`);
    }
    byId.set(id, { id, file, text, stats });
  }
  return [...byId.values()].sort((a, b) => b.id - a.id);
}

/**
 * Reads and checks every key. Problems that make a key unusable are errors naming the file;
 * world-accessible permissions are warnings (Keystone warns for the directory; we also say so
 * for key files, because a Kubernetes Secret volume defaults to 0644).
 */
export async function loadKeyRepository(path: string): Promise<LoadedKeyRepository> {
  const dirInfo = await checkDirectory(path, false);
  const warnings: string[] = [];
  if ((dirInfo.mode & 0o005) !== 0) warnings.push(`key_repository is world readable: ${path}`);
  const files = await listKeyFiles(path, warnings);
  if (files.length === 0) {
    throw new KeyRepositoryError('empty', path, `Key repository ${path} contains no keys; run the key setup command to create them.`);
  }
  const keys: RepositoryKey[] = [];
  for (const f of files) {
    let key: FernetKey;
    try {
      key = parseFernetKey(f.text);
    } catch (err) {
      throw new KeyRepositoryError('bad_key', path, `Key file ${f.file} does not hold a Fernet key (expected 32 url-safe base64-encoded bytes, 44 characters).`, err);
    }
    if ((f.stats.mode & 0o007) !== 0) {
      warnings.push(`Key file ${f.file} is accessible to every user (mode ${(f.stats.mode & 0o777).toString(8)}); it should be 0600 or 0400.`);
    }
    keys.push({ id: f.id, file: f.file, key });
  }
  return { path, keys, warnings };
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } catch {
    // some filesystems refuse fsync on a directory; the renames are still atomic there
  } finally {
    await dir.close();
  }
}

/** Writes `name.tmp`-style files that only become keys by rename, so a crash never leaves a truncated key. */
async function writeKeyFile(path: string, name: string, key: string): Promise<void> {
  const file = join(path, name);
  const fh = await open(file, 'w', 0o600);
  try {
    // mode only applies when the file is created; a stale temp file may have looser bits
    await fh.chmod(0o600);
    // Keystone writes the key with no trailing newline
    await fh.writeFile(key, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function checkMaxActiveKeys(path: string, maxActiveKeys: number): void {
  if (!Number.isSafeInteger(maxActiveKeys) || maxActiveKeys < 1) {
    throw new KeyRepositoryError('bad_option', path, `max_active_keys must be an integer of at least 1, got ${maxActiveKeys}.`);
  }
}

/**
 * keystone-manage fernet_rotate: the staged key 0 becomes the new primary (highest id + 1),
 * a fresh staged key 0 is created, and the oldest keys are purged so that at most
 * maxActiveKeys remain (counting the staged key). With maxActiveKeys = 1 Keystone keeps only
 * the staged key, which is then also the primary; so do we.
 *
 * Keystone renames 0 to N and then 0.tmp to 0, leaving a moment with no staged key. Here N is
 * written as a copy first and 0.tmp then replaces 0, so every instant of the rotation has a
 * complete key 0 and only complete numbered keys; the end state is the same as Keystone's.
 */
export async function rotateKeyRepository(path: string, maxActiveKeys: number, options: KeyWriteOptions = {}): Promise<RotateResult> {
  checkMaxActiveKeys(path, maxActiveKeys);
  await checkDirectory(path, true);
  const files = await listKeyFiles(path, []);
  const staged = files.find((f) => f.id === STAGED_KEY_ID);
  const highest = files[0];
  if (highest === undefined) {
    throw new KeyRepositoryError('empty', path, `Key repository ${path} contains no keys; run the key setup command first.`);
  }
  if (staged === undefined) {
    throw new KeyRepositoryError('no_staged_key', path, `Key repository ${path} has no staged key 0 to promote; run the key setup command to create one.`);
  }
  try {
    parseFernetKey(staged.text);
  } catch (err) {
    throw new KeyRepositoryError('bad_key', path, `Staged key file ${staged.file} does not hold a Fernet key; refusing to promote it.`, err);
  }
  const promoted = highest.id + 1;

  await writeKeyFile(path, STAGED_TMP, generateFernetKey(options.randomBytes));
  const promotedTmp = `${promoted}.tmp`;
  await writeKeyFile(path, promotedTmp, staged.text);
  await rename(join(path, promotedTmp), join(path, String(promoted)));
  await rename(join(path, STAGED_TMP), join(path, String(STAGED_KEY_ID)));
  await syncDirectory(path);

  // Keystone counts the old primaries plus the new one against max_active_keys - 1 (the staged key is the last slot).
  const active = [promoted, ...files.filter((f) => f.id !== STAGED_KEY_ID).map((f) => f.id)].sort((a, b) => b - a);
  const purged: number[] = [];
  while (active.length > maxActiveKeys - 1) {
    const oldest = active.pop();
    if (oldest === undefined) break;
    await unlink(join(path, String(oldest)));
    purged.push(oldest);
  }
  if (purged.length > 0) await syncDirectory(path);
  return { promoted, purged, keyIds: [...active, STAGED_KEY_ID] };
}

/**
 * keystone-manage fernet_setup: creates the directory (0700) if needed and, unless a staged key
 * already exists, bootstraps a staged key and rotates once, leaving a primary and a staged key.
 */
export async function setupKeyRepository(
  path: string,
  options: KeyWriteOptions & { maxActiveKeys?: number } = {},
): Promise<SetupResult> {
  const maxActiveKeys = options.maxActiveKeys ?? DEFAULT_MAX_ACTIVE_KEYS;
  checkMaxActiveKeys(path, maxActiveKeys);
  try {
    await mkdir(path, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new KeyRepositoryError('not_writable', path, `Cannot create key repository ${path}: ${describe(err)}`, err);
  }
  await checkDirectory(path, true);
  const existing = await listKeyFiles(path, []);
  if (existing.some((f) => f.id === STAGED_KEY_ID)) {
    return { created: false, keyIds: existing.map((f) => f.id) };
  }
  await writeKeyFile(path, STAGED_TMP, generateFernetKey(options.randomBytes));
  await rename(join(path, STAGED_TMP), join(path, String(STAGED_KEY_ID)));
  await syncDirectory(path);
  const rotated = await rotateKeyRepository(path, maxActiveKeys, options);
  return { created: true, keyIds: rotated.keyIds };
}

/** Where token code gets its keys: primary first, all of them accepted for decryption. */
export interface FernetKeySource {
  /** The keys to use now. */
  keys(): Promise<readonly FernetKey[]>;
  /**
   * Called after a token matched none of the current keys: re-reads when allowed and returns
   * the new keys if they changed (another process rotated), else undefined.
   */
  keysAfterMiss(): Promise<readonly FernetKey[] | undefined>;
}

/** Fixed keys (tests, or keys handed over from a secret store), primary first. */
export function staticKeySource(keys: readonly (string | FernetKey)[]): FernetKeySource {
  const parsed = keys.map((k) => (typeof k === 'string' ? parseFernetKey(k) : k));
  return {
    keys: async () => parsed,
    keysAfterMiss: async () => undefined,
  };
}

export interface KeyRepositoryReaderOptions {
  path: string;
  clock: Clock;
  /** Re-read the repository at most this often in steady state. Default 5000 ms. */
  refreshIntervalMs?: number;
  /**
   * After a token matched no key, re-read if the last read is older than this. Default 1000 ms,
   * so a flood of garbage tokens costs at most one directory read per second.
   */
  missRefreshIntervalMs?: number;
  /** Each distinct warning is reported once, when it first appears. */
  onWarning?: (message: string) => void;
  /** A re-read failed after an earlier one succeeded; the previous keys stay in use. */
  onReloadError?: (error: KeyRepositoryError) => void;
}

interface ReaderState {
  keys: readonly FernetKey[];
  fingerprint: string;
  loadedAtMs: number;
}

/**
 * Keys for a long-running process, kept in memory and re-read at most every few seconds (or
 * sooner after a decrypt miss), so a rotation by a CronJob, keystone-manage on another node or
 * a Kubernetes Secret update is picked up without touching the disk for every token.
 */
export class KeyRepositoryReader implements FernetKeySource {
  readonly path: string;
  readonly #clock: Clock;
  readonly #refreshIntervalMs: number;
  readonly #missRefreshIntervalMs: number;
  readonly #onWarning: (message: string) => void;
  readonly #onReloadError: (error: KeyRepositoryError) => void;
  #state: ReaderState | undefined;
  #loading: Promise<ReaderState> | undefined;
  #reported = new Set<string>();

  constructor(options: KeyRepositoryReaderOptions) {
    this.path = options.path;
    this.#clock = options.clock;
    this.#refreshIntervalMs = options.refreshIntervalMs ?? 5000;
    this.#missRefreshIntervalMs = options.missRefreshIntervalMs ?? 1000;
    this.#onWarning = options.onWarning ?? (() => {});
    this.#onReloadError = options.onReloadError ?? (() => {});
  }

  async keys(): Promise<readonly FernetKey[]> {
    const state = this.#state;
    if (state !== undefined && this.#clock.nowMs() - state.loadedAtMs < this.#refreshIntervalMs) return state.keys;
    return (await this.#reload()).keys;
  }

  async keysAfterMiss(): Promise<readonly FernetKey[] | undefined> {
    const before = this.#state;
    if (before !== undefined && this.#clock.nowMs() - before.loadedAtMs < this.#missRefreshIntervalMs) return undefined;
    const after = await this.#reload();
    return before === undefined || after.fingerprint !== before.fingerprint ? after.keys : undefined;
  }

  #reload(): Promise<ReaderState> {
    // one read at a time: concurrent requests share it
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<ReaderState> {
    let loaded: LoadedKeyRepository;
    try {
      loaded = await loadKeyRepository(this.path);
    } catch (err) {
      const previous = this.#state;
      if (previous === undefined || !(err instanceof KeyRepositoryError)) throw err;
      // A bad read (an operator mid-edit, a volume being swapped) must not take token validation down.
      this.#onReloadError(err);
      this.#state = { ...previous, loadedAtMs: this.#clock.nowMs() };
      return this.#state;
    }
    const current = new Set(loaded.warnings);
    for (const w of loaded.warnings) if (!this.#reported.has(w)) this.#onWarning(w);
    this.#reported = current;
    const keys = loaded.keys.map((k) => k.key);
    const fingerprint = keys.map((k) => k.encoded).join(',');
    const previous = this.#state;
    // unchanged keys keep their identity, so callers can cache per key set
    const same = previous !== undefined && previous.fingerprint === fingerprint;
    this.#state = { keys: same ? previous.keys : keys, fingerprint, loadedAtMs: this.#clock.nowMs() };
    return this.#state;
  }
}
