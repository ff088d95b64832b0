// Loads one schema-checked config from a YAML file, ALTO_* environment variables and command-line
// overrides (later wins), applies defaults, expands ${key} references, and fails with the key,
// the value, where it came from and why.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Static, TSchema } from 'typebox';
import { AltoError } from '@alto/kernel';

// Every process loads its config first: it is checked here against the JSON Schema keywords
// config sections use (typebox/value would be 300 more modules, about 8 MB and 80 ms at every
// start), and the YAML parser is loaded only when there is a file to read.
const requireHere = createRequire(import.meta.url);
const parseYaml = (text: string): unknown => (requireHere('yaml') as { parse(t: string): unknown }).parse(text);

interface JsonSchema {
  type?: string | string[];
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  patternProperties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  anyOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  pattern?: string;
}

/** Keywords that describe rather than constrain. */
const ANNOTATIONS = new Set(['default', 'description', 'title', 'examples', '$id', '~kind', '~optional']);
const CHECKED = new Set(['type', 'properties', 'patternProperties', 'additionalProperties', 'required', 'anyOf', 'const', 'enum', 'items', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'pattern']);

interface Problem {
  path: string[];
  reason: string;
  unknownKey?: string;
}

const jsonTypeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
const hasType = (v: unknown, t: string): boolean => jsonTypeOf(v) === t || (t === 'number' && typeof v === 'number');

/**
 * The problems of a value against a config schema. A keyword this checker does not know stops
 * startup as a programming error rather than passing values unchecked.
 */
function problemsOf(s: JsonSchema, v: unknown, path: string[] = []): Problem[] {
  for (const k of Object.keys(s)) if (!CHECKED.has(k) && !ANNOTATIONS.has(k)) throw new Error(`config schema keyword ${k} at ${path.join('.') || '(root)'} is not checked by the loader`);
  if (s.anyOf) {
    if (s.anyOf.some((o) => problemsOf(o, v, path).length === 0)) return [];
    const options = s.anyOf.map((o) => o.const);
    return [{ path, reason: options.every((o) => o !== undefined) ? `must be one of ${options.map((o) => JSON.stringify(o)).join(', ')}` : 'must match one of the allowed forms' }];
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => hasType(v, t))) return [{ path, reason: `must be ${types.join(' or ')}` }];
  }
  if ('const' in s && v !== s.const) return [{ path, reason: `must be ${JSON.stringify(s.const)}` }];
  if (s.enum && !s.enum.includes(v)) return [{ path, reason: `must be one of ${s.enum.map((o) => JSON.stringify(o)).join(', ')}` }];
  const out: Problem[] = [];
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) out.push({ path, reason: `must be >= ${s.minimum}` });
    if (s.maximum !== undefined && v > s.maximum) out.push({ path, reason: `must be <= ${s.maximum}` });
  }
  if (typeof v === 'string') {
    if (s.minLength !== undefined && v.length < s.minLength) out.push({ path, reason: `must NOT have fewer than ${s.minLength} characters` });
    if (s.maxLength !== undefined && v.length > s.maxLength) out.push({ path, reason: `must NOT have more than ${s.maxLength} characters` });
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v)) out.push({ path, reason: `must match pattern "${s.pattern}"` });
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) out.push({ path, reason: `must NOT have fewer than ${s.minItems} items` });
    if (s.items) v.forEach((item, i) => out.push(...problemsOf(s.items!, item, [...path, String(i)])));
  }
  if (isObj(v)) {
    for (const r of s.required ?? []) if (v[r] === undefined) out.push({ path: [...path, r], reason: 'is required' });
    const patterns = Object.entries(s.patternProperties ?? {}).map(([p, sub]) => [new RegExp(p, 'u'), sub] as const);
    for (const [k, item] of Object.entries(v)) {
      const known = s.properties?.[k];
      const matching = patterns.filter(([re]) => re.test(k));
      if (known) out.push(...problemsOf(known, item, [...path, k]));
      for (const [, sub] of matching) out.push(...problemsOf(sub, item, [...path, k]));
      if (!known && !matching.length) {
        if (s.additionalProperties === false) out.push({ path, reason: 'unknown setting', unknownKey: k });
        else if (typeof s.additionalProperties === 'object') out.push(...problemsOf(s.additionalProperties, item, [...path, k]));
      }
    }
  }
  return out;
}

/** Fills in schema defaults, as typebox's Value.Default does for the shapes configs use: objects, records and leaves. */
function withDefaults(schema: JsonSchema, value: unknown): unknown {
  const v = value === undefined && 'default' in schema ? structuredClone(schema.default) : value;
  if (!isObj(v)) return v;
  for (const [k, sub] of Object.entries(schema.properties ?? {})) {
    const filled = withDefaults(sub, v[k]);
    if (filled !== undefined) v[k] = filled;
  }
  for (const [pattern, sub] of Object.entries(schema.patternProperties ?? {})) {
    const re = new RegExp(pattern, 'u');
    for (const k of Object.keys(v)) if (re.test(k)) v[k] = withDefaults(sub, v[k]);
  }
  return v;
}

export interface ConfigProblem {
  key: string;
  value: unknown;
  source: string;
  reason: string;
}

export class ConfigError extends AltoError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super('bad_request', 'config.invalid', formatProblems(problems));
    this.problems = problems;
  }
}

function formatProblems(problems: ConfigProblem[]): string {
  const lines = problems.map((p) => {
    const shown = p.key.toLowerCase().includes('password') || p.key.endsWith('connection') || p.key.endsWith('transport_url') ? '(hidden)' : JSON.stringify(p.value);
    return `  ${p.key} = ${shown} (from ${p.source}): ${p.reason}`;
  });
  return `invalid configuration:\n${lines.join('\n')}`;
}

export interface LoadOptions<S extends TSchema> {
  schema: S;
  /** YAML (or JSON) file; missing file is an error when given explicitly. */
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  /** Dotted keys from command-line flags, e.g. {"host": "0.0.0.0"}. */
  overrides?: Record<string, unknown>;
  envPrefix?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The schema node at a dotted path, or undefined when the path is not in the schema. */
function schemaAt(schema: TSchema, path: string[]): TSchema | undefined {
  let node: TSchema | undefined = schema;
  for (const seg of path) {
    const props: Record<string, TSchema> | undefined = (node as { properties?: Record<string, TSchema> } | undefined)?.properties;
    node = props?.[seg];
    if (!node) return undefined;
  }
  return node;
}

function typeOf(node: TSchema): string | undefined {
  const t = (node as { type?: unknown }).type;
  if (typeof t === 'string') return t;
  const anyOf = (node as { anyOf?: TSchema[] }).anyOf;
  if (anyOf?.every((s) => (s as { const?: unknown }).const !== undefined)) return 'string';
  return undefined;
}

/** Environment values are strings; turn them into what the schema wants. */
function convertEnv(raw: string, node: TSchema): unknown {
  switch (typeOf(node)) {
    case 'integer':
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      return raw;
    }
    case 'array':
      if (raw.trim().startsWith('[')) return tryJson(raw);
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'object':
      return tryJson(raw);
    default:
      return raw;
  }
}

function tryJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function setPath(target: Obj, path: string[], value: unknown): void {
  let node = target;
  for (const seg of path.slice(0, -1)) {
    if (!isObj(node[seg])) node[seg] = {};
    node = node[seg] as Obj;
  }
  node[path[path.length - 1]!] = value;
}

function getPath(target: unknown, path: string[]): unknown {
  let node = target;
  for (const seg of path) {
    if (!isObj(node)) return undefined;
    node = node[seg];
  }
  return node;
}

/** Record where each leaf came from, for error messages. */
function recordSources(value: unknown, prefix: string[], source: string, sources: Map<string, string>): void {
  if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) recordSources(v, [...prefix, k], source, sources);
  } else {
    sources.set(prefix.join('.'), source);
  }
}

function mergeInto(target: Obj, src: Obj): void {
  for (const [k, v] of Object.entries(src)) {
    if (isObj(v) && isObj(target[k])) mergeInto(target[k], v);
    else target[k] = v;
  }
}

/** `${data_dir}`-style references to top-level scalar keys, expanded after defaults. */
function expand(value: unknown, root: Obj): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([a-z_][a-z0-9_]*)\}/g, (m, key: string) => {
      const v = root[key];
      return typeof v === 'string' || typeof v === 'number' ? String(v) : m;
    });
  }
  if (Array.isArray(value)) return value.map((v) => expand(v, root));
  if (isObj(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, root)]));
  return value;
}

export function loadConfig<S extends TSchema>(opts: LoadOptions<S>): Static<S> {
  const prefix = opts.envPrefix ?? 'ALTO_';
  const sources = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  const merged: Obj = {};

  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError([{ key: '(file)', value: opts.file, source: 'command line', reason: `cannot read: ${(err as Error).message}` }]);
    }
    let doc: unknown;
    try {
      doc = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError([{ key: '(file)', value: opts.file, source: opts.file, reason: `not valid YAML: ${(err as Error).message}` }]);
    }
    if (!isObj(doc)) throw new ConfigError([{ key: '(file)', value: opts.file, source: opts.file, reason: 'must hold a mapping at the top level' }]);
    recordSources(doc, [], opts.file, sources);
    mergeInto(merged, doc);
  }

  const topKeys = new Set(Object.keys((opts.schema as { properties?: object }).properties ?? {}));
  for (const [name, raw] of Object.entries(opts.env ?? {})) {
    if (raw === undefined || !name.startsWith(prefix)) continue;
    const path = name.slice(prefix.length).toLowerCase().split('__');
    // Only variables aimed at our config are checked; ALTO_TEST_* and friends belong to others.
    if (!topKeys.has(path[0]!)) continue;
    const node = schemaAt(opts.schema, path);
    if (!node) {
      problems.push({ key: path.join('.'), value: raw, source: `environment ${name}`, reason: 'unknown setting' });
      continue;
    }
    setPath(merged, path, convertEnv(raw, node));
    sources.set(path.join('.'), `environment ${name}`);
  }

  for (const [key, value] of Object.entries(opts.overrides ?? {})) {
    if (value === undefined) continue;
    const path = key.split('.');
    setPath(merged, path, value);
    sources.set(key, 'command line');
  }

  const schema = opts.schema as JsonSchema;
  const filled = withDefaults(schema, merged) as Obj;
  const expanded = expand(filled, filled) as Obj;
  for (const p of problemsOf(schema, expanded)) {
    if (p.unknownKey !== undefined) {
      const full = [...p.path, p.unknownKey].join('.');
      problems.push({ key: full, value: getPath(expanded, [...p.path, p.unknownKey]), source: sources.get(full) ?? sourceOfPrefix(sources, full), reason: 'unknown setting' });
      continue;
    }
    const key = p.path.join('.') || '(root)';
    problems.push({ key, value: getPath(expanded, p.path), source: sources.get(key) ?? 'default', reason: p.reason });
  }
  if (problems.length) throw new ConfigError(dedupe(problems));
  return expanded as Static<S>;
}

function sourceOfPrefix(sources: Map<string, string>, key: string): string {
  for (const [k, s] of sources) if (k.startsWith(`${key}.`)) return s;
  return 'unknown';
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const id = `${p.key}|${p.reason}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
