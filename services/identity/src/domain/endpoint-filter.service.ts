// OS-EP-FILTER: endpoint groups, and the endpoints and endpoint groups associated with projects,
// which narrow the catalog of tokens scoped to those projects (see CatalogService.catalogFor).
import { newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { CoreDeps } from './deps.js';
import type { CatalogService } from './catalog.service.js';
import { endpointMatchesGroup } from './catalog.service.js';
import type { ResourceService } from './resource.service.js';
import type { Endpoint, Project } from './models.js';
import type { EndpointGroup, EndpointGroupFilters } from './catalog.models.js';
import { Conflict } from './errors.js';
import { EndpointGroupNotFound, EndpointGroupProjectNotFound, ProjectEndpointNotFound } from './catalog.errors.js';
import {
  deleteEndpointGroupRow,
  deleteProjectEndpoint,
  deleteProjectEndpointGroup,
  insertEndpointGroup,
  insertProjectEndpoint,
  insertProjectEndpointGroup,
  projectEndpointExists,
  projectEndpointGroupExists,
  selectEndpointGroup,
  selectEndpointGroups,
  selectGroupIdsOfProject,
  selectProjectIdsOfEndpoint,
  selectProjectIdsOfGroup,
  updateEndpointGroupRow,
} from '../store/endpoint-filter.repo.js';

export class EndpointFilterService {
  private readonly d: CoreDeps;
  private readonly catalog: CatalogService;
  private readonly resources: ResourceService;

  constructor(deps: CoreDeps, refs: { catalog: CatalogService; resources: ResourceService }) {
    this.d = deps;
    this.catalog = refs.catalog;
    this.resources = refs.resources;
  }

  // ---- endpoint groups --------------------------------------------------------------------

  async getEndpointGroupOrThrow(id: string): Promise<EndpointGroup> {
    const g = await selectEndpointGroup(this.d.db, id);
    if (!g) throw EndpointGroupNotFound(id);
    return g;
  }

  listEndpointGroups(f: { name?: string }): Promise<EndpointGroup[]> {
    return selectEndpointGroups(this.d.db, f);
  }

  async createEndpointGroup(input: { name: string; description?: string | null; filters: EndpointGroupFilters }): Promise<EndpointGroup> {
    const g: EndpointGroup = { id: newHexId(), name: input.name, description: input.description ?? null, filters: input.filters };
    await insertEndpointGroup(this.d.db, g);
    return g;
  }

  async updateEndpointGroup(id: string, patch: { name?: string; description?: string | null; filters?: EndpointGroupFilters }): Promise<EndpointGroup> {
    const current = await this.getEndpointGroupOrThrow(id);
    const next: EndpointGroup = {
      ...current,
      name: patch.name ?? current.name,
      description: patch.description === undefined ? current.description : patch.description,
      filters: patch.filters ?? current.filters,
    };
    await updateEndpointGroupRow(this.d.db, next);
    this.d.invalidator.invalidate('endpoint group updated');
    return next;
  }

  async deleteEndpointGroup(id: string): Promise<void> {
    await this.getEndpointGroupOrThrow(id);
    await this.d.db.transaction().execute((trx) => deleteEndpointGroupRow(trx, id));
    this.d.invalidator.invalidate('endpoint group deleted');
  }

  async endpointsInGroup(id: string): Promise<Endpoint[]> {
    const g = await this.getEndpointGroupOrThrow(id);
    return (await this.catalog.listEndpoints({})).filter((e) => endpointMatchesGroup(e, g.filters));
  }

  /** Upstream does not look the group up here: an unknown group simply has no projects. */
  async projectsOfGroup(id: string): Promise<Project[]> {
    return this.projectsByIds(await selectProjectIdsOfGroup(this.d.db, id));
  }

  // ---- endpoint groups of projects --------------------------------------------------------

  /** Upstream's order of lookups: the project, then the group (404s), then the association. */
  private async assertProjectAndGroup(groupId: string, projectId: string): Promise<void> {
    await this.resources.getProjectOrThrow(projectId);
    await this.getEndpointGroupOrThrow(groupId);
  }

  async checkGroupInProject(groupId: string, projectId: string): Promise<void> {
    await this.assertProjectAndGroup(groupId, projectId);
    if (!(await projectEndpointGroupExists(this.d.db, groupId, projectId))) throw EndpointGroupProjectNotFound();
  }

  async addGroupToProject(groupId: string, projectId: string): Promise<void> {
    await this.assertProjectAndGroup(groupId, projectId);
    try {
      await insertProjectEndpointGroup(this.d.db, groupId, projectId);
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('project_endpoint_group', 'Duplicate entry');
      throw err;
    }
    this.d.invalidator.invalidate('endpoint group added to project');
  }

  async removeGroupFromProject(groupId: string, projectId: string): Promise<void> {
    await this.assertProjectAndGroup(groupId, projectId);
    if ((await deleteProjectEndpointGroup(this.d.db, groupId, projectId)) === 0) throw EndpointGroupProjectNotFound();
    this.d.invalidator.invalidate('endpoint group removed from project');
  }

  async groupsOfProject(projectId: string): Promise<EndpointGroup[]> {
    await this.resources.getProjectOrThrow(projectId);
    return selectEndpointGroups(this.d.db, { ids: await selectGroupIdsOfProject(this.d.db, projectId) });
  }

  // ---- endpoints of projects --------------------------------------------------------------

  private async assertEndpointAndProject(endpointId: string, projectId: string): Promise<void> {
    await this.catalog.getEndpointOrThrow(endpointId);
    await this.resources.getProjectOrThrow(projectId);
  }

  async addEndpointToProject(endpointId: string, projectId: string): Promise<void> {
    await this.assertEndpointAndProject(endpointId, projectId);
    try {
      await insertProjectEndpoint(this.d.db, endpointId, projectId);
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('project_endpoint', 'Duplicate entry');
      throw err;
    }
    this.d.invalidator.invalidate('endpoint added to project');
  }

  async checkEndpointInProject(endpointId: string, projectId: string): Promise<void> {
    await this.assertEndpointAndProject(endpointId, projectId);
    if (!(await projectEndpointExists(this.d.db, endpointId, projectId))) throw ProjectEndpointNotFound(endpointId, projectId);
  }

  /** Upstream looks nothing up here: only the association itself can be missing. */
  async removeEndpointFromProject(endpointId: string, projectId: string): Promise<void> {
    if ((await deleteProjectEndpoint(this.d.db, endpointId, projectId)) === 0) throw ProjectEndpointNotFound(endpointId, projectId);
    this.d.invalidator.invalidate('endpoint removed from project');
  }

  /** The endpoints associated with the project directly or through its endpoint groups. */
  async endpointsOfProject(projectId: string): Promise<Endpoint[]> {
    await this.resources.getProjectOrThrow(projectId);
    return this.catalog.endpointsOfProject(projectId);
  }

  async projectsOfEndpoint(endpointId: string): Promise<Project[]> {
    await this.catalog.getEndpointOrThrow(endpointId);
    return this.projectsByIds(await selectProjectIdsOfEndpoint(this.d.db, endpointId));
  }

  private async projectsByIds(ids: string[]): Promise<Project[]> {
    if (ids.length === 0) return [];
    const byId = new Map((await this.resources.listProjectsByIds(ids)).map((p) => [p.id, p]));
    return ids.map((id) => byId.get(id)).filter((p): p is Project => p !== undefined);
  }
}
