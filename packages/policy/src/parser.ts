// oslo.policy's rule language: its tokenizer and greedy shift-reduce parser, reproduced so the
// trees (and their strings) match oslo's exactly, plus a grammar pass that says where a bad rule
// goes wrong instead of silently failing closed.
import { FALSE_CHECK, TRUE_CHECK } from './checks.js';
import type { Check } from './checks.js';
import { PolicySyntaxError } from './errors.js';
import { classifyKind } from './literal.js';
import { PY_WHITESPACE } from './python.js';
import { compileTemplate } from './template.js';

/** The legacy JSON form: an "or" of "and" lists of single checks (`[["role:a", "x:y"], ["@"]]`). */
export type RuleList = readonly (string | readonly string[])[];

export interface ParseOptions {
  /**
   * `strict` (the default) throws PolicySyntaxError for anything oslo would log and fail closed
   * on, and for literals or interpolations oslo would raise on at request time. `lenient` does
   * what oslo does: an unreadable rule or check becomes `!`.
   */
  readonly mode?: 'strict' | 'lenient';
  /** Check kinds with a service-registered implementation (see EnforcerOptions.customChecks). */
  readonly customKinds?: ReadonlySet<string>;
}

interface Problem {
  readonly offset: number;
  readonly reason: string;
}

type Token =
  | { readonly t: '(' | ')' | 'and' | 'or' | 'not'; readonly text: string; readonly offset: number }
  | { readonly t: 'string'; readonly text: string; readonly offset: number }
  | { readonly t: 'check'; readonly text: string; readonly offset: number; readonly check: Check; readonly problem: Problem | undefined };

const TOKEN_RE = new RegExp(`[^${PY_WHITESPACE}]+`, 'gu');

/** Parses a rule in the policy language or the legacy list form, as oslo's `parse_rule`. */
export function parseRule(rule: string | RuleList, options: ParseOptions = {}): Check {
  return typeof rule === 'string' ? parseTextRule(rule, options) : parseListRule(rule, options);
}

function parseTextRule(rule: string, options: ParseOptions): Check {
  if (rule === '') return TRUE_CHECK;
  const strict = (options.mode ?? 'strict') === 'strict';
  const tokens = tokenize(rule, options);
  if (strict) {
    const problem = grammarProblem(tokens, rule.length);
    if (problem !== undefined) throw new PolicySyntaxError(rule, problem.offset, problem.reason);
  }
  const result = shiftReduce(tokens);
  if (result === undefined) {
    if (strict) throw new PolicySyntaxError(rule, 0, 'the rule does not reduce to one check');
    return FALSE_CHECK;
  }
  return result;
}

function parseListRule(rule: RuleList, options: ParseOptions): Check {
  if (rule.length === 0) return TRUE_CHECK;
  const strict = (options.mode ?? 'strict') === 'strict';
  const ors: Check[] = [];
  rule.forEach((inner, i) => {
    if (inner.length === 0) return;
    const items = typeof inner === 'string' ? [inner] : inner;
    const ands = items.map((text, j) => {
      const { check, problem } = parseCheck(text, 0, options);
      if (problem !== undefined && strict) {
        const where = typeof inner === 'string' ? `[${i}]` : `[${i}][${j}]`;
        throw new PolicySyntaxError(text, problem.offset, `list element ${where}: ${problem.reason}`);
      }
      return check;
    });
    ors.push(ands.length === 1 ? (ands[0] ?? FALSE_CHECK) : { type: 'and', checks: ands });
  });
  if (ors.length === 0) return FALSE_CHECK;
  return ors.length === 1 ? (ors[0] ?? FALSE_CHECK) : { type: 'or', checks: ors };
}

function tokenize(rule: string, options: ParseOptions): Token[] {
  const tokens: Token[] = [];
  for (const m of rule.matchAll(TOKEN_RE)) {
    const raw = m[0];
    const base = m.index;
    let lead = 0;
    while (raw[lead] === '(') {
      tokens.push({ t: '(', text: '(', offset: base + lead });
      lead++;
    }
    const tok = raw.slice(lead);
    if (tok === '') continue;
    const start = base + lead;
    let end = tok.length;
    while (end > 0 && tok[end - 1] === ')') end--;
    const clean = tok.slice(0, end);
    const lowered = clean.toLowerCase();
    if (lowered === 'and' || lowered === 'or' || lowered === 'not') {
      tokens.push({ t: lowered, text: clean, offset: start });
    } else if (clean !== '') {
      // oslo tests the quotes on the token before its closing parentheses are cut off.
      const first = tok[0];
      if (tok.length >= 2 && (first === '"' || first === "'") && tok[tok.length - 1] === first) {
        tokens.push({ t: 'string', text: tok.slice(1, -1), offset: start });
      } else {
        const { check, problem } = parseCheck(clean, start, options);
        tokens.push({ t: 'check', text: clean, offset: start, check, problem });
      }
    }
    for (let k = end; k < tok.length; k++) tokens.push({ t: ')', text: ')', offset: start + k });
  }
  return tokens;
}

/** oslo's `_parse_check`: one `kind:match`, `@` or `!`. */
function parseCheck(text: string, offset: number, options: ParseOptions): { check: Check; problem: Problem | undefined } {
  if (text === '!') return { check: FALSE_CHECK, problem: undefined };
  if (text === '@') return { check: TRUE_CHECK, problem: undefined };
  const colon = text.indexOf(':');
  if (colon < 0) {
    return { check: FALSE_CHECK, problem: { offset, reason: `"${text}" is not a check (expected kind:match, "@" or "!")` } };
  }
  const kind = text.slice(0, colon);
  const match = text.slice(colon + 1);
  const matchOffset = offset + colon + 1;
  if (options.customKinds?.has(kind) === true) return { check: { type: 'custom', kind, match }, problem: undefined };
  if (kind === 'http' || kind === 'https') {
    // oslo's remote check POSTs the target and credentials to a URL; we do not ship that.
    return { check: FALSE_CHECK, problem: { offset, reason: `"${kind}:" remote checks are not supported` } };
  }
  if (kind === 'rule') return { check: { type: 'rule', match }, problem: undefined };
  const template = compileTemplate(match);
  const templateProblem =
    template.unsupported === undefined ? undefined : { offset: matchOffset + template.unsupported.offset, reason: template.unsupported.reason };
  if (kind === 'role') return { check: { type: 'role', match }, problem: templateProblem };
  const cls = classifyKind(kind);
  const kindProblem = cls.type === 'unsupported' ? { offset, reason: cls.reason } : undefined;
  return { check: { type: 'generic', kind, match }, problem: kindProblem ?? templateProblem };
}

/**
 * Where a token sequence leaves the grammar
 *   expr := term (('and' | 'or') term)* ; term := 'not' term | '(' expr ')' | check
 * which accepts exactly the sequences oslo's reducer reduces to one check. undefined if none.
 */
function grammarProblem(tokens: readonly Token[], length: number): Problem | undefined {
  if (tokens.length === 0) return { offset: 0, reason: 'the rule has no checks (only an empty string means "always")' };
  const open: number[] = [];
  let wantTerm = true;
  for (const tok of tokens) {
    if (wantTerm) {
      if (tok.t === '(') open.push(tok.offset);
      else if (tok.t === 'not') continue;
      else if (tok.t === 'check') {
        if (tok.problem !== undefined) return tok.problem;
        wantTerm = false;
      } else if (tok.t === 'string') return { offset: tok.offset, reason: `quoted string "${tok.text}" is not a check` };
      else return { offset: tok.offset, reason: `expected a check, "not" or "(" but found "${tok.text}"` };
    } else if (tok.t === 'and' || tok.t === 'or') {
      wantTerm = true;
    } else if (tok.t === ')') {
      if (open.pop() === undefined) return { offset: tok.offset, reason: 'unbalanced ")"' };
    } else {
      return { offset: tok.offset, reason: `expected "and", "or" or ")" but found "${tok.text}"` };
    }
  }
  if (wantTerm) return { offset: length, reason: 'the rule ends where a check was expected' };
  const unclosed = open.pop();
  if (unclosed !== undefined) return { offset: unclosed, reason: 'this "(" is never closed' };
  return undefined;
}

type MutableAnd = { type: 'and'; checks: Check[] };
type MutableOr = { type: 'or'; checks: Check[] };
type Entry =
  | { t: 'check'; v: Check }
  | { t: 'and_expr'; v: MutableAnd }
  | { t: 'or_expr'; v: MutableOr }
  | { t: '(' | ')' | 'and' | 'or' | 'not' | 'string' };

/**
 * oslo's ParseState: shift each token, then greedily reduce the top of the stack. Its tree
 * shapes (which "and"s get flattened, how "a or b and c" regroups) are what checkToString shows.
 */
function shiftReduce(tokens: readonly Token[]): Check | undefined {
  const stack: Entry[] = [];
  for (const tok of tokens) {
    stack.push(tok.t === 'check' ? { t: 'check', v: tok.check } : { t: tok.t });
    reduce(stack);
  }
  if (stack.length !== 1) return undefined;
  const only = stack[0];
  if (only === undefined) return undefined;
  // oslo 4.0 returned a stray operator token as the "check" and crashed later; master fails closed.
  if (only.t === 'check' || only.t === 'and_expr' || only.t === 'or_expr') return only.v;
  return undefined;
}

function reduce(stack: Entry[]): void {
  for (;;) {
    const n = stack.length;
    const a = stack[n - 3];
    const b = stack[n - 2];
    const c = stack[n - 1];
    if (a !== undefined && b !== undefined && c !== undefined) {
      if (a.t === '(' && c.t === ')' && (b.t === 'check' || b.t === 'and_expr' || b.t === 'or_expr')) {
        stack.splice(n - 3, 3, { t: 'check', v: b.v });
        continue;
      }
      if (c.t === 'check' && b.t === 'and') {
        if (a.t === 'check') {
          stack.splice(n - 3, 3, { t: 'and_expr', v: { type: 'and', checks: [a.v, c.v] } });
          continue;
        }
        if (a.t === 'and_expr') {
          a.v.checks.push(c.v);
          stack.splice(n - 3, 3, a);
          continue;
        }
        if (a.t === 'or_expr') {
          // "a or b and c": the "and" takes the last operand of the "or".
          const last = a.v.checks.pop();
          const and: MutableAnd | Check =
            last !== undefined && last.type === 'and' ? { type: 'and', checks: [...last.checks, c.v] } : { type: 'and', checks: [last ?? FALSE_CHECK, c.v] };
          a.v.checks.push(and);
          stack.splice(n - 3, 3, a);
          continue;
        }
      }
      if (c.t === 'check' && b.t === 'or') {
        if (a.t === 'check' || a.t === 'and_expr') {
          stack.splice(n - 3, 3, { t: 'or_expr', v: { type: 'or', checks: [a.v, c.v] } });
          continue;
        }
        if (a.t === 'or_expr') {
          a.v.checks.push(c.v);
          stack.splice(n - 3, 3, a);
          continue;
        }
      }
    }
    if (b !== undefined && c !== undefined && b.t === 'not' && c.t === 'check') {
      stack.splice(n - 2, 2, { t: 'check', v: { type: 'not', check: c.v } });
      continue;
    }
    return;
  }
}
