// Keystone's flatten_dict: how Keystone turns {"target": {"project": {...}}} into the flat
// `target.project.id` keys its rules interpolate. Other services pass flat targets directly.
import { isPlainObject } from './python.js';

/**
 * Flattens nested plain objects into dotted keys. Lists stay values (a generic check looks
 * inside them); an empty object contributes no key at all, as in Keystone.
 */
export function flattenTarget(value: Readonly<Record<string, unknown>>, parentKey = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const flatKey = parentKey === '' ? key : `${parentKey}.${key}`;
    if (isPlainObject(item)) Object.assign(out, flattenTarget(item, flatKey));
    else out[flatKey] = item;
  }
  return out;
}
