// Cinder's extra-spec operator cases (cinder/tests/unit/scheduler/test_host_filters.py ExtraSpecsOpsTestCase) plus Python float() edges.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boolFromString, matchExtraSpec, pyFloat } from './extra-specs.ops.js';
import type { CapabilityValue } from './scheduler.models.js';

const cases: [CapabilityValue, string | null, boolean][] = [
  // bogus operator: plain string equality
  ['4', '> 2', false],
  // simple
  ['1', '1', true],
  ['', '1', false],
  ['3', '1', false],
  ['222', '2', false],
  // '=' is "at least"
  ['123', '= 123', true],
  ['124', '= 123', true],
  ['34', '= 234', false],
  ['34', '=', false],
  // numeric comparisons
  ['2', '<= 10', true],
  ['3', '<= 2', false],
  ['3', '>= 1', true],
  ['2', '>= 3', false],
  ['10', '== 10.0', true],
  ['10', '!= 10', false],
  ['abc', '>= 1', false],
  // string equality
  ['123', 's== 123', true],
  ['1234', 's== 123', false],
  ['1234', 's!= 123', true],
  ['123', 's!= 123', false],
  // lexical order, not numeric
  ['1000', 's>= 234', false],
  ['1234', 's<= 1000', false],
  ['2', 's< 12', false],
  ['12', 's> 2', false],
  ['b', 's> a', true],
  // substring
  ['12311321', '<in> 11', true],
  ['12311321', '<in> 12311321', true],
  ['12311321', '<in> 12311321 <in>', true],
  ['12310321', '<in> 11', false],
  ['12310321', '<in> 11 <in>', false],
  // booleans
  [true, '<is> True', true],
  [false, '<is> False', true],
  [false, '<is> Nonsense', true],
  [true, '<is> False', false],
  [false, '<is> True', false],
  ['yes', '<is> true', true],
  // alternatives
  ['12', '<or> 11 <or> 12', true],
  ['12', '<or> 11 <or> 12 <or>', true],
  ['13', '<or> 11 <or> 12', false],
  ['13', '<or> 11 <or> 12 <or>', false],
  // absent requirement
  [null, null, true],
  ['foo', null, false],
  // a capability must be reported for an operator to match
  [null, '>= 1', false],
  // a boolean capability is not the string "True"
  [true, 'True', false],
  // numbers and booleans count as numbers
  [10, '>= 2', true],
  [true, '== 1', true],
  // Python would raise comparing int with str; the backend just does not match
  [5, 's< 6', false],
  [5, '<in> 5', false],
];

describe('matchExtraSpec', () => {
  for (const [value, req, expected] of cases) {
    it(`${JSON.stringify(value)} against ${JSON.stringify(req)} is ${expected}`, () => {
      assert.equal(matchExtraSpec(value, req), expected);
    });
  }
});

describe('Python conversions', () => {
  it('float() accepts what Python accepts and nothing else', () => {
    assert.equal(pyFloat(' 1.5 '), 1.5);
    assert.equal(pyFloat('1_000'), 1000);
    assert.equal(pyFloat('1e3'), 1000);
    assert.equal(pyFloat('5.'), 5);
    assert.equal(pyFloat('-inf'), -Infinity);
    assert.equal(pyFloat('Infinity'), Infinity);
    assert.ok(Number.isNaN(pyFloat('nan')));
    assert.equal(pyFloat(''), undefined);
    assert.equal(pyFloat('0x10'), undefined);
    assert.equal(pyFloat('1__0'), undefined);
    assert.equal(pyFloat('abc'), undefined);
    assert.equal(pyFloat(['1']), undefined);
  });

  it('bool_from_string is lenient: unknown words are false', () => {
    assert.equal(boolFromString('On'), true);
    assert.equal(boolFromString(1), true);
    assert.equal(boolFromString('0'), false);
    assert.equal(boolFromString('maybe'), false);
    assert.equal(boolFromString(null), false);
  });
});
