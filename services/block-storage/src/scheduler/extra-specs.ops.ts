// Cinder's extra-spec operators: does a reported capability value satisfy a volume type's requirement string.
import type { CapabilityValue } from './scheduler.models.js';

// Python's float() accepts surrounding blanks, underscores between digits, inf/nan words; anything else is a ValueError.
const PY_FLOAT = /^[+-]?(?:(?:\d(?:_?\d)*)?\.?\d(?:_?\d)*(?:e[+-]?\d(?:_?\d)*)?|(?:\d(?:_?\d)*)\.|inf(?:inity)?|nan)$/i;

/** float(x) as Python evaluates it, or undefined where Python raises. */
export function pyFloat(x: CapabilityValue): number | undefined {
  if (typeof x === 'boolean') return x ? 1 : 0;
  if (typeof x === 'number') return x;
  if (typeof x !== 'string') return undefined;
  const s = x.trim();
  if (!PY_FLOAT.test(s)) return undefined;
  const bare = s.replaceAll('_', '').toLowerCase();
  if (bare.endsWith('inf') || bare.endsWith('infinity')) return bare.startsWith('-') ? -Infinity : Infinity;
  if (bare.endsWith('nan')) return NaN;
  return Number(bare);
}

const TRUE_WORDS = new Set(['1', 't', 'true', 'on', 'y', 'yes']);

/** oslo strutils.bool_from_string, non-strict: unknown words are false. */
export function boolFromString(x: CapabilityValue): boolean {
  if (typeof x === 'boolean') return x;
  // Python's str() of None, a list or a dict is never a true word.
  if (typeof x !== 'string' && typeof x !== 'number') return false;
  return TRUE_WORDS.has(String(x).trim().toLowerCase());
}

type Op = (value: CapabilityValue, operand: string) => boolean;

function numeric(test: (a: number, b: number) => boolean): Op {
  return (value, operand) => {
    const a = pyFloat(value);
    const b = pyFloat(operand);
    return a !== undefined && b !== undefined && test(a, b);
  };
}

// Python raises TypeError comparing a str with a number; Cinder would fail the request, we fail the backend.
function lexical(test: (a: string, b: string) => boolean): Op {
  return (value, operand) => typeof value === 'string' && test(value, operand);
}

const OPS: Record<string, Op> = {
  // '=' means "at least": a backend with more than asked satisfies it.
  '=': numeric((a, b) => a >= b),
  '==': numeric((a, b) => a === b),
  '!=': numeric((a, b) => a !== b),
  '>=': numeric((a, b) => a >= b),
  '<=': numeric((a, b) => a <= b),
  '<in>': (value, operand) => typeof value === 'string' && value.includes(operand),
  '<is>': (value, operand) => boolFromString(value) === boolFromString(operand),
  's==': (value, operand) => value === operand,
  's!=': (value, operand) => value !== operand,
  's<': lexical((a, b) => a < b),
  's<=': lexical((a, b) => a <= b),
  's>': lexical((a, b) => a > b),
  's>=': lexical((a, b) => a >= b),
};

/**
 * True when `value` satisfies `req`. Only the first word after an operator counts
 * ("<in> a b" tests "a"); a requirement without a known operator is plain string equality,
 * so a boolean capability needs "<is> True", as in Cinder.
 */
export function matchExtraSpec(value: CapabilityValue | undefined, req: string | null | undefined): boolean {
  if (req === null || req === undefined) return value === null || value === undefined;
  const words = req.split(/\s+/).filter((w) => w !== '');
  const op = words.shift();
  const method = op === undefined ? undefined : OPS[op];
  if (op !== '<or>' && method === undefined) return value === req;
  if (value === null || value === undefined) return false;
  if (op === '<or>') {
    // "<or> v1 <or> v2": every other word is a candidate.
    for (let i = 0; i < words.length; i += 2) if (words[i] === value) return true;
    return false;
  }
  const operand = words[0];
  return operand !== undefined && method !== undefined && method(value, operand);
}
