// Policy files: JSON or PyYAML-flavoured YAML, strict about what oslo would silently mis-read.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyFileError } from './errors.js';
import { loadPolicyFile, parsePolicyFile } from './policy-file.js';

describe('parsePolicyFile', () => {
  it('reads JSON and YAML, strings and legacy lists, in file order', () => {
    assert.deepEqual([...parsePolicyFile('{"a": "role:x", "b": [["role:y"]]}').rules], [
      ['a', 'role:x'],
      ['b', [['role:y']]],
    ]);
    const yaml = parsePolicyFile('# comment\n"identity:get_user": "role:reader"\nidentity:list_users: ""\nx:\n  - ["role:a", "role:b"]\n');
    assert.deepEqual(Object.fromEntries(yaml.rules), { 'identity:get_user': 'role:reader', 'identity:list_users': '', x: [['role:a', 'role:b']] });
  });

  it('treats an empty or comment-only file as no overrides', () => {
    assert.equal(parsePolicyFile('').rules.size, 0);
    assert.equal(parsePolicyFile('# nothing\n').rules.size, 0);
  });

  it('resolves scalars as PyYAML does: yes/no/on/off are booleans, y and n are strings', () => {
    assert.throws(() => parsePolicyFile('a: no\n'), (err: unknown) => err instanceof PolicyFileError && /always allow/.test(err.message));
    assert.deepEqual(Object.fromEntries(parsePolicyFile('a: "role:x"\nn: "role:y"\n').rules), { a: 'role:x', n: 'role:y' });
  });

  it('refuses in strict mode what oslo would read as "always allow", duplicates and non-string names', () => {
    for (const text of ['a:\n', 'a: false\n', 'a: 0\n', 'a: 5\n', 'a: "x"\na: "y"\n', 'yes: "role:x"\n', '- a\n- b\n', '"a": {"b": "c"}\n']) {
      assert.throws(() => parsePolicyFile(text, { source: 'p.yaml' }), (err: unknown) => err instanceof PolicyFileError && err.code === 'policy.file_invalid' && err.message.startsWith('p.yaml: '), text);
    }
  });

  it('does what oslo does in lenient mode', () => {
    const parsed = parsePolicyFile('a:\nb: false\nc: 0\nd: "x"\nd: "y"\n', { mode: 'lenient' });
    assert.deepEqual(Object.fromEntries(parsed.rules), { a: '', b: '', c: '', d: 'y' });
  });

  it('reports unparsable text', () => {
    assert.throws(() => parsePolicyFile('a: [unclosed\n'), PolicyFileError);
  });
});

describe('loadPolicyFile', () => {
  it('reads the path it is given and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alto-policy-file-'));
    try {
      const path = join(dir, 'policy.json');
      await writeFile(path, '{"a": "role:x"}');
      const loaded = await loadPolicyFile(path);
      assert.equal(loaded.source, path);
      assert.deepEqual(Object.fromEntries(loaded.rules), { a: 'role:x' });
      await assert.rejects(loadPolicyFile(join(dir, 'nope.yaml')), (err: unknown) => err instanceof PolicyFileError && err.source.endsWith('nope.yaml'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
