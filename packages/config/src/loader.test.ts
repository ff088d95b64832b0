// Tests for the config loader: precedence, env conversion, defaults, ${} expansion and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Type from 'typebox';
import { ConfigError, loadConfig } from './loader.js';
import { BusSection } from './sections.js';

const Schema = Type.Object(
  {
    data_dir: Type.String({ default: './.alto' }),
    bus: BusSection,
    identity: Type.Object(
      {
        token: Type.Object({ expiration: Type.Integer({ minimum: 1, default: 3600 }), enabled: Type.Boolean({ default: true }) }, { additionalProperties: false, default: {} }),
        database: Type.Object({ connection: Type.String({ default: 'sqlite:///${data_dir}/identity.db' }) }, { additionalProperties: false, default: {} }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'alto-config-'));
  const p = join(dir, 'alto.yaml');
  writeFileSync(p, text);
  return p;
}

test('defaults apply and ${key} expands', () => {
  const c = loadConfig({ schema: Schema, env: {} });
  assert.equal(c.identity.token.expiration, 3600);
  assert.equal(c.identity.database.connection, 'sqlite:///./.alto/identity.db');
  assert.equal(c.bus.transport_url, 'inprocess://');
});

test('file < environment < overrides', () => {
  const f = file('data_dir: /srv/a\nidentity:\n  token:\n    expiration: 100\n');
  const c = loadConfig({
    schema: Schema,
    file: f,
    env: { ALTO_IDENTITY__TOKEN__EXPIRATION: '200', ALTO_IDENTITY__TOKEN__ENABLED: 'false' },
    overrides: { data_dir: '/srv/b' },
  });
  assert.equal(c.identity.token.expiration, 200);
  assert.equal(c.identity.token.enabled, false);
  assert.equal(c.data_dir, '/srv/b');
  assert.equal(c.identity.database.connection, 'sqlite:////srv/b/identity.db');
});

test('environment arrays accept comma lists', () => {
  const c = loadConfig({ schema: Schema, env: { ALTO_BUS__NOTIFICATION_TOPICS: 'a, b' } });
  assert.deepEqual(c.bus.notification_topics, ['a', 'b']);
});

test('unrelated ALTO_ variables are ignored', () => {
  assert.doesNotThrow(() => loadConfig({ schema: Schema, env: { ALTO_TEST_POSTGRES_URL: 'x', ALTO_ADMIN_PASSWORD: 'y' } }));
});

test('a bad value names the key, the value, its source and the reason', () => {
  try {
    loadConfig({ schema: Schema, env: { ALTO_IDENTITY__TOKEN__EXPIRATION: 'soon' } });
    assert.fail('expected ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 1);
    const p = err.problems[0]!;
    assert.equal(p.key, 'identity.token.expiration');
    assert.equal(p.value, 'soon');
    assert.equal(p.source, 'environment ALTO_IDENTITY__TOKEN__EXPIRATION');
    assert.match(p.reason, /integer/);
    assert.match(err.message, /identity\.token\.expiration = "soon" \(from environment ALTO_IDENTITY__TOKEN__EXPIRATION\)/);
  }
});

test('unknown keys in the file and the environment are errors', () => {
  const f = file('identity:\n  tokn:\n    expiration: 5\n');
  try {
    loadConfig({ schema: Schema, file: f, env: { ALTO_IDENTITY__TOKEN__EXPIRY: '5' } });
    assert.fail('expected ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const keys = err.problems.map((p) => `${p.key}:${p.reason}`).sort();
    assert.deepEqual(keys, ['identity.token.expiry:unknown setting', 'identity.tokn:unknown setting']);
    assert.equal(err.problems.find((p) => p.key === 'identity.tokn')?.source, f);
  }
});

test('secrets in connection URLs are not echoed', () => {
  const f = file('identity:\n  database:\n    connection: 5\n');
  try {
    loadConfig({ schema: Schema, file: f });
    assert.fail('expected ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /identity\.database\.connection = \(hidden\)/);
  }
});

test('a missing or malformed file is a clear error', () => {
  assert.throws(() => loadConfig({ schema: Schema, file: '/nonexistent/alto.yaml' }), /cannot read/);
  assert.throws(() => loadConfig({ schema: Schema, file: file('a: [') }), /not valid YAML/);
});

test('defaults fill the entries of a record; a choice names its options; a bound names itself', () => {
  const S = Type.Object(
    {
      backends: Type.Record(Type.String({ pattern: '^[a-z]+$' }), Type.Object({ size: Type.Integer({ minimum: 1, default: 5 }) }, { additionalProperties: false }), { default: {} }),
      mode: Type.Union([Type.Literal('fast'), Type.Literal('safe')], { default: 'safe' }),
    },
    { additionalProperties: false },
  );
  const c = loadConfig({ schema: S, file: file('backends:\n  one: {}\n  two:\n    size: 7\n') });
  assert.deepEqual(c, { backends: { one: { size: 5 }, two: { size: 7 } }, mode: 'safe' });
  try {
    loadConfig({ schema: S, file: file('mode: quick\nbackends:\n  one:\n    size: 0\n    sise: 1\n') });
    assert.fail('expected ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems.map((p) => `${p.key}: ${p.reason}`).sort(), ['backends.one.sise: unknown setting', 'backends.one.size: must be >= 1', 'mode: must be one of "fast", "safe"']);
  }
});

test('a schema keyword the loader does not check stops it (a programming error, not a pass)', () => {
  const S = Type.Object({ n: Type.Integer({ multipleOf: 2, default: 2 }) });
  assert.throws(() => loadConfig({ schema: S }), /keyword multipleOf at n is not checked/);
});
