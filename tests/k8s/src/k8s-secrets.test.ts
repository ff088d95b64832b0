// Tests `alto k8s secrets` (writeOverlaySecrets): fresh values, private files, existing values kept unless forced, missing ones filled in.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OVERLAY_SECRETS, SECRETS_FILE, writeOverlaySecrets } from '../../../apps/cli/dist/commands/k8s.js';
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

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'alto-k8s-secrets-'));
  overlay = join(tmp, 'single-node');
  await cp(join(deployDir, 'overlays', 'single-node'), overlay, { recursive: true, filter: (src) => !src.endsWith(SECRETS_FILE) });
});
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('a first run writes every secret, fresh, into a private file, and no keys (the identity-keys Job makes those in the cluster)', async () => {
  const r = await writeOverlaySecrets(overlay);
  assert.deepEqual(r.written.secrets, OVERLAY_SECRETS.map((s) => s.key));
  assert.deepEqual(Object.keys(r.written), ['secrets']);
  const values = secretsOf(overlay);
  assert.deepEqual([...values.keys()], OVERLAY_SECRETS.map((s) => s.key));
  for (const [k, v] of values) {
    // URL-, SQL- and env-file-safe, long enough
    assert.match(v, k === 'rabbitmq-erlang-cookie' ? /^[A-Z0-9]{32,}$/ : /^[A-Za-z0-9]{24,}$/, k);
  }
  assert.equal(new Set(values.values()).size, values.size, 'every value differs');
  assert.equal(statSync(join(overlay, SECRETS_FILE)).mode & 0o777, 0o600);
  assert.ok(!existsSync(join(overlay, 'fernet-keys')), 'no key files next to the overlay');
});

test('a second run keeps everything; a missing or emptied value is filled in alone', async () => {
  const before_ = secretsOf(overlay);
  const again = await writeOverlaySecrets(overlay);
  assert.deepEqual(again.written, { secrets: [] });
  assert.deepEqual(secretsOf(overlay), before_);

  const text = readFileSync(join(overlay, SECRETS_FILE), 'utf8').replace(/^galera-sst-password=.*\n/m, '').replace(/^rabbitmq-password=.*$/m, 'rabbitmq-password=');
  await writeFile(join(overlay, SECRETS_FILE), `${text}operator-added=keep-me\n`);
  const fill = await writeOverlaySecrets(overlay);
  assert.deepEqual(fill.written, { secrets: ['rabbitmq-password', 'galera-sst-password'] });
  const after_ = secretsOf(overlay);
  assert.equal(after_.get('admin-password'), before_.get('admin-password'));
  assert.notEqual(after_.get('rabbitmq-password'), '');
  assert.equal(after_.get('operator-added'), 'keep-me', 'lines it does not know are kept');
});

test('force replaces every value (and says so), keeping lines it does not know', async () => {
  const before_ = secretsOf(overlay);
  const r = await writeOverlaySecrets(overlay, { force: true });
  assert.equal(r.written.secrets.length, OVERLAY_SECRETS.length);
  const after_ = secretsOf(overlay);
  for (const s of OVERLAY_SECRETS) assert.notEqual(after_.get(s.key), before_.get(s.key), s.key);
  assert.equal(after_.get('operator-added'), 'keep-me');
});

test('a directory without kustomization.yaml is refused', async () => {
  await assert.rejects(writeOverlaySecrets(tmp), /not a Kustomize overlay/);
});
