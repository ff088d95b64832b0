// /v3/messages (3.3+): list (pagination and filters 3.5, checked filters 3.31, like 3.34), show
// and delete of user messages (cinder/api/v3/messages.py).
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { MessagesService } from '../domain/messages.service.js';
import { BadRequest } from '../domain/errors.js';
import { MESSAGE_COLUMNS } from '../store/message.repo.js';
import { atLeast, nextLinks, parseLimit, parseSort, q1, type BlockStorageFrame, type RawQuery } from './common.js';
import { MessageSchema, messageView } from './messages.views.js';

const Query = Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]));
const IdParams = Type.Object({ message_id: Type.String() });
/** Query keys that page and sort; every other key is a filter. */
const LIST_KEYS = new Set(['limit', 'marker', 'offset', 'sort', 'sort_key', 'sort_dir']);
const MESSAGES = { min: '3.3' };

/** offset: an integer from 0 (Cinder's _get_offset_param, oslo's validate_integer wording). */
export function parseOffset(query: RawQuery): number {
  const raw = q1(query, 'offset');
  if (raw === undefined) return 0;
  if (!/^\s*[-+]?\d+\s*$/.test(raw)) throw BadRequest('offset must be an integer');
  const n = Number(raw);
  if (n < 0) throw BadRequest('offset must be >= 0');
  if (n > 2147483647) throw BadRequest('offset must be <= 2147483647');
  return n;
}

/** The frame these routes need: plugin.ts's services include the messages service. */
export type MessagesFrame = BlockStorageFrame & { services: { messages: MessagesService } };

export function messageRoutes(frame: MessagesFrame): AnyRoute[] {
  const messages = () => frame.services.messages;
  return [
    defineRoute({
      method: 'GET',
      url: '/messages',
      query: Query,
      policy: 'message:get_all',
      errors: [404],
      microversion: MESSAGES,
      response: { 200: Type.Object({ messages: Type.Array(MessageSchema), messages_links: Type.Optional(Type.Array(Type.Object({ rel: Type.String(), href: Type.String() }))) }) },
      handler: async ({ query, req }, ctx) => {
        const raw = query as RawQuery;
        // before 3.5 every query parameter is ignored and the whole list answers
        const paged = atLeast(req, '3.5');
        const limit = paged ? parseLimit(raw, frame.maxLimit) : frame.maxLimit;
        const offset = paged ? parseOffset(raw) : 0;
        const sort = paged ? parseSort(raw, MESSAGE_COLUMNS) : parseSort({}, MESSAGE_COLUMNS);
        const filters = paged ? Object.fromEntries(Object.entries(raw).filter(([k]) => !LIST_KEYS.has(k)).map(([k, v]) => [k, Array.isArray(v) ? v.at(-1)! : v!])) : undefined;
        const markerId = paged ? q1(raw, 'marker') : undefined;
        const rows = await messages().list(ctx, { filters, checkFilters: atLeast(req, '3.31'), likeFilters: atLeast(req, '3.34'), sort, markerId, limit, offset });
        const out: Record<string, unknown> = { messages: rows.map((m) => messageView(frame, req, ctx, m)) };
        if (rows.length && rows.length >= limit) out.messages_links = nextLinks(frame, req, ctx, 'messages', raw, rows.at(-1)!.id);
        return out;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/messages/:message_id',
      params: IdParams,
      policy: 'message:get',
      target: async ({ params }, ctx) => messages().target(await messages().getOrThrow(ctx, params.message_id)),
      errors: [404],
      microversion: MESSAGES,
      response: { 200: Type.Object({ message: MessageSchema }) },
      handler: async ({ params, req }, ctx) => ({ message: messageView(frame, req, ctx, await messages().getOrThrow(ctx, params.message_id)) }),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/messages/:message_id',
      params: IdParams,
      status: 204,
      policy: 'message:delete',
      target: async ({ params }, ctx) => messages().target(await messages().getOrThrow(ctx, params.message_id)),
      errors: [404],
      microversion: MESSAGES,
      handler: async ({ params }, ctx) => {
        await messages().delete(ctx, params.message_id);
        return undefined;
      },
    }),
  ];
}
