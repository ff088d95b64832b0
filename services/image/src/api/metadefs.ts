// /v2/metadefs/*: namespaces with their objects, properties, tags and resource type associations,
// the resource types, and /v2/schemas/metadefs/*.
//
// Bodies pass Glance's JSON schemas and then its WSME models, which keep only known attributes,
// in class order, with WSME's conversions (an int attribute truncates 1.5 to 1; `default` becomes
// the string of a scalar and null for anything else). Where WSME raises on what the schema let
// through (an unknown attribute inside a property, a non-string enum item), Glance answers 500;
// we answer 400.
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { compileJsonSchema, defineRoute, pyRepr, RawBody, requestBaseUrl, type AnyRoute } from '@alto/http';
import { NotFoundError, type RequestContext } from '@alto/kernel';
import type { MetadefNamespace, MetadefObject, NamespaceVisibility, NewAssociation, NewObject, PropertyDef, ResourceTypeAssociation } from '../domain/metadef.models.js';
import type { LookupMode } from '../domain/metadefs.service.js';
import { NAMESPACE_SORT_KEYS, TAG_SORT_KEYS, type NamespaceSortKey, type TagSortKey } from '../store/metadef.repo.js';
import { BadRequest, ReadOnly, SchemaMismatch } from '../domain/errors.js';
import type { ImageFrame } from './common.js';
import { METADEF_SCHEMAS } from './metadefs.schemas.data.js';

const NsPath = Type.Object({ namespace: Type.String() });
const ObjectPath = Type.Object({ namespace: Type.String(), object_name: Type.String() });
const PropertyPath = Type.Object({ namespace: Type.String(), property_name: Type.String() });
const TagPath = Type.Object({ namespace: Type.String(), tag_name: Type.String() });
const TypePath = Type.Object({ namespace: Type.String(), resource_type: Type.String() });

// ---- body checks

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Glance's schemas carry annotations ajv does not know, and formats it never checks (no format checker). */
function strip(schema: Json): Json {
  return JSON.parse(JSON.stringify(schema, (k, v: unknown) => (k === 'links' || k === 'readOnly' || k === 'format' || (k === 'name' && typeof v === 'string') ? undefined : v))) as Json;
}

/** The property schema objects check each of their properties with (get_schema(require_name=False)). */
const propertyWithoutName = (): Json => ({ ...METADEF_SCHEMAS.property!, required: ['type', 'title'] });
/** What POST .../tags validates (glance's get_schema_for_list, never served). */
const TAGS_BODY_SCHEMA: Json = {
  properties: { tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } } },
  additionalProperties: false,
};

const CHECKS: Record<string, (v: unknown) => string | undefined> = {
  namespace: compileJsonSchema(strip(METADEF_SCHEMAS.namespace!)),
  object: compileJsonSchema(strip(METADEF_SCHEMAS.object!)),
  property: compileJsonSchema(strip(METADEF_SCHEMAS.property!)),
  objectProperty: compileJsonSchema(strip(propertyWithoutName())),
  tag: compileJsonSchema(strip(METADEF_SCHEMAS.tag!)),
  tags: compileJsonSchema(TAGS_BODY_SCHEMA),
  resource_type_association: compileJsonSchema(strip(METADEF_SCHEMAS.resource_type!)),
};

function validate(check: keyof typeof CHECKS, schemaName: string, value: unknown): void {
  const reason = CHECKS[check]!(value);
  if (reason !== undefined) throw SchemaMismatch(schemaName, reason);
}

/** The JSON body (Glance parses it whatever the Content-Type), its read-only keys refused with 403. */
function jsonBody(body: unknown, readOnly: string[], schemaName: string): Json {
  let value: unknown = body;
  if (body instanceof RawBody) {
    if (!body.data.length) value = undefined;
    else {
      try {
        value = JSON.parse(body.data.toString('utf8')) as unknown;
      } catch {
        throw BadRequest('Malformed JSON in request body.');
      }
    }
  }
  if (value === undefined) throw BadRequest('Body expected in request.');
  // COMPAT(glance): its schemas lack "type": "object", so a list passes them and fails in WSME (500)
  if (!isObj(value)) throw SchemaMismatch(schemaName, `${pyRepr(value)} is not of type 'object'`);
  for (const k of readOnly) if (k in value) throw ReadOnly(k);
  return value;
}

// ---- WSME's models, as far as they change what is stored and answered

const unknownAttribute = (where: string, keys: string[]) => BadRequest(`Unknown attribute for argument ${where}: ${keys.join(', ')}`);
const invalid = (where: string, reason: string) => BadRequest(`Invalid input for field/attribute ${where}. ${reason}`);

function onlyKnown(v: Json, attrs: readonly string[], where: string): void {
  const extra = Object.keys(v).filter((k) => !attrs.includes(k));
  if (extra.length) throw unknownAttribute(where, extra);
}

const text = (v: unknown, where: string): string | null => {
  if (v === null || typeof v === 'string') return v;
  throw invalid(where, `Value should be string`);
};
const textList = (v: unknown, where: string): string[] | null => {
  if (v === null) return null;
  if (!Array.isArray(v)) throw invalid(where, `Value not a valid list: ${pyRepr(v)}`);
  return v.map((x) => text(x, where)!);
};
const TRUE = ['true', 't', 'yes', 'y', 'on', '1'];
const FALSE = ['false', 'f', 'no', 'n', 'off', '0'];
const bool = (v: unknown, where: string): boolean | null => {
  if (v === null) return null;
  if (typeof v === 'boolean' || typeof v === 'number') return Boolean(v);
  if (typeof v === 'string' && TRUE.includes(v.toLowerCase())) return true;
  if (typeof v === 'string' && FALSE.includes(v.toLowerCase())) return false;
  throw invalid(where, `Value not an unambiguous boolean: ${pyRepr(v)}`);
};
const int = (v: unknown, where: string): number | null => {
  if (v === null) return null;
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v);
  throw invalid(where, `Value should be integer`);
};
/** WSME's bytes: str() of a scalar (Python spells booleans True/False), None for anything else. */
const bytes = (v: unknown): string | null => {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  return null;
};

/** glance.api.v2.model.metadef_property_type.PropertyType, in its attribute order. */
const PROPERTY_ATTRS = [
  'name', 'type', 'title', 'description', 'operators', 'default', 'readonly', 'minimum', 'maximum', 'enum', 'pattern',
  'minLength', 'maxLength', 'confidential', 'items', 'uniqueItems', 'minItems', 'maxItems', 'additionalItems',
] as const;

/** A property definition as PropertyType keeps it. */
export function propertyType(v: unknown, where: string): PropertyDef {
  if (!isObj(v)) throw invalid(where, `Value not a valid dict: ${pyRepr(v)}`);
  onlyKnown(v, PROPERTY_ATTRS, where);
  const out: PropertyDef = {};
  for (const a of PROPERTY_ATTRS) {
    if (!(a in v)) continue;
    const x = v[a];
    const at = `${where}.${a}`;
    switch (a) {
      case 'name':
      case 'type':
      case 'title':
      case 'description':
      case 'pattern':
        out[a] = text(x, at);
        break;
      case 'operators':
      case 'enum':
        out[a] = textList(x, at);
        break;
      case 'default':
        out[a] = bytes(x);
        break;
      case 'readonly':
      case 'confidential':
      case 'uniqueItems':
      case 'additionalItems':
        out[a] = bool(x, at);
        break;
      case 'minimum':
      case 'maximum':
      case 'minLength':
      case 'maxLength':
      case 'minItems':
      case 'maxItems':
        out[a] = int(x, at);
        break;
      case 'items': {
        if (x === null) {
          out.items = null;
          break;
        }
        if (!isObj(x)) throw invalid(at, `Value not a valid dict: ${pyRepr(x)}`);
        onlyKnown(x, ['type', 'enum'], at);
        if (!('type' in x)) throw invalid(`${at}.type`, 'Mandatory field missing.');
        out.items = { type: text(x.type, `${at}.type`), ...('enum' in x ? { enum: textList(x.enum, `${at}.enum`) } : {}) };
        break;
      }
    }
  }
  for (const m of ['type', 'title'] as const) if (!(m in out)) throw invalid(`${where}.${m}`, 'Mandatory field missing.');
  return out;
}

function propertyTypes(v: unknown, where: string): Record<string, PropertyDef> {
  if (!isObj(v)) throw invalid(where, `Value not a valid dict: ${pyRepr(v)}`);
  return Object.fromEntries(Object.entries(v).map(([k, p]) => [k, propertyType(p, `${where}.${k}`)]));
}

const OBJECT_ATTRS = ['name', 'required', 'description', 'properties', 'created_at', 'updated_at', 'self', 'schema'] as const;
const ASSOCIATION_ATTRS = ['name', 'prefix', 'properties_target', 'created_at', 'updated_at'] as const;
const TAG_ATTRS = ['name', 'created_at', 'updated_at'] as const;

/** A MetadefObject as given: what is stored, and the echo a create answers with. */
interface ObjectInput {
  input: NewObject;
  echo: Json;
}

function objectInput(v: unknown, where: string): ObjectInput {
  if (!isObj(v)) throw invalid(where, `Value not a valid dict: ${pyRepr(v)}`);
  onlyKnown(v, OBJECT_ATTRS, where);
  if (!('name' in v)) throw invalid(`${where}.name`, 'Mandatory field missing.');
  const name = text(v.name, `${where}.name`);
  if (name === null) throw invalid(`${where}.name`, 'Mandatory field missing.');
  const echo: Json = { name };
  const input: NewObject = { name };
  if ('required' in v) echo.required = input.required = textList(v.required, `${where}.required`);
  if ('description' in v) echo.description = input.description = text(v.description, `${where}.description`);
  if ('properties' in v) echo.properties = input.properties = v.properties === null ? null : propertyTypes(v.properties, `${where}.properties`);
  return { input, echo };
}

function associationInput(v: unknown, where: string): { input: NewAssociation; echo: Json } {
  if (!isObj(v)) throw invalid(where, `Value not a valid dict: ${pyRepr(v)}`);
  onlyKnown(v, ASSOCIATION_ATTRS, where);
  const name = 'name' in v ? text(v.name, `${where}.name`) : null;
  if (name === null) throw invalid(`${where}.name`, 'Mandatory field missing.');
  const echo: Json = { name };
  const input: NewAssociation = { name };
  if ('prefix' in v) echo.prefix = input.prefix = text(v.prefix, `${where}.prefix`);
  if ('properties_target' in v) echo.properties_target = input.propertiesTarget = text(v.properties_target, `${where}.properties_target`);
  return { input, echo };
}

function tagName(v: unknown, where: string): string {
  if (!isObj(v)) throw invalid(where, `Value not a valid dict: ${pyRepr(v)}`);
  onlyKnown(v, TAG_ATTRS, where);
  const name = 'name' in v ? text(v.name, `${where}.name`) : null;
  if (name === null) throw invalid(`${where}.name`, 'Mandatory field missing.');
  return name;
}

// ---- query strings

/** The query as webob's dict(request.params): first position, last value. */
function queryParams(req: FastifyRequest): Map<string, string> {
  const i = req.url.indexOf('?');
  const out = new Map<string, string>();
  if (i < 0) return out;
  for (const [k, v] of new URLSearchParams(req.url.slice(i + 1))) out.set(k, v);
  return out;
}

/** Python's urllib.parse.quote_plus. */
function quotePlus(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

const urlencode = (params: Map<string, string>) => [...params].map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join('&');

function sortDir(v: string | undefined): 'asc' | 'desc' {
  const d = v ?? 'desc';
  if (d !== 'asc' && d !== 'desc') throw BadRequest(`Invalid sort direction: ${d}`);
  return d;
}

/** int() as Python reads a query value; Glance lets the ValueError out as a 500 in places, we answer 400. */
function queryInt(v: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(v)) throw BadRequest('limit param must be an integer');
  return Number(v);
}

function checkVisibilityFilter(v: string | undefined, allowed: string[]): void {
  if (v && !allowed.includes(v)) throw BadRequest(`Invalid visibility value: ${v}`);
}

// ---- views (oslo's isotime: seconds, Z)

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const nsHref = (name: string) => `/v2/metadefs/namespaces/${name}`;
const NS_SCHEMA = '/v2/schemas/metadefs/namespace';
const OBJECT_SCHEMA = '/v2/schemas/metadefs/object';

function associationView(a: ResourceTypeAssociation): Json {
  return {
    name: a.name,
    ...(a.prefix !== null ? { prefix: a.prefix } : {}),
    ...(a.propertiesTarget !== null ? { properties_target: a.propertiesTarget } : {}),
    created_at: iso(a.createdAt),
    ...(a.updatedAt ? { updated_at: iso(a.updatedAt) } : {}),
  };
}

/** A namespace in WSME's attribute order; `inner` holds the associations, properties, objects and tags to show. */
function namespaceView(ns: MetadefNamespace, inner: { resource_type_associations?: unknown; properties?: unknown; objects?: unknown; tags?: unknown } = {}): Json {
  return {
    namespace: ns.namespace,
    ...(ns.displayName !== null ? { display_name: ns.displayName } : {}),
    ...(ns.description !== null ? { description: ns.description } : {}),
    visibility: ns.visibility,
    protected: ns.protected,
    owner: ns.owner,
    created_at: iso(ns.createdAt),
    ...(ns.updatedAt ? { updated_at: iso(ns.updatedAt) } : {}),
    ...(inner.resource_type_associations !== undefined ? { resource_type_associations: inner.resource_type_associations } : {}),
    ...(inner.properties !== undefined ? { properties: inner.properties } : {}),
    ...(inner.objects !== undefined ? { objects: inner.objects } : {}),
    ...(inner.tags !== undefined ? { tags: inner.tags } : {}),
    self: nsHref(ns.namespace),
    schema: NS_SCHEMA,
  };
}

/** An object read from the store: required and properties always there. */
function objectView(namespace: string, o: MetadefObject): Json {
  return {
    name: o.name,
    required: o.required,
    ...(o.description !== null ? { description: o.description } : {}),
    properties: o.properties,
    created_at: iso(o.createdAt),
    ...(o.updatedAt ? { updated_at: iso(o.updatedAt) } : {}),
    self: `${nsHref(namespace)}/objects/${o.name}`,
    schema: OBJECT_SCHEMA,
  };
}

/** An object as a create or update answers it: the fields given (null ones dropped), the timestamps, links. */
function objectEcho(namespace: string, echo: Json, createdAt: Date, updatedAt: Date | null): Json {
  const out: Json = {};
  for (const k of ['name', 'required', 'description', 'properties'] as const) if (echo[k] !== undefined && echo[k] !== null) out[k] = echo[k];
  return { ...out, created_at: iso(createdAt), ...(updatedAt ? { updated_at: iso(updatedAt) } : {}), self: `${nsHref(namespace)}/objects/${String(echo.name)}`, schema: OBJECT_SCHEMA };
}

const tagView = (t: { name: string; createdAt: Date; updatedAt: Date | null }): Json => ({
  name: t.name,
  created_at: iso(t.createdAt),
  ...(t.updatedAt ? { updated_at: iso(t.updatedAt) } : {}),
});

/** PropertyType's order with the stored name first (Glance sets .name after reading the schema). */
const propertyView = (name: string, schema: PropertyDef): Json => {
  const { name: _inner, ...rest } = schema;
  return { name, ...rest };
};

// ---- routes

export function metadefRoutes(frame: ImageFrame): AnyRoute[] {
  const svc = () => frame.services.metadefs;
  const target = (mode: LookupMode) => (input: { params: { namespace: string } }, ctx: RequestContext) => svc().namespaceTargetOrThrow(ctx, input.params.namespace, mode);
  const nsRoute = '/v2/metadefs/namespaces/:namespace';

  return [
    // ---- schemas
    defineRoute({
      method: 'GET',
      url: '/v2/schemas/metadefs/:name',
      params: Type.Object({ name: Type.String() }),
      policy: null,
      errors: [404],
      handler: async ({ params }) => {
        const schema = METADEF_SCHEMAS[params.name];
        if (!schema) throw new NotFoundError('The resource could not be found.', 'image.no_schema');
        return schema;
      },
    }),

    // ---- resource types
    defineRoute({
      method: 'GET',
      url: '/v2/metadefs/resource_types',
      policy: 'list_metadef_resource_types',
      errors: [],
      handler: async () => ({ resource_types: (await svc().listResourceTypes()).map((t) => ({ name: t.name, created_at: iso(t.createdAt), ...(t.updatedAt ? { updated_at: iso(t.updatedAt) } : {}) })) }),
    }),
    defineRoute({
      method: 'GET',
      url: `${nsRoute}/resource_types`,
      params: NsPath,
      policy: 'list_metadef_resource_types',
      target: target('short'),
      errors: [404],
      handler: async ({ params }, ctx) => ({ resource_type_associations: (await svc().listAssociations(ctx, params.namespace)).map(associationView) }),
    }),
    defineRoute({
      method: 'POST',
      url: `${nsRoute}/resource_types`,
      params: NsPath,
      policy: 'add_metadef_resource_type_association',
      target: target('short'),
      status: 201,
      errors: [404, 409],
      handler: async ({ params, body }, ctx) => {
        const b = jsonBody(body, ['created_at', 'updated_at'], 'resource_type_association');
        validate('resource_type_association', 'resource_type_association', b);
        const { input } = associationInput(b, 'resource_type');
        return associationView(await svc().createAssociation(ctx, params.namespace, input));
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: `${nsRoute}/resource_types/:resource_type`,
      params: TypePath,
      policy: 'remove_metadef_resource_type_association',
      target: target('short'),
      status: 204,
      errors: [404],
      handler: async ({ params }, ctx) => {
        await svc().deleteAssociation(ctx, params.namespace, params.resource_type);
        return undefined;
      },
    }),

    // ---- namespaces
    defineRoute({
      method: 'GET',
      url: '/v2/metadefs/namespaces',
      policy: 'get_metadef_namespaces',
      errors: [404],
      handler: async ({ req }, ctx) => {
        const params = queryParams(req);
        const q = new Map(params);
        const limitRaw = q.get('limit');
        q.delete('limit');
        const marker = q.get('marker');
        q.delete('marker');
        const dir = sortDir(q.get('sort_dir'));
        q.delete('sort_dir');
        const sortKey = q.get('sort_key') ?? 'created_at';
        q.delete('sort_key');
        // COMPAT(glance): an unknown sort key or a non-integer limit is a 500 there
        if (!(NAMESPACE_SORT_KEYS as readonly string[]).includes(sortKey)) throw BadRequest(`Invalid sort key: ${sortKey}`);
        const limit = Math.min(frame.limitMax, limitRaw === undefined ? frame.limitDefault : queryInt(limitRaw));
        if (limit < 0) throw BadRequest('limit param must be positive');
        const visibility = q.get('visibility');
        checkVisibilityFilter(visibility, ['public', 'private']);
        const resourceTypes = q.get('resource_types');
        // an empty visibility filter matches no namespace (Glance filters on visibility == '')
        const result =
          visibility === ''
            ? { namespaces: [] }
            : await svc().listNamespaces(ctx, {
                visibility: visibility as NamespaceVisibility | undefined,
                resourceTypes: resourceTypes === undefined ? undefined : resourceTypes.split(','),
                sortKey: sortKey as NamespaceSortKey,
                sortDir: dir,
                limit,
                marker,
              });
        const firstParams = new Map(params);
        firstParams.delete('marker');
        const query = urlencode(firstParams);
        const out: Json = {
          namespaces: result.namespaces.map(({ namespace, associations }) =>
            namespaceView(namespace, associations.length ? { resource_type_associations: associations.map(associationView) } : {}),
          ),
        };
        if ('next' in result && result.next !== undefined) {
          firstParams.set('marker', result.next);
          out.next = `/v2/metadefs/namespaces?${urlencode(firstParams)}`;
        }
        out.schema = '/v2/schemas/metadefs/namespaces';
        out.first = query ? `/v2/metadefs/namespaces?${query}` : '/v2/metadefs/namespaces';
        return out;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v2/metadefs/namespaces',
      policy: 'add_metadef_namespace',
      status: 201,
      errors: [404, 409],
      handler: async ({ body, req, reply }, ctx) => {
        const b = jsonBody(body, ['self', 'schema', 'created_at', 'updated_at'], 'namespace');
        validate('namespace', 'namespace', b);
        const associations = Array.isArray(b.resource_type_associations) ? b.resource_type_associations.map((a, i) => associationInput(a, `resource_type_associations[${i}]`)) : undefined;
        const objects = Array.isArray(b.objects) ? b.objects.map((o, i) => objectInput(o, `objects[${i}]`)) : undefined;
        const properties = isObj(b.properties) ? propertyTypes(b.properties, 'properties') : undefined;
        const tags = Array.isArray(b.tags) ? b.tags.map((t, i) => tagName(t, `tags[${i}]`)) : undefined;
        const ns = await svc().createNamespace(ctx, {
          namespace: b.namespace as string,
          displayName: b.display_name as string | undefined,
          description: b.description as string | undefined,
          visibility: b.visibility as NamespaceVisibility | undefined,
          protected: b.protected as boolean | undefined,
          owner: b.owner as string | undefined,
          resourceTypeAssociations: associations?.map((a) => a.input),
          objects: objects?.map((o) => o.input),
          properties,
          tags,
        });
        void reply.header('location', `${requestBaseUrl(req)}${nsHref(ns.namespace)}`);
        // Glance answers the namespace with its parts as the request gave them
        return namespaceView(ns, {
          resource_type_associations: associations?.map((a) => a.echo),
          properties,
          objects: objects?.map((o) => o.echo),
          tags: tags?.map((name) => ({ name })),
        });
      },
    }),
    defineRoute({
      method: 'GET',
      url: nsRoute,
      params: NsPath,
      policy: 'get_metadef_namespace',
      target: target('show'),
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        const q = queryParams(req);
        checkVisibilityFilter(q.get('visibility'), ['public', 'private']);
        const d = await svc().showNamespace(ctx, params.namespace, q.get('resource_type') || undefined);
        return namespaceView(d.namespace, {
          ...(d.associations.length ? { resource_type_associations: d.associations.map(associationView) } : {}),
          ...(Object.keys(d.properties).length ? { properties: d.properties } : {}),
          ...(d.objects.length ? { objects: d.objects.map((o) => objectView(params.namespace, o)) } : {}),
          ...(d.tags.length ? { tags: d.tags.map((t) => ({ name: t.name })) } : {}),
        });
      },
    }),
    defineRoute({
      method: 'PUT',
      url: nsRoute,
      params: NsPath,
      policy: 'modify_metadef_namespace',
      target: target('short'),
      errors: [404, 409],
      handler: async ({ params, body }, ctx) => {
        const b = jsonBody(body, ['self', 'schema', 'created_at', 'updated_at'], 'namespace');
        validate('namespace', 'namespace', b);
        const ns = await svc().updateNamespace(ctx, params.namespace, {
          namespace: b.namespace as string,
          displayName: (b.display_name as string | undefined) ?? null,
          description: (b.description as string | undefined) ?? null,
          visibility: (b.visibility as NamespaceVisibility | undefined) ?? null,
          protected: (b.protected as boolean | undefined) ?? null,
          owner: (b.owner as string | undefined) ?? null,
        });
        return namespaceView(ns);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: nsRoute,
      params: NsPath,
      policy: 'delete_metadef_namespace',
      target: target('short'),
      status: 204,
      errors: [404],
      handler: async ({ params }, ctx) => {
        await svc().deleteNamespace(ctx, params.namespace);
        return undefined;
      },
    }),
    ...(['objects', 'properties', 'tags'] as const).map((what) =>
      defineRoute({
        method: 'DELETE',
        url: `${nsRoute}/${what}`,
        params: NsPath,
        // Glance guards emptying a namespace as deleting it (tags also need delete_metadef_tags)
        policy: 'delete_metadef_namespace',
        target: target('short'),
        status: 204,
        errors: [404],
        handler: async ({ params }, ctx) => {
          await svc().deleteContent(ctx, params.namespace, what);
          return undefined;
        },
      }),
    ),

    // ---- objects
    defineRoute({
      method: 'GET',
      url: `${nsRoute}/objects`,
      params: NsPath,
      policy: 'get_metadef_objects',
      target: target('objects'),
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        const q = queryParams(req);
        sortDir(q.get('sort_dir'));
        const limit = q.get('limit');
        if (limit !== undefined && queryInt(limit) <= 0) throw BadRequest('limit param must be positive');
        checkVisibilityFilter(q.get('visibility'), ['public', 'private', 'shared']);
        const objects = await svc().listObjects(ctx, params.namespace);
        // COMPAT(glance): this schema link lacks its leading slash upstream (metadef_objects.py)
        return { objects: objects.map((o) => objectView(params.namespace, o)), schema: 'v2/schemas/metadefs/objects' };
      },
    }),
    defineRoute({
      method: 'POST',
      url: `${nsRoute}/objects`,
      params: NsPath,
      policy: 'add_metadef_object',
      target: target('objects'),
      status: 201,
      errors: [404, 409],
      handler: async ({ params, body }, ctx) => {
        const b = jsonBody(body, ['self', 'schema', 'created_at', 'updated_at'], 'object');
        validate('object', 'object', b);
        if (isObj(b.properties)) for (const p of Object.values(b.properties)) validate('objectProperty', 'property', p);
        const { input, echo } = objectInput(b, 'object');
        const t = await svc().createObject(ctx, params.namespace, input);
        return objectEcho(params.namespace, echo, t.createdAt, t.updatedAt);
      },
    }),
    defineRoute({
      method: 'GET',
      url: `${nsRoute}/objects/:object_name`,
      params: ObjectPath,
      policy: 'get_metadef_object',
      target: target('objects'),
      errors: [404],
      handler: async ({ params }, ctx) => objectView(params.namespace, await svc().getObjectOrThrow(ctx, params.namespace, params.object_name)),
    }),
    defineRoute({
      method: 'PUT',
      url: `${nsRoute}/objects/:object_name`,
      params: ObjectPath,
      policy: 'modify_metadef_object',
      target: target('objects'),
      errors: [404, 409],
      handler: async ({ params, body }, ctx) => {
        const b = jsonBody(body, ['self', 'schema', 'created_at', 'updated_at'], 'object');
        validate('object', 'object', b);
        const { input, echo } = objectInput(b, 'object');
        const o = await svc().updateObject(ctx, params.namespace, params.object_name, input);
        return objectEcho(params.namespace, echo, o.createdAt, o.updatedAt);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: `${nsRoute}/objects/:object_name`,
      params: ObjectPath,
      policy: 'delete_metadef_object',
      target: target('objects'),
      status: 204,
      errors: [404],
      handler: async ({ params }, ctx) => {
        await svc().deleteObject(ctx, params.namespace, params.object_name);
        return undefined;
      },
    }),

    // ---- properties
    defineRoute({
      method: 'GET',
      url: `${nsRoute}/properties`,
      params: NsPath,
      policy: 'get_metadef_properties',
      target: target('short'),
      errors: [404],
      handler: async ({ params }, ctx) => ({ properties: Object.fromEntries((await svc().listProperties(ctx, params.namespace)).map((p) => [p.name, p.schema])) }),
    }),
    defineRoute({
      method: 'POST',
      url: `${nsRoute}/properties`,
      params: NsPath,
      policy: 'add_metadef_property',
      target: target('short'),
      status: 201,
      errors: [404, 409],
      handler: async ({ params, body }, ctx) => {
        const b = jsonBody(body, ['created_at', 'updated_at'], 'property');
        validate('property', 'property', b);
        const schema = propertyType(b, 'property');
        const p = await svc().createProperty(ctx, params.namespace, schema.name as string, schema);
        return propertyView(p.name, p.schema);
      },
    }),
    defineRoute({
      method: 'GET',
      url: `${nsRoute}/properties/:property_name`,
      params: PropertyPath,
      policy: 'get_metadef_property',
      target: target('short'),
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        const p = await svc().getPropertyOrThrow(ctx, params.namespace, params.property_name, queryParams(req).get('resource_type') || undefined);
        return propertyView(p.name, p.schema);
      },
    }),
    defineRoute({
      method: 'PUT',
      url: `${nsRoute}/properties/:property_name`,
      params: PropertyPath,
      policy: 'modify_metadef_property',
      target: target('short'),
      errors: [404, 409],
      handler: async ({ params, body }, ctx) => {
        const b = jsonBody(body, ['created_at', 'updated_at'], 'property');
        validate('property', 'property', b);
        const schema = propertyType(b, 'property');
        const p = await svc().updateProperty(ctx, params.namespace, params.property_name, schema.name as string, schema);
        return propertyView(p.name, p.schema);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: `${nsRoute}/properties/:property_name`,
      params: PropertyPath,
      policy: 'remove_metadef_property',
      target: target('short'),
      status: 204,
      errors: [404],
      handler: async ({ params }, ctx) => {
        await svc().deleteProperty(ctx, params.namespace, params.property_name);
        return undefined;
      },
    }),

    // ---- tags
    defineRoute({
      method: 'GET',
      url: `${nsRoute}/tags`,
      params: NsPath,
      policy: 'get_metadef_tags',
      target: target('short'),
      errors: [404],
      handler: async ({ params, req }, ctx) => {
        const q = queryParams(req);
        const dir = sortDir(q.get('sort_dir'));
        const sortKey = q.get('sort_key') ?? 'created_at';
        if (!(TAG_SORT_KEYS as readonly string[]).includes(sortKey)) throw BadRequest(`Invalid sort key: ${sortKey}`);
        checkVisibilityFilter(q.get('visibility'), ['public', 'private', 'shared']);
        const limitRaw = q.get('limit');
        let limit: number | undefined;
        if (limitRaw) {
          limit = queryInt(limitRaw);
          if (limit < 0) throw BadRequest('limit param must be positive');
        }
        const tags = await svc().listTags(ctx, params.namespace, { sortKey: sortKey as TagSortKey, sortDir: dir, limit, marker: q.get('marker') || undefined });
        return { tags: tags.map((t) => ({ name: t.name })) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: `${nsRoute}/tags`,
      params: NsPath,
      policy: 'add_metadef_tags',
      target: target('short'),
      status: 201,
      errors: [404, 409],
      handler: async ({ params, body, req }, ctx) => {
        const b = jsonBody(body, ['created_at', 'updated_at'], 'tags');
        validate('tags', 'tags', b);
        // COMPAT(glance): a body without "tags" is a 500 there; here it adds none
        const names = Array.isArray(b.tags) ? b.tags.map((t, i) => tagName(t, `tags[${i}]`)) : [];
        const header = req.headers['x-openstack-append'];
        const append = TRUE.includes(String(Array.isArray(header) ? header[0] : (header ?? '')).trim().toLowerCase());
        const created = await svc().createTags(ctx, params.namespace, names, append);
        return { tags: created.map((name) => ({ name })) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: `${nsRoute}/tags/:tag_name`,
      params: TagPath,
      policy: 'get_metadef_tag',
      target: target('short'),
      errors: [404],
      handler: async ({ params }, ctx) => tagView(await svc().getTagOrThrow(ctx, params.namespace, params.tag_name)),
    }),
    defineRoute({
      method: 'POST',
      url: `${nsRoute}/tags/:tag_name`,
      params: TagPath,
      policy: 'add_metadef_tag',
      target: target('short'),
      status: 201,
      errors: [404, 409],
      handler: async ({ params }, ctx) => {
        validate('tag', 'tag', { name: params.tag_name });
        return tagView(await svc().createTag(ctx, params.namespace, params.tag_name));
      },
    }),
    defineRoute({
      method: 'PUT',
      url: `${nsRoute}/tags/:tag_name`,
      params: TagPath,
      policy: 'modify_metadef_tag',
      target: target('short'),
      errors: [404, 409],
      handler: async ({ params, body }, ctx) => {
        const b = jsonBody(body, ['created_at', 'updated_at'], 'tag');
        validate('tag', 'tag', b);
        return tagView(await svc().updateTag(ctx, params.namespace, params.tag_name, b.name as string));
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: `${nsRoute}/tags/:tag_name`,
      params: TagPath,
      policy: 'delete_metadef_tag',
      target: target('short'),
      status: 204,
      errors: [404],
      handler: async ({ params }, ctx) => {
        await svc().deleteTag(ctx, params.namespace, params.tag_name);
        return undefined;
      },
    }),
  ];
}
