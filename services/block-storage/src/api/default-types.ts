// Per-project default volume types (3.62): set, show, list and unset (cinder/api/v3/default_types.py).
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import { Forbidden, MalformedRequestUrl } from '../domain/errors.js';
import { checkName, type TypesFrame } from './types.js';
import { defaultTypeView } from './types.views.js';

// `id`, not `project_id`: projectRoutes owns the URL's own project_id
const ProjectId = Type.Object({ id: Type.String() });
const SetBody = Type.Object(
  { default_type: Type.Object({ volume_type: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false }) },
  { additionalProperties: true },
);

/**
 * Cinder's target is the project in the URL (after asking Keystone that it exists; we have no
 * Keystone client here, so any id is taken as Cinder does for a project Keystone knows).
 */
const projectTarget = ({ params }: { params: { id: string } }) => ({ project_id: params.id });

export function defaultTypeRoutes(frame: TypesFrame): AnyRoute[] {
  const { types, authz } = frame.services;
  const microversion = { min: '3.62' };
  return [
    defineRoute({
      method: 'PUT',
      url: '/default-types/:id',
      params: ProjectId,
      body: SetBody,
      microversion,
      policy: 'volume_extension:default_set_or_update',
      target: projectTarget,
      errors: [],
      handler: async ({ params, body }, ctx) => {
        checkName(body.default_type.volume_type);
        return { default_type: defaultTypeView(await types.setProjectDefault(ctx, params.id, body.default_type.volume_type)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/default-types/:id',
      params: ProjectId,
      microversion,
      policy: 'volume_extension:default_get',
      target: projectTarget,
      errors: [404],
      handler: async ({ params }) => ({ default_type: defaultTypeView(await types.projectDefault(params.id)) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/default-types',
      microversion,
      // COMPAT(cinder): index words its refusal itself instead of naming the policy, so the
      // check is here (volume_extension:default_get_all on the default target)
      policy: null,
      errors: [403],
      handler: async ({ req }, ctx) => {
        // projectRoutes checks the URL's project in the policy step, which this route skips
        const inUrl = (req.params as { project_id?: string }).project_id;
        if (inUrl !== undefined && inUrl !== ctx.projectId) throw MalformedRequestUrl();
        if (!authz.check('volume_extension:default_get_all', ctx)) throw Forbidden('You are not authorized to perform this operation.');
        return { default_types: (await types.projectDefaults()).map(defaultTypeView) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/default-types/:id',
      params: ProjectId,
      status: 204,
      microversion,
      policy: 'volume_extension:default_unset',
      target: projectTarget,
      errors: [],
      handler: async ({ params }) => {
        await types.unsetProjectDefault(params.id);
        return undefined;
      },
    }),
  ];
}
