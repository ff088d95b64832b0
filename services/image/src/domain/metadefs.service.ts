// Metadata definitions (Glance's metadefs): namespace visibility, policy checks with Glance's
// 404-for-what-you-cannot-see translation, protection, duplicates, and the cascades.
import { ForbiddenError, NotFoundError, policyCredentials, type Clock, type RequestContext } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type {
  MetadefNamespace,
  MetadefObject,
  MetadefProperty,
  MetadefTag,
  NamespaceUpdate,
  NewAssociation,
  NewNamespace,
  NewObject,
  PropertyDef,
  ResourceType,
  ResourceTypeAssociation,
} from './metadef.models.js';
import { BadRequest, Conflict, Forbidden } from './errors.js';
import * as repo from '../store/metadef.repo.js';
import type { Db, NamespaceSortKey, TagSortKey } from '../store/metadef.repo.js';

// Glance's wording (glance/common/exception.py and the metadef controllers)
export const NamespaceNotFound = (name: string) => new NotFoundError(`Metadata definition namespace=${name} was not found.`, 'image.metadef_namespace_not_found');
/** What most metadef controllers answer for a namespace that is missing or hidden. */
export const NamespaceNotFoundShort = (name: string) => new NotFoundError(`Namespace ${name} not found`, 'image.metadef_namespace_not_found');
/** webob's HTTPNotFound() without explanation: a hidden namespace, or a policy denial on one. */
export const HiddenNamespace = () => new NotFoundError('The resource could not be found.', 'image.metadef_hidden');
export const ObjectNotFound = (name: string) => new NotFoundError(`Could not find metadata object ${name}`, 'image.metadef_object_not_found');
export const PropertyNotFound = (name: string) => new NotFoundError(`Could not find property ${name}`, 'image.metadef_property_not_found');
export const TagNotFound = (name: string) => new NotFoundError(`Could not find metadata tag ${name}`, 'image.metadef_tag_not_found');
export const AssociationNotFound = (name: string) => new NotFoundError(`Failed to find resource type ${name} to delete`, 'image.metadef_association_not_found');
export const PrefixMismatch = (property: string, prefix: string | null) =>
  new NotFoundError(`Property ${property} does not start with the expected resource type association prefix of '${prefix ?? 'None'}'.`, 'image.metadef_prefix');
export const ResourceTypeNotFound = (name: string) => new NotFoundError(`The metadata definition resource-type with name=${name}, was not found.`, 'image.metadef_resource_type_not_found');
export const AssociationMissing = (type: string, ns: string) =>
  new NotFoundError(`The metadata definition resource-type association of resource-type=${type} to namespace=${ns}, was not found.`, 'image.metadef_association_not_found');

export const DuplicateNamespace = (name: string) => Conflict(`The metadata definition namespace=${name} already exists.`, 'image.metadef_duplicate');
export const DuplicateNamespaceUpdate = (name: string) =>
  Conflict(`Invalid update. It would result in a duplicate metadata definition namespace with the same name of ${name}`, 'image.metadef_duplicate');
export const DuplicateObject = (name: string, ns: string) => Conflict(`A metadata definition object with name=${name} already exists in namespace=${ns}.`, 'image.metadef_duplicate');
export const DuplicateObjectUpdate = (name: string, ns: string) =>
  Conflict(`Invalid update. It would result in a duplicate metadata definition object with the same name=${name} in namespace=${ns}.`, 'image.metadef_duplicate');
export const DuplicateProperty = (name: string, ns: string) => Conflict(`A metadata definition property with name=${name} already exists in namespace=${ns}.`, 'image.metadef_duplicate');
export const DuplicatePropertyUpdate = (name: string, ns: string) =>
  Conflict(`Invalid update. It would result in a duplicate metadata definition property with the same name=${name} in namespace=${ns}.`, 'image.metadef_duplicate');
export const DuplicateTag = (name: string, ns: string) =>
  Conflict(`A metadata tag with name=${name} already exists in namespace=${ns}. (Please note that metadata tag names are case insensitive).`, 'image.metadef_duplicate');
export const DuplicateAssociation = (type: string, ns: string) =>
  Conflict(`The metadata definition resource-type association of resource-type=${type} to namespace=${ns} already exists.`, 'image.metadef_duplicate');

export const NamespaceProtected = (name: string) => Forbidden(`Metadata definition namespace ${name} is protected and cannot be deleted.`, 'image.metadef_protected');
const ObjectProtected = (name: string) => Forbidden(`Metadata definition object ${name} is protected and cannot be deleted.`, 'image.metadef_protected');
const PropertyProtected = (name: string) => Forbidden(`Metadata definition property ${name} is protected and cannot be deleted.`, 'image.metadef_protected');
const TagProtected = (name: string) => Forbidden(`Metadata definition tag ${name} is protected and cannot be deleted.`, 'image.metadef_protected');
const AssociationProtected = (name: string) => Forbidden(`Metadata definition resource-type-association ${name} is protected and cannot be deleted.`, 'image.metadef_protected');
const MarkerHidden = (name: string) => Forbidden(`Forbidding request, metadata definition namespace=${name} is not visible.`, 'image.metadef_hidden');

/**
 * Glance's MetadefAPIPolicy: a denied rule reads as 404 when the caller may not even get the
 * namespace (or the rule was get_metadef_namespace), 403 otherwise.
 */
export interface MetadefAuthorizer {
  enforceCreds(rule: string, target: Record<string, unknown>, creds: Record<string, unknown>): void;
  enforce(rule: string, ctx: RequestContext, target: Record<string, unknown>): void;
  check(rule: string, ctx: RequestContext, target: Record<string, unknown>): boolean;
  /** context.is_admin: the context_is_admin rule passes. */
  isAdmin(ctx: RequestContext): boolean;
}

export function metadefAuthorizer(enforce: (rule: string, target: Record<string, unknown>, creds: Record<string, unknown>) => void): MetadefAuthorizer {
  const allowed = (rule: string, target: Record<string, unknown>, creds: Record<string, unknown>) => {
    try {
      enforce(rule, target, creds);
      return true;
    } catch {
      return false;
    }
  };
  const enforceCreds = (rule: string, target: Record<string, unknown>, creds: Record<string, unknown>) => {
    try {
      enforce(rule, target, creds);
    } catch (err) {
      if (!(err instanceof ForbiddenError)) throw err;
      if (rule === 'get_metadef_namespace' || !allowed('get_metadef_namespace', target, creds)) throw HiddenNamespace();
      throw new ForbiddenError(`You are not authorized to complete ${rule} action.`, 'image.policy');
    }
  };
  return {
    enforceCreds,
    enforce: (rule, ctx, target) => enforceCreds(rule, target, policyCredentials(ctx)),
    check: (rule, ctx, target) => {
      try {
        enforceCreds(rule, target, policyCredentials(ctx));
        return true;
      } catch {
        return false;
      }
    },
    isAdmin: (ctx) => allowed('context_is_admin', {}, policyCredentials(ctx)),
  };
}

export interface MetadefDeps {
  db: Db;
  clock: Clock;
  authz: MetadefAuthorizer;
}

/**
 * How a missing or hidden namespace answers, which differs between Glance's controllers:
 * show: missing names it, hidden is a bare 404; objects: missing names it, hidden is "Namespace x
 * not found"; short (namespace update/delete, properties, tags, resource types): always the latter.
 */
export type LookupMode = 'show' | 'objects' | 'short';

export interface NamespaceDetail {
  namespace: MetadefNamespace;
  associations: ResourceTypeAssociation[];
  /** Keyed by property name, with the resource type's prefix when one was asked for. */
  properties: Record<string, PropertyDef>;
  objects: MetadefObject[];
  tags: MetadefTag[];
}

export interface NamespaceListQuery {
  visibility?: 'public' | 'private' | undefined;
  resourceTypes?: string[] | undefined;
  sortKey: NamespaceSortKey;
  sortDir: 'asc' | 'desc';
  limit: number;
  marker?: string | undefined;
}

export interface TagListQuery {
  sortKey: TagSortKey;
  sortDir: 'asc' | 'desc';
  limit?: number | undefined;
  marker?: string | undefined;
}

/** Glance's policy target for anything in a namespace. */
export const namespaceTarget = (ns: MetadefNamespace): Record<string, unknown> => ({ project_id: ns.owner, visibility: ns.visibility });
const callerTarget = (ctx: RequestContext): Record<string, unknown> => ({ project_id: ctx.projectId ?? null });

export class MetadefsService {
  readonly #d: MetadefDeps;

  constructor(deps: MetadefDeps) {
    this.#d = deps;
  }

  /** The namespace if the caller may see it (glance.db's _is_namespace_visible), else the mode's 404. */
  async getNamespaceOrThrow(ctx: RequestContext, name: string, mode: LookupMode, db: Db = this.#d.db): Promise<MetadefNamespace> {
    const ns = await repo.selectNamespace(db, name);
    if (!ns) throw mode === 'short' ? NamespaceNotFoundShort(name) : NamespaceNotFound(name);
    if (!this.#visible(ctx, ns)) throw mode === 'show' ? HiddenNamespace() : NamespaceNotFoundShort(name);
    return ns;
  }

  /** The policy target of a namespace route, after the lookup (and its 404s) the route's controller does. */
  async namespaceTargetOrThrow(ctx: RequestContext, name: string, mode: LookupMode): Promise<Record<string, unknown>> {
    return namespaceTarget(await this.getNamespaceOrThrow(ctx, name, mode));
  }

  #visible(ctx: RequestContext, ns: MetadefNamespace): boolean {
    return this.#d.authz.isAdmin(ctx) || ns.visibility === 'public' || (ctx.projectId !== undefined && ctx.projectId === ns.owner);
  }

  #now(): number {
    return this.#d.clock.nowMs();
  }

  /** Runs fn in a transaction, turning a unique violation into the given conflict. */
  async #unique<T>(fn: (trx: Db) => Promise<T>, conflict: () => Error): Promise<T> {
    try {
      return await this.#d.db.transaction().execute(fn);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict();
      throw err;
    }
  }

  // ---- namespaces

  async listNamespaces(ctx: RequestContext, q: NamespaceListQuery): Promise<{ namespaces: { namespace: MetadefNamespace; associations: ResourceTypeAssociation[] }[]; next?: string }> {
    // the list shows each namespace's resource type associations, so Glance checks this up front
    this.#d.authz.enforce('list_metadef_resource_types', ctx, callerTarget(ctx));
    let marker: MetadefNamespace | undefined;
    if (q.marker !== undefined) {
      marker = await repo.selectNamespace(this.#d.db, q.marker);
      if (!marker) throw NamespaceNotFound(q.marker);
      if (!this.#visible(ctx, marker)) throw MarkerHidden(q.marker);
    }
    const rows = await repo.listNamespaces(this.#d.db, {
      isAdmin: this.#d.authz.isAdmin(ctx),
      projectId: ctx.projectId ?? null,
      visibility: q.visibility,
      resourceTypes: q.resourceTypes,
      sortKey: q.sortKey,
      sortDir: q.sortDir,
      limit: q.limit,
      marker,
    });
    const shown = rows.filter((ns) => this.#d.authz.check('get_metadef_namespace', ctx, namespaceTarget(ns)));
    const assoc = await repo.selectAssociations(this.#d.db, shown.map((n) => n.id));
    const namespaces = shown.map((namespace) => ({ namespace, associations: assoc.get(namespace.id) ?? [] }));
    const last = shown[shown.length - 1];
    return last && shown.length === q.limit ? { namespaces, next: last.namespace } : { namespaces };
  }

  async createNamespace(ctx: RequestContext, input: NewNamespace): Promise<MetadefNamespace> {
    const caller = callerTarget(ctx);
    if (input.resourceTypeAssociations?.length) this.#d.authz.enforce('add_metadef_resource_type_association', ctx, caller);
    if (input.objects?.length) this.#d.authz.enforce('add_metadef_object', ctx, caller);
    if (input.properties && Object.keys(input.properties).length) this.#d.authz.enforce('add_metadef_property', ctx, caller);
    if (input.tags?.length) this.#d.authz.enforce('add_metadef_tag', ctx, caller);
    const owner = input.owner ?? ctx.projectId;
    if (owner === undefined) throw BadRequest("Couldn't create metadata namespace: the namespace needs an owner (a project-scoped token, or owner in the body).");
    const now = this.#now();
    const name = input.namespace;
    // one transaction: Glance deletes a half-created namespace when a later part fails
    let failed: () => Error = () => DuplicateNamespace(name);
    const id = await this.#unique(async (trx) => {
      const nsId = await repo.insertNamespace(
        trx,
        { namespace: name, display_name: input.displayName ?? null, description: input.description ?? null, visibility: input.visibility ?? 'private', protected: input.protected ? 1 : 0, owner },
        now,
      );
      for (const a of input.resourceTypeAssociations ?? []) {
        failed = () => DuplicateAssociation(a.name, name);
        const rt = await repo.ensureResourceType(trx, a.name, now);
        await repo.insertAssociation(trx, { namespaceId: nsId, resourceTypeId: rt, prefix: a.prefix ?? null, propertiesTarget: a.propertiesTarget ?? null }, now);
      }
      for (const o of input.objects ?? []) {
        failed = () => DuplicateObject(o.name, name);
        await repo.insertObject(trx, nsId, repo.objectColumns(o), now);
      }
      for (const t of input.tags ?? []) {
        failed = () => DuplicateTag(t, name);
        await repo.insertTag(trx, nsId, t, now);
      }
      for (const [p, schema] of Object.entries(input.properties ?? {})) {
        failed = () => DuplicateProperty(p, name);
        await repo.insertProperty(trx, nsId, p, schema, now);
      }
      return nsId;
    }, () => failed());
    return {
      id,
      namespace: name,
      displayName: input.displayName ?? null,
      description: input.description ?? null,
      visibility: input.visibility ?? 'private',
      protected: input.protected ?? false,
      owner,
      createdAt: new Date(now),
      updatedAt: new Date(now),
    };
  }

  /** The namespace with everything in it; with a resource type, property names carry its prefix. */
  async showNamespace(ctx: RequestContext, name: string, resourceType?: string): Promise<NamespaceDetail> {
    const db = this.#d.db;
    const ns = await this.getNamespaceOrThrow(ctx, name, 'show');
    const target = namespaceTarget(ns);
    for (const rule of ['list_metadef_resource_types', 'get_metadef_objects', 'get_metadef_properties', 'get_metadef_tags']) this.#d.authz.enforce(rule, ctx, target);
    const [objects, associations, properties, tags] = await Promise.all([
      repo.selectObjects(db, ns.id),
      repo.selectAssociations(db, [ns.id]).then((m) => m.get(ns.id) ?? []),
      repo.selectProperties(db, ns.id),
      repo.selectTags(db, ns.id),
    ]);
    const prefix = resourceType ? (associations.find((a) => a.name === resourceType)?.prefix ?? '') : '';
    const withPrefix = (props: Record<string, PropertyDef>) => (prefix ? Object.fromEntries(Object.entries(props).map(([k, v]) => [prefix + k, v])) : props);
    return {
      namespace: ns,
      associations,
      properties: withPrefix(Object.fromEntries(properties.map((p) => [p.name, p.schema]))),
      objects: prefix ? objects.map((o) => ({ ...o, properties: withPrefix(o.properties), required: o.required.map((r) => prefix + r) })) : objects,
      tags,
    };
  }

  /** PUT: every field replaced; answers the namespace as saved, with the timestamps it had (as Glance does). */
  async updateNamespace(ctx: RequestContext, name: string, upd: NamespaceUpdate): Promise<MetadefNamespace> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    const owner = upd.owner ?? ctx.projectId;
    if (owner === undefined) throw BadRequest("Couldn't update metadata namespace: the namespace needs an owner (a project-scoped token, or owner in the body).");
    const next: MetadefNamespace = {
      ...ns,
      namespace: upd.namespace,
      displayName: upd.displayName,
      description: upd.description,
      visibility: upd.visibility ?? 'private',
      protected: upd.protected ?? false,
      owner,
    };
    await this.#unique(
      (trx) =>
        repo.updateNamespace(
          trx,
          ns.id,
          { namespace: next.namespace, display_name: next.displayName, description: next.description, visibility: next.visibility, protected: next.protected ? 1 : 0, owner },
          this.#now(),
        ),
      () => DuplicateNamespaceUpdate(upd.namespace),
    );
    return next;
  }

  async deleteNamespace(ctx: RequestContext, name: string): Promise<void> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    if (ns.protected) throw NamespaceProtected(name);
    await repo.deleteNamespace(this.#d.db, ns.id);
  }

  /** DELETE .../objects, .../properties, .../tags: Glance guards them as deleting the namespace. */
  async deleteContent(ctx: RequestContext, name: string, what: 'objects' | 'properties' | 'tags'): Promise<void> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    if (what === 'tags') this.#d.authz.enforce('delete_metadef_tags', ctx, namespaceTarget(ns));
    if (ns.protected) throw NamespaceProtected(name);
    const del = what === 'objects' ? repo.deleteObjectsOf : what === 'properties' ? repo.deletePropertiesOf : repo.deleteTagsOf;
    await del(this.#d.db, ns.id);
  }

  // ---- objects

  async listObjects(ctx: RequestContext, name: string): Promise<MetadefObject[]> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'objects');
    if (!this.#d.authz.check('get_metadef_object', ctx, namespaceTarget(ns))) return [];
    return repo.selectObjects(this.#d.db, ns.id);
  }

  async getObjectOrThrow(ctx: RequestContext, name: string, objectName: string): Promise<MetadefObject> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'objects');
    const o = await repo.selectObject(this.#d.db, ns.id, objectName);
    if (!o) throw ObjectNotFound(objectName);
    return o;
  }

  /** Answers the object as created (its fields as given, not read back). */
  async createObject(ctx: RequestContext, name: string, input: NewObject): Promise<{ createdAt: Date; updatedAt: Date }> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'objects');
    const now = this.#now();
    await this.#unique((trx) => repo.insertObject(trx, ns.id, repo.objectColumns(input), now), () => DuplicateObject(input.name, name));
    return { createdAt: new Date(now), updatedAt: new Date(now) };
  }

  /** PUT replaces name, description, required and properties; answers the timestamps the object had. */
  async updateObject(ctx: RequestContext, name: string, objectName: string, input: NewObject): Promise<MetadefObject> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'objects');
    const o = await repo.selectObject(this.#d.db, ns.id, objectName);
    if (!o) throw ObjectNotFound(objectName);
    // Glance names the object's old name in this conflict
    await this.#unique((trx) => repo.updateObject(trx, o.id, repo.objectColumns(input), this.#now()), () => DuplicateObjectUpdate(objectName, name));
    return { ...o, name: input.name, description: input.description ?? null, required: input.required ?? [], properties: input.properties ?? {} };
  }

  async deleteObject(ctx: RequestContext, name: string, objectName: string): Promise<void> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'objects');
    const o = await repo.selectObject(this.#d.db, ns.id, objectName);
    if (!o) throw ObjectNotFound(objectName);
    if (ns.protected) throw ObjectProtected(objectName);
    await repo.deleteObject(this.#d.db, o.id);
  }

  // ---- properties

  async listProperties(ctx: RequestContext, name: string): Promise<MetadefProperty[]> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    return repo.selectProperties(this.#d.db, ns.id);
  }

  /** With a resource type, the name must carry that association's prefix, which is taken off. */
  async getPropertyOrThrow(ctx: RequestContext, name: string, propertyName: string, resourceType?: string): Promise<MetadefProperty> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    let bare = propertyName;
    if (resourceType) {
      this.#d.authz.enforce('get_metadef_resource_type', ctx, namespaceTarget(ns));
      const assoc = (await repo.selectAssociations(this.#d.db, [ns.id])).get(ns.id) ?? [];
      const a = assoc.find((x) => x.name === resourceType);
      if (!a) {
        if ((await repo.selectResourceTypeId(this.#d.db, resourceType)) === undefined) throw ResourceTypeNotFound(resourceType);
        throw AssociationMissing(resourceType, name);
      }
      if (!a.prefix || !propertyName.startsWith(a.prefix)) throw PrefixMismatch(propertyName, a.prefix);
      bare = propertyName.slice(a.prefix.length);
    }
    const p = await repo.selectProperty(this.#d.db, ns.id, bare);
    if (!p) throw PropertyNotFound(bare);
    return p;
  }

  async createProperty(ctx: RequestContext, name: string, propertyName: string, schema: PropertyDef): Promise<MetadefProperty> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    const now = this.#now();
    await this.#unique((trx) => repo.insertProperty(trx, ns.id, propertyName, schema, now), () => DuplicateProperty(propertyName, name));
    return { id: 0, name: propertyName, schema };
  }

  async updateProperty(ctx: RequestContext, name: string, propertyName: string, newName: string, schema: PropertyDef): Promise<MetadefProperty> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    const p = await repo.selectProperty(this.#d.db, ns.id, propertyName);
    if (!p) throw PropertyNotFound(propertyName);
    await this.#unique((trx) => repo.updateProperty(trx, p.id, newName, schema, this.#now()), () => DuplicatePropertyUpdate(propertyName, name));
    return { id: p.id, name: newName, schema };
  }

  async deleteProperty(ctx: RequestContext, name: string, propertyName: string): Promise<void> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    const p = await repo.selectProperty(this.#d.db, ns.id, propertyName);
    if (!p) throw PropertyNotFound(propertyName);
    if (ns.protected) throw PropertyProtected(propertyName);
    await repo.deleteProperty(this.#d.db, p.id);
  }

  // ---- tags

  async listTags(ctx: RequestContext, name: string, q: TagListQuery): Promise<MetadefTag[]> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    let marker: MetadefTag | undefined;
    if (q.marker !== undefined) {
      marker = await repo.selectTag(this.#d.db, ns.id, q.marker);
      if (!marker) throw TagNotFound(q.marker);
    }
    return repo.selectTags(this.#d.db, ns.id, { sortKey: q.sortKey, sortDir: q.sortDir, limit: q.limit, marker });
  }

  async getTagOrThrow(ctx: RequestContext, name: string, tagName: string): Promise<MetadefTag> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    const t = await repo.selectTag(this.#d.db, ns.id, tagName);
    if (!t) throw TagNotFound(tagName);
    return t;
  }

  async createTag(ctx: RequestContext, name: string, tagName: string): Promise<MetadefTag> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    const now = this.#now();
    await this.#unique((trx) => repo.insertTag(trx, ns.id, tagName, now), () => DuplicateTag(tagName, name));
    return { id: 0, name: tagName, createdAt: new Date(now), updatedAt: new Date(now) };
  }

  /** POST .../tags: replaces the namespace's tags, or adds to them with X-OpenStack-Append. */
  async createTags(ctx: RequestContext, name: string, tags: string[], append: boolean): Promise<string[]> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    // Glance does nothing at all, not even the replacing delete, for an empty list
    if (!tags.length) return [];
    const now = this.#now();
    let current = '';
    await this.#unique(
      async (trx) => {
        if (!append) await repo.deleteTagsOf(trx, ns.id);
        for (const t of tags) {
          current = t;
          await repo.insertTag(trx, ns.id, t, now);
        }
      },
      () => DuplicateTag(current, name),
    );
    return tags;
  }

  async updateTag(ctx: RequestContext, name: string, tagName: string, newName: string): Promise<MetadefTag> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    const t = await repo.selectTag(this.#d.db, ns.id, tagName);
    if (!t) throw TagNotFound(tagName);
    await this.#unique((trx) => repo.updateTag(trx, t.id, newName, this.#now()), () => DuplicateTag(newName, name));
    return { ...t, name: newName };
  }

  async deleteTag(ctx: RequestContext, name: string, tagName: string): Promise<void> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    const t = await repo.selectTag(this.#d.db, ns.id, tagName);
    if (!t) throw TagNotFound(tagName);
    if (ns.protected) throw TagProtected(tagName);
    await repo.deleteTag(this.#d.db, t.id);
  }

  // ---- resource types

  async listResourceTypes(): Promise<ResourceType[]> {
    return repo.selectResourceTypes(this.#d.db);
  }

  async listAssociations(ctx: RequestContext, name: string): Promise<ResourceTypeAssociation[]> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    if (!this.#d.authz.check('get_metadef_resource_type', ctx, namespaceTarget(ns))) return [];
    return (await repo.selectAssociations(this.#d.db, [ns.id])).get(ns.id) ?? [];
  }

  /** Associates a resource type, creating it (unprotected) when it is new, as Glance does. */
  async createAssociation(ctx: RequestContext, name: string, a: NewAssociation): Promise<ResourceTypeAssociation> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    const now = this.#now();
    await this.#unique(
      async (trx) => {
        const rt = await repo.ensureResourceType(trx, a.name, now);
        await repo.insertAssociation(trx, { namespaceId: ns.id, resourceTypeId: rt, prefix: a.prefix ?? null, propertiesTarget: a.propertiesTarget ?? null }, now);
      },
      () => DuplicateAssociation(a.name, name),
    );
    return { name: a.name, prefix: a.prefix ?? null, propertiesTarget: a.propertiesTarget ?? null, createdAt: new Date(now), updatedAt: new Date(now) };
  }

  async deleteAssociation(ctx: RequestContext, name: string, resourceType: string): Promise<void> {
    const ns = await this.getNamespaceOrThrow(ctx, name, 'short');
    const rt = await repo.selectResourceTypeId(this.#d.db, resourceType);
    const assoc = (await repo.selectAssociations(this.#d.db, [ns.id])).get(ns.id) ?? [];
    if (rt === undefined || !assoc.some((a) => a.name === resourceType)) throw AssociationNotFound(resourceType);
    if (ns.protected) throw AssociationProtected(resourceType);
    if (!(await repo.deleteAssociation(this.#d.db, ns.id, rt))) throw AssociationNotFound(resourceType);
  }
}
