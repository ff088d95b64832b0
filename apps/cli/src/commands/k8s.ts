// `alto k8s secrets <overlay-dir>`: writes a Kustomize overlay's secret input (secrets.env) with fresh random values.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, open, readFile, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
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
  { key: 'image-db-password', usedBy: 'the image database user (PostgreSQL role or MariaDB user)', generate: () => newPassword() },
  { key: 'glance-password', usedBy: 'the image service user glance (image.keystone_authtoken.password), set by the image-register Job', generate: () => newPassword() },
  { key: 'block-storage-db-password', usedBy: 'the block storage database user (PostgreSQL role or MariaDB user block_storage)', generate: () => newPassword() },
  { key: 'cinder-password', usedBy: 'the block storage service user cinder (block_storage.keystone_authtoken.password), set by the block-storage-register Job', generate: () => newPassword() },
];

export const SECRETS_FILE = 'secrets.env';

export interface OverlaySecretsOptions {
  /** Replace values that already exist. New database and RabbitMQ passwords do not reach servers that already initialised their data. */
  force?: boolean;
}

export interface OverlaySecretsResult {
  secretsFile: string;
  /** Keys of secrets.env that were written now. */
  written: { secrets: string[] };
  /** The ones that were there and were left alone. */
  kept: { secrets: string[] };
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

/**
 * Writes the secret input of a Kustomize overlay (deploy/kubernetes/overlays/<name>): secrets.env
 * for its `alto-secrets` secretGenerator. The token and credential keys are not here: the
 * identity-keys Job makes them as Secrets in the cluster, so `kubectl apply` never resets them.
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
  const secrets = await fillSecretsEnv(secretsFile, opts.force ?? false);
  return { secretsFile, written: { secrets: secrets.written }, kept: { secrets: secrets.kept } };
}

/** The command: writes the secrets, says what it did and what to do next. */
export async function k8sSecrets(overlayDir: string, opts: OverlaySecretsOptions = {}): Promise<OverlaySecretsResult> {
  const p = progress();
  const describe = (written: string[], kept: string[]) =>
    [written.length ? `wrote ${written.join(', ')}` : '', kept.length ? `kept ${kept.join(', ')}` : ''].filter(Boolean).join('; ');
  const result = await p.step(`secrets for ${resolve(overlayDir)}`, () => writeOverlaySecrets(overlayDir, opts), () => undefined);
  p.info(`  ${SECRETS_FILE}: ${describe(result.written.secrets, result.kept.secrets)}`);
  p.info(`
Next:
  kubectl apply -k ${overlayDir}          (or: kubectl kustomize ${overlayDir} | kubectl apply -f -)
  The admin password is admin-password in ${result.secretsFile}.
This file holds credentials: it is gitignored; keep a copy somewhere safe. The token and
credential keys are made in the cluster by the identity-keys Job.`);
  return result;
}
