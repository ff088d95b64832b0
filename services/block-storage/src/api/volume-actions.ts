// POST /volumes/{volume_id}/action: one route for Cinder's volume actions; the body's only key
// names the action, whose schema, policy (on the volume's target), service call and status
// are looked up here (built-in ones, plus those other files contribute as VolumeActionSpec).
import Type from 'typebox';
import type { TSchema } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import { defineRoute, type AnyRoute } from '@alto/http';
import { cinderCheck } from './cinder-validation.js';
import { BadRequest } from '../domain/errors.js';
import { MIGRATION_STATUSES, RESET_ATTACH_STATUSES, VOLUME_STATUSES, type VolumeActionsService } from '../domain/volume-actions.service.js';
import type { VolumeRow } from '../store/volume.repo.js';
import { atLeast, parseBool, type BlockStorageFrame, type VolumeActionSpec } from './common.js';

/** The services the action routes call (the lead adds them to BlockStorageServices). */
export interface VolumeActionServices {
  volumeActions: VolumeActionsService;
}
export type VolumeActionFrame = BlockStorageFrame & { services: BlockStorageFrame['services'] & VolumeActionServices };

/** A built-in action: the spec plus its body schema, a check after it, and a policy that may depend on the volume. */
interface BuiltinAction {
  policy: string;
  status: number;
  minVersion?: string;
  /** The whole body's schema (upstream validates `{"os-x": {...}}`). */
  schema?: TSchema;
  /** Checks jsonschema formats Cinder registers (reset_status statuses), after the schema. */
  check?: (value: unknown) => void;
  /** When the rule depends on the volume (os-extend of an in-use volume at 3.42). */
  policyOf?: (row: VolumeRow, req: FastifyRequest) => string;
  run: (svc: VolumeActionsService, row: VolumeRow, value: Record<string, unknown>, req: FastifyRequest, ctx: RequestContext) => Promise<unknown>;
}

// ---- schemas: cinder/api/schemas/volume_actions.py, admin_actions.py, volume_image_metadata.py ----

/** parameter_types.boolean: the words strutils accepts, as an enum (so the message lists them). */
const PyBoolean = Type.Unsafe<boolean | string>({
  type: ['boolean', 'string'],
  enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f'],
});
const VolumeSize = Type.Unsafe<number | string>({ type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1, maximum: 2147483647 });
const Uuid = Type.String({ format: 'uuid' });
const ExtraSpecs = Type.Unsafe<Record<string, string>>({
  type: 'object',
  patternProperties: { '^[a-zA-Z0-9-_:. /]{1,255}$': { type: 'string', maxLength: 255 } },
  additionalProperties: false,
});
const wrap = (name: string, inner: TSchema) => Type.Object({ [name]: inner }, { required: [name], additionalProperties: false });
const obj = (props: Record<string, TSchema>, required: string[] = [], extra: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, unknown>>({ type: 'object', properties: props, ...(required.length ? { required } : {}), additionalProperties: false, ...extra });
const anyOf = (...types: string[]) => Type.Unsafe<unknown>({ type: types });

const S = {
  extend: wrap('os-extend', obj({ new_size: VolumeSize }, ['new_size'])),
  attach: wrap(
    'os-attach',
    obj(
      {
        instance_uuid: Uuid,
        mountpoint: Type.String({ minLength: 1, maxLength: 255 }),
        host_name: Type.String({ maxLength: 255 }),
        mode: Type.Unsafe<string>({ type: 'string', enum: ['rw', 'ro'] }),
      },
      ['mountpoint'],
      { anyOf: [{ required: ['instance_uuid'] }, { required: ['host_name'] }] },
    ),
  ),
  detach: wrap('os-detach', Type.Unsafe<unknown>({ type: ['object', 'null'], properties: { attachment_id: { oneOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }] } }, additionalProperties: false })),
  retype: wrap('os-retype', obj({ new_type: Type.String(), migration_policy: Type.Unsafe<string | null>({ type: ['string', 'null'], enum: ['on-demand', 'never'] }) }, ['new_type'])),
  setBootable: wrap('os-set_bootable', obj({ bootable: PyBoolean }, ['bootable'])),
  readonly: wrap('os-update_readonly_flag', obj({ readonly: PyBoolean }, ['readonly'])),
  initialize: wrap('os-initialize_connection', obj({ connector: anyOf('object', 'string') }, ['connector'])),
  terminate: wrap('os-terminate_connection', obj({ connector: anyOf('string', 'object', 'null') }, ['connector'])),
  reset: wrap(
    'os-reset_status',
    obj({ status: anyOf('string', 'null'), attach_status: anyOf('string', 'null'), migration_status: anyOf('string', 'null') }),
  ),
  forceDetach: wrap('os-force_detach', obj({ connector: anyOf('string', 'object', 'null'), attachment_id: anyOf('string', 'null') })),
  setImageMetadata: wrap('os-set_image_metadata', obj({ metadata: ExtraSpecs }, ['metadata'])),
  unsetImageMetadata: wrap('os-unset_image_metadata', obj({ key: Type.String({ minLength: 1, maxLength: 255 }) }, ['key'])),
};

/** Python's repr of a tuple / list of strings (Cinder puts fields.*.ALL in its messages). */
const pyTuple = (xs: readonly string[]) => `(${xs.map((x) => `'${x}'`).join(', ')})`;
const pyList = (xs: readonly string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

/** The format checks of admin_actions.reset (validate_volume_reset_body, volume_*_status). */
function checkReset(value: unknown): void {
  const b = ((value as Record<string, unknown>)['os-reset_status'] ?? {}) as Record<string, string | null | undefined>;
  if (b.status && !(VOLUME_STATUSES as readonly string[]).includes(b.status.toLowerCase())) {
    throw BadRequest(`Volume status: ${b.status} is invalid, valid statuses are: ${pyTuple(VOLUME_STATUSES)}.`);
  }
  if (b.attach_status && !(RESET_ATTACH_STATUSES as readonly string[]).includes(b.attach_status.toLowerCase())) {
    throw BadRequest(`Volume attach status: ${b.attach_status} is invalid, valid statuses are: ${pyList(RESET_ATTACH_STATUSES)}.`);
  }
  if (b.migration_status && !(MIGRATION_STATUSES as readonly string[]).includes(b.migration_status.toLowerCase())) {
    throw BadRequest(`Volume migration status: ${b.migration_status} is invalid, valid statuses are: ${pyTuple(MIGRATION_STATUSES)}.`);
  }
  if (!b.status && !b.attach_status && !b.migration_status) throw BadRequest("Must specify 'status', 'attach_status' or 'migration_status' for update.");
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

const BUILTIN: Record<string, BuiltinAction> = {
  'os-extend': {
    policy: 'volume:extend',
    status: 202,
    schema: S.extend,
    policyOf: (row, req) => (atLeast(req, '3.42') && row.status === 'in-use' ? 'volume:extend_attached_volume' : 'volume:extend'),
    run: (svc, row, v, req, ctx) => svc.extend(ctx, row, Number(v.new_size), atLeast(req, '3.42') && row.status === 'in-use'),
  },
  'os-set_bootable': {
    policy: 'volume:update',
    status: 200,
    schema: S.setBootable,
    run: (svc, row, v) => svc.setBootable(row, parseBool(v.bootable, 'bootable')),
  },
  'os-update_readonly_flag': {
    policy: 'volume:update_readonly_flag',
    status: 202,
    schema: S.readonly,
    run: (svc, row, v) => svc.updateReadonly(row, parseBool(v.readonly, 'readonly')),
  },
  'os-reset_status': {
    policy: 'volume_extension:volume_admin_actions:reset_status',
    status: 202,
    schema: S.reset,
    check: checkReset,
    run: (svc, row, v) => svc.resetStatus(row, { status: str(v.status), attachStatus: str(v.attach_status), migrationStatus: str(v.migration_status) }),
  },
  'os-force_delete': {
    policy: 'volume_extension:volume_admin_actions:force_delete',
    status: 202,
    run: (svc, row, _v, _req, ctx) => svc.forceDelete(ctx, row.id),
  },
  'os-force_detach': {
    policy: 'volume_extension:volume_admin_actions:force_detach',
    status: 202,
    schema: S.forceDetach,
    run: (svc, row, v, _req, ctx) => svc.forceDetach(ctx, row, v.connector ?? null, str(v.attachment_id)),
  },
  'os-retype': {
    policy: 'volume:retype',
    status: 202,
    schema: S.retype,
    run: (svc, row, v, _req, ctx) => svc.retype(ctx, row, String(v.new_type), str(v.migration_policy)),
  },
  'os-reserve': { policy: 'volume_extension:volume_actions:reserve', status: 202, run: (svc, row) => svc.reserve(row) },
  'os-unreserve': { policy: 'volume_extension:volume_actions:unreserve', status: 202, run: (svc, row) => svc.unreserve(row.id) },
  'os-begin_detaching': { policy: 'volume_extension:volume_actions:begin_detaching', status: 202, run: (svc, row) => svc.beginDetaching(row) },
  'os-roll_detaching': { policy: 'volume_extension:volume_actions:roll_detaching', status: 202, run: (svc, row) => svc.rollDetaching(row) },
  'os-initialize_connection': {
    policy: 'volume_extension:volume_actions:initialize_connection',
    status: 200,
    schema: S.initialize,
    run: (svc, row, v, _req, ctx) => svc.initializeConnection(ctx, row, v.connector),
  },
  'os-terminate_connection': {
    policy: 'volume_extension:volume_actions:terminate_connection',
    status: 202,
    schema: S.terminate,
    run: (svc, row, v, _req, ctx) => svc.terminateConnection(ctx, row, v.connector),
  },
  'os-attach': {
    policy: 'volume_extension:volume_actions:attach',
    status: 202,
    schema: S.attach,
    run: async (svc, row, v) => {
      await svc.attach(row, { instanceUuid: str(v.instance_uuid) ?? undefined, hostName: str(v.host_name) ?? undefined, mountpoint: String(v.mountpoint), mode: str(v.mode) ?? 'rw' });
    },
  },
  'os-detach': {
    policy: 'volume_extension:volume_actions:detach',
    status: 202,
    schema: S.detach,
    run: (svc, row, v, _req, ctx) => svc.detach(ctx, row, str(v.attachment_id)),
  },
  'os-show_image_metadata': {
    policy: 'volume:get_volume_metadata',
    status: 200,
    run: async (svc, row) => ({ metadata: await svc.imageMetadata(row) }),
  },
  'os-set_image_metadata': {
    policy: 'volume_extension:volume_image_metadata:set',
    status: 200,
    schema: S.setImageMetadata,
    run: async (svc, row, v, _req, ctx) => ({ metadata: await svc.setImageMetadata(ctx, row, v.metadata as Record<string, string>) }),
  },
  'os-unset_image_metadata': {
    policy: 'volume_extension:volume_image_metadata:remove',
    status: 200,
    schema: S.unsetImageMetadata,
    run: (svc, row, v, _req, ctx) => svc.unsetImageMetadata(ctx, row, String(v.key)),
  },
};

/** The names of the built-in actions (tests, docs). */
export const BUILTIN_VOLUME_ACTIONS = Object.freeze(Object.keys(BUILTIN));

type Resolved = { name: string; builtin: BuiltinAction; extra?: undefined } | { name: string; extra: VolumeActionSpec; builtin?: undefined };

const VolumeId = Type.Object({ volume_id: Type.String() });

export function volumeActionRoutes(frame: VolumeActionFrame, extra: Record<string, VolumeActionSpec> = {}): AnyRoute[] {
  const svc = () => frame.services.volumeActions;
  const checks = new Map<string, (value: unknown) => unknown>();
  for (const [name, a] of Object.entries(BUILTIN)) if (a.schema) checks.set(name, cinderCheck(a.schema));

  /** wsgi's action dispatch, then the action's schema: 400s before the volume is looked up, as Cinder's. */
  const resolve = (body: unknown, req: FastifyRequest): Resolved => {
    if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length !== 1) throw BadRequest('Malformed request body', 'volume.malformed_body');
    const name = Object.keys(body)[0]!;
    const noSuch = () => BadRequest(`There is no such action: ${name}. Verify the request body and Content-Type header and try again.`, 'volume.no_such_action');
    // built-in names win: another file cannot take over an action this one implements
    const builtin = Object.hasOwn(BUILTIN, name) ? BUILTIN[name] : undefined;
    if (builtin) {
      if (builtin.minVersion && !atLeast(req, builtin.minVersion)) throw noSuch();
      checks.get(name)?.(body);
      builtin.check?.(body);
      return { name, builtin };
    }
    const spec = Object.hasOwn(extra, name) ? extra[name] : undefined;
    if (!spec || (spec.minVersion && !atLeast(req, spec.minVersion))) throw noSuch();
    return { name, extra: spec };
  };

  return [
    defineRoute({
      method: 'POST',
      url: '/volumes/:volume_id/action',
      params: VolumeId,
      // every action reads the volume through volume_api.get (volume:get), then checks its own rule
      policy: 'volume:get',
      target: async ({ params, body, req }, ctx) => {
        resolve(body, req);
        return frame.services.volumes.target(await svc().rowOrThrow(ctx, params.volume_id));
      },
      errors: [400, 403, 404, 409, 413, 500],
      handler: async ({ params, body, req, reply }, ctx) => {
        const action = resolve(body, req);
        const row = await svc().rowOrThrow(ctx, params.volume_id);
        const target = frame.services.volumes.target(row);
        if (action.extra) {
          frame.services.authz.enforce(action.extra.policy, ctx, target);
          const out = await action.extra.handler({ volumeId: row.id, body, req, reply }, ctx);
          if (!reply.sent) void reply.code(action.extra.status ?? 202);
          return out ?? undefined;
        }
        const a = action.builtin;
        frame.services.authz.enforce(a.policyOf ? a.policyOf(row, req) : a.policy, ctx, target);
        const value = ((body as Record<string, unknown>)[action.name] ?? {}) as Record<string, unknown>;
        const out = await a.run(svc(), row, value, req, ctx);
        void reply.code(a.status);
        return out ?? undefined;
      },
    }),
  ];
}
