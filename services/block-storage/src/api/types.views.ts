// Volume types, QoS specs and default types on the wire: Cinder's views (api/v3/views/types.py
// for list and show, api/views/types.py for create and update, api/views/qos_specs.py,
// api/v3/views/default_types.py) and the os-volume-type-access:is_public extension.
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@alto/kernel';
import type { QosDetail } from '../domain/qos.service.js';
import type { TypeDetail, TypeViewRights } from '../domain/types.service.js';
import type { DefaultTypeRow } from '../store/type.repo.js';
import { resourceLinks, type BlockStorageFrame } from './common.js';

export interface TypeViewOptions {
  rights: TypeViewRights;
  /** The extra specs the caller may see (TypesService.visibleSpecs). */
  visibleSpecs: (specs: Record<string, string>) => Record<string, string>;
  /**
   * Whether volume_type_access adds `os-volume-type-access:is_public`. COMPAT(cinder): it looks the
   * type up in the request's cache by the URL's id, so `GET /types/default` never has the key.
   */
  accessKey: boolean;
}

/** List and show (v3 view): extra specs and qos_specs_id only where policy allows. */
export function typeView(t: TypeDetail, opts: TypeViewOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { id: t.row.id, name: t.row.name, is_public: !!t.row.is_public, description: t.row.description };
  if (opts.rights.extraSpecs) out.extra_specs = opts.visibleSpecs(t.extraSpecs);
  if (opts.rights.qosSpecsId) out.qos_specs_id = t.row.qos_specs_id;
  if (opts.accessKey && opts.rights.isPublicKey) out['os-volume-type-access:is_public'] = !!t.row.is_public;
  return out;
}

/** Create and update answers (the legacy view: every extra spec, no qos_specs_id). */
export function typeManageView(t: TypeDetail, isPublicKey: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { id: t.row.id, name: t.row.name, is_public: !!t.row.is_public, extra_specs: t.extraSpecs, description: t.row.description };
  if (isPublicKey) out['os-volume-type-access:is_public'] = !!t.row.is_public;
  return out;
}

export function typeAccessView(typeId: string, projects: string[]) {
  return { volume_type_access: projects.map((p) => ({ volume_type_id: typeId, project_id: p })) };
}

export function qosSummaryView(q: QosDetail) {
  return { id: q.row.id, name: q.row.name, consumer: q.row.consumer, specs: q.specs };
}

export function qosDetailView(frame: BlockStorageFrame, req: FastifyRequest, ctx: RequestContext, q: QosDetail) {
  return { qos_specs: qosSummaryView(q), links: resourceLinks(frame, req, ctx, 'qos-specs', q.row.id) };
}

export function defaultTypeView(d: DefaultTypeRow) {
  return { project_id: d.project_id, volume_type_id: d.volume_type_id };
}
