// The parsed form of a policy rule: the tree oslo.policy's parser builds, as plain data.

export type Check =
  /** `@` or an empty rule: always passes. */
  | { readonly type: 'true' }
  /** `!`, or in lenient parsing whatever oslo could not read: never passes. */
  | { readonly type: 'false' }
  | { readonly type: 'not'; readonly check: Check }
  | { readonly type: 'and'; readonly checks: readonly Check[] }
  | { readonly type: 'or'; readonly checks: readonly Check[] }
  /** `rule:name`: the named rule's result. */
  | { readonly type: 'rule'; readonly match: string }
  /** `role:name`: the credentials hold that role (case-insensitive). */
  | { readonly type: 'role'; readonly match: string }
  /** `kind:match` for any other kind: a credentials attribute or a literal against the match. */
  | { readonly type: 'generic'; readonly kind: string; readonly match: string }
  /** A kind a service registered its own check for (oslo's `register()`). */
  | { readonly type: 'custom'; readonly kind: string; readonly match: string };

export const TRUE_CHECK: Check = Object.freeze({ type: 'true' });
export const FALSE_CHECK: Check = Object.freeze({ type: 'false' });

/**
 * oslo's `str(check)`: `@`, `!`, `not x`, `(a and b)`, `(a or b)`, `kind:match`. Two checks with
 * the same string are the same check, which is how oslo compares overrides with defaults.
 */
export function checkToString(check: Check): string {
  switch (check.type) {
    case 'true':
      return '@';
    case 'false':
      return '!';
    case 'not':
      return `not ${checkToString(check.check)}`;
    case 'and':
      return `(${check.checks.map(checkToString).join(' and ')})`;
    case 'or':
      return `(${check.checks.map(checkToString).join(' or ')})`;
    case 'rule':
      return `rule:${check.match}`;
    case 'role':
      return `role:${check.match}`;
    case 'generic':
    case 'custom':
      return `${check.kind}:${check.match}`;
  }
}

/** The names a check refers to with `rule:`, in order of appearance. */
export function ruleReferences(check: Check): string[] {
  const out: string[] = [];
  const walk = (c: Check): void => {
    if (c.type === 'rule') out.push(c.match);
    else if (c.type === 'not') walk(c.check);
    else if (c.type === 'and' || c.type === 'or') c.checks.forEach(walk);
  };
  walk(check);
  return out;
}
