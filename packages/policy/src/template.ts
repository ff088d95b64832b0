// The right side of a check: `match % target`, Python's printf-style formatting with a mapping.
// Compiled once per check; rendering is a loop over literal pieces and key lookups.
import { PolicyEvaluationError } from './errors.js';
import { pyRepr, pyStr } from './python.js';

type Piece = { readonly literal: string } | { readonly key: string; readonly conversion: 's' | 'r' | 'd' | 'lookup' };

export interface Template {
  readonly source: string;
  readonly pieces: readonly Piece[];
  /** Set when the text has no placeholders: rendering is the identity. */
  readonly constant: string | undefined;
  /** A format Python would apply but we do not model, or one Python rejects; with its offset. */
  readonly unsupported: { readonly offset: number; readonly reason: string } | undefined;
}

/** Compiles `%(key)s`, `%(key)r`, `%(key)d`/`i`/`u` and `%%`; anything else is marked unsupported. */
export function compileTemplate(source: string): Template {
  const pieces: Piece[] = [];
  let literal = '';
  let unsupported: Template['unsupported'];
  let i = 0;
  while (i < source.length) {
    const pct = source.indexOf('%', i);
    if (pct < 0) {
      literal += source.slice(i);
      break;
    }
    literal += source.slice(i, pct);
    i = pct + 1;
    if (source[i] === '%') {
      literal += '%';
      i++;
      continue;
    }
    if (source[i] !== '(') {
      // Without a key Python would format the whole target dict, or reject the character.
      unsupported ??= { offset: pct, reason: `unsupported interpolation at "${source.slice(pct, pct + 4)}"; use %(key)s` };
      break;
    }
    // Python matches the key's parentheses with nesting: %(a(b)c)s has the key "a(b)c".
    let depth = 1;
    let j = i + 1;
    while (j < source.length && depth > 0) {
      if (source[j] === '(') depth++;
      else if (source[j] === ')') depth--;
      j++;
    }
    if (depth > 0) {
      unsupported ??= { offset: pct, reason: 'incomplete format key (no closing parenthesis)' };
      break;
    }
    const key = source.slice(i + 1, j - 1);
    // Python looks the key up before it reads the conversion, so a missing key wins (KeyError).
    const spec = /^([-+ #0]*)(\*|\d+)?(\.(?:\*|\d*))?([hlL]?)(.?)/su.exec(source.slice(j)) ?? [];
    const [whole = '', flags = '', width = '', precision = '', length = '', conversion = ''] = spec;
    const plain = flags === '' && width === '' && precision === '' && length === '';
    if (plain && (conversion === 's' || conversion === 'r')) {
      pieces.push({ literal }, { key, conversion });
    } else if (plain && (conversion === 'd' || conversion === 'i' || conversion === 'u')) {
      pieces.push({ literal }, { key, conversion: 'd' });
    } else {
      pieces.push({ literal }, { key, conversion: 'lookup' });
      literal = '';
      unsupported ??= {
        offset: pct,
        reason:
          conversion === ''
            ? 'incomplete format (nothing after the key)'
            : `unsupported format "${source.slice(pct, j + whole.length)}"; use %(key)s`,
      };
      break;
    }
    j += whole.length - 1;
    literal = '';
    i = j + 1;
  }
  if (literal !== '') pieces.push({ literal });
  const nonEmpty = pieces.filter((p) => !('literal' in p) || p.literal !== '');
  const constant = unsupported === undefined && nonEmpty.every((p) => 'literal' in p) ? nonEmpty.map((p) => ('literal' in p ? p.literal : '')).join('') : undefined;
  return { source, pieces: nonEmpty, constant, unsupported };
}

/**
 * `template % target`. Returns undefined where Python raises KeyError (oslo turns that into a
 * False check); throws where Python raises anything else (oslo lets that escape).
 */
export function renderTemplate(template: Template, target: Readonly<Record<string, unknown>>): string | undefined {
  if (template.constant !== undefined) return template.constant;
  let out = '';
  for (const piece of template.pieces) {
    if ('literal' in piece) {
      out += piece.literal;
      continue;
    }
    if (!Object.hasOwn(target, piece.key)) return undefined;
    const value = target[piece.key];
    if (piece.conversion === 's') out += pyStr(value);
    else if (piece.conversion === 'r') out += pyRepr(value);
    else if (piece.conversion === 'd') out += formatInteger(value, piece.key);
  }
  if (template.unsupported !== undefined) {
    // Keys before the bad spot were found, so Python gets as far as the bad spec and raises.
    throw new PolicyEvaluationError(`cannot interpolate "${template.source}": ${template.unsupported.reason}`);
  }
  return out;
}

function formatInteger(value: unknown, key: string): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.trunc(value)).toString();
  throw new PolicyEvaluationError(`%(${key})d needs a number, got ${pyRepr(value)}`);
}
