// The rule-language parser: oslo's trees and strings, and errors that say where.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkToString, ruleReferences } from './checks.js';
import { PolicySyntaxError } from './errors.js';
import { parseRule } from './parser.js';

const str = (rule: Parameters<typeof parseRule>[0], mode: 'strict' | 'lenient' = 'strict'): string => checkToString(parseRule(rule, { mode }));

function syntaxError(rule: string): PolicySyntaxError {
  try {
    parseRule(rule);
  } catch (err) {
    if (err instanceof PolicySyntaxError) return err;
    throw err;
  }
  assert.fail(`expected a syntax error for ${JSON.stringify(rule)}`);
}

describe('parseRule', () => {
  it('reads checks, constants and the empty rule', () => {
    assert.deepEqual(parseRule('role:admin'), { type: 'role', match: 'admin' });
    assert.deepEqual(parseRule('rule:owner'), { type: 'rule', match: 'owner' });
    assert.deepEqual(parseRule('project_id:%(target.project.id)s'), { type: 'generic', kind: 'project_id', match: '%(target.project.id)s' });
    assert.deepEqual(parseRule("'member':%(target.role.name)s"), { type: 'generic', kind: "'member'", match: '%(target.role.name)s' });
    assert.deepEqual(parseRule('@'), { type: 'true' });
    assert.deepEqual(parseRule('!'), { type: 'false' });
    assert.deepEqual(parseRule(''), { type: 'true' });
    // only the first colon splits: the match keeps the rest
    assert.deepEqual(parseRule('rule:a:b'), { type: 'rule', match: 'a:b' });
  });

  it('binds not tighter than and, and tighter than or, as oslo', () => {
    assert.equal(str('a:1 or b:2 and c:3'), '(a:1 or (b:2 and c:3))');
    assert.equal(str('a:1 and b:2 or c:3 and d:4'), '((a:1 and b:2) or (c:3 and d:4))');
    assert.equal(str('not a:1 and b:2'), '(not a:1 and b:2)');
    assert.equal(str('not (a:1 and b:2)'), 'not (a:1 and b:2)');
    assert.equal(str('not not a:1'), 'not not a:1');
  });

  it('keeps oslo\'s tree shapes: flat chains, nested parenthesised groups, the or/and regrouping', () => {
    assert.equal(str('a:1 and b:2 and c:3'), '(a:1 and b:2 and c:3)');
    assert.equal(str('(a:1 and b:2) and c:3'), '((a:1 and b:2) and c:3)');
    assert.equal(str('a:1 or (b:2 and c:3) and d:4'), '(a:1 or (b:2 and c:3 and d:4))');
    assert.equal(str('(a:1 or b:2) or c:3'), '((a:1 or b:2) or c:3)');
    assert.equal(str('((a:1))'), 'a:1');
  });

  it('accepts operators in any case and splits on every Python whitespace', () => {
    assert.equal(str('a:1 AND NOT b:2 Or c:3'), '((a:1 and not b:2) or c:3)');
    assert.equal(str('a:1\u00a0or\u3000b:2\tor\nc:3'), '(a:1 or b:2 or c:3)');
    // U+200B is not whitespace to Python, so this is one token glued to "or"
    assert.throws(() => parseRule('a:1\u200bor b:2'), PolicySyntaxError);
  });

  it('glues parentheses to checks the way oslo\'s tokenizer does', () => {
    assert.equal(str('(role:a or (role:b))'), '(role:a or role:b)');
    assert.equal(str('(role:%(x)s)'), 'role:%(x)s');
    // a match that ends in ")" loses it to the tokenizer
    assert.throws(() => parseRule('x:(a)'), PolicySyntaxError);
    assert.equal(str('x:(a)', 'lenient'), '!');
  });

  it('says where a rule goes wrong', () => {
    const cases: [string, number, RegExp][] = [
      ['role:a and or role:b', 11, /expected a check/],
      ['role:a role:b', 7, /expected "and", "or" or "\)"/],
      ['(role:a', 0, /never closed/],
      ['role:a)', 6, /unbalanced/],
      ['role:a and', 10, /ends where a check was expected/],
      ['role:a or foo', 10, /"foo" is not a check/],
      ["role:a or 'quoted'", 10, /quoted string/],
      ['   ', 0, /no checks/],
      ['role:a or x:%(k)5s', 12, /unsupported format/],
      ['role:a or 2fa:x', 10, /neither a name/],
      ['http://x', 0, /remote checks/],
    ];
    for (const [rule, offset, reason] of cases) {
      const err = syntaxError(rule);
      assert.equal(err.offset, offset, rule);
      assert.match(err.reason, reason, rule);
      assert.equal(err.code, 'policy.syntax_error');
      assert.equal(err.kind, 'internal');
      assert.match(err.message, new RegExp(`at column ${offset + 1}: `));
    }
  });

  it('fails closed like oslo in lenient mode', () => {
    assert.equal(str('role:a and', 'lenient'), '!');
    assert.equal(str('foo or role:a', 'lenient'), '(! or role:a)');
    assert.equal(str('and', 'lenient'), '!');
    assert.equal(str('x:%(k)5s', 'lenient'), 'x:%(k)5s');
  });

  it('reads the legacy list form: an or of and lists, single checks only', () => {
    assert.equal(str([]), '@');
    assert.equal(str([['role:a', 'role:b'], ['role:c']]), '((role:a and role:b) or role:c)');
    assert.equal(str(['role:a']), 'role:a');
    assert.equal(str([[], ['role:a']]), 'role:a');
    assert.equal(str([[]], 'lenient'), '!');
    // elements are single checks: the text after the colon is all match
    assert.deepEqual(parseRule([['role:a or role:b']]), { type: 'role', match: 'a or role:b' });
    assert.throws(() => parseRule([['role:a'], ['foo']]), /list element \[1\]\[0\]/);
  });

  it('knows service-registered kinds', () => {
    assert.deepEqual(parseRule('field:networks:shared=True', { customKinds: new Set(['field']) }), { type: 'custom', kind: 'field', match: 'networks:shared=True' });
  });

  it('lists rule references', () => {
    assert.deepEqual(ruleReferences(parseRule('rule:a or (role:x and not rule:b)')), ['a', 'b']);
  });
});
