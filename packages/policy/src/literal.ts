// How oslo reads the left side of a generic check: ast.literal_eval() first, a dotted creds path
// when that raises ValueError. This module decides which of the two a kind is, without Python.
import { pyFloatRepr } from './python.js';

/**
 * What `ast.literal_eval(kind)` makes of a check's left side:
 * - `literal`: a Python literal; the check compares the match with `str(value)`.
 * - `path`: a name or dotted name (ValueError in Python); the check walks the credentials.
 * - `unsupported`: anything else. Python either raises SyntaxError while evaluating (so the
 *   request fails) or accepts an expression or container literal we do not model.
 */
export type KindClass =
  | { readonly type: 'literal'; readonly text: string }
  | { readonly type: 'path'; readonly segments: readonly string[] }
  | { readonly type: 'unsupported'; readonly reason: string };

// Python's hard keywords: a dotted path containing one is a SyntaxError, not a name.
const KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue',
  'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in',
  'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
]);
const CONSTANTS: ReadonlyMap<string, string> = new Map([
  ['True', 'True'],
  ['False', 'False'],
  ['None', 'None'],
]);

const IDENTIFIER = /^[\p{ID_Start}_][\p{ID_Continue}]*$/u;
const DIGITPART = '[0-9](?:_?[0-9])*';
const INT_RE = new RegExp(
  `^(?:[1-9](?:_?[0-9])*|0+(?:_?0)*|0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+)$`,
);
const POINTFLOAT = `(?:(?:${DIGITPART})?\\.${DIGITPART}|${DIGITPART}\\.)`;
const FLOAT_RE = new RegExp(`^(?:${POINTFLOAT}|(?:${DIGITPART}|${POINTFLOAT})[eE][+-]?${DIGITPART})$`);

export function classifyKind(kind: string): KindClass {
  const constant = CONSTANTS.get(kind);
  if (constant !== undefined) return { type: 'literal', text: constant };
  if (isNamePath(kind)) return { type: 'path', segments: kind.split('.') };
  if (IDENTIFIER.test(kind)) return { type: 'unsupported', reason: `'${kind}' is a Python keyword, which literal_eval() rejects as a syntax error` };

  const literal = evalNumber(kind) ?? evalStrings(kind);
  if (literal !== undefined) return { type: 'literal', text: literal };

  const signs = /^[+-]+/.exec(kind)?.[0] ?? '';
  if (signs !== '') {
    const operand = kind.slice(signs.length);
    // literal_eval takes one sign on an int or float literal; a sign on anything else that
    // parses (a name, a str, True, another sign) is a ValueError, so oslo walks the creds.
    const number = signs.length === 1 ? evalNumber(operand) : undefined;
    if (number !== undefined) return { type: 'literal', text: negate(number, signs === '-') };
    if (CONSTANTS.has(operand) || isNamePath(operand) || evalNumber(operand) !== undefined || evalStrings(operand) !== undefined) {
      return { type: 'path', segments: kind.split('.') };
    }
  }
  return {
    type: 'unsupported',
    reason: `'${kind}' is neither a name, a dotted name, nor a str, int, float, bool or None literal`,
  };
}

/** A name or dotted name Python parses (ValueError in literal_eval, so a credentials path). */
function isNamePath(text: string): boolean {
  const segments = text.split('.');
  // `True.x` is an attribute of a constant; `x.True` and `x.class` do not parse.
  return segments.every((s, i) => IDENTIFIER.test(s) && (!KEYWORDS.has(s) || (i === 0 && segments.length > 1 && CONSTANTS.has(s))));
}

function negate(num: string, neg: boolean): string {
  if (!neg) return num;
  if (num.startsWith('-')) return num.slice(1);
  if (num === '0') return '0';
  return `-${num}`;
}

function evalNumber(text: string): string | undefined {
  if (INT_RE.test(text)) {
    // BigInt() reads 0x/0o/0b prefixes and, like Python's int, never overflows.
    return BigInt(text.replace(/_/g, '').toLowerCase()).toString();
  }
  if (FLOAT_RE.test(text)) return pyFloatRepr(Number(text.replace(/_/g, '')));
  return undefined;
}

/** Adjacent str literals (`'a'"b"` is 'ab'), with u/r prefixes and Python's escapes. */
function evalStrings(text: string): string | undefined {
  if (text === '') return undefined;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const m = /^([rRuU]?)('''|"""|'|")/.exec(text.slice(i));
    if (!m) return undefined;
    const prefix = (m[1] ?? '').toLowerCase();
    const quote = m[2] ?? "'";
    const raw = prefix === 'r';
    i += m[0].length;
    const start = i;
    let closed = false;
    while (i < text.length) {
      if (text[i] === '\\') {
        i += 2;
        continue;
      }
      if (text.startsWith(quote, i)) {
        closed = true;
        break;
      }
      // single-quoted literals cannot span lines
      if (quote.length === 1 && (text[i] === '\n' || text[i] === '\r')) return undefined;
      i++;
    }
    if (!closed) return undefined;
    const content = text.slice(start, i);
    i += quote.length;
    const value = raw ? content : unescape(content);
    if (value === undefined) return undefined;
    out += value;
  }
  return out;
}

const SIMPLE_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['\n', ''],
  ['\\', '\\'],
  ["'", "'"],
  ['"', '"'],
  ['a', '\x07'],
  ['b', '\b'],
  ['f', '\f'],
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
  ['v', '\v'],
]);

function unescape(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] ?? '';
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = s[i + 1] ?? '';
    const simple = SIMPLE_ESCAPES.get(next);
    if (simple !== undefined) {
      out += simple;
      i++;
      continue;
    }
    if (/[0-7]/.test(next)) {
      const m = /^[0-7]{1,3}/.exec(s.slice(i + 1)) ?? [''];
      out += String.fromCodePoint(parseInt(m[0], 8));
      i += m[0].length;
      continue;
    }
    const widths: Record<string, number> = { x: 2, u: 4, U: 8 };
    const width = widths[next];
    if (width !== undefined) {
      const hex = s.slice(i + 2, i + 2 + width);
      if (hex.length !== width || !/^[0-9a-fA-F]+$/.test(hex)) return undefined;
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) return undefined;
      out += String.fromCodePoint(cp);
      i += 1 + width;
      continue;
    }
    // \N{NAME} needs the Unicode name table; anything else is kept verbatim, as CPython does.
    if (next === 'N') return undefined;
    out += ch;
  }
  return out;
}
