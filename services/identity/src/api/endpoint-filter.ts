// OS-EP-FILTER: /v3/OS-EP-FILTER/endpoint_groups[...], project endpoint associations and the
// endpoint groups of projects.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import type { EndpointGroup, EndpointGroupFilters } from '../domain/catalog.models.js';
import { ExpectingToFind } from '../domain/errors.js';
import { InvalidInput } from '../domain/catalog.errors.js';
import { Description, Name255, PathId, baseUrl, collection, filtersOf, nullable, tokenCredentials, type Frame } from './common.js';
import { endpointView, projectView } from './views.js';

const GroupProps = { description: Type.Optional(nullable(Description)), filters: Type.Optional(Type.Object({}, { additionalProperties: true })), name: Type.Optional(Name255) };
const GroupCreate = Type.Object(GroupProps, { required: ['name', 'filters'], additionalProperties: true });
const GroupUpdate = Type.Object(GroupProps, { minProperties: 1, additionalProperties: true });
const FILTER_KEYS = ['service_id', 'region_id', 'interface'];
const GROUP_COLUMNS = new Set(['id', 'name', 'description', 'filters']);

const GroupParams = Type.Object({ endpoint_group_id: PathId });
const GroupProjectParams = Type.Object({ endpoint_group_id: PathId, project_id: PathId });
const ProjectParams = Type.Object({ project_id: PathId });
const ProjectEndpointParams = Type.Object({ project_id: PathId, endpoint_id: PathId });
const EndpointParams = Type.Object({ endpoint_id: PathId });

export function endpointGroupView(g: EndpointGroup, base: string) {
  return { id: g.id, name: g.name, description: g.description, filters: g.filters, links: { self: `${base}/v3/OS-EP-FILTER/endpoint_groups/${g.id}` } };
}

/**
 * Keystone's checks after the schema, in its order: only service_id, region_id and interface
 * filter; then the model refuses attributes it does not have, naming the first.
 */
function checkGroup(g: Record<string, unknown>): void {
  if (g.filters !== undefined && Object.keys(g.filters as object).some((k) => !FILTER_KEYS.includes(k))) throw ExpectingToFind(FILTER_KEYS.join(' or '), 'endpoint_group');
  const unknown = Object.keys(g).find((k) => !GROUP_COLUMNS.has(k));
  if (unknown !== undefined) throw InvalidInput(`'${unknown}' is an invalid keyword argument for EndpointGroup`, 'endpoint_group_attribute');
}

export function endpointFilterRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  const ef = s.endpointFilter;
  const P = '/v3/OS-EP-FILTER';
  return [
    // endpoint groups
    defineRoute({
      method: 'GET',
      url: `${P}/endpoint_groups`,
      policy: 'identity:list_endpoint_groups',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ req, query }) => {
        const b = baseUrl(req, frame);
        return collection('endpoint_groups', (await ef.listEndpointGroups(filtersOf(query, { name: 'name' }))).map((g) => endpointGroupView(g, b)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: `${P}/endpoint_groups`,
      policy: 'identity:create_endpoint_group',
      credentials: tokenCredentials,
      body: GroupCreate,
      bodyKey: 'endpoint_group',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [400],
      handler: async ({ body, req }) => {
        const g = body as Record<string, unknown>;
        if (Object.keys(g.filters as object).length === 0) throw InvalidInput('filters field is required and cannot be empty', 'endpoint_group_filters');
        checkGroup(g);
        const created = await ef.createEndpointGroup({ name: g.name as string, description: g.description as string | null | undefined, filters: g.filters as EndpointGroupFilters });
        return { endpoint_group: endpointGroupView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: `${P}/endpoint_groups/:endpoint_group_id`,
      params: GroupParams,
      policy: 'identity:get_endpoint_group',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }) => ({ endpoint_group: endpointGroupView(await ef.getEndpointGroupOrThrow(params.endpoint_group_id), baseUrl(req, frame)) }),
    }),
    defineRoute({
      method: 'PATCH',
      url: `${P}/endpoint_groups/:endpoint_group_id`,
      params: GroupParams,
      policy: 'identity:update_endpoint_group',
      credentials: tokenCredentials,
      body: GroupUpdate,
      bodyKey: 'endpoint_group',
      bodyKeyMissing: 'empty',
      errors: [400, 404],
      handler: async ({ params, body, req }) => {
        const g = body as Record<string, unknown>;
        if (g.filters !== undefined) checkGroup({ filters: g.filters });
        if (g.id !== undefined && g.id !== params.endpoint_group_id) throw InvalidInput('Cannot change ID', 'immutable_field');
        checkGroup(g);
        const updated = await ef.updateEndpointGroup(params.endpoint_group_id, {
          ...(g.name !== undefined ? { name: g.name as string } : {}),
          ...(g.description !== undefined ? { description: g.description as string | null } : {}),
          ...(g.filters !== undefined ? { filters: g.filters as EndpointGroupFilters } : {}),
        });
        return { endpoint_group: endpointGroupView(updated, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: `${P}/endpoint_groups/:endpoint_group_id`,
      params: GroupParams,
      policy: 'identity:delete_endpoint_group',
      credentials: tokenCredentials,
      status: 204,
      errors: [404],
      handler: async ({ params }) => {
        await ef.deleteEndpointGroup(params.endpoint_group_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: `${P}/endpoint_groups/:endpoint_group_id/endpoints`,
      params: GroupParams,
      policy: 'identity:list_endpoints_associated_with_endpoint_group',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }) => {
        const b = baseUrl(req, frame);
        return collection('endpoints', (await ef.endpointsInGroup(params.endpoint_group_id)).map((e) => endpointView(e, b)), req, frame);
      },
    }),
    defineRoute({
      method: 'GET',
      url: `${P}/endpoint_groups/:endpoint_group_id/projects`,
      params: GroupParams,
      policy: 'identity:list_projects_associated_with_endpoint_group',
      credentials: tokenCredentials,
      errors: [],
      handler: async ({ params, req }) => {
        const b = baseUrl(req, frame);
        return collection('projects', (await ef.projectsOfGroup(params.endpoint_group_id)).map((p) => projectView(p, b)), req, frame);
      },
    }),
    // endpoint groups of projects
    defineRoute({
      method: 'GET',
      url: `${P}/endpoint_groups/:endpoint_group_id/projects/:project_id`,
      params: GroupProjectParams,
      policy: 'identity:get_endpoint_group_in_project',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params }) => {
        await ef.checkGroupInProject(params.endpoint_group_id, params.project_id);
        const self = `/OS-EP-FILTER/endpoint_groups/${params.endpoint_group_id}/projects/${params.project_id}`;
        // COMPAT(keystone api/os_ep_filter.py EPFilterGroupsProjectsResource): the self link is relative
        return { project_endpoint_group: { endpoint_group_id: params.endpoint_group_id, project_id: params.project_id, links: { self } } };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: `${P}/endpoint_groups/:endpoint_group_id/projects/:project_id`,
      params: GroupProjectParams,
      policy: 'identity:add_endpoint_group_to_project',
      credentials: tokenCredentials,
      status: 204,
      errors: [404, 409],
      handler: async ({ params }) => {
        await ef.addGroupToProject(params.endpoint_group_id, params.project_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: `${P}/endpoint_groups/:endpoint_group_id/projects/:project_id`,
      params: GroupProjectParams,
      policy: 'identity:remove_endpoint_group_from_project',
      credentials: tokenCredentials,
      status: 204,
      errors: [404],
      handler: async ({ params }) => {
        await ef.removeGroupFromProject(params.endpoint_group_id, params.project_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: `${P}/projects/:project_id/endpoint_groups`,
      params: ProjectParams,
      policy: 'identity:list_endpoint_groups_for_project',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }) => {
        const b = baseUrl(req, frame);
        return collection('endpoint_groups', (await ef.groupsOfProject(params.project_id)).map((g) => endpointGroupView(g, b)), req, frame);
      },
    }),
    // endpoints of projects
    defineRoute({
      method: 'GET',
      url: `${P}/projects/:project_id/endpoints`,
      params: ProjectParams,
      policy: 'identity:list_endpoints_for_project',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }) => {
        const b = baseUrl(req, frame);
        return collection('endpoints', (await ef.endpointsOfProject(params.project_id)).map((e) => endpointView(e, b)), req, frame);
      },
    }),
    defineRoute({
      method: 'PUT',
      url: `${P}/projects/:project_id/endpoints/:endpoint_id`,
      params: ProjectEndpointParams,
      policy: 'identity:add_endpoint_to_project',
      credentials: tokenCredentials,
      status: 204,
      errors: [404, 409],
      handler: async ({ params }) => {
        await ef.addEndpointToProject(params.endpoint_id, params.project_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: `${P}/projects/:project_id/endpoints/:endpoint_id`,
      params: ProjectEndpointParams,
      policy: 'identity:check_endpoint_in_project',
      credentials: tokenCredentials,
      status: 204,
      errors: [404],
      handler: async ({ params }) => {
        await ef.checkEndpointInProject(params.endpoint_id, params.project_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: `${P}/projects/:project_id/endpoints/:endpoint_id`,
      params: ProjectEndpointParams,
      policy: 'identity:remove_endpoint_from_project',
      credentials: tokenCredentials,
      status: 204,
      errors: [404],
      handler: async ({ params }) => {
        await ef.removeEndpointFromProject(params.endpoint_id, params.project_id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: `${P}/endpoints/:endpoint_id/projects`,
      params: EndpointParams,
      policy: 'identity:list_projects_for_endpoint',
      credentials: tokenCredentials,
      errors: [404],
      handler: async ({ params, req }) => {
        const b = baseUrl(req, frame);
        return collection('projects', (await ef.projectsOfEndpoint(params.endpoint_id)).map((p) => projectView(p, b)), req, frame);
      },
    }),
  ];
}
