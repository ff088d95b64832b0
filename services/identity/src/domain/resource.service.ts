// Domains and projects: invariants (unique names, disabled-before-delete, the hierarchy and its
// depth, immutable resources), tags, cascades, token revocation, notifications and error
// translation, as Keystone's resource manager.
import { newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { Domain, Extra, Project } from './models.js';
import { BadRequest, Conflict, DomainNotFound, Forbidden, ImmutableDelete, ImmutableUpdate, ProjectNotFound } from './errors.js';
import { ProjectTagNotFound } from './resource.errors.js';
import type { Caller, CoreDeps } from './deps.js';
import type { EventFields } from './revocation.service.js';
import {
  deleteDomainRows,
  deleteProjectRows,
  deleteTag,
  hasChildren,
  insertProject,
  insertTag,
  replaceTags,
  rowToDomain,
  rowToProject,
  selectParentRows,
  selectProjectRow,
  selectProjectRowByName,
  selectProjectRows,
  selectSubtreeRows,
  updateProjectRow,
  type ProjectFilter,
} from '../store/project.repo.js';
import { ROOT_DOMAIN_ID } from '../store/schema.js';
import type { Db } from '../store/rows.js';

export type { ProjectFilter, TagFilter } from '../store/project.repo.js';

export interface DomainInput {
  name: string;
  description?: string | null;
  enabled?: boolean;
  extra?: Extra;
  id?: string;
  tags?: string[];
  options?: Record<string, unknown>;
}

export interface ProjectInput {
  name: string;
  domainId?: string | null | undefined;
  parentId?: string | null | undefined;
  isDomain?: boolean;
  description?: string | null;
  enabled?: boolean;
  extra?: Extra;
  tags?: string[];
  options?: Record<string, unknown>;
}

/**
 * A PATCH of a domain or project. `domainId`, `parentId` and `isDomain` are set only when the
 * request names them: they cannot change, and Keystone says so in its own words.
 */
export interface ProjectPatch {
  name?: string;
  description?: string | null;
  enabled?: boolean;
  extra?: Extra;
  tags?: string[];
  /** Resource options; a null value removes the option. */
  options?: Record<string, unknown>;
  domainId?: string | null;
  parentId?: string | null;
  isDomain?: boolean;
}

/** Where revocation events go (RevocationService). */
export interface Revoker {
  revoke(fields: EventFields): Promise<unknown>;
}

export interface ResourceOptions {
  revocations?: Revoker;
  /** `[DEFAULT] max_project_tree_depth`: projects below a domain, at most. */
  maxProjectTreeDepth?: number;
  /** `[unified_limit] enforcement_model`: strict_two_level caps the tree at two levels. */
  enforcementModel?: 'flat' | 'strict_two_level';
}

/** The parents or subtree of a project, as ?parents_as_ids / ?subtree_as_ids render them. */
export type IdTree = { [id: string]: IdTree | null } | null;

export interface Hierarchy {
  parents?: Project[] | IdTree;
  subtree?: Project[] | IdTree;
}

const projectConflict = (p: { isDomain: boolean; name: string; id: string }) =>
  Conflict(
    'project',
    p.isDomain
      ? `it is not permitted to have two projects acting as domains with the same name: ${p.name}`
      : `it is not permitted to have two projects with either the same name or same id in the same domain: name is ${p.name}, project id ${p.id}`,
  );

/** Options as stored: a null value means "not set". */
function cleanOptions(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== null && v !== undefined));
}

function isImmutable(r: { options: Record<string, unknown> }): boolean {
  return r.options.immutable === true;
}

/** The fields a PATCH names (Keystone counts the request's keys, extra attributes included). */
function patchKeys(patch: ProjectPatch): string[] {
  const named = (['name', 'description', 'enabled', 'tags', 'options', 'domainId', 'parentId', 'isDomain'] as const).filter((k) => patch[k] !== undefined);
  return [...named, ...Object.keys(patch.extra ?? {})];
}

/**
 * Keystone's check_immutable_update: an immutable resource accepts one change only, setting
 * `immutable` to false or null.
 */
function assertMutable(current: { options: Record<string, unknown> }, patch: ProjectPatch, type: 'project' | 'domain', id: string): void {
  if (!isImmutable(current)) return;
  const keys = patchKeys(patch);
  const unsetting = keys.length === 1 && patch.options !== undefined && 'immutable' in patch.options && (patch.options.immutable === false || patch.options.immutable === null);
  if (!unsetting) throw ImmutableUpdate(type, id);
}

/** Tags as Keystone stores them from the tag routes: stripped, each once. */
function strippedTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()))];
}

export class ResourceService {
  private readonly d: CoreDeps;
  private readonly revocations: Revoker | undefined;
  private readonly maxDepth: number;

  constructor(deps: CoreDeps, opts: ResourceOptions = {}) {
    this.d = deps;
    this.revocations = opts.revocations;
    // Keystone counts the domain as a level, so the limit is the option plus one; the
    // strict_two_level limit model allows a domain, a project and its children.
    const configured = (opts.maxProjectTreeDepth ?? 5) + 1;
    this.maxDepth = opts.enforcementModel === 'strict_two_level' ? Math.min(configured, 3) : configured;
  }

  // ---- domains ----------------------------------------------------------------------------

  async getDomainOrThrow(id: string, db: Db = this.d.db): Promise<Domain> {
    const r = await selectProjectRow(db, id);
    if (!r || r.is_domain !== 1) throw DomainNotFound(id);
    return rowToDomain(r);
  }

  async findDomainByName(name: string): Promise<Domain | undefined> {
    const r = await selectProjectRowByName(this.d.db, ROOT_DOMAIN_ID, name);
    return r && r.id !== ROOT_DOMAIN_ID ? rowToDomain(r) : undefined;
  }

  async listDomains(f: Omit<ProjectFilter, 'isDomain' | 'domainId' | 'parentId'> = {}): Promise<Domain[]> {
    return (await selectProjectRows(this.d.db, { ...f, isDomain: true })).map(rowToDomain);
  }

  async createDomain(input: DomainInput, caller: Caller | undefined): Promise<Domain> {
    const domain: Domain = {
      id: input.id ?? newHexId(),
      name: input.name.trim(),
      description: input.description ?? '',
      enabled: input.enabled ?? true,
      extra: input.extra ?? {},
      tags: input.tags ?? [],
      options: cleanOptions(input.options ?? {}),
    };
    try {
      await this.d.db.transaction().execute((trx) => insertProject(trx, { ...domain, domainId: ROOT_DOMAIN_ID, parentId: null, isDomain: true }, this.d.clock.nowMs()));
    } catch (err) {
      // an explicit id that exists already reads as a name conflict too, as upstream
      if (isUniqueViolation(err)) throw projectConflict({ isDomain: true, name: domain.name, id: domain.id });
      throw err;
    }
    if (caller) this.d.notifier.resource('created', 'domain', domain.id, caller.initiator);
    return domain;
  }

  async updateDomain(id: string, patch: ProjectPatch, caller: Caller): Promise<Domain> {
    const current = await this.getDomainOrThrow(id);
    return rowDomain(await this.updateRow(asProject(current), patch, caller));
  }

  /**
   * A domain must be disabled first (Keystone's rule). Its projects, groups, users,
   * domain-specific roles, role assignments, limits and configuration go with it, in one
   * transaction; tokens scoped to what went, or of users who went, stop validating.
   */
  async deleteDomain(id: string, caller: Caller): Promise<void> {
    const domain = await this.getDomainOrThrow(id);
    if (isImmutable(domain)) throw ImmutableDelete('domain', id);
    if (domain.enabled) throw Forbidden('Cannot delete a domain that is enabled, please disable it first.', 'identity.domain_enabled');
    const gone = await this.d.db.transaction().execute((trx) => deleteDomainRows(trx, id, this.d.clock.nowMs()));
    this.d.invalidator.invalidate(`domain ${id} deleted`);
    // Keystone's order: the projects (leaves first), groups, users, then the domain as a project
    for (const p of gone.projectIds) await this.revoke({ project_id: p });
    for (const u of gone.userIds) await this.revoke({ user_id: u });
    await this.revoke({ project_id: id });
    const who = caller.initiator;
    for (const p of gone.projectIds) this.d.notifier.resource('deleted', 'project', p, who);
    for (const g of gone.groupIds) this.d.notifier.resource('deleted', 'group', g, who);
    for (const u of gone.userIds) this.d.notifier.resource('deleted', 'user', u, who);
    for (const r of gone.roleIds) this.d.notifier.resource('deleted', 'role', r, who);
    this.d.notifier.resource('deleted', 'project', id, who);
    this.d.notifier.resource('deleted', 'domain', id, who);
  }

  // ---- projects ---------------------------------------------------------------------------

  async getProjectOrThrow(id: string, db: Db = this.d.db): Promise<Project> {
    const r = await selectProjectRow(db, id);
    if (!r) throw ProjectNotFound(id);
    return rowToProject(r);
  }

  async findProjectByName(domainId: string, name: string): Promise<Project | undefined> {
    const r = await selectProjectRowByName(this.d.db, domainId, name);
    return r && r.is_domain === 0 ? rowToProject(r) : undefined;
  }

  /** GET /v3/projects: projects only, unless the filter asks for projects acting as domains. */
  async listProjects(f: ProjectFilter): Promise<Project[]> {
    return (await selectProjectRows(this.d.db, { isDomain: false, ...f })).map(rowToProject);
  }

  async listProjectsByIds(ids: string[]): Promise<Project[]> {
    return (await selectProjectRows(this.d.db, { ids })).map(rowToProject);
  }

  /** The domain a new user, group or project lands in when the caller names none (Keystone's _normalize_domain_id). */
  defaultDomainFor(caller: Caller): string {
    return caller.ctx.domainId ?? this.d.defaultDomainId;
  }

  async createProject(input: ProjectInput, caller: Caller): Promise<Project> {
    if (input.isDomain) {
      // a project acting as a domain is a root: naming a parent or a domain makes it a child
      if (input.parentId || input.domainId) throw BadRequest('only root projects are allowed to act as domains.', 'identity.domain_not_root');
      const d = await this.createDomain(
        { name: input.name, description: input.description ?? '', enabled: input.enabled ?? true, extra: input.extra ?? {}, tags: input.tags ?? [], options: input.options ?? {} },
        caller,
      );
      return asProject(d);
    }
    const domainId = input.domainId || this.defaultDomainFor(caller);
    const parentId = input.parentId || domainId;
    // Keystone reports a missing domain or parent as a bad request, in its not-found words
    const domain = await this.getDomainOrThrow(domainId).catch(() => {
      throw BadRequest(`Could not find domain: ${domainId}.`, 'identity.project_domain_missing');
    });
    const parentRow = await selectProjectRow(this.d.db, parentId);
    if (!parentRow) throw BadRequest(`Could not find project: ${parentId}.`, 'identity.project_parent_missing');
    const parent = rowToProject(parentRow);
    if (parent.isDomain && parent.id !== domain.id) {
      throw BadRequest(
        `Cannot create project, the parent (${parent.id}) is acting as a domain, but this project's domain id (${domain.id}) does not match the parent's id.`,
        'identity.project_domain_mismatch',
      );
    }
    if (!parent.isDomain && parent.domainId !== domain.id) {
      throw BadRequest(
        `Cannot create project, since it specifies its domain_id ${domain.id}, but specifies a parent in a different domain (${parent.domainId}).`,
        'identity.project_domain_mismatch',
      );
    }
    // the whole branch above must be enabled, and the new project must fit under the depth limit
    const branch = [...(await selectParentRows(this.d.db, parentRow)), parentRow];
    const disabled = branch.find((r) => r.enabled !== 1);
    if (disabled) throw BadRequest(`cannot create a project in a branch containing a disabled project: ${disabled.id}`, 'identity.project_branch_disabled');
    if (branch.length + 1 > this.maxDepth) throw Forbidden(`Max hierarchy depth reached for ${parentId} branch.`, 'identity.project_max_depth');

    const project: Project = {
      id: newHexId(),
      name: input.name.trim(),
      domainId: domain.id,
      parentId: parent.id,
      isDomain: false,
      description: input.description ?? '',
      enabled: input.enabled ?? true,
      extra: input.extra ?? {},
      tags: input.tags ?? [],
      options: cleanOptions(input.options ?? {}),
    };
    try {
      await this.d.db.transaction().execute((trx) => insertProject(trx, project, this.d.clock.nowMs()));
    } catch (err) {
      if (isUniqueViolation(err)) throw projectConflict(project);
      throw err;
    }
    this.d.notifier.resource('created', 'project', project.id, caller.initiator);
    return project;
  }

  /** PATCH /v3/projects/{id}; a project acting as a domain updates as a domain. */
  async updateProject(id: string, patch: ProjectPatch, caller: Caller): Promise<Project> {
    return this.updateRow(await this.getProjectOrThrow(id), patch, caller);
  }

  /** Keystone's _update_project, in its order of checks. */
  private async updateRow(current: Project, patch: ProjectPatch, caller: Caller): Promise<Project> {
    const id = current.id;
    const type = current.isDomain ? 'domain' : 'project';
    if (patch.domainId !== undefined && patch.domainId !== (current.isDomain ? null : current.domainId)) throw BadRequest('Cannot change Domain ID', 'identity.immutable_domain_id');
    assertMutable(current, patch, type, id);
    if (patch.parentId !== undefined && patch.parentId !== (current.isDomain ? null : current.parentId)) {
      throw Forbidden('Update of `parent_id` is not allowed.', 'identity.immutable_parent_id');
    }
    if (patch.isDomain !== undefined && patch.isDomain !== current.isDomain) throw BadRequest('Update of `is_domain` is not allowed.', 'identity.immutable_is_domain');

    const enabled = patch.enabled ?? current.enabled;
    if (!current.enabled && enabled) {
      const parents = await selectParentRows(this.d.db, { id, parent_id: current.isDomain ? null : current.parentId });
      if (parents.some((p) => p.enabled !== 1)) throw Forbidden(`Cannot enable project ${id} since it has disabled parents`, 'identity.project_parent_disabled');
    }
    // a domain may be disabled with enabled projects in it (they are unusable while it is)
    if (current.enabled && !enabled && !current.isDomain && (await selectSubtreeRows(this.d.db, id)).some((p) => p.enabled === 1)) {
      throw Forbidden(`Cannot disable project ${id} since its subtree contains enabled projects.`, 'identity.subtree_enabled');
    }

    const next: Project = {
      ...current,
      name: patch.name !== undefined ? patch.name.trim() : current.name,
      description: patch.description === undefined ? current.description : patch.description,
      enabled,
      extra: patch.extra ? { ...current.extra, ...patch.extra } : current.extra,
      tags: patch.tags ?? current.tags,
      options: patch.options ? cleanOptions({ ...current.options, ...patch.options }) : current.options,
    };
    try {
      await this.d.db.transaction().execute(async (trx) => {
        await updateProjectRow(trx, id, next);
        if (patch.tags) await replaceTags(trx, id, next.tags);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw projectConflict(next);
      throw err;
    }
    // tokens carry the enabled state and the name of their scope
    if (current.enabled !== next.enabled || current.name !== next.name) this.d.invalidator.invalidate(`${type} ${id} updated`);
    this.d.notifier.resource('updated', 'project', id, caller.initiator);
    if (current.isDomain) this.d.notifier.resource('updated', 'domain', id, caller.initiator);
    return next;
  }

  async deleteProject(id: string, caller: Caller): Promise<void> {
    const current = await this.getProjectOrThrow(id);
    if (current.isDomain) return this.deleteDomain(id, caller);
    if (isImmutable(current)) throw ImmutableDelete('project', id);
    await this.d.db.transaction().execute(async (trx) => {
      if (await hasChildren(trx, id)) {
        throw Forbidden(
          `Cannot delete the project ${id} since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree.`,
          'identity.project_not_leaf',
        );
      }
      await deleteProjectRows(trx, [id], this.d.clock.nowMs());
    });
    this.d.invalidator.invalidate(`project ${id} deleted`);
    await this.revoke({ project_id: id });
    this.d.notifier.resource('deleted', 'project', id, caller.initiator);
  }

  // ---- hierarchy ----------------------------------------------------------------------------

  /**
   * GET /v3/projects/{id}?parents_as_list|parents_as_ids&subtree_as_list|subtree_as_ids.
   * The lists keep only projects in `visible` (the caller's projects, as upstream filters them);
   * the id trees show the whole hierarchy.
   */
  async hierarchyOf(project: Project, want: { parents?: 'list' | 'ids'; subtree?: 'list' | 'ids' }, visible?: Set<string>): Promise<Hierarchy> {
    const out: Hierarchy = {};
    const keep = (rows: Project[]) => (visible ? rows.filter((p) => visible.has(p.id)) : rows);
    if (want.parents) {
      const parents = (await selectParentRows(this.d.db, { id: project.id, parent_id: project.isDomain ? null : project.parentId })).map(rowToProject);
      if (want.parents === 'list') out.parents = keep(parents);
      else {
        // {parent: {grandparent: {...: {domain: null}}}}
        let tree: IdTree = null;
        for (const p of [...parents].reverse()) tree = { [p.id]: tree };
        out.parents = tree;
      }
    }
    if (want.subtree) {
      const subtree = (await selectSubtreeRows(this.d.db, project.id)).map(rowToProject);
      if (want.subtree === 'list') out.subtree = keep(subtree);
      else out.subtree = idTree(project.id, subtree);
    }
    return out;
  }

  // ---- tags ---------------------------------------------------------------------------------

  async listProjectTags(id: string): Promise<string[]> {
    return (await this.getProjectOrThrow(id)).tags;
  }

  async getProjectTagOrThrow(id: string, tag: string): Promise<string> {
    const p = await this.getProjectOrThrow(id);
    if (!p.tags.includes(tag)) throw ProjectTagNotFound(tag);
    return tag;
  }

  /** PUT /v3/projects/{id}/tags/{tag}; the caller has checked the count and the tag's form. */
  async addProjectTag(id: string, tag: string, caller: Caller): Promise<string> {
    const p = await this.getProjectOrThrow(id);
    if (isImmutable(p)) throw immutableTags('create', id);
    const name = tag.trim();
    try {
      await insertTag(this.d.db, id, name);
    } catch (err) {
      if (isUniqueViolation(err)) throw projectConflict(p);
      throw err;
    }
    this.d.notifier.resource('updated', 'project', id, caller.initiator);
    this.d.notifier.resource('created', 'project tag', name, caller.initiator);
    return name;
  }

  /** PUT /v3/projects/{id}/tags (and DELETE, with no tags). */
  async replaceProjectTags(id: string, tags: string[], caller: Caller): Promise<string[]> {
    const p = await this.getProjectOrThrow(id);
    if (isImmutable(p)) throw immutableTags('update', id);
    const next = strippedTags(tags);
    await this.d.db.transaction().execute((trx) => replaceTags(trx, id, next));
    this.d.notifier.resource('updated', 'project', id, caller.initiator);
    return next;
  }

  async deleteProjectTag(id: string, tag: string, caller: Caller): Promise<void> {
    const p = await this.getProjectOrThrow(id);
    if (isImmutable(p)) throw immutableTags('delete', id);
    if (!p.tags.includes(tag) || (await deleteTag(this.d.db, id, tag)) === 0) throw ProjectTagNotFound(tag);
    this.d.notifier.resource('updated', 'project', id, caller.initiator);
    this.d.notifier.resource('deleted', 'project tag', tag, caller.initiator);
  }

  private async revoke(fields: EventFields): Promise<void> {
    await this.revocations?.revoke(fields);
  }
}

/** Keystone's words for tag changes on an immutable project (the same ending for all three). */
function immutableTags(verb: 'create' | 'update' | 'delete', id: string) {
  return Forbidden(
    `Cannot ${verb} project tags for ${id}, project is immutable. Set "immutable" option to false before creating project tags.`,
    'identity.immutable_update',
  );
}

/** {child: {grandchild: null}, other: null}: the subtree by parent, null at the leaves. */
function idTree(rootId: string, subtree: Project[]): IdTree {
  const byParent = new Map<string, Project[]>();
  for (const p of subtree) {
    if (!p.parentId) continue;
    const list = byParent.get(p.parentId);
    if (list) list.push(p);
    else byParent.set(p.parentId, [p]);
  }
  const walk = (id: string, depth: number): IdTree => {
    const children = byParent.get(id);
    if (!children?.length || depth > subtree.length) return null;
    return Object.fromEntries(children.map((c) => [c.id, walk(c.id, depth + 1)]));
  };
  return walk(rootId, 0);
}

/** A domain seen as the project that acts as it. */
function asProject(d: Domain): Project {
  return { ...d, domainId: ROOT_DOMAIN_ID, parentId: null, isDomain: true };
}

function rowDomain(p: Project): Domain {
  return { id: p.id, name: p.name, description: p.description, enabled: p.enabled, extra: p.extra, tags: p.tags, options: p.options };
}
