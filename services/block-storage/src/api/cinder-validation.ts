// Body checks worded as Cinder's validator words them (api/validation/validators.py):
// "Invalid input for field/attribute <name>. Value: <str(value)>. <jsonschema message>".
import type { TSchema } from 'typebox';
import { ValidationError } from '@alto/kernel';
import { createValidators, jsonschemaReason, pyRepr } from '@alto/http';

/** The validator Cinder's bodies are checked with; a schema with formats of its own brings its own (transfers). */
export type Ajv = ReturnType<typeof createValidators>['body'];
const ajv: Ajv = createValidators().body;
const unescapePointer = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');

/**
 * Compiles a body schema once, when first needed. Cinder formats the value with %s, so a string shows bare
 * (`Value: x.`) and anything else as Python's str() of it (`Value: {}.`), unlike Nova's repr.
 */
export function cinderCheck<T>(schema: TSchema | object, validator: Ajv = ajv): (value: unknown) => T {
  // compiled on first use: most of Cinder's bodies are never sent to a given cloud
  let fn: ReturnType<Ajv['compile']> | undefined;
  return (value) => {
    fn ??= validator.compile(schema);
    if (fn(value)) return value as T;
    // python-jsonschema reports a failed oneOf as itself, not as its branches' errors
    const err = fn.errors!.find((e) => e.keyword === 'oneOf') ?? fn.errors![0]!;
    const reason = jsonschemaReason(err, value);
    const segments = err.instancePath.split('/').filter(Boolean).map(unescapePointer);
    if (!segments.length) throw new ValidationError(reason, 'http.schema_validation');
    let at: unknown = value;
    for (const s of segments) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[s] : undefined;
    throw new ValidationError(`Invalid input for field/attribute ${segments.at(-1)!}. Value: ${typeof at === 'string' ? at : pyRepr(at)}. ${reason}`, 'http.schema_validation', {
      details: { path: segments.join('/'), keyword: err.keyword },
    });
  };
}
