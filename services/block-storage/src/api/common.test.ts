// The list query helpers of api/common.ts that several lists share: the dict filters as
// Cinder's ast.literal_eval reads them, and the column filters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { parseMicroversion } from '@alto/http';
import { columnFilter, dictFilter, literalDict, type FilterColumns } from './common.js';

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

test('columnFilter: LIKE from 3.34, booleans as 0/1, whole numbers, unknown keys match nothing', () => {
  const at = (v: string) => ({ microversion: parseMicroversion(v) }) as unknown as FastifyRequest;
  const c: FilterColumns = { columnOf: { name: 'name', display_name: 'name', bootable: 'bootable', size: 'size' }, booleans: new Set(['bootable']), numeric: new Set(['size']) };
  const run = (v: string, pairs: [string, string][]) => {
    const q: { eq: Record<string, unknown>; like: Record<string, string>; none?: boolean } = { eq: {}, like: {} };
    for (const [k, raw] of pairs) columnFilter(q, at(v), k, raw, c);
    return q;
  };
  assert.deepEqual(run('3.34', [['name~', 'vo'], ['bootable', 'yes'], ['size', '2']]), { eq: { bootable: 1, size: 2 }, like: { name: 'vo' } });
  assert.deepEqual(run('3.33', [['name~', 'vo']]), { eq: {}, like: {}, none: true });
  assert.deepEqual(run('3.0', [['display_name', 'v1'], ['bootable', 'false']]), { eq: { name: 'v1', bootable: 0 }, like: {} });
  assert.deepEqual(run('3.0', [['size', 'big']]), { eq: {}, like: {}, none: true });
  assert.deepEqual(run('3.0', [['colour', 'red']]), { eq: {}, like: {}, none: true });
  assert.throws(() => run('3.0', [['bootable', 'maybe']]), /Unrecognized value 'maybe'/);
});
