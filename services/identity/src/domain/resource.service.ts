// Domains and projects: invariants (unique names, disabled-before-delete, hierarchy), cascades,
// notifications and error translation.
import { newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { Domain, Extra, Project } from './models.js';
import { BadRequest, Conflict, DomainNotFound, Forbidden, ProjectNotFound } from './errors.js';
import type { Caller, CoreDeps } from './deps.js';
import {
  deleteProjectRow,
  hasChildren,
  insertProject,
  rowToDomain,
  rowToProject,
  selectProjectRow,
  selectProjectRowByName,
  selectProjectRows,
  updateProjectRow,
  type ProjectFilter,
} from '../store/project.repo.js';
import { deleteAssignmentsOnTarget, deleteAssignmentsOfActor } from '../store/assignment.repo.js';
import { deleteUserRow, selectUserRows } from '../store/user.repo.js';
import { deleteRoleRow, selectRoleRows } from '../store/role.repo.js';
import { ROOT_DOMAIN_ID } from '../store/schema.js';
import type { Db } from '../store/rows.js';

export interface DomainInput {
  name: string;
  description?: string | null;
  enabled?: boolean;
  extra?: Extra;
  id?: string;
}

export interface ProjectInput {
  name: string;
  domainId?: string | undefined;
  parentId?: string | null | undefined;
  isDomain?: boolean;
  description?: string | null;
  enabled?: boolean;
  extra?: Extra;
}

export type ProjectPatch = Partial<Pick<Project, 'name' | 'description' | 'enabled'>> & { extra?: Extra };

export class ResourceService {
  private readonly d: CoreDeps;
  constructor(deps: CoreDeps) {
    this.d = deps;
  }

  /** After an update: tokens depend on enabled flags; audit the change (and a disable). */
  private updated(type: 'domain' | 'project', id: string, wasEnabled: boolean, isEnabled: boolean, caller: Caller): void {
    if (wasEnabled !== isEnabled) this.d.invalidator.invalidate(`${type} ${id} enabled=${isEnabled}`);
    this.d.notifier.resource('updated', type, id, caller.initiator);
    if (wasEnabled && !isEnabled) this.d.notifier.resource('disabled', type, id, caller.initiator);
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

  async listDomains(f: { name?: string; enabled?: boolean } = {}): Promise<Domain[]> {
    return (await selectProjectRows(this.d.db, { ...f, isDomain: true })).map(rowToDomain);
  }

  async createDomain(input: DomainInput, caller: Caller | undefined): Promise<Domain> {
    const domain: Domain = {
      id: input.id ?? newHexId(),
      name: input.name,
      description: input.description ?? '',
      enabled: input.enabled ?? true,
      extra: input.extra ?? {},
    };
    try {
      await insertProject(this.d.db, { ...domain, domainId: ROOT_DOMAIN_ID, parentId: null, isDomain: true }, this.d.clock.nowMs());
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('project', `it is not permitted to have two projects acting as domains with the same name: ${domain.name}`);
      throw err;
    }
    if (caller) this.d.notifier.resource('created', 'domain', domain.id, caller.initiator);
    return domain;
  }

  async updateDomain(id: string, patch: ProjectPatch, caller: Caller): Promise<Domain> {
    const current = await this.getDomainOrThrow(id);
    const next: Domain = merged(current, patch);
    if (current.enabled && !next.enabled && (await selectProjectRows(this.d.db, { parentId: id, enabled: true, isDomain: false })).length) {
      throw Forbidden(`Cannot disable project ${id} since its subtree contains enabled projects.`, 'identity.subtree_enabled');
    }
    try {
      await updateProjectRow(this.d.db, id, next);
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('project', `it is not permitted to have two projects acting as domains with the same name: ${next.name}`);
      throw err;
    }
    this.updated('domain', id, current.enabled, next.enabled, caller);
    return next;
  }

  /**
   * A domain must be disabled first (Keystone's rule); its projects, users and domain-specific
   * roles go with it, in one transaction.
   */
  async deleteDomain(id: string, caller: Caller): Promise<void> {
    const domain = await this.getDomainOrThrow(id);
    if (domain.enabled) throw Forbidden('Cannot delete a domain that is enabled, please disable it first.', 'identity.domain_enabled');
    await this.d.db.transaction().execute(async (trx) => {
      const projects = await selectProjectRows(trx, { domainId: id, isDomain: false });
      // children before parents
      const depth = new Map<string, number>();
      const byId = new Map(projects.map((p) => [p.id, p]));
      const depthOf = (pid: string): number => {
        const known = depth.get(pid);
        if (known !== undefined) return known;
        const parent = byId.get(pid)?.parent_id;
        const v = parent && byId.has(parent) ? depthOf(parent) + 1 : 0;
        depth.set(pid, v);
        return v;
      };
      for (const p of [...projects].sort((a, b) => depthOf(b.id) - depthOf(a.id))) {
        await deleteAssignmentsOnTarget(trx, p.id);
        await deleteProjectRow(trx, p.id);
      }
      for (const u of await selectUserRows(trx, { domainId: id })) {
        await deleteAssignmentsOfActor(trx, u.id);
        await deleteUserRow(trx, u.id);
      }
      for (const r of await selectRoleRows(trx, { domainId: id })) await deleteRoleRow(trx, r.id);
      await deleteAssignmentsOnTarget(trx, id);
      await deleteProjectRow(trx, id);
    });
    this.d.invalidator.invalidate(`domain ${id} deleted`);
    this.d.notifier.resource('deleted', 'domain', id, caller.initiator);
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
      const d = await this.createDomain({ name: input.name, description: input.description ?? '', enabled: input.enabled ?? true, extra: input.extra ?? {} }, caller);
      return { ...d, domainId: ROOT_DOMAIN_ID, parentId: null, isDomain: true };
    }
    let domainId = input.domainId ?? undefined;
    let parentId = input.parentId ?? undefined;
    if (parentId) {
      const parent = await selectProjectRow(this.d.db, parentId);
      // Keystone reports an unknown parent as a bad request, in its not-found words
      if (!parent) throw BadRequest(`Could not find project: ${parentId}.`, 'identity.project_parent_missing');
      const parentDomain = parent.is_domain === 1 ? parent.id : parent.domain_id;
      if (domainId && domainId !== parentDomain) throw BadRequest('Cannot create project, the parent and the project must be in the same domain.', 'identity.project_domain_mismatch');
      domainId = parentDomain;
    }
    domainId ??= this.defaultDomainFor(caller);
    const domain = await this.getDomainOrThrow(domainId).catch(() => {
      throw BadRequest(`Could not find domain: ${domainId}.`, 'identity.project_domain_missing');
    });
    parentId ??= domain.id;
    const project: Project = {
      id: newHexId(),
      name: input.name,
      domainId: domain.id,
      parentId,
      isDomain: false,
      description: input.description ?? '',
      enabled: input.enabled ?? true,
      extra: input.extra ?? {},
    };
    try {
      await insertProject(this.d.db, project, this.d.clock.nowMs());
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('project', `it is not permitted to have two projects with either the same name or same id in the same domain: name is ${project.name}, project id ${project.id}`);
      throw err;
    }
    this.d.notifier.resource('created', 'project', project.id, caller.initiator);
    return project;
  }

  async updateProject(id: string, patch: ProjectPatch, caller: Caller): Promise<Project> {
    const current = await this.getProjectOrThrow(id);
    if (current.isDomain) {
      const d = await this.updateDomain(id, patch, caller);
      return { ...current, ...d };
    }
    const next: Project = merged(current, patch);
    if (current.enabled && !next.enabled && (await selectProjectRows(this.d.db, { parentId: id, enabled: true, isDomain: false })).length) {
      throw Forbidden(`Cannot disable project ${id} since its subtree contains enabled projects.`, 'identity.subtree_enabled');
    }
    try {
      await updateProjectRow(this.d.db, id, next);
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('project', `it is not permitted to have two projects with either the same name or same id in the same domain: name is ${next.name}, project id ${next.id}`);
      throw err;
    }
    this.updated('project', id, current.enabled, next.enabled, caller);
    return next;
  }

  async deleteProject(id: string, caller: Caller): Promise<void> {
    const current = await this.getProjectOrThrow(id);
    if (current.isDomain) return this.deleteDomain(id, caller);
    await this.d.db.transaction().execute(async (trx) => {
      if (await hasChildren(trx, id)) {
        throw Forbidden(
          `Cannot delete the project ${id} since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree.`,
          'identity.project_not_leaf',
        );
      }
      await deleteAssignmentsOnTarget(trx, id);
      await deleteProjectRow(trx, id);
    });
    this.d.invalidator.invalidate(`project ${id} deleted`);
    this.d.notifier.resource('deleted', 'project', id, caller.initiator);
  }
}

/** A patch applied to a domain or project: absent fields stay, extra attributes merge. */
function merged<T extends Pick<Project, 'name' | 'description' | 'enabled' | 'extra'>>(current: T, patch: ProjectPatch): T {
  return {
    ...current,
    name: patch.name ?? current.name,
    description: patch.description === undefined ? current.description : patch.description,
    enabled: patch.enabled ?? current.enabled,
    extra: patch.extra ? { ...current.extra, ...patch.extra } : current.extra,
  };
}
