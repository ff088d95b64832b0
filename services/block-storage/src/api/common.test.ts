// The list query helpers of api/common.ts that several lists share: the dict filters as
// Cinder's ast.literal_eval reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dictFilter, literalDict } from './common.js';

test('literalDict reads JSON and single-quoted dicts, values as strings; anything else is undefined', () => {
  assert.deepEqual(literalDict('{"a": "1", "b": 2}'), { a: '1', b: '2' });
  assert.deepEqual(literalDict("{'k': 'v'}"), { k: 'v' });
  assert.equal(literalDict('[1]'), undefined);
  assert.equal(literalDict('null'), undefined);
  assert.equal(literalDict('{nope'), undefined);
});

test('dictFilter refuses what is not a dict, naming the filter', () => {
  assert.deepEqual(dictFilter("{'x': 'y'}", 'metadata'), { x: 'y' });
  assert.throws(() => dictFilter('[1]', 'metadata'), /Invalid metadata filter: \[1\]/);
  assert.throws(() => dictFilter('{bad', 'extra_specs'), /Invalid extra_specs filter: \{bad/);
});
