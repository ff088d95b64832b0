// Python's textwrap.wrap() with its default options, which oslopolicy-sample-generator uses to
// wrap descriptions; ported so our sample files break lines where upstream's do.
import { PY_WHITESPACE, pyLen } from './python.js';

// TextWrapper's character classes: \w is [\p{L}\p{N}_] in Python's re for str patterns.
const W = '[\\p{L}\\p{Nd}\\p{Nl}\\p{No}_]';
const WORD_PUNCT = `(?:${W}|[!"'&.,?])`;
const LETTER = '[\\p{L}\\p{Nl}\\p{No}_]';
const WS = '[\\t\\n\\v\\f\\r ]';
const NWS = '[^\\t\\n\\v\\f\\r ]';
// textwrap's wordsep_re, verbatim apart from syntax: whitespace runs, em-dashes, and words that
// may break after a hyphen between letters.
const WORDSEP = new RegExp(
  `(${WS}+|(?<=${WORD_PUNCT})-{2,}(?=${W})|${NWS}+?(?:-(?:(?<=${LETTER}{2}-)|(?<=${LETTER}-${LETTER}-))(?=${LETTER}-?${LETTER})|(?=${WS}|$)|(?<=${WORD_PUNCT})(?=-{2,}${W})))`,
  'u',
);
const STRIP = new RegExp(`^[${PY_WHITESPACE}]*$`, 'u');

export interface WrapOptions {
  readonly width?: number;
  readonly initialIndent?: string;
  readonly subsequentIndent?: string;
}

function expandTabs(text: string, tabsize = 8): string {
  let out = '';
  let column = 0;
  for (const ch of text) {
    if (ch === '\t') {
      const spaces = tabsize - (column % tabsize);
      out += ' '.repeat(spaces);
      column += spaces;
    } else if (ch === '\n' || ch === '\r') {
      out += ch;
      column = 0;
    } else {
      out += ch;
      column++;
    }
  }
  return out;
}

function split(text: string): string[] {
  return text.split(WORDSEP).filter((c) => c !== '');
}

/** textwrap.wrap(text, width, initial_indent=..., subsequent_indent=...). */
export function wrap(text: string, options: WrapOptions = {}): string[] {
  const width = options.width ?? 70;
  const initialIndent = options.initialIndent ?? '';
  const subsequentIndent = options.subsequentIndent ?? '';
  const munged = expandTabs(text).replace(/[\t\n\v\f\r]/g, ' ');
  // Chunks are handled as code point arrays so lengths and slices count as Python's do.
  const chunks = split(munged).map((c) => [...c]).reverse();
  const lines: string[] = [];
  const isBlank = (chunk: readonly string[]): boolean => STRIP.test(chunk.join(''));

  while (chunks.length > 0) {
    const curLine: string[][] = [];
    let curLen = 0;
    const indent = lines.length > 0 ? subsequentIndent : initialIndent;
    const room = width - pyLen(indent);
    const top = chunks[chunks.length - 1];
    if (top !== undefined && isBlank(top) && lines.length > 0) chunks.pop();

    while (chunks.length > 0) {
      const next = chunks[chunks.length - 1] ?? [];
      if (curLen + next.length <= room) {
        curLine.push(next);
        chunks.pop();
        curLen += next.length;
      } else break;
    }

    const next = chunks[chunks.length - 1];
    if (next !== undefined && next.length > room) {
      // _handle_long_word: break the word, after a hyphen when one fits.
      const spaceLeft = room < 1 ? 1 : room - curLen;
      let end = spaceLeft;
      if (next.length > spaceLeft) {
        const hyphen = next.slice(0, spaceLeft).lastIndexOf('-');
        if (hyphen > 0 && next.slice(0, hyphen).some((c) => c !== '-')) end = hyphen + 1;
      }
      curLine.push(next.slice(0, end));
      chunks[chunks.length - 1] = next.slice(end);
    }

    const last = curLine[curLine.length - 1];
    if (last !== undefined && isBlank(last)) curLine.pop();
    if (curLine.length > 0) lines.push(indent + curLine.map((c) => c.join('')).join(''));
  }
  return lines;
}
