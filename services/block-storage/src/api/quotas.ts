// os-quota-sets (a project's limits, usage, defaults; admins change and reset them) and
// os-quota-class-sets (the `default` class and others), as cinder/api/contrib/quotas.py and
// quota_classes.py answer them.
import Type from 'typebox';
import { defineRoute, pyRepr, type AnyRoute } from '@alto/http';
import { BadRequest } from '../domain/errors.js';
import { parseBool, q1, type BlockStorageFrame, type RawQuery } from './common.js';

const Query = Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]));
const ProjectParams = Type.Object({ id: Type.String() });
const ClassParams = Type.Object({ class_name: Type.String() });
const Limits = Type.Record(Type.String(), Type.Union([Type.Integer(), Type.String()]));
const UsageLimits = Type.Record(
  Type.String(),
  Type.Union([Type.Object({ limit: Type.Integer(), in_use: Type.Integer(), reserved: Type.Integer() }, { additionalProperties: false }), Type.String()]),
);

/**
 * The entity of a quota body, checked as Cinder's schemas do (python-jsonschema's wording):
 * `{"<key>": {...}}` and nothing else; `nonEmpty` for quota_set's minProperties.
 */
export function quotaBody(body: unknown, key: 'quota_set' | 'quota_class_set', nonEmpty: boolean): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw BadRequest(`${pyRepr(body ?? null)} is not of type 'object'`);
  const b = body as Record<string, unknown>;
  if (!(key in b)) throw BadRequest(`'${key}' is a required property`);
  const extra = Object.keys(b).filter((k) => k !== key);
  if (extra.length) throw BadRequest(`Additional properties are not allowed (${extra.map((k) => pyRepr(k)).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
  const entity = b[key];
  const value = typeof entity === 'string' ? entity : pyRepr(entity);
  if (typeof entity !== 'object' || entity === null || Array.isArray(entity)) throw BadRequest(`Invalid input for field/attribute ${key}. Value: ${value}. ${pyRepr(entity)} is not of type 'object'`);
  if (nonEmpty && !Object.keys(entity).length) throw BadRequest(`Invalid input for field/attribute ${key}. Value: {}. {} does not have enough properties`);
  return entity as Record<string, unknown>;
}

/** Cinder's get_bool_param: a strict boolean string or 400. */
function boolParam(query: RawQuery, key: string): boolean {
  const raw = q1(query, key);
  if (raw === undefined) return false;
  try {
    return parseBool(raw, key);
  } catch {
    throw BadRequest(`Value '${raw}' for '${key}' is not a boolean.`);
  }
}

export function quotaRoutes(frame: BlockStorageFrame): AnyRoute[] {
  const quotas = () => frame.services.quotas;
  const projectTarget = ({ params }: { params: { id: string } }) => ({ project_id: params.id });
  return [
    defineRoute({
      method: 'GET',
      url: '/os-quota-sets/:id',
      params: ProjectParams,
      query: Query,
      policy: 'volume_extension:quotas:show',
      target: projectTarget,
      errors: [],
      response: { 200: Type.Object({ quota_set: Type.Union([Limits, UsageLimits]) }) },
      handler: async ({ params, query }) => {
        const set = boolParam(query, 'usage') ? await quotas().projectQuotaUsage(params.id) : await quotas().projectQuotaSet(params.id);
        return { quota_set: { ...set, id: params.id } };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/os-quota-sets/:id/defaults',
      params: ProjectParams,
      policy: 'volume_extension:quotas:show',
      target: projectTarget,
      errors: [],
      response: { 200: Type.Object({ quota_set: Limits }) },
      handler: async ({ params }) => ({ quota_set: { ...(await quotas().defaultQuotaSet()), id: params.id } }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/os-quota-sets/:id',
      params: ProjectParams,
      policy: 'volume_extension:quotas:update',
      target: projectTarget,
      errors: [],
      response: { 200: Type.Object({ quota_set: Limits }) },
      // COMPAT(cinder quotas.py update): the answer has no `id`, unlike show
      handler: async ({ params, body }) => ({ quota_set: await quotas().updateProjectQuotas(params.id, quotaBody(body, 'quota_set', true)) }),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/os-quota-sets/:id',
      params: ProjectParams,
      policy: 'volume_extension:quotas:delete',
      target: projectTarget,
      errors: [],
      handler: async ({ params }) => {
        await quotas().resetProjectQuotas(params.id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/os-quota-class-sets/:class_name',
      params: ClassParams,
      policy: 'volume_extension:quota_classes:get',
      errors: [],
      response: { 200: Type.Object({ quota_class_set: Limits }) },
      handler: async ({ params }) => ({ quota_class_set: { ...(await quotas().classQuotaSet(params.class_name)), id: params.class_name } }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/os-quota-class-sets/:class_name',
      params: ClassParams,
      policy: 'volume_extension:quota_classes:update',
      errors: [],
      response: { 200: Type.Object({ quota_class_set: Limits }) },
      handler: async ({ params, body }) => ({ quota_class_set: await quotas().updateClassQuotas(params.class_name, quotaBody(body, 'quota_class_set', false)) }),
    }),
  ];
}
