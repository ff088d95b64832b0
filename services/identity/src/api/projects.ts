// /v3/projects: projects and projects acting as domains, their hierarchy and their tags.
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import { compileCheck, createValidators, defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import { BadRequest } from '../domain/errors.js';
import { Bool, Description, IdString, ImmutableOptions, Name64, PathId, baseUrl, callerOf, collection, nullable, queryStr, filtersOf, tokenCredentials, type Frame } from './common.js';
import { projectView } from './views.js';
import { limitView } from './limits.js';
import { extraOf } from './domains.js';
import type { Project } from '../domain/models.js';
import type { Hierarchy, ProjectPatch } from '../domain/resource.service.js';
import { OPTIONS_KEY } from '../store/project.repo.js';
import { Tag, Tags, nameMatcherOf, tagFilterOf } from './projects.params.js';

// A tag in the URL and the list it makes are checked as a body would be (Keystone validates both alike)
const urlChecks = createValidators();
const checkTag = compileCheck<string>(urlChecks.body, Tag);
const checkTags = compileCheck<string[]>(urlChecks.body, Tags);
const ProjectProps = {
  description: Type.Optional(nullable(Description)),
  domain_id: Type.Optional(nullable(IdString)),
  enabled: Type.Optional(Bool),
  is_domain: Type.Optional(Bool),
  parent_id: Type.Optional(nullable(IdString)),
  name: Type.Optional(Name64),
  tags: Type.Optional(Tags),
  options: Type.Optional(ImmutableOptions),
};
const ProjectCreate = Type.Object(ProjectProps, { required: ['name'], additionalProperties: true });
const ProjectUpdate = Type.Object(ProjectProps, { minProperties: 1, additionalProperties: true });
const Params = Type.Object({ project_id: PathId });
const TagParams = Type.Object({ project_id: PathId, value: PathId });
const KNOWN = new Set(['id', 'name', 'description', 'enabled', 'domain_id', 'parent_id', 'is_domain', 'tags', 'options', 'links', OPTIONS_KEY]);

/** What policy sees of a project (Keystone's internal dict). */
export function wireProject(p: Project) {
  return { id: p.id, name: p.name, domain_id: p.isDomain ? null : p.domainId, parent_id: p.isDomain ? null : p.parentId, is_domain: p.isDomain, enabled: p.enabled };
}

/** Keystone's query_filter_is_true: a flag is on when present, unless it is exactly "0". */
function flag(q: Record<string, unknown>, name: string): boolean {
  if (!(name in q)) return false;
  return queryStr(q[name]) !== '0';
}

/** The fields a PATCH names, in the service's terms. */
function patchOf(p: Record<string, unknown>): ProjectPatch {
  const patch: ProjectPatch = { extra: extraOf(p, KNOWN) };
  if (p.name !== undefined) patch.name = p.name as string;
  if (p.description !== undefined) patch.description = p.description as string | null;
  if (p.enabled !== undefined) patch.enabled = p.enabled as boolean;
  if (p.tags !== undefined) patch.tags = p.tags as string[];
  if (p.options !== undefined) patch.options = p.options as Record<string, unknown>;
  if (p.domain_id !== undefined) patch.domainId = p.domain_id as string | null;
  if (p.parent_id !== undefined) patch.parentId = p.parent_id as string | null;
  if (p.is_domain !== undefined) patch.isDomain = p.is_domain as boolean;
  return patch;
}

/** Keystone's wrap_member for a bare tag list: the link is its base URL, not the tag URL. */
function tagsView(tags: string[], req: FastifyRequest, frame: Frame) {
  return { links: { self: `${baseUrl(req, frame)}/v3` }, tags };
}

export function projectRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  const target = async (id: string) => {
    const p = await s.resources.getProjectOrThrow(id).catch(() => undefined);
    return p ? { project: wireProject(p) } : {};
  };
  /** ?include_limits: each listed project carries its limits (without links), as upstream's _include_limits. */
  const limitsOf = async (projects: Project[]) => {
    const out = new Map<string, unknown[]>();
    for (const p of projects) {
      const limits = await s.limits.listLimits({ projectId: p.id }, { system: true });
      out.set(p.id, limits.map((l) => {
        const { links: _links, ...rest } = limitView(l, '');
        return rest;
      }));
    }
    return out;
  };
  const hierarchyView = (h: Hierarchy, base: string, limits?: Map<string, unknown[]>) => {
    const one = (p: Project) => {
      const { links, ...view } = projectView(p, base);
      return { project: limits ? { ...view, limits: limits.get(p.id) ?? [], links } : { ...view, links } };
    };
    const render = (v: Project[] | Hierarchy['parents']) => (Array.isArray(v) ? v.map(one) : v);
    return { ...('parents' in h ? { parents: render(h.parents) } : {}), ...('subtree' in h ? { subtree: render(h.subtree) } : {}) };
  };
  return [
    defineRoute({
      method: 'GET',
      url: '/v3/projects',
      policy: 'identity:list_projects',
      credentials: tokenCredentials,
      // a domain-scoped caller lists its own domain (Keystone's target_attr)
      target: (_i, ctx) => (ctx.domainId ? { domain_id: ctx.domainId } : {}),
      errors: [],
      handler: async ({ req, query }, ctx) => {
        const q = query as Record<string, unknown>;
        const tags = tagFilterOf(q);
        let projects = await s.resources.listProjects({
          // is_domain=false unless asked; projects acting as domains only with is_domain=true
          isDomain: false,
          ...filtersOf(q, { domain_id: 'domainId', name: 'name', parent_id: 'parentId' }, { enabled: 'enabled', is_domain: 'isDomain' }),
          ...(tags ? { tags } : {}),
        });
        const nameMatches = nameMatcherOf(q);
        if (nameMatches) projects = projects.filter((p) => nameMatches(p.name));
        if (ctx.domainId) projects = projects.filter((p) => !p.isDomain && p.domainId === ctx.domainId);
        const base = baseUrl(req, frame);
        return collection('projects', projects.map((p) => projectView(p, base)), req, frame);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v3/projects',
      policy: 'identity:create_project',
      credentials: tokenCredentials,
      target: ({ body }) => ({ project: (body as { project?: unknown } | undefined)?.project ?? {} }),
      body: ProjectCreate,
      bodyKey: 'project',
      bodyKeyMissing: 'empty',
      status: 201,
      errors: [403, 409],
      handler: async ({ body, req }) => {
        const p = body as Record<string, unknown>;
        const created = await s.resources.createProject(
          {
            name: p.name as string,
            domainId: p.domain_id as string | null | undefined,
            parentId: p.parent_id as string | null | undefined,
            isDomain: (p.is_domain as boolean | undefined) ?? false,
            description: (p.description as string | null | undefined) ?? '',
            enabled: (p.enabled as boolean | undefined) ?? true,
            tags: (p.tags as string[] | undefined) ?? [],
            options: (p.options as Record<string, unknown> | undefined) ?? {},
            extra: extraOf(p, KNOWN),
          },
          callerOf(req),
        );
        return { project: projectView(created, baseUrl(req, frame)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v3/projects/:project_id',
      params: Params,
      policy: 'identity:get_project',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.project_id),
      errors: [404],
      handler: async ({ params, query, req }, ctx) => {
        const q = query as Record<string, unknown>;
        const [parentsList, parentsIds, subtreeList, subtreeIds] = ['parents_as_list', 'parents_as_ids', 'subtree_as_list', 'subtree_as_ids'].map((k) => flag(q, k));
        if (parentsList && parentsIds) throw BadRequest('Cannot use parents_as_list and parents_as_ids query params at the same time.', 'identity.parents_as_list_and_ids');
        if (subtreeList && subtreeIds) throw BadRequest('Cannot use subtree_as_list and subtree_as_ids query params at the same time.', 'identity.subtree_as_list_and_ids');
        const project = await s.resources.getProjectOrThrow(params.project_id);
        const base = baseUrl(req, frame);
        const want: { parents?: 'list' | 'ids'; subtree?: 'list' | 'ids' } = {};
        if (parentsList || parentsIds) want.parents = parentsList ? 'list' : 'ids';
        if (subtreeList || subtreeIds) want.subtree = subtreeList ? 'list' : 'ids';
        if (!want.parents && !want.subtree) return { project: projectView(project, base) };
        // the lists show only projects the caller has a role on, as upstream filters them
        const visible = parentsList || subtreeList ? new Set(ctx.userId ? await s.roles.targetsOfUser(ctx.userId, 'project') : []) : undefined;
        const h = await s.resources.hierarchyOf(project, want, visible);
        const listed = [h.parents, h.subtree].flatMap((v) => (Array.isArray(v) ? v : []));
        const limits = flag(q, 'include_limits') && listed.length ? await limitsOf(listed) : undefined;
        const { links, ...view } = projectView(project, base);
        return { project: { ...view, ...hierarchyView(h, base, limits), links } };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v3/projects/:project_id',
      params: Params,
      policy: 'identity:update_project',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.project_id),
      body: ProjectUpdate,
      bodyKey: 'project',
      bodyKeyMissing: 'null',
      errors: [403, 404, 409],
      handler: async ({ params, body, req }) => {
        const p = body as Record<string, unknown>;
        if (p.id !== undefined && p.id !== params.project_id) throw BadRequest('Cannot change ID', 'identity.immutable_id');
        const updated = await s.resources.updateProject(params.project_id, patchOf(p), callerOf(req));
        // COMPAT(keystone): PATCH answers carry a copy of the extra attributes; GET does not
        return { project: { ...projectView(updated, baseUrl(req, frame)), extra: updated.extra } };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/projects/:project_id',
      params: Params,
      policy: 'identity:delete_project',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.project_id),
      status: 204,
      errors: [403, 404],
      handler: async ({ params, req }) => {
        await s.resources.deleteProject(params.project_id, callerOf(req));
        return undefined;
      },
    }),

    // ---- tags ----
    defineRoute({
      method: 'GET',
      url: '/v3/projects/:project_id/tags',
      params: Params,
      policy: 'identity:list_project_tags',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.project_id),
      errors: [404],
      handler: async ({ params, req }) => tagsView(await s.resources.listProjectTags(params.project_id), req, frame),
    }),
    defineRoute({
      method: 'PUT',
      url: '/v3/projects/:project_id/tags',
      params: Params,
      policy: 'identity:update_project_tags',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.project_id),
      // Keystone validates the list alone, so its errors name no field
      body: Tags,
      bodyKey: 'tags',
      bodyKeyMissing: 'empty',
      errors: [403, 404],
      handler: async ({ params, body, req }) => tagsView(await s.resources.replaceProjectTags(params.project_id, body, callerOf(req)), req, frame),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/projects/:project_id/tags',
      params: Params,
      policy: 'identity:delete_project_tags',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.project_id),
      status: 204,
      errors: [403, 404],
      handler: async ({ params, req }) => {
        await s.resources.replaceProjectTags(params.project_id, [], callerOf(req));
        return undefined;
      },
    }),
    defineRoute({
      method: ['GET', 'HEAD'],
      url: '/v3/projects/:project_id/tags/:value',
      params: TagParams,
      policy: 'identity:get_project_tag',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.project_id),
      status: 204,
      errors: [404],
      handler: async ({ params }) => {
        await s.resources.getProjectTagOrThrow(params.project_id, params.value);
        return undefined;
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v3/projects/:project_id/tags/:value',
      params: TagParams,
      policy: 'identity:create_project_tag',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.project_id),
      status: 201,
      errors: [403, 404],
      handler: async ({ params, req, reply }) => {
        checkTag(params.value);
        checkTags([...(await s.resources.listProjectTags(params.project_id)), params.value]);
        await s.resources.addProjectTag(params.project_id, params.value, callerOf(req));
        // COMPAT(keystone): upstream's Location leaves "projects/" out of the path; the tag is
        // percent-encoded here so that any tag makes a valid header
        void reply.header('location', `${baseUrl(req, frame)}/v3/${params.project_id}/tags/${encodeURIComponent(params.value)}`);
        return undefined;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v3/projects/:project_id/tags/:value',
      params: TagParams,
      policy: 'identity:delete_project_tag',
      credentials: tokenCredentials,
      target: ({ params }) => target(params.project_id),
      status: 204,
      errors: [403, 404],
      handler: async ({ params, req }) => {
        await s.resources.deleteProjectTag(params.project_id, params.value, callerOf(req));
        return undefined;
      },
    }),
  ];
}
