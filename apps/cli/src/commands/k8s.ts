// `alto k8s secrets <overlay-dir>`: writes a Kustomize overlay's secret inputs (secrets.env and fernet-keys/) with fresh random values.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateFernetKey, loadKeyRepository } from '@alto/identity';
import { newPassword, ValidationError } from '@alto/kernel';
import { progress } from '../progress.js';

/** One value of the overlay's `alto-secrets` Secret (deploy/kubernetes/overlays/<name>/secrets.env). */
export interface OverlaySecret {
  key: string;
  /** Who uses it, for the file's comments and the README. */
  usedBy: string;
  generate: () => string;
}

/** Erlang reads the cookie as an atom: letters and digits only, as rabbitmq-server makes them. */
function generateErlangCookie(): string {
  return randomBytes(24).toString('hex').toUpperCase();
}

/**
 * Every overlay gets the same keys; an overlay ignores the ones it does not use (single-node has
 * no Galera). Passwords are letters and digits (newPassword), so they are safe unescaped in the
 * connection URLs the pods compose with $(VAR) expansion, in SQL literals, my.cnf and env files.
 */
export const OVERLAY_SECRETS: readonly OverlaySecret[] = [
  { key: 'admin-password', usedBy: 'the admin user created by the bootstrap Job (ALTO_ADMIN_PASSWORD)', generate: () => newPassword() },
  { key: 'identity-db-password', usedBy: 'the identity database user (PostgreSQL role or MariaDB user)', generate: () => newPassword() },
  { key: 'db-root-password', usedBy: 'the database superuser (postgres, or MariaDB root)', generate: () => newPassword() },
  { key: 'rabbitmq-password', usedBy: 'the RabbitMQ user the bus logs in as', generate: () => newPassword() },
  { key: 'rabbitmq-erlang-cookie', usedBy: 'RabbitMQ members and its CLI tools, to talk to each other', generate: generateErlangCookie },
  { key: 'galera-sst-password', usedBy: 'MariaDB Galera state transfers (ha overlay only)', generate: () => newPassword() },
];

/** Keystone's layout: 0 is the staged key, the highest number the primary. Two, so that rotation has a key to promote. */
export const FERNET_KEY_FILES: readonly string[] = ['0', '1'];

export const SECRETS_FILE = 'secrets.env';
export const FERNET_DIR = 'fernet-keys';

export interface OverlaySecretsOptions {
  /** Replace values that already exist. New database and RabbitMQ passwords do not reach servers that already initialised their data. */
  force?: boolean;
}

export interface OverlaySecretsResult {
  secretsFile: string;
  fernetDir: string;
  /** Keys of secrets.env and names of key files that were written now. */
  written: { secrets: string[]; fernetKeys: string[] };
  /** The ones that were there and were left alone. */
  kept: { secrets: string[]; fernetKeys: string[] };
}

const KEY_LINE = /^([-._a-zA-Z0-9]+)=(.*)$/;

/** Writes a private file so that a crash leaves either the old content or the new, never half of it. */
async function writePrivateFile(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    // mode applies only when the file is created; a stale temp file may have looser bits
    await fh.chmod(0o600);
    await fh.writeFile(content, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

async function fillSecretsEnv(path: string, force: boolean): Promise<{ written: string[]; kept: string[] }> {
  const text = existsSync(path) ? await readFile(path, 'utf8') : undefined;
  const lines = text === undefined ? [] : text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const lineOf = new Map<string, number>();
  lines.forEach((line, i) => {
    const m = KEY_LINE.exec(line);
    if (m?.[1] !== undefined) lineOf.set(m[1], i);
  });

  const written: string[] = [];
  const kept: string[] = [];
  if (text === undefined) {
    lines.push(
      '# Credentials of this overlay (the alto-secrets Secret), written by `alto k8s secrets`.',
      '# Private: never commit it (it is gitignored) and keep a copy somewhere safe; the databases',
      '# and RabbitMQ keep the passwords they were first started with.',
    );
  }
  for (const s of OVERLAY_SECRETS) {
    const at = lineOf.get(s.key);
    const current = at === undefined ? undefined : KEY_LINE.exec(lines[at] ?? '')?.[2];
    if (at !== undefined && current !== undefined && current !== '' && !force) {
      kept.push(s.key);
      continue;
    }
    const line = `${s.key}=${s.generate()}`;
    if (at === undefined) lines.push(`# ${s.usedBy}`, line);
    else lines[at] = line;
    written.push(s.key);
  }
  if (written.length > 0) await writePrivateFile(path, `${lines.join('\n')}\n`);
  else if (text !== undefined) await chmod(path, 0o600);
  return { written, kept };
}

async function fillFernetKeys(dir: string, force: boolean): Promise<{ written: string[]; kept: string[] }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const written: string[] = [];
  const kept: string[] = [];
  for (const name of FERNET_KEY_FILES) {
    const file = join(dir, name);
    const exists = existsSync(file) && (await stat(file)).size > 0;
    if (exists && !force) {
      kept.push(name);
      continue;
    }
    // Keystone writes a key with no trailing newline; so do we (alto fernet setup does too)
    await writePrivateFile(file, generateFernetKey());
    written.push(name);
  }
  // every key, old or new, must be one the identity service accepts
  await loadKeyRepository(dir);
  return { written, kept };
}

/**
 * Writes the secret inputs of a Kustomize overlay (deploy/kubernetes/overlays/<name>): secrets.env
 * for its `alto-secrets` secretGenerator and fernet-keys/0 and /1 for `identity-fernet-keys`.
 * Values that exist are kept unless `force`; missing ones are added, so running it again after
 * an upgrade that needs a new secret fills in only that one.
 */
export async function writeOverlaySecrets(overlayDir: string, opts: OverlaySecretsOptions = {}): Promise<OverlaySecretsResult> {
  const dir = resolve(overlayDir);
  const hasKustomization = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((f) => existsSync(join(dir, f)));
  if (!hasKustomization) {
    throw new ValidationError(`${dir} is not a Kustomize overlay (no kustomization.yaml); pass e.g. deploy/kubernetes/overlays/single-node`, 'cli.not_an_overlay');
  }
  const secretsFile = join(dir, SECRETS_FILE);
  const fernetDir = join(dir, FERNET_DIR);
  const secrets = await fillSecretsEnv(secretsFile, opts.force ?? false);
  const fernetKeys = await fillFernetKeys(fernetDir, opts.force ?? false);
  return { secretsFile, fernetDir, written: { secrets: secrets.written, fernetKeys: fernetKeys.written }, kept: { secrets: secrets.kept, fernetKeys: fernetKeys.kept } };
}

/** The command: writes the secrets, says what it did and what to do next. */
export async function k8sSecrets(overlayDir: string, opts: OverlaySecretsOptions = {}): Promise<OverlaySecretsResult> {
  const p = progress();
  const describe = (written: string[], kept: string[]) =>
    [written.length ? `wrote ${written.join(', ')}` : '', kept.length ? `kept ${kept.join(', ')}` : ''].filter(Boolean).join('; ');
  const result = await p.step(`secrets for ${resolve(overlayDir)}`, () => writeOverlaySecrets(overlayDir, opts), () => undefined);
  p.info(`  ${SECRETS_FILE}: ${describe(result.written.secrets, result.kept.secrets)}`);
  p.info(`  ${FERNET_DIR}/: ${describe(result.written.fernetKeys, result.kept.fernetKeys)}`);
  if (opts.force && result.written.fernetKeys.length > 0) p.info('  New fernet keys: every token issued with the old ones stops validating once the pods restart.');
  p.info(`
Next:
  kubectl apply -k ${overlayDir}          (or: kubectl kustomize ${overlayDir} | kubectl apply -f -)
  The admin password is admin-password in ${result.secretsFile}.
These files are credentials: they are gitignored; keep a copy somewhere safe.`);
  return result;
}
