// Domain -> wire: Keystone's JSON for each entity (snake_case, links, extra attributes flattened in).
import type { Domain, Endpoint, Project, Region, Role, Service, User } from '../domain/models.js';

const link = (base: string, path: string) => ({ self: `${base}/v3/${path}` });

/** Extra attributes sit beside the real ones, as Keystone stores and returns them. */
function withExtra(extra: Record<string, unknown>, fields: Record<string, unknown>): Record<string, unknown> {
  return { ...extra, ...fields };
}

export function domainView(d: Domain, base: string) {
  return withExtra(d.extra, { id: d.id, name: d.name, description: d.description ?? '', enabled: d.enabled, tags: d.tags, options: d.options, links: link(base, `domains/${d.id}`) });
}

export function projectView(p: Project, base: string) {
  return withExtra(p.extra, {
    id: p.id,
    name: p.name,
    domain_id: p.isDomain ? null : p.domainId,
    description: p.description ?? '',
    enabled: p.enabled,
    parent_id: p.isDomain ? null : p.parentId,
    is_domain: p.isDomain,
    tags: p.tags,
    options: p.options,
    links: link(base, `projects/${p.id}`),
  });
}

export function userView(u: User, base: string) {
  return withExtra(u.extra, {
    id: u.id,
    name: u.name,
    domain_id: u.domainId,
    enabled: u.enabled,
    password_expires_at: u.passwordExpiresAt === null ? null : isoSeconds(u.passwordExpiresAt),
    options: u.options,
    links: link(base, `users/${u.id}`),
    ...(u.defaultProjectId ? { default_project_id: u.defaultProjectId } : {}),
  });
}

export function roleView(r: Role, base: string) {
  return withExtra(r.extra, { id: r.id, name: r.name, domain_id: r.domainId, description: r.description, options: r.options, links: link(base, `roles/${r.id}`) });
}

/** The short role form used inside inference rules and assignment lists. */
export function roleRefView(r: Role, base: string) {
  return { id: r.id, name: r.name, links: link(base, `roles/${r.id}`) };
}

export function regionView(r: Region, base: string) {
  return withExtra(r.extra, { id: r.id, description: r.description, parent_region_id: r.parentRegionId, links: link(base, `regions/${r.id}`) });
}

/** A service's name is "" when unset; its description only appears when given. */
export function serviceView(s: Service, base: string) {
  return withExtra(s.extra, { name: typeof s.extra.name === 'string' ? s.extra.name : '', id: s.id, type: s.type, enabled: s.enabled, links: link(base, `services/${s.id}`) });
}

export function endpointView(e: Endpoint, base: string) {
  return withExtra(e.extra, {
    id: e.id,
    interface: e.interface,
    region_id: e.regionId,
    region: e.regionId,
    service_id: e.serviceId,
    url: e.url,
    enabled: e.enabled,
    links: link(base, `endpoints/${e.id}`),
  });
}

/** Keystone's password_expires_at: 2026-11-21T07:00:00.000000. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '.000000');
}

/** Keystone's token times: 2026-11-21T07:00:00.000000Z. */
export function isoMicros(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
