// Python semantics oslo.policy leans on: str()/repr() of values, whitespace, truthiness, float repr.
// oslo compares `match == str(value)`, so a policy engine that wants oslo's decisions has to
// stringify exactly as CPython does (None -> 'None', True -> 'True', [1] -> '[1]').

/** The characters CPython's `str.isspace()` and `re`'s `\s` accept (they agree for str). */
export const PY_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const WHITESPACE_ONLY = new RegExp(`^[${PY_WHITESPACE}]*$`, 'u');
const LEADING_WHITESPACE = new RegExp(`^[${PY_WHITESPACE}]+`, 'u');
const TRAILING_WHITESPACE = new RegExp(`[${PY_WHITESPACE}]+$`, 'u');

export function pyIsBlank(s: string): boolean {
  return WHITESPACE_ONLY.test(s);
}

export function pyStrip(s: string): string {
  return s.replace(LEADING_WHITESPACE, '').replace(TRAILING_WHITESPACE, '');
}

export function pyLstrip(s: string): string {
  return s.replace(LEADING_WHITESPACE, '');
}

export function pyRstrip(s: string): string {
  return s.replace(TRAILING_WHITESPACE, '');
}

/** `str.splitlines()`: the line boundaries CPython recognises, \r\n counted once. */
export function pySplitlines(s: string): string[] {
  // eslint-disable-next-line no-control-regex -- Python also breaks lines at the \x1c-\x1e separators
  const lines = s.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/u);
  // splitlines() drops the empty string after a trailing boundary (and returns [] for '').
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Length in code points, as Python's len() counts a str. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Python truthiness of a JSON-like value (`if creds.get('system'):`). */
export function pyTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return false;
  if (typeof value === 'number') return value !== 0; // NaN is truthy in Python too
  if (typeof value === 'bigint') return value !== 0n;
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.length > 0;
  if (isPlainObject(value)) return Object.keys(value).length > 0;
  return true;
}

/**
 * Python's repr() of a float: the shortest digits that round-trip, in fixed notation for
 * exponents -4..15 and scientific (`1e+16`, `1e-05`) outside.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument yields the shortest round-trip digits, as repr() does.
  const [mantissa = '', expText = '0'] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
      const frac = digits.slice(exp + 1);
      return `${sign}${intPart}.${frac === '' ? '0' : frac}`;
    }
    return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const expDigits = String(Math.abs(exp)).padStart(2, '0');
  return `${sign}${head}e${exp < 0 ? '-' : '+'}${expDigits}`;
}

function pyNumberStr(x: number): string {
  // JSON cannot tell 1 from 1.0; integral numbers are taken as Python ints, as json.loads("1") is.
  if (Number.isInteger(x)) return Object.is(x, -0) ? '0' : BigInt(x).toString();
  return pyFloatRepr(x);
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's repr() of a str: single quotes unless the text has ' and no ", escapes as CPython. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x7f || ch === ' ') out += ch;
    else if (NON_PRINTABLE.test(ch)) {
      if (cp < 0x100) out += `\\x${cp.toString(16).padStart(2, '0')}`;
      else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
      else out += `\\U${cp.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

/** Python's str() of a JSON-like value. */
export function pyStr(value: unknown): string {
  if (typeof value === 'string') return value;
  return pyRepr(value);
}

/** Python's repr() of a JSON-like value (lists and dicts repr their items). */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return pyStrRepr(value);
  if (typeof value === 'number') return pyNumberStr(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map((v) => pyRepr(v)).join(', ')}]`;
  if (isPlainObject(value)) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${pyStrRepr(k)}: ${pyRepr(v)}`)
      .join(', ')}}`;
  }
  // Not a value Python would see from JSON; anything stable will do.
  return JSON.stringify(value) ?? typeof value;
}
