// User messages on the wire: Cinder's messages view builder (api/v3/views/messages.py).
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import { userMessageOf } from '../domain/message-fields.js';
import type { MessageRow } from '../store/message.repo.js';
import { cinderTime, resourceLinks, type BlockStorageFrame } from './common.js';

const Link = Type.Object({ rel: Type.String(), href: Type.String() });

export const MessageSchema = Type.Object(
  {
    id: Type.String(),
    event_id: Type.String(),
    user_message: Type.String(),
    message_level: Type.String(),
    created_at: Type.String(),
    guaranteed_until: Type.Union([Type.String(), Type.Null()]),
    request_id: Type.Union([Type.String(), Type.Null()]),
    links: Type.Array(Link),
    resource_type: Type.Optional(Type.String()),
    resource_uuid: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export function messageView(frame: BlockStorageFrame, req: FastifyRequest, ctx: RequestContext, m: MessageRow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: m.id,
    event_id: m.event_id,
    user_message: userMessageOf(m),
    message_level: m.message_level,
    created_at: cinderTime(m.created_at),
    guaranteed_until: cinderTime(m.expires_at),
    request_id: m.request_id,
    links: resourceLinks(frame, req, ctx, 'messages', m.id),
  };
  // Cinder leaves the keys out when they are empty
  if (m.resource_type) out.resource_type = m.resource_type;
  if (m.resource_uuid) out.resource_uuid = m.resource_uuid;
  return out;
}
