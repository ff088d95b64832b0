// /v3/projects.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { IdentityServices } from '../services.js';
import { BadRequest, Forbidden } from '../domain/errors.js';
import { Bool, Description, IdString, ImmutableOptions, Name64, PathId, baseUrl, callerOf, collection, nullable, queryBool, filtersOf, tokenCredentials, type Frame } from './common.js';
import { projectView } from './views.js';
import { extraOf } from './domains.js';
import type { Project } from '../domain/models.js';

const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 255, pattern: '^[^,/]*$' }), { maxItems: 80, uniqueItems: true });
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
const KNOWN = new Set(['id', 'name', 'description', 'enabled', 'domain_id', 'parent_id', 'is_domain', 'tags', 'options', 'links']);

/** What policy sees of a project (Keystone's internal dict). */
export function wireProject(p: Project) {
  return { id: p.id, name: p.name, domain_id: p.domainId, parent_id: p.parentId, is_domain: p.isDomain, enabled: p.enabled };
}

export function projectRoutes(s: IdentityServices, frame: Frame): AnyRoute[] {
  const target = async (id: string) => {
    const p = await s.resources.getProjectOrThrow(id).catch(() => undefined);
    return p ? { project: wireProject(p) } : {};
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
        const isDomain = queryBool(q.is_domain) ?? false;
        let projects = await s.resources.listProjects({
          isDomain,
          ...filtersOf(q, { domain_id: 'domainId', name: 'name', parent_id: 'parentId' }, { enabled: 'enabled' }),
        });
        if (ctx.domainId) projects = projects.filter((p) => p.domainId === ctx.domainId);
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
      errors: [404, 409],
      handler: async ({ body, req }) => {
        const p = body as Record<string, unknown>;
        const created = await s.resources.createProject(
          {
            name: p.name as string,
            domainId: (p.domain_id as string | null | undefined) ?? undefined,
            parentId: (p.parent_id as string | null | undefined) ?? undefined,
            isDomain: (p.is_domain as boolean | undefined) ?? false,
            description: (p.description as string | null | undefined) ?? '',
            enabled: (p.enabled as boolean | undefined) ?? true,
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
      handler: async ({ params, req }) => ({ project: projectView(await s.resources.getProjectOrThrow(params.project_id), baseUrl(req, frame)) }),
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
      errors: [404, 409],
      handler: async ({ params, body, req }) => {
        const p = body as Record<string, unknown>;
        const current = await s.resources.getProjectOrThrow(params.project_id);
        // upstream's words and statuses for fields that cannot change
        if (p.domain_id !== undefined && p.domain_id !== (current.isDomain ? null : current.domainId)) throw BadRequest('Cannot change Domain ID', 'identity.immutable_domain_id');
        if (p.parent_id !== undefined && p.parent_id !== (current.isDomain ? null : current.parentId)) throw Forbidden('Update of `parent_id` is not allowed.', 'identity.immutable_parent_id');
        if (p.is_domain !== undefined && p.is_domain !== current.isDomain) throw BadRequest('Update of `is_domain` is not allowed.', 'identity.immutable_is_domain');
        const updated = await s.resources.updateProject(
          params.project_id,
          {
            ...(p.name !== undefined ? { name: p.name as string } : {}),
            ...(p.description !== undefined ? { description: p.description as string | null } : {}),
            ...(p.enabled !== undefined ? { enabled: p.enabled as boolean } : {}),
            extra: extraOf(p, KNOWN),
          },
          callerOf(req),
        );
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
  ];
}
