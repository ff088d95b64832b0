// Attachments routes (3.27+): create (reserve, or connect at once with a connector), list,
// detail, show, update (connect), delete, and the os-complete action (3.44); mode at 3.54.
import Type from 'typebox';
import type { TSchema } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import { defineRoute, type AnyRoute } from '@alto/http';
import { cinderCheck } from './cinder-validation.js';
import { isAdmin } from '../domain/deps.js';
import { BadRequest } from '../domain/errors.js';
import type { AttachmentsService } from '../domain/attachments.service.js';
import { ATTACHMENT_SORT_KEYS, type AttachmentListQuery } from '../store/attachment.repo.js';
import { atLeast, parseLimit, parseSort, q1, type BlockStorageFrame, type RawQuery } from './common.js';
import { attachmentDetailView, attachmentListView } from './attachments.views.js';

/** The services the attachment routes call (the lead adds them to BlockStorageServices). */
export interface AttachmentServices {
  attachments: AttachmentsService;
}
export type AttachmentFrame = BlockStorageFrame & { services: BlockStorageFrame['services'] & AttachmentServices };

const NEW_ATTACH = { min: '3.27' };

// cinder/api/schemas/attachments.py
const Uuid = Type.String({ format: 'uuid' });
const connectorOrNull = Type.Unsafe<Record<string, unknown> | null>({ type: ['object', 'null'] });
const createSchema = (withMode: boolean): TSchema =>
  Type.Object(
    {
      attachment: Type.Object(
        {
          instance_uuid: Type.Optional(Uuid),
          connector: Type.Optional(connectorOrNull),
          volume_uuid: Uuid,
          ...(withMode ? { mode: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: ['rw', 'ro'] })) } : {}),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  );
const CreateBody = createSchema(false);
const CreateBodyV354 = createSchema(true);
const UpdateBody = Type.Object(
  { attachment: Type.Object({ connector: Type.Unsafe<Record<string, unknown>>({ type: 'object', minProperties: 1 }) }, { additionalProperties: false }) },
  { additionalProperties: false },
);

interface CreateInput {
  attachment: { instance_uuid?: string; connector?: Record<string, unknown> | null; volume_uuid: string; mode?: string };
}

const AttachmentId = Type.Object({ attachment_id: Type.String() });

/** The list filters Cinder allows for attachments (instance_id is instance_uuid; status the attach status). */
const FILTERS: Record<string, 'volume_id' | 'instance_uuid' | 'attach_status'> = { volume_id: 'volume_id', instance_id: 'instance_uuid', status: 'attach_status', attach_status: 'attach_status' };

export function attachmentRoutes(frame: AttachmentFrame): AnyRoute[] {
  const svc = () => frame.services.attachments;
  const checkCreate = cinderCheck<CreateInput>(CreateBody);
  const checkCreateV354 = cinderCheck<CreateInput>(CreateBodyV354);
  const parseCreate = (body: unknown, req: FastifyRequest) => {
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw BadRequest('The server could not comply with the request since it is either malformed or otherwise incorrect.');
    }
    return (atLeast(req, '3.54') ? checkCreateV354 : checkCreate)(body);
  };
  const attachmentTarget = async (id: string, ctx: RequestContext) => svc().target(await svc().getOrThrow(ctx, id));

  const listQuery = async (query: RawQuery, ctx: RequestContext): Promise<AttachmentListQuery> => {
    const allTenants = isAdmin(ctx) && q1(query, 'all_tenants') !== undefined;
    const q: AttachmentListQuery = {
      projectId: allTenants ? undefined : (ctx.projectId ?? ''),
      eq: {},
      sort: parseSort(query, ATTACHMENT_SORT_KEYS),
      limit: parseLimit(query, frame.maxLimit),
    };
    for (const [key, column] of Object.entries(FILTERS)) {
      const v = q1(query, key);
      if (v !== undefined) q.eq[column] = v;
    }
    const offset = q1(query, 'offset');
    if (offset !== undefined) {
      if (!/^\d+$/.test(offset)) throw BadRequest('Invalid input received: offset param must be an integer');
      q.offset = Number(offset);
    }
    const marker = q1(query, 'marker');
    if (marker) q.marker = await svc().getOrThrow(ctx, marker);
    return q;
  };

  return [
    defineRoute({
      method: 'POST',
      url: '/attachments',
      body: CreateBodyV354,
      policy: 'volume:attachment_create',
      // schema first, then the volume (404), then the policy on it, as Cinder's controller
      target: async ({ body, req }, ctx) => {
        const input = parseCreate(body, req);
        return frame.services.volumes.target(await frame.services.volumes.getRowOrThrow(ctx, input.attachment.volume_uuid));
      },
      microversion: NEW_ATTACH,
      errors: [400, 403, 404, 500],
      handler: async ({ body, req }, ctx) => {
        const input = parseCreate(body, req).attachment;
        const volume = await frame.services.volumes.getRowOrThrow(ctx, input.volume_uuid);
        const row = await svc().create(ctx, volume, {
          instanceUuid: input.instance_uuid ?? null,
          connector: input.connector ?? null,
          mode: atLeast(req, '3.54') ? input.mode : undefined,
        });
        return { attachment: attachmentDetailView(row) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/attachments',
      policy: null,
      microversion: NEW_ATTACH,
      errors: [400, 404],
      handler: async ({ query }, ctx) => attachmentListView(await svc().list(await listQuery(query as RawQuery, ctx)), false),
    }),
    defineRoute({
      method: 'GET',
      url: '/attachments/detail',
      policy: null,
      microversion: NEW_ATTACH,
      errors: [400, 404],
      handler: async ({ query }, ctx) => attachmentListView(await svc().list(await listQuery(query as RawQuery, ctx)), true),
    }),
    defineRoute({
      method: 'GET',
      url: '/attachments/:attachment_id',
      params: AttachmentId,
      policy: null,
      microversion: NEW_ATTACH,
      errors: [404],
      handler: async ({ params }, ctx) => ({ attachment: attachmentDetailView(await svc().getOrThrow(ctx, params.attachment_id)) }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/attachments/:attachment_id',
      params: AttachmentId,
      body: UpdateBody,
      policy: 'volume:attachment_update',
      target: ({ params }, ctx) => attachmentTarget(params.attachment_id, ctx),
      microversion: NEW_ATTACH,
      errors: [400, 403, 404, 500],
      handler: async ({ params, body }, ctx) => {
        const row = await svc().getOrThrow(ctx, params.attachment_id);
        return { attachment: attachmentDetailView(await svc().update(ctx, row, body.attachment.connector)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/attachments/:attachment_id',
      params: AttachmentId,
      policy: 'volume:attachment_delete',
      target: ({ params }, ctx) => attachmentTarget(params.attachment_id, ctx),
      microversion: NEW_ATTACH,
      errors: [403, 404, 409, 500],
      handler: async ({ params }, ctx) => attachmentListView(await svc().delete(ctx, await svc().getOrThrow(ctx, params.attachment_id)), false),
    }),
    defineRoute({
      method: 'POST',
      url: '/attachments/:attachment_id/action',
      params: AttachmentId,
      policy: 'volume:attachment_complete',
      target: async ({ params, body }, ctx) => {
        // wsgi's dispatch: one key, a known action at this version
        const b = body as Record<string, unknown> | null | undefined;
        if (!b || typeof b !== 'object' || Array.isArray(b) || Object.keys(b).length !== 1) throw BadRequest('Malformed request body', 'volume.malformed_body');
        const name = Object.keys(b)[0]!;
        if (name !== 'os-complete') throw BadRequest(`There is no such action: ${name}. Verify the request body and Content-Type header and try again.`, 'volume.no_such_action');
        const row = await svc().getOrThrow(ctx, params.attachment_id);
        await frame.services.volumes.getRowOrThrow(ctx, row.volume_id);
        return svc().target(row);
      },
      microversion: { min: '3.44' },
      status: 204,
      errors: [400, 403, 404],
      handler: async ({ params }, ctx) => {
        await svc().complete(await svc().getOrThrow(ctx, params.attachment_id));
        return undefined;
      },
    }),
  ];
}

