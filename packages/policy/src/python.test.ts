// Python semantics the engine reproduces: str()/repr(), float repr, literal kinds, % templates,
// textwrap. Expected strings were printed by CPython 3.11.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyEvaluationError } from './errors.js';
import { classifyKind } from './literal.js';
import { pyFloatRepr, pyRepr, pySplitlines, pyStr, pyTruthy } from './python.js';
import { compileTemplate, renderTemplate } from './template.js';
import { wrap } from './textwrap.js';

describe('pyStr / pyRepr', () => {
  it('stringifies as CPython', () => {
    assert.equal(pyStr(null), 'None');
    assert.equal(pyStr(undefined), 'None');
    assert.equal(pyStr(true), 'True');
    assert.equal(pyStr(false), 'False');
    assert.equal(pyStr(1), '1');
    assert.equal(pyStr(-0), '0');
    assert.equal(pyStr(1e20), '100000000000000000000');
    assert.equal(pyStr('x'), 'x');
    assert.equal(pyStr([1, 'a', null, true, 1.5, { k: [false] }]), "[1, 'a', None, True, 1.5, {'k': [False]}]");
  });

  it('quotes and escapes str repr as CPython', () => {
    const cases: [string, string][] = [
      ['a', "'a'"],
      ["it's", `"it's"`],
      ['say "hi"', `'say "hi"'`],
      [`both ' and "`, `'both \\' and "'`],
      ['tab\there', "'tab\\there'"],
      ['nl\n', "'nl\\n'"],
      ['\x00\x7f', "'\\x00\\x7f'"],
      ['café', "'café'"],
      ['\u200b', "'\\u200b'"],
      ['😀', "'😀'"],
      ['back\\slash', "'back\\\\slash'"],
    ];
    for (const [input, expected] of cases) assert.equal(pyRepr(input), expected, input);
  });

  it('prints floats with repr()\'s shortest digits and exponent rules', () => {
    const cases: [number, string][] = [
      [0.1, '0.1'],
      [1e16, '1e+16'],
      [1e15, '1000000000000000.0'],
      [123.456, '123.456'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1.5e300, '1.5e+300'],
      [Math.SQRT2, '1.4142135623730951'],
      [-2.5, '-2.5'],
      [1e22, '1e+22'],
      [5e-324, '5e-324'],
      [-0, '-0.0'],
      [Infinity, 'inf'],
      [NaN, 'nan'],
    ];
    for (const [input, expected] of cases) assert.equal(pyFloatRepr(input), expected, String(input));
  });

  it('has Python truthiness', () => {
    for (const v of [null, undefined, false, 0, '', [], {}]) assert.equal(pyTruthy(v), false, JSON.stringify(v));
    for (const v of [true, 1, NaN, 'all', [0], { a: 1 }]) assert.equal(pyTruthy(v), true, JSON.stringify(v));
  });

  it('splits lines where str.splitlines() does', () => {
    assert.deepEqual(pySplitlines('a\r\nb\rc\nd\x1ce\u2028f\n'), ['a', 'b', 'c', 'd', 'e', 'f']);
    assert.deepEqual(pySplitlines(''), []);
  });
});

describe('classifyKind (ast.literal_eval on the left side)', () => {
  it('reads literals and prints them as str() would', () => {
    const literals: [string, string][] = [
      ['True', 'True'],
      ['None', 'None'],
      ["'Admin'", 'Admin'],
      ['"x"', 'x'],
      ["'a''b'", 'ab'],
      ["r'\\d'", '\\d'],
      ["'\\x41\\u00e9\\101'", 'AéA'],
      ['1', '1'],
      ['-1', '-1'],
      ['+1', '1'],
      ['0x1F', '31'],
      ['0o17', '15'],
      ['0b11', '3'],
      ['1_000', '1000'],
      ['1.50', '1.5'],
      ['1e3', '1000.0'],
      ['.5', '0.5'],
      ['-0.0', '-0.0'],
      ['1e999', 'inf'],
      ['123456789012345678901234567890', '123456789012345678901234567890'],
    ];
    for (const [kind, text] of literals) assert.deepEqual(classifyKind(kind), { type: 'literal', text }, kind);
  });

  it('treats names, dotted names and signed non-numbers as credentials paths (ValueError in Python)', () => {
    assert.deepEqual(classifyKind('project_id'), { type: 'path', segments: ['project_id'] });
    assert.deepEqual(classifyKind('token.project.domain.id'), { type: 'path', segments: ['token', 'project', 'domain', 'id'] });
    assert.deepEqual(classifyKind('True.x'), { type: 'path', segments: ['True', 'x'] });
    assert.deepEqual(classifyKind('-True'), { type: 'path', segments: ['-True'] });
    assert.deepEqual(classifyKind('--1'), { type: 'path', segments: ['--1'] });
  });

  it('flags what Python cannot parse (and what we do not model)', () => {
    for (const kind of ['2fa', 'class', 'a.class', '01', '%(x)s', '1_', "b'x'", '[1]', 'a-b']) {
      assert.equal(classifyKind(kind).type, 'unsupported', kind);
    }
  });
});

describe('% templates', () => {
  const target = { a: 'x', n: 1, f: 1.7, none: null, t: true, 'dotted.key': 'd', 'p(q)': 'nested' };

  it('interpolates %(key)s with str(), %(key)r with repr(), %(key)d with int()', () => {
    assert.equal(renderTemplate(compileTemplate('%(a)s-%(n)s-%(none)s-%(t)s'), target), 'x-1-None-True');
    assert.equal(renderTemplate(compileTemplate('%(a)r'), target), "'x'");
    assert.equal(renderTemplate(compileTemplate('%(f)d|%(t)i'), target), '1|1');
    assert.equal(renderTemplate(compileTemplate('%(dotted.key)s %(p(q))s 100%%'), target), 'd nested 100%');
  });

  it('is undefined (KeyError) for a missing key, even before an unsupported format', () => {
    assert.equal(renderTemplate(compileTemplate('%(missing)s'), target), undefined);
    assert.equal(renderTemplate(compileTemplate('%(missing)5s'), target), undefined);
  });

  it('marks unsupported formats with their offset and raises when rendered', () => {
    const t = compileTemplate('ab%(a)5s');
    assert.deepEqual(t.unsupported?.offset, 2);
    assert.throws(() => renderTemplate(t, target), PolicyEvaluationError);
    assert.ok(compileTemplate('50%').unsupported !== undefined);
    assert.ok(compileTemplate('%(a').unsupported !== undefined);
    assert.throws(() => renderTemplate(compileTemplate('%(a)d'), target), PolicyEvaluationError);
  });

  it('has a constant fast path for text without placeholders', () => {
    assert.equal(compileTemplate('admin').constant, 'admin');
    assert.equal(compileTemplate('%%').constant, '%');
    assert.equal(compileTemplate('%(a)s').constant, undefined);
  });
});

describe('textwrap.wrap', () => {
  it('breaks where CPython does: hyphens, em-dashes, long words', () => {
    assert.deepEqual(wrap('Look, goof-ball -- use the -b option! supercalifragilisticexpialidocious-hyphenated-thing', { width: 20, initialIndent: '# ', subsequentIndent: '# ' }), [
      '# Look, goof-ball --',
      '# use the -b option!',
      '# supercalifragilist',
      '# icexpialidocious-',
      '# hyphenated-thing',
    ]);
    assert.deepEqual(wrap('x'.repeat(30), { width: 10 }), ['xxxxxxxxxx', 'xxxxxxxxxx', 'xxxxxxxxxx']);
    assert.deepEqual(wrap('a  b   c'), ['a  b   c']);
  });
});
