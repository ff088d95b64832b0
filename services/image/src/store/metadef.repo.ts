// Metadata definition rows: namespaces (visibility-aware keyset pages), their objects,
// properties, tags and resource type associations, and the resource types themselves.
import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { MetadefNamespace, MetadefObject, MetadefProperty, MetadefTag, NamespaceVisibility, PropertyDef, ResourceType, ResourceTypeAssociation } from '../domain/metadef.models.js';
import type { ImageDB, MetadefNamespaceTable } from './schema.js';

/** A database handle or a transaction; repositories accept either. */
export type Db = Kysely<ImageDB>;
type NamespaceRow = Selectable<MetadefNamespaceTable>;

const date = (v: number | string | null): Date | null => (v === null ? null : new Date(Number(v)));
const json = (s: string): Record<string, unknown> => JSON.parse(s) as Record<string, unknown>;
/**
 * Glance lists objects and properties without ORDER BY, and its databases answer them in the
 * order of their (namespace_id, name) index: by name, bytewise (SQLite's BINARY, utf8mb4_bin).
 * Sorted here so PostgreSQL's collation does not change it.
 */
const byName = <T extends { name: string }>(rows: T[]): T[] => rows.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));

function rowToNamespace(r: NamespaceRow): MetadefNamespace {
  return {
    id: Number(r.id),
    namespace: r.namespace,
    displayName: r.display_name,
    description: r.description,
    visibility: r.visibility as NamespaceVisibility,
    protected: Number(r.protected) === 1,
    owner: r.owner,
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at),
  };
}

// ---- namespaces

export async function selectNamespace(db: Db, name: string): Promise<MetadefNamespace | undefined> {
  const r = await db.selectFrom('metadef_namespace').selectAll().where('namespace', '=', name).executeTakeFirst();
  return r && rowToNamespace(r);
}

export interface NamespaceColumns {
  namespace: string;
  display_name: string | null;
  description: string | null;
  visibility: string;
  protected: number;
  owner: string;
}

/** Inserts and answers the new row's id (throws the driver's unique violation on a taken name). */
export async function insertNamespace(db: Db, values: NamespaceColumns, nowMs: number): Promise<number> {
  await db.insertInto('metadef_namespace').values({ ...values, created_at: nowMs, updated_at: nowMs }).execute();
  const r = await db.selectFrom('metadef_namespace').select('id').where('namespace', '=', values.namespace).executeTakeFirstOrThrow();
  return Number(r.id);
}

export async function updateNamespace(db: Db, id: number, values: NamespaceColumns, nowMs: number): Promise<void> {
  await db.updateTable('metadef_namespace').set({ ...values, updated_at: nowMs }).where('id', '=', id).execute();
}

/** Deletes the namespace and, through the foreign keys, everything in it. */
export async function deleteNamespace(db: Db, id: number): Promise<void> {
  await db.deleteFrom('metadef_namespace').where('id', '=', id).execute();
}

/** Columns a namespace list may sort by; nullable ones sort as if empty. */
export const NAMESPACE_SORT_KEYS = ['id', 'namespace', 'display_name', 'description', 'visibility', 'protected', 'owner', 'created_at', 'updated_at'] as const;
export type NamespaceSortKey = (typeof NAMESPACE_SORT_KEYS)[number];

export interface NamespaceQuery {
  /** Glance's context.is_admin sees every namespace; others see public ones and their project's. */
  isAdmin: boolean;
  projectId: string | null;
  visibility?: NamespaceVisibility | undefined;
  /** Only namespaces associated with one of these resource types. */
  resourceTypes?: string[] | undefined;
  sortKey: NamespaceSortKey;
  sortDir: 'asc' | 'desc';
  limit: number;
  /** The page starts after this namespace. */
  marker?: MetadefNamespace | undefined;
}

type NsEB = ExpressionBuilder<ImageDB, 'metadef_namespace'>;

function sortExpr(eb: NsEB, key: NamespaceSortKey): Expression<unknown> {
  switch (key) {
    case 'display_name':
    case 'description':
      return eb.fn.coalesce(eb.ref(key), sql.lit(''));
    case 'updated_at':
      return eb.fn.coalesce(eb.ref(key), sql.lit(0));
    default:
      return eb.ref(key);
  }
}

function markerValue(m: MetadefNamespace, key: NamespaceSortKey): string | number {
  switch (key) {
    case 'id':
      return m.id;
    case 'namespace':
      return m.namespace;
    case 'display_name':
      return m.displayName ?? '';
    case 'description':
      return m.description ?? '';
    case 'visibility':
      return m.visibility;
    case 'protected':
      return m.protected ? 1 : 0;
    case 'owner':
      return m.owner;
    case 'created_at':
      return m.createdAt.getTime();
    case 'updated_at':
      return m.updatedAt?.getTime() ?? 0;
  }
}

/** One page of the namespaces the caller may see, sorted by (sortKey, created_at, id) as oslo.db's paginate_query. */
export async function listNamespaces(db: Db, q: NamespaceQuery): Promise<MetadefNamespace[]> {
  const keys: NamespaceSortKey[] = [q.sortKey, ...(['created_at', 'id'] as const).filter((k) => k !== q.sortKey)];
  let query = db.selectFrom('metadef_namespace').selectAll();
  if (!q.isAdmin) {
    const projectId = q.projectId;
    query = query.where((eb) => (projectId === null ? eb('visibility', '=', 'public') : eb.or([eb('owner', '=', projectId), eb('visibility', '=', 'public')])));
  }
  if (q.visibility) query = query.where('visibility', '=', q.visibility);
  if (q.resourceTypes) {
    const names = q.resourceTypes;
    query = query.where('id', 'in', (eb) =>
      eb
        .selectFrom('metadef_namespace_resource_type as a')
        .innerJoin('metadef_resource_type as t', 't.id', 'a.resource_type_id')
        .select('a.namespace_id')
        .where('t.name', 'in', names),
    );
  }
  const marker = q.marker;
  if (marker) {
    const cmp = q.sortDir === 'desc' ? '<' : '>';
    query = query.where((eb) => {
      const branches: Expression<SqlBool>[] = keys.map((key, i) =>
        eb.and([...keys.slice(0, i).map((k) => eb(sortExpr(eb, k), '=', markerValue(marker, k))), eb(sortExpr(eb, key), cmp, markerValue(marker, key))]),
      );
      return eb.or(branches);
    });
  }
  for (const k of keys) query = query.orderBy((eb) => sortExpr(eb, k), q.sortDir);
  const rows = await query.limit(q.limit).execute();
  return rows.map(rowToNamespace);
}

// ---- resource types and associations

export async function selectResourceTypes(db: Db): Promise<ResourceType[]> {
  const rows = await db.selectFrom('metadef_resource_type').selectAll().orderBy('id').execute();
  return rows.map((r) => ({ name: r.name, createdAt: date(r.created_at)!, updatedAt: date(r.updated_at) }));
}

/** The id of the resource type, created (unprotected) when it does not exist yet, as Glance does on association. */
export async function ensureResourceType(db: Db, name: string, nowMs: number): Promise<number> {
  const find = () => db.selectFrom('metadef_resource_type').select('id').where('name', '=', name).executeTakeFirst();
  const found = await find();
  if (found) return Number(found.id);
  await db.insertInto('metadef_resource_type').values({ name, protected: 0, created_at: nowMs, updated_at: nowMs }).execute();
  return Number((await find())!.id);
}

export async function selectResourceTypeId(db: Db, name: string): Promise<number | undefined> {
  const r = await db.selectFrom('metadef_resource_type').select('id').where('name', '=', name).executeTakeFirst();
  return r ? Number(r.id) : undefined;
}

/** Associations of each namespace, in the order they were made. */
export async function selectAssociations(db: Db, namespaceIds: number[]): Promise<Map<number, ResourceTypeAssociation[]>> {
  const out = new Map<number, ResourceTypeAssociation[]>();
  if (!namespaceIds.length) return out;
  const rows = await db
    .selectFrom('metadef_namespace_resource_type as a')
    .innerJoin('metadef_resource_type as t', 't.id', 'a.resource_type_id')
    .select(['a.namespace_id', 't.name', 'a.prefix', 'a.properties_target', 'a.created_at', 'a.updated_at'])
    .where('a.namespace_id', 'in', namespaceIds)
    .orderBy('a.id')
    .execute();
  for (const r of rows) {
    const list = out.get(Number(r.namespace_id)) ?? [];
    list.push({ name: r.name, prefix: r.prefix, propertiesTarget: r.properties_target, createdAt: date(r.created_at)!, updatedAt: date(r.updated_at) });
    out.set(Number(r.namespace_id), list);
  }
  return out;
}

export async function insertAssociation(
  db: Db,
  v: { namespaceId: number; resourceTypeId: number; prefix: string | null; propertiesTarget: string | null },
  nowMs: number,
): Promise<void> {
  await db
    .insertInto('metadef_namespace_resource_type')
    .values({ namespace_id: v.namespaceId, resource_type_id: v.resourceTypeId, prefix: v.prefix, properties_target: v.propertiesTarget, created_at: nowMs, updated_at: nowMs })
    .execute();
}

export async function deleteAssociation(db: Db, namespaceId: number, resourceTypeId: number): Promise<boolean> {
  const r = await db.deleteFrom('metadef_namespace_resource_type').where('namespace_id', '=', namespaceId).where('resource_type_id', '=', resourceTypeId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

// ---- objects

export interface ObjectColumns {
  name: string;
  description: string | null;
  /** Glance joins the names with commas and reads back [] for none. */
  required: string | null;
  json_schema: string;
}

export function objectColumns(o: { name: string; description?: string | null | undefined; required?: string[] | null | undefined; properties?: Record<string, PropertyDef> | null | undefined }): ObjectColumns {
  return {
    name: o.name,
    description: o.description ?? null,
    required: o.required?.length ? o.required.join(',') : null,
    json_schema: JSON.stringify(o.properties ?? {}),
  };
}

function rowToObject(r: { id: number; name: string; description: string | null; required: string | null; json_schema: string; created_at: number; updated_at: number | null }): MetadefObject {
  return {
    id: Number(r.id),
    name: r.name,
    description: r.description,
    required: r.required ? r.required.split(',') : [],
    properties: json(r.json_schema) as Record<string, PropertyDef>,
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at),
  };
}

export async function selectObjects(db: Db, namespaceId: number): Promise<MetadefObject[]> {
  const rows = await db.selectFrom('metadef_object').selectAll().where('namespace_id', '=', namespaceId).execute();
  return byName(rows.map(rowToObject));
}

export async function selectObject(db: Db, namespaceId: number, name: string): Promise<MetadefObject | undefined> {
  const r = await db.selectFrom('metadef_object').selectAll().where('namespace_id', '=', namespaceId).where('name', '=', name).executeTakeFirst();
  return r && rowToObject(r);
}

export async function insertObject(db: Db, namespaceId: number, v: ObjectColumns, nowMs: number): Promise<void> {
  await db.insertInto('metadef_object').values({ ...v, namespace_id: namespaceId, created_at: nowMs, updated_at: nowMs }).execute();
}

export async function updateObject(db: Db, id: number, v: ObjectColumns, nowMs: number): Promise<void> {
  await db.updateTable('metadef_object').set({ ...v, updated_at: nowMs }).where('id', '=', id).execute();
}

export async function deleteObject(db: Db, id: number): Promise<void> {
  await db.deleteFrom('metadef_object').where('id', '=', id).execute();
}

export async function deleteObjectsOf(db: Db, namespaceId: number): Promise<void> {
  await db.deleteFrom('metadef_object').where('namespace_id', '=', namespaceId).execute();
}

// ---- properties

function rowToProperty(r: { id: number; name: string; json_schema: string }): MetadefProperty {
  return { id: Number(r.id), name: r.name, schema: json(r.json_schema) };
}

export async function selectProperties(db: Db, namespaceId: number): Promise<MetadefProperty[]> {
  const rows = await db.selectFrom('metadef_property').select(['id', 'name', 'json_schema']).where('namespace_id', '=', namespaceId).execute();
  return byName(rows.map(rowToProperty));
}

export async function selectProperty(db: Db, namespaceId: number, name: string): Promise<MetadefProperty | undefined> {
  const r = await db.selectFrom('metadef_property').select(['id', 'name', 'json_schema']).where('namespace_id', '=', namespaceId).where('name', '=', name).executeTakeFirst();
  return r && rowToProperty(r);
}

export async function insertProperty(db: Db, namespaceId: number, name: string, schema: PropertyDef, nowMs: number): Promise<void> {
  await db.insertInto('metadef_property').values({ namespace_id: namespaceId, name, json_schema: JSON.stringify(schema), created_at: nowMs, updated_at: nowMs }).execute();
}

export async function updateProperty(db: Db, id: number, name: string, schema: PropertyDef, nowMs: number): Promise<void> {
  await db.updateTable('metadef_property').set({ name, json_schema: JSON.stringify(schema), updated_at: nowMs }).where('id', '=', id).execute();
}

export async function deleteProperty(db: Db, id: number): Promise<void> {
  await db.deleteFrom('metadef_property').where('id', '=', id).execute();
}

export async function deletePropertiesOf(db: Db, namespaceId: number): Promise<void> {
  await db.deleteFrom('metadef_property').where('namespace_id', '=', namespaceId).execute();
}

// ---- tags

function rowToTag(r: { id: number; name: string; created_at: number; updated_at: number | null }): MetadefTag {
  return { id: Number(r.id), name: r.name, createdAt: date(r.created_at)!, updatedAt: date(r.updated_at) };
}

export const TAG_SORT_KEYS = ['id', 'name', 'created_at', 'updated_at'] as const;
export type TagSortKey = (typeof TAG_SORT_KEYS)[number];

export interface TagQuery {
  sortKey: TagSortKey;
  sortDir: 'asc' | 'desc';
  limit?: number | undefined;
  marker?: MetadefTag | undefined;
}

/** Tags of a namespace, sorted by (sortKey, created_at, id) like the namespace list. */
export async function selectTags(db: Db, namespaceId: number, q: TagQuery = { sortKey: 'created_at', sortDir: 'desc' }): Promise<MetadefTag[]> {
  const keys: TagSortKey[] = [q.sortKey, ...(['created_at', 'id'] as const).filter((k) => k !== q.sortKey)];
  const expr = (eb: ExpressionBuilder<ImageDB, 'metadef_tag'>, k: TagSortKey): Expression<unknown> => (k === 'updated_at' ? eb.fn.coalesce(eb.ref(k), sql.lit(0)) : eb.ref(k));
  const value = (t: MetadefTag, k: TagSortKey): string | number => (k === 'id' ? t.id : k === 'name' ? t.name : k === 'created_at' ? t.createdAt.getTime() : (t.updatedAt?.getTime() ?? 0));
  let query = db.selectFrom('metadef_tag').selectAll().where('namespace_id', '=', namespaceId);
  const marker = q.marker;
  if (marker) {
    const cmp = q.sortDir === 'desc' ? '<' : '>';
    query = query.where((eb) => eb.or(keys.map((key, i) => eb.and([...keys.slice(0, i).map((k) => eb(expr(eb, k), '=', value(marker, k))), eb(expr(eb, key), cmp, value(marker, key))]))));
  }
  for (const k of keys) query = query.orderBy((eb) => expr(eb, k), q.sortDir);
  if (q.limit !== undefined) query = query.limit(q.limit);
  return (await query.execute()).map(rowToTag);
}

export async function selectTag(db: Db, namespaceId: number, name: string): Promise<MetadefTag | undefined> {
  const r = await db.selectFrom('metadef_tag').selectAll().where('namespace_id', '=', namespaceId).where('name', '=', name).executeTakeFirst();
  return r && rowToTag(r);
}

export async function insertTag(db: Db, namespaceId: number, name: string, nowMs: number): Promise<void> {
  await db.insertInto('metadef_tag').values({ namespace_id: namespaceId, name, created_at: nowMs, updated_at: nowMs }).execute();
}

export async function updateTag(db: Db, id: number, name: string, nowMs: number): Promise<void> {
  await db.updateTable('metadef_tag').set({ name, updated_at: nowMs }).where('id', '=', id).execute();
}

export async function deleteTag(db: Db, id: number): Promise<void> {
  await db.deleteFrom('metadef_tag').where('id', '=', id).execute();
}

export async function deleteTagsOf(db: Db, namespaceId: number): Promise<void> {
  await db.deleteFrom('metadef_tag').where('namespace_id', '=', namespaceId).execute();
}
