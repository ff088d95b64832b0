// Query parameter parsing read as Keystone reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrAsBoolean, filtersOf, queryBool } from './common.js';

test('attribute filters (?enabled=) follow oslo bool_from_string, as keystone attr_as_boolean', () => {
  for (const f of ['0', 'f', 'F', 'false', 'False', 'off', 'OFF', 'n', 'no', 'No']) assert.equal(attrAsBoolean(f), false, f);
  for (const t of ['1', 't', 'true', 'True', 'on', 'y', 'yes', 'anything', '']) assert.equal(attrAsBoolean(t), true, t);
  assert.equal(attrAsBoolean(undefined), undefined);
  assert.equal(attrAsBoolean(['no', 'yes']), false, 'the first of repeated parameters');
  assert.deepEqual(filtersOf({ enabled: 'off', name: 'x' }, { name: 'name' }, { enabled: 'enabled' }), { name: 'x', enabled: false });
});

test('flags (?allow_expired, ?effective) stay as they were: only 0 and false are false', () => {
  assert.equal(queryBool('0'), false);
  assert.equal(queryBool('false'), false);
  assert.equal(queryBool('1'), true);
  assert.equal(queryBool(undefined), undefined);
});
