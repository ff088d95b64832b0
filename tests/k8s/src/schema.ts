// Checks rendered Kubernetes objects against the API schemas: kubernetes-models' validators, plus unknown fields found through its TypeScript declarations.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import type { K8sObject } from './render.js';

/**
 * kubernetes-models' generated validators check types, formats and required fields, but accept
 * fields the API does not have (`additionalProperties` is not false in the OpenAPI documents, and
 * the API server drops or rejects them: `kubectl apply --validate=strict`). Its declaration files
 * list every field of every type, so an object is walked against them with the TypeScript checker:
 * a key that is neither a declared property nor covered by an index signature (labels, data) is
 * reported with its path.
 */

const here = dirname(fileURLToPath(import.meta.url));
/** A file that does not exist: the checker resolves `kubernetes-models` from its directory (tests/k8s). */
const virtualFile = join(here, '..', '__k8s_schema_types__.ts');

/** `apps/v1` + `Deployment` -> `kubernetes-models/apps/v1/Deployment`; core `v1` has no group. */
export function modelModule(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

interface Checker {
  checker: ts.TypeChecker;
  typeOf: (apiVersion: string, kind: string) => ts.Type | undefined;
}

const checkers = new Map<string, Checker>();

/** One program per set of kinds (about a second); the overlays share it. */
function checkerFor(kinds: readonly { apiVersion: string; kind: string }[]): Checker {
  const unique = [...new Map(kinds.map((k) => [`${k.apiVersion}/${k.kind}`, k])).values()].sort((a, b) => `${a.apiVersion}/${a.kind}`.localeCompare(`${b.apiVersion}/${b.kind}`));
  const cacheKey = unique.map((k) => `${k.apiVersion}/${k.kind}`).join(',');
  const cached = checkers.get(cacheKey);
  if (cached) return cached;
  const alias = (k: { apiVersion: string; kind: string }) => `T_${k.apiVersion.replace(/[^A-Za-z0-9]/g, '_')}_${k.kind}`;
  const source = unique.map((k) => `import type { I${k.kind} as ${alias(k)}_ } from '${modelModule(k.apiVersion, k.kind)}';\nexport type ${alias(k)} = ${alias(k)}_;`).join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) => (name === virtualFile ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, onError, create));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === virtualFile || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === virtualFile ? source : readFile(name));
  const program = ts.createProgram([virtualFile], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diagnostics.length > 0) {
    throw new Error(`kubernetes-models has no declarations for some kinds:\n${diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n')}`);
  }
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(virtualFile);
  if (!file) throw new Error('virtual schema file missing from the program');
  const moduleSymbol = checker.getSymbolAtLocation(file);
  const exports = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
  const result: Checker = {
    checker,
    typeOf: (apiVersion, kind) => {
      const sym = exports.find((s) => s.name === alias({ apiVersion, kind }));
      return sym ? checker.getDeclaredTypeOfSymbol(sym) : undefined;
    },
  };
  checkers.set(cacheKey, result);
  return result;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Paths (e.g. `spec.template.spec.containers[0].bogus`) of keys the API types do not declare. */
function unknownFields(checker: ts.TypeChecker, value: unknown, type: ts.Type, path: string, out: string[]): void {
  let t = checker.getNonNullableType(type);
  if (t.isUnion()) {
    // IntOrString and Quantity are number | string; no API type is a union of object shapes
    const objects = t.types.filter((m) => (m.flags & ts.TypeFlags.Object) !== 0);
    if (objects.length === 0) return;
    if (objects.length > 1) {
      out.push(`${path}: union of object types, not checked`);
      return;
    }
    t = objects[0]!;
  }
  if (Array.isArray(value)) {
    if (!checker.isArrayType(t)) return; // a type mismatch: the validator reports it
    const element = checker.getTypeArguments(t as ts.TypeReference)[0];
    if (!element) return;
    value.forEach((item, i) => unknownFields(checker, item, element, `${path}[${i}]`, out));
    return;
  }
  if (!isPlainObject(value)) return;
  if ((t.flags & ts.TypeFlags.Object) === 0) return; // a type mismatch: the validator reports it
  const index = checker.getIndexInfosOfType(t)[0];
  for (const [key, child] of Object.entries(value)) {
    const childPath = path ? `${path}.${key}` : key;
    const prop = checker.getPropertyOfType(t, key);
    if (prop) unknownFields(checker, child, checker.getTypeOfSymbol(prop), childPath, out);
    else if (index) unknownFields(checker, child, index.type, childPath, out);
    else out.push(`${childPath}: unknown field (not in ${checker.typeToString(t)})`);
  }
}

export interface SchemaProblem {
  object: string;
  problem: string;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Validates every object against its kind's schema and reports unknown fields; [] when all pass. */
export async function checkSchemas(objects: readonly K8sObject[]): Promise<SchemaProblem[]> {
  const problems: SchemaProblem[] = [];
  const models = new Map<string, ModelClass | undefined>();
  for (const o of objects) {
    const module = modelModule(o.apiVersion, o.kind);
    if (models.has(module)) continue;
    try {
      // the package maps this path to the module of the kind's model class
      const mod = (await import(module)) as Record<string, unknown>;
      models.set(module, mod[o.kind] as ModelClass | undefined);
    } catch {
      models.set(module, undefined);
    }
  }
  const known = objects.filter((o) => models.get(modelModule(o.apiVersion, o.kind)) !== undefined);
  const { checker, typeOf } = checkerFor(known.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind })));
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.name}`;
    const Model = models.get(modelModule(o.apiVersion, o.kind));
    if (!Model) {
      problems.push({ object: id, problem: `no kubernetes-models schema for ${o.apiVersion} ${o.kind}` });
      continue;
    }
    try {
      new Model(o).validate();
    } catch (err) {
      problems.push({ object: id, problem: err instanceof Error ? err.message : String(err) });
    }
    const type = typeOf(o.apiVersion, o.kind);
    if (!type) {
      problems.push({ object: id, problem: `no declaration for ${o.apiVersion} ${o.kind}` });
      continue;
    }
    const unknown: string[] = [];
    unknownFields(checker, o, type, '', unknown);
    for (const u of unknown) problems.push({ object: id, problem: u });
  }
  return problems;
}
