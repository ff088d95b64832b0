// Test plumbing for the crypto interop tests: where the fixtures live and how to ask Debian's Keystone/passlib.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = 'keystone_interop.py';
/** Debian's interpreter, where python3-keystone and python3-passlib live; ALTO_KEYSTONE_PYTHON points elsewhere. */
const PYTHON = process.env.ALTO_KEYSTONE_PYTHON ?? '/usr/bin/python3';

/**
 * services/identity/fixtures/crypto, found by walking up from the running file, so the tests
 * work from dist/crypto in the package build and from a compile into another directory that
 * links `fixtures` next to its output.
 */
export function fixtureDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'fixtures', 'crypto');
    if (existsSync(join(candidate, SCRIPT))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find fixtures/crypto/${SCRIPT} above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(fixtureDir(), name), 'utf8')) as T;
}

/** A private copy of the committed Keystone key repository (git does not keep the 0600 modes). */
export function copyFixtureKeys(): string {
  const dir = mkdtempSync(join(tmpdir(), 'alto-fernet-'));
  const keys = join(dir, 'keys');
  mkdirSync(keys, { mode: 0o700 });
  const source = join(fixtureDir(), 'keys');
  for (const name of readdirSync(source)) {
    copyFileSync(join(source, name), join(keys, name));
    chmodSync(join(keys, name), 0o600);
  }
  return keys;
}

export function fixtureKey(id: string): string {
  return readFileSync(join(fixtureDir(), 'keys', id), 'utf8');
}

/**
 * Why the Python side cannot run here, or undefined when it can. The live interop tests skip
 * with this reason instead of passing vacuously.
 */
export function keystoneUnavailable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is absent`;
  const probe = spawnSync(PYTHON, ['-c', 'import keystone.token.token_formatters, passlib.hash, msgpack'], { encoding: 'utf8' });
  if (probe.status !== 0) return `Debian's python3-keystone/python3-passlib are not importable by ${PYTHON}: ${probe.stderr.trim().split('\n').pop() ?? ''}`;
  return undefined;
}

/** Runs one keystone_interop.py command with JSON on stdin and returns its JSON stdout. */
export function python<T>(command: string, input: unknown, args: string[] = []): T {
  const run = spawnSync(PYTHON, [join(fixtureDir(), SCRIPT), command, ...args], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`${SCRIPT} ${command} failed (${String(run.status)}): ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
