// Volume transfers on the wire: Cinder's transfers view builder (api/views/transfers.py).
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import type { AcceptedTransfer } from '../domain/transfers.service.js';
import type { TransferRow } from '../store/transfer.repo.js';
import { atLeast, cinderTime, resourceLinks, type BlockStorageFrame } from './common.js';

/** Cinder's _collection_name: links name os-volume-transfer on both mounts. */
export const TRANSFER_COLLECTION = 'os-volume-transfer';

const Link = Type.Object({ rel: Type.String(), href: Type.String() });
const nullableString = Type.Union([Type.String(), Type.Null()]);

export const TransferSummarySchema = Type.Object({ id: Type.String(), volume_id: Type.String(), name: nullableString, links: Type.Array(Link) }, { additionalProperties: false });
export const TransferSchema = Type.Object(
  {
    id: Type.String(),
    created_at: Type.String(),
    name: nullableString,
    volume_id: Type.String(),
    auth_key: Type.Optional(Type.String()),
    links: Type.Array(Link),
    no_snapshots: Type.Optional(Type.Boolean()),
    destination_project_id: Type.Optional(nullableString),
    source_project_id: Type.Optional(Type.String()),
    accepted: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** The summary (lists without detail, and the accept answer). */
export function transferSummaryView(frame: BlockStorageFrame, req: FastifyRequest, ctx: RequestContext, t: Pick<TransferRow, 'id' | 'volume_id' | 'display_name'> | AcceptedTransfer) {
  return { id: t.id, volume_id: t.volume_id, name: t.display_name, links: resourceLinks(frame, req, ctx, TRANSFER_COLLECTION, t.id) };
}

/** The detail (show, detail lists); with authKey, the create answer, which alone carries the key. */
export function transferView(frame: BlockStorageFrame, req: FastifyRequest, ctx: RequestContext, t: TransferRow, authKey?: string) {
  const out: Record<string, unknown> = { id: t.id, created_at: cinderTime(t.created_at), name: t.display_name, volume_id: t.volume_id };
  if (authKey !== undefined) out.auth_key = authKey;
  out.links = resourceLinks(frame, req, ctx, TRANSFER_COLLECTION, t.id);
  if (atLeast(req, '3.55')) out.no_snapshots = !!t.no_snapshots;
  if (atLeast(req, '3.57')) {
    out.destination_project_id = t.destination_project_id;
    out.source_project_id = t.source_project_id;
    out.accepted = !!t.accepted;
  }
  return out;
}
