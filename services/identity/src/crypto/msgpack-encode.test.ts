// Tests for the msgpack encoder against bytes Python's msgpack 1.0.3 packb() produced (recorded inline).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '@msgpack/msgpack';
import { PackFloat, packb } from './msgpack-encode.js';
import type { Packable } from './msgpack-encode.js';

// [value, msgpack.packb(value).hex()] from /usr/bin/python3 (python3-msgpack 1.0.3)
const cases: [Packable, string][] = [
  [null, 'c0'],
  [true, 'c3'],
  [false, 'c2'],
  [0, '00'],
  [127, '7f'],
  [128, 'cc80'],
  [255, 'ccff'],
  [256, 'cd0100'],
  [65535, 'cdffff'],
  [65536, 'ce00010000'],
  [2 ** 32 - 1, 'ceffffffff'],
  [2 ** 32, 'cf0000000100000000'],
  [2 ** 33 + 4, 'cf0000000200000004'],
  [-1, 'ff'],
  [-32, 'e0'],
  [-33, 'd0df'],
  [-128, 'd080'],
  [-129, 'd1ff7f'],
  [-32768, 'd18000'],
  [-32769, 'd2ffff7fff'],
  [-(2 ** 31), 'd280000000'],
  [-(2 ** 31) - 1, 'd3ffffffff7fffffff'],
  [new PackFloat(1), 'cb3ff0000000000000'],
  [new PackFloat(1767225600), 'cb41da556e40000000'],
  [new PackFloat(0.1), 'cb3fb999999999999a'],
  ['', 'a0'],
  ['a'.repeat(31), 'bf' + '61'.repeat(31)],
  ['a'.repeat(32), 'd920' + '61'.repeat(32)],
  ['a'.repeat(255), 'd9ff' + '61'.repeat(255)],
  ['a'.repeat(256), 'da0100' + '61'.repeat(256)],
  ['é', 'a2c3a9'],
  [Buffer.alloc(0), 'c400'],
  [Buffer.alloc(16), 'c410' + '00'.repeat(16)],
  [Buffer.alloc(256, 0x78), 'c50100' + '78'.repeat(256)],
  [[], '90'],
  [[...Array(15).keys()], '9f000102030405060708090a0b0c0d0e'],
  [[...Array(16).keys()], 'dc0010000102030405060708090a0b0c0d0e0f'],
  [[1, [true, Buffer.from('ab')], [Buffer.from('c')]], '930192c3c402616291c40163'],
];

test('packb writes what Python msgpack.packb writes', () => {
  for (const [value, hex] of cases) {
    assert.equal(packb(value).toString('hex'), hex, JSON.stringify(value instanceof PackFloat ? `float ${value.value}` : value));
  }
});

test('what it writes decodes back with @msgpack/msgpack', () => {
  const value = [2, [true, Buffer.alloc(16, 1)], 6, [false, 'admin'], new PackFloat(1767225600.5), [Buffer.alloc(16, 2)]];
  // bin fields come back as views of the input buffer
  assert.deepEqual(decode(packb(value)), [2, [true, Buffer.alloc(16, 1)], 6, [false, 'admin'], 1767225600.5, [Buffer.alloc(16, 2)]]);
});

test('a non-integer number must be marked as a float', () => {
  assert.throws(() => packb(1.5), RangeError);
  assert.throws(() => packb(2 ** 53), RangeError);
});
