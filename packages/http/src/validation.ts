// Request validation with Ajv (no coercion, nothing dropped for bodies), and error messages
// phrased like python-jsonschema's, which every upstream service wraps in its own envelope.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TSchema } from 'typebox';
import { ValidationError } from '@alto/kernel';
import { pyRepr } from './py-repr.js';

// ajv-formats is CommonJS with a default export
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export interface Validators {
  /** Bodies: exact types, unknown keys rejected where the schema says so. */
  body: Ajv;
  /** Query strings and path params: strings coerced to the declared types, defaults applied. */
  query: Ajv;
}

export function createValidators(): Validators {
  const body = new Ajv({ allErrors: false, strict: false, coerceTypes: false, useDefaults: false, removeAdditional: false });
  const query = new Ajv({ allErrors: false, strict: false, coerceTypes: 'array', useDefaults: true, removeAdditional: false });
  addFormats(body);
  addFormats(query);
  return { body, query };
}

export type Check<T> = (value: unknown) => T;

/** How validation errors are worded: Keystone's ("Invalid input for field 'a/b': ...") or Nova's and Cinder's. */
export type ValidationStyle = 'keystone' | 'nova';

/**
 * Compiles a schema on first use (a process serves hundreds of routes and most see no traffic:
 * compiling them all at start cost time and resident memory); the returned function throws a
 * ValidationError on bad input.
 */
export function compileCheck<T>(ajv: Ajv, schema: TSchema, style: ValidationStyle = 'keystone'): Check<T> {
  let fn: ValidateFunction | undefined;
  return (value: unknown) => {
    fn ??= ajv.compile(schema);
    if (fn(value)) return value as T;
    const err = fn.errors?.[0];
    throw new ValidationError(err ? (style === 'nova' ? describeNova(err, value) : describe(err, value)) : 'Invalid input', 'http.schema_validation', {
      details: err ? { path: fieldPath(err), keyword: err.keyword } : {},
    });
  };
}

function fieldPath(err: ErrorObject): string {
  return err.instancePath.split('/').filter(Boolean).map(unescapePointer).join('/');
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function valueAt(root: unknown, pointer: string): unknown {
  let v = root;
  for (const seg of pointer.split('/').filter(Boolean).map(unescapePointer)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/** Keystone's wording: "Invalid input for field 'a/b': <jsonschema message>", or the bare message at the root. */
export function describe(err: ErrorObject, root: unknown): string {
  const path = fieldPath(err);
  const value = valueAt(root, err.instancePath);
  const message = jsonschemaMessage(err, value);
  return path ? `Invalid input for field '${path}': ${message}` : message;
}

/**
 * Nova's and Cinder's wording (nova/api/validation/validators.py): "Invalid input for
 * field/attribute <last path element>. Value: <str() of it>. <jsonschema message>", or the bare
 * message for an error at the root.
 */
export function describeNova(err: ErrorObject, root: unknown): string {
  const segments = err.instancePath.split('/').filter(Boolean).map(unescapePointer);
  const value = valueAt(root, err.instancePath);
  const message = jsonschemaMessage(err, value);
  if (!segments.length) return message;
  return `Invalid input for field/attribute ${segments.at(-1)!}. Value: ${typeof value === 'string' ? value : pyRepr(value)}. ${message}`;
}

/**
 * Compiles a plain JSON schema (a service's published one, not TypeBox) into a checker that
 * answers python-jsonschema's message for the first error, or undefined when the value passes.
 */
export function compileJsonSchema(schema: object): (value: unknown) => string | undefined {
  // compiled on first use, as compileCheck
  let fn: ValidateFunction | undefined;
  return (value) => {
    fn ??= new Ajv({ allErrors: false, strict: false, coerceTypes: false, validateSchema: false }).compile(schema);
    return fn(value) ? undefined : jsonschemaReason(fn.errors![0]!, value);
  };
}

/** python-jsonschema's message for the first error, without a field prefix (Glance's wording adds its own). */
export function jsonschemaReason(err: ErrorObject, root: unknown): string {
  return jsonschemaMessage(err, valueAt(root, err.instancePath));
}

function jsonschemaMessage(err: ErrorObject, value: unknown): string {
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'type': {
      // python-jsonschema: "123 is not of type 'string', 'null'"
      const t = Array.isArray(p.type) ? (p.type as string[]) : String(p.type).split(',');
      return `${pyRepr(value)} is not of type ${t.map((x) => pyRepr(x)).join(', ')}`;
    }
    case 'uniqueItems':
      return `${pyRepr(value)} has non-unique elements`;
    case 'required':
      return `${pyRepr(p.missingProperty)} is a required property`;
    case 'additionalProperties':
      return `Additional properties are not allowed (${pyRepr(p.additionalProperty)} was unexpected)`;
    case 'minLength':
      return `${pyRepr(value)} is too short`;
    case 'maxLength':
      return `${pyRepr(value)} is too long`;
    case 'minItems':
      return `${pyRepr(value)} is too short`;
    case 'maxItems':
      return `${pyRepr(value)} is too long`;
    case 'minProperties':
      return `${pyRepr(value)} does not have enough properties`;
    case 'pattern':
      return `${pyRepr(value)} does not match ${pyRepr(p.pattern)}`;
    case 'enum':
      return `${pyRepr(value)} is not one of ${pyRepr(p.allowedValues)}`;
    case 'const':
      return `${pyRepr(p.allowedValue)} was expected`;
    case 'minimum':
      return `${pyRepr(value)} is less than the minimum of ${String(p.limit)}`;
    case 'maximum':
      return `${pyRepr(value)} is greater than the maximum of ${String(p.limit)}`;
    case 'format':
      return `${pyRepr(value)} is not a ${pyRepr(p.format)}`;
    case 'anyOf':
    case 'oneOf':
      return `${pyRepr(value)} is not valid under any of the given schemas`;
    case 'not':
      return `${pyRepr(value)} should not be valid under the given schema`;
    default:
      return err.message ?? 'is invalid';
  }
}
