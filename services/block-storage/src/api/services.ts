// os-services: the services with their state (admin), and enable / disable / disable-log-reason
// of a service for scheduling (cinder/api/contrib/services.py).
import Type from 'typebox';
import { defineRoute, pyRepr, type AnyRoute } from '@alto/http';
import type { OsServicesService } from '../domain/os-services.service.js';
import { InvalidInput, BadRequest } from '../domain/errors.js';
import { atLeast, q1, type BlockStorageFrame, type RawQuery } from './common.js';
import { serviceView } from './services.views.js';

const Query = Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]));
const Name = Type.String({ minLength: 1, maxLength: 255 });
/** parameter_types.cinder_host */
const CinderHost = Type.Union([Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._#@:/+\\[\\]]*$' }), Type.Null()]);
const NullableString = Type.Union([Type.String({ maxLength: 255 }), Type.Null()]);
const EnableBody = Type.Object({ binary: Type.Optional(Name), host: Type.Optional(CinderHost), cluster: Type.Optional(NullableString), service: Type.Optional(Name) }, { additionalProperties: false });
const FreezeBody = Type.Object({ cluster: Type.Optional(NullableString), host: Type.Optional(CinderHost) }, { additionalProperties: false });
const DisableLogReasonBody = Type.Object({ ...EnableBody.properties, disabled_reason: Type.Optional(Name) }, { additionalProperties: false });
type EnableInput = { binary?: string; host?: string | null; cluster?: string | null; service?: string; disabled_reason?: string };

const ServiceSchema = Type.Object({
  binary: Type.String(),
  host: Type.String(),
  zone: Type.String(),
  status: Type.String(),
  state: Type.String(),
  updated_at: Type.Union([Type.String(), Type.Null()]),
  backend_state: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  cluster: Type.Optional(Type.Null()),
  disabled_reason: Type.Union([Type.String(), Type.Null()]),
  replication_status: Type.Optional(Type.String()),
  active_backend_id: Type.Optional(Type.Null()),
  frozen: Type.Optional(Type.Boolean()),
});

/** The frame these routes need: plugin.ts's services include the os-services service. */
export type OsServicesFrame = BlockStorageFrame & { services: { osServices: OsServicesService } };

/**
 * What enable/disable names (schema anyOf binary|service, then get_cluster_host without
 * clusters): the host and the binary (`service`, the deprecated key, when no binary).
 */
function serviceRef(body: EnableInput): { host: string; binaryKey: string } {
  if (body.binary === undefined && body.service === undefined) throw BadRequest(`${pyRepr(body)} is not valid under any of the given schemas`);
  if (!body.host) throw InvalidInput('Host field is missing.');
  return { host: body.host, binaryKey: body.binary || body.service || '' };
}

export function serviceRoutes(frame: OsServicesFrame): AnyRoute[] {
  const svc = () => frame.services.osServices;
  const setStatus = async (body: EnableInput, disabled: boolean, reason?: string | null) => {
    const { host, binaryKey } = serviceRef(body);
    if (typeof reason === 'string' && !reason.trim()) {
      throw BadRequest(`Invalid input for field/attribute disabled_reason. Value: ${reason}. ${pyRepr(reason)} is not a 'disabled_reason'`);
    }
    await svc().setStatus({ host, binary: binaryKey, disabled, ...(reason !== undefined ? { reason } : {}) });
    return {
      ...(reason !== undefined ? { disabled_reason: reason } : {}),
      disabled,
      host,
      service: body.service ?? '',
      binary: body.binary ?? '',
      status: disabled ? 'disabled' : 'enabled',
    };
  };
  const update = { policy: 'volume_extension:services:update', errors: [404] };
  return [
    defineRoute({
      method: 'GET',
      url: '/os-services',
      query: Query,
      policy: 'volume_extension:services:index',
      errors: [],
      response: { 200: Type.Object({ services: Type.Array(ServiceSchema) }) },
      handler: async ({ query, req }) => {
        const raw = query as RawQuery;
        const host = q1(raw, 'host');
        const rows = await svc().list({ host: host || undefined, binary: q1(raw, 'binary') });
        return { services: rows.map((s) => serviceView(req, s)) };
      },
    }),
    defineRoute({ method: 'PUT', url: '/os-services/enable', body: EnableBody, ...update, handler: async ({ body }) => setStatus(body, false) }),
    defineRoute({ method: 'PUT', url: '/os-services/disable', body: EnableBody, ...update, handler: async ({ body }) => setStatus(body, true) }),
    defineRoute({
      method: 'PUT',
      url: '/os-services/disable-log-reason',
      body: DisableLogReasonBody,
      ...update,
      // COMPAT(cinder services.py): a missing disabled_reason clears the stored one (body.get -> None)
      handler: async ({ body }) => setStatus(body, true, body.disabled_reason ?? null),
    }),
    ...(['freeze', 'thaw'] as const).map((action) =>
      defineRoute({
        method: 'PUT',
        url: `/os-services/${action}`,
        body: FreezeBody,
        ...update,
        handler: async ({ body, req }, ctx) => {
          // get_cluster_host: from 3.26 a cluster may be named instead; there are no clusters here
          const clustered = atLeast(req, '3.26');
          const cluster = clustered ? body.cluster : undefined;
          if (!!cluster === !!body.host) throw InvalidInput(clustered ? 'One and only one of cluster and host must be set.' : 'Host field is missing.');
          if (cluster) throw InvalidInput(`No service found with cluster=${cluster}`);
          await svc().setFrozen(ctx, body.host!, action === 'freeze');
          return undefined;
        },
      }),
    ),
    defineRoute({
      method: 'PUT',
      url: '/os-services/:action',
      params: Type.Object({ action: Type.String() }),
      ...update,
      // failover and the log levels need replication and RPC to services this cloud does not run
      handler: async () => {
        throw InvalidInput('Unknown action');
      },
    }),
  ];
}
