// Reading an operator's policy.yaml / policy.json the way oslo does: JSON first, then YAML 1.1
// (PyYAML's dialect), a mapping of policy name to rule text or legacy rule list.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { ScalarTag } from 'yaml';
import { PolicyFileError } from './errors.js';
import type { RuleList } from './parser.js';

/** The rules a policy file overrides, in file order. */
export interface PolicyOverrides {
  /** Where they came from (a path or a label), for messages. */
  readonly source: string;
  readonly rules: ReadonlyMap<string, string | RuleList>;
  /** Things oslo would accept silently that an operator should hear about. */
  readonly warnings: readonly string[];
}

export interface PolicyFileOptions {
  /** For messages; defaults to "policy file". */
  readonly source?: string;
  /**
   * `strict` (default) rejects what oslo would mis-read: values that are not strings or lists
   * (oslo takes null, false and 0 as "always allow"), duplicate keys, non-string names.
   * `lenient` does what oslo does.
   */
  readonly mode?: 'strict' | 'lenient';
}

// PyYAML's booleans: YAML 1.1 without the single-letter y/n forms the `yaml` package adds.
const PY_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const PY_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;

function pyyamlTags(tags: unknown[]): unknown[] {
  return tags.map((tag) => {
    const t = tag as ScalarTag;
    if (t.tag !== 'tag:yaml.org,2002:bool' || t.test === undefined) return tag;
    const isTrue = t.test.test('true');
    return { ...t, test: isTrue ? PY_TRUE : PY_FALSE };
  });
}

/** Parses policy file text into overrides. Throws PolicyFileError when it cannot be used. */
export function parsePolicyFile(text: string, options: PolicyFileOptions = {}): PolicyOverrides {
  const source = options.source ?? 'policy file';
  const strict = (options.mode ?? 'strict') === 'strict';
  let parsed: unknown;
  try {
    // oslo tries JSON first: it is faster, and a JSON file is valid YAML anyway.
    parsed = JSON.parse(text) as unknown;
  } catch {
    try {
      parsed = parseYaml(text, {
        version: '1.1',
        mapAsMap: true,
        uniqueKeys: strict,
        customTags: (tags) => pyyamlTags(tags) as typeof tags,
      }) as unknown;
    } catch (err) {
      throw new PolicyFileError(source, `not valid YAML or JSON: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, { cause: err });
    }
  }

  const entries: [unknown, unknown][] =
    parsed === null || parsed === undefined || parsed === '' || parsed === false || parsed === 0 || (Array.isArray(parsed) && parsed.length === 0)
      ? [] // oslo: `parsed or {}`
      : parsed instanceof Map
        ? [...(parsed as Map<unknown, unknown>).entries()]
        : typeof parsed === 'object' && !Array.isArray(parsed)
          ? Object.entries(parsed)
          : fail(source, 'the file must hold a mapping of policy names to rules');

  const rules = new Map<string, string | RuleList>();
  const warnings: string[] = [];
  for (const [key, value] of entries) {
    if (typeof key !== 'string') {
      if (strict) fail(source, `policy name ${String(key)} is not a string (quote it)`);
      warnings.push(`${source}: ignoring non-string policy name ${String(key)}`);
      continue;
    }
    rules.set(key, ruleValue(source, key, toPlain(value), strict));
  }
  return { source, rules, warnings };
}

/** Reads and parses a policy file. The path is used as given; nothing is searched for. */
export async function loadPolicyFile(path: string, options: Omit<PolicyFileOptions, 'source'> = {}): Promise<PolicyOverrides> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PolicyFileError(path, `cannot read the policy file: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return parsePolicyFile(text, { ...options, source: path });
}

function ruleValue(source: string, name: string, value: unknown, strict: boolean): string | RuleList {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const ok = value.every((inner) => typeof inner === 'string' || (Array.isArray(inner) && inner.every((s) => typeof s === 'string')));
    if (ok) return value;
    return fail(source, `policy "${name}": a rule list must hold strings or lists of strings`);
  }
  // oslo hands any other value to its list parser, where null, false and 0 mean "always allow".
  if (!strict && (value === null || value === false || value === 0)) return '';
  const hint = value === null || value === false || value === 0 ? ' (oslo would read it as "@", always allow; write "" if that is meant)' : '';
  return fail(source, `policy "${name}": the rule must be a string or a list, got ${JSON.stringify(value) ?? String(value)}${hint}`);
}

function toPlain(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...(value as Map<unknown, unknown>).entries()].map(([k, v]) => [String(k), toPlain(v)]));
  if (Array.isArray(value)) return value.map(toPlain);
  return value;
}

function fail(source: string, message: string): never {
  throw new PolicyFileError(source, message);
}
