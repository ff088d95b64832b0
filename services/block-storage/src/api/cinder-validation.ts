// Body checks worded as Cinder's validator words them (api/validation/validators.py):
// "Invalid input for field/attribute <name>. Value: <str(value)>. <jsonschema message>".
import type { TSchema } from 'typebox';
import { ValidationError } from '@alto/kernel';
import { createValidators, jsonschemaReason, pyRepr } from '@alto/http';

const ajv = createValidators().body;
const unescapePointer = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');

/**
 * Compiles a body schema once. Cinder formats the value with %s, so a string shows bare
 * (`Value: x.`) and anything else as Python's str() of it (`Value: {}.`), unlike Nova's repr.
 */
export function cinderCheck<T>(schema: TSchema): (value: unknown) => T {
  const fn = ajv.compile(schema);
  return (value) => {
    if (fn(value)) return value as T;
    const err = fn.errors![0]!;
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
