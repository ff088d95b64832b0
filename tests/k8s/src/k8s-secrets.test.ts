// Tests `alto k8s secrets` (writeOverlaySecrets): fresh values, private files, existing values kept unless forced, missing ones filled in.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FERNET_DIR, FERNET_KEY_FILES, OVERLAY_SECRETS, SECRETS_FILE, writeOverlaySecrets } from '../../../apps/cli/dist/commands/k8s.js';
import { deployDir } from './render.js';

let tmp: string;
let overlay: string;
const secretsOf = (dir: string) =>
  new Map(
    readFileSync(join(dir, SECRETS_FILE), 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
  );
const keyOf = (dir: string, name: string) => readFileSync(join(dir, FERNET_DIR, name), 'utf8');

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'alto-k8s-secrets-'));
  overlay = join(tmp, 'single-node');
  await cp(join(deployDir, 'overlays', 'single-node'), overlay, { recursive: true, filter: (src) => !src.endsWith(SECRETS_FILE) && !src.includes(FERNET_DIR) });
});
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('a first run writes every secret and two fernet keys, fresh, into private files', async () => {
  const r = await writeOverlaySecrets(overlay);
  assert.deepEqual(r.written.secrets, OVERLAY_SECRETS.map((s) => s.key));
  assert.deepEqual(r.written.fernetKeys, [...FERNET_KEY_FILES]);
  const values = secretsOf(overlay);
  assert.deepEqual([...values.keys()], OVERLAY_SECRETS.map((s) => s.key));
  for (const [k, v] of values) {
    // URL-, SQL- and env-file-safe, long enough
    assert.match(v, k === 'rabbitmq-erlang-cookie' ? /^[A-Z0-9]{32,}$/ : /^[A-Za-z0-9]{24,}$/, k);
  }
  assert.equal(new Set(values.values()).size, values.size, 'every value differs');
  for (const name of FERNET_KEY_FILES) {
    const key = keyOf(overlay, name);
    assert.match(key, /^[A-Za-z0-9_-]{43}=$/, `fernet key ${name} is a Fernet key, no newline`);
    assert.equal(Buffer.from(key, 'base64url').length, 32);
    assert.equal(statSync(join(overlay, FERNET_DIR, name)).mode & 0o777, 0o600);
  }
  assert.notEqual(keyOf(overlay, '0'), keyOf(overlay, '1'));
  assert.equal(statSync(join(overlay, SECRETS_FILE)).mode & 0o777, 0o600);
  assert.equal(statSync(join(overlay, FERNET_DIR)).mode & 0o777, 0o700);
});

test('a second run keeps everything; a missing or emptied value is filled in alone', async () => {
  const before_ = secretsOf(overlay);
  const key1 = keyOf(overlay, '1');
  const again = await writeOverlaySecrets(overlay);
  assert.deepEqual(again.written, { secrets: [], fernetKeys: [] });
  assert.deepEqual(secretsOf(overlay), before_);

  const text = readFileSync(join(overlay, SECRETS_FILE), 'utf8').replace(/^galera-sst-password=.*\n/m, '').replace(/^rabbitmq-password=.*$/m, 'rabbitmq-password=');
  await writeFile(join(overlay, SECRETS_FILE), `${text}operator-added=keep-me\n`);
  await rm(join(overlay, FERNET_DIR, '0'));
  const fill = await writeOverlaySecrets(overlay);
  assert.deepEqual(fill.written, { secrets: ['rabbitmq-password', 'galera-sst-password'], fernetKeys: ['0'] });
  const after_ = secretsOf(overlay);
  assert.equal(after_.get('admin-password'), before_.get('admin-password'));
  assert.notEqual(after_.get('rabbitmq-password'), '');
  assert.equal(after_.get('operator-added'), 'keep-me', 'lines it does not know are kept');
  assert.equal(keyOf(overlay, '1'), key1);
});

test('force replaces every value (and says so), keeping lines it does not know', async () => {
  const before_ = secretsOf(overlay);
  const r = await writeOverlaySecrets(overlay, { force: true });
  assert.equal(r.written.secrets.length, OVERLAY_SECRETS.length);
  const after_ = secretsOf(overlay);
  for (const s of OVERLAY_SECRETS) assert.notEqual(after_.get(s.key), before_.get(s.key), s.key);
  assert.equal(after_.get('operator-added'), 'keep-me');
});

test('a broken key file is an error, not silently kept; a directory without kustomization.yaml is refused', async () => {
  await writeFile(join(overlay, FERNET_DIR, '1'), 'not a key');
  await assert.rejects(writeOverlaySecrets(overlay), /does not hold a Fernet key/);
  await assert.rejects(writeOverlaySecrets(tmp), /not a Kustomize overlay/);
});
