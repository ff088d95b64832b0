// Project limits for images from Keystone unified limits (oslo.limit's role): a project limit,
// else the registered default, else the legacy glance-api.conf quota. Read with the image
// service's own system-scoped token and cached briefly, as oslo.limit asks Keystone per check.
import { passwordToken, request, type PasswordAuth } from '@alto/clients';
import type { Clock } from '@alto/kernel';
import type { LimitSource, ProjectLimits } from './domain/deps.js';

const RESOURCES: Record<string, keyof ProjectLimits> = {
  image_size_total: 'imageSizeTotal',
  image_stage_total: 'imageStageTotal',
  image_count_total: 'imageCountTotal',
  image_count_uploading: 'imageCountUploading',
};

interface LimitRow {
  resource_name: string;
  default_limit?: number;
  resource_limit?: number;
  project_id?: string | null;
}

export interface KeystoneLimitsOptions {
  auth: PasswordAuth;
  clock: Clock;
  /** What applies when Keystone has no limit for a resource (user_storage_quota, in MiB). */
  fallback: ProjectLimits;
  ttlMs?: number;
}

export function keystoneLimits(o: KeystoneLimitsOptions): LimitSource {
  const ttl = o.ttlMs ?? 30_000;
  const base = o.auth.authUrl.replace(/\/+$/, '').replace(/\/v3$/, '') + '/v3';
  let token: { id: string; expiresMs: number } | undefined;
  let serviceId: string | undefined;
  let registered: { at: number; rows: LimitRow[] } | undefined;
  const perProject = new Map<string, { at: number; rows: LimitRow[] }>();

  const auth = async () => {
    if (token && token.expiresMs - o.clock.nowMs() > 60_000) return token.id;
    const t = await passwordToken({ ...o.auth, system: true });
    token = { id: t.id, expiresMs: Date.parse(t.token.expires_at) };
    return t.id;
  };
  const get = async <T>(path: string) => (await request<T>(`${base}${path}`, { headers: { 'x-auth-token': await auth() } })).body;

  return {
    async limitsOf(projectId) {
      const now = o.clock.nowMs();
      serviceId ??= (await get<{ services: { id: string }[] }>('/services?type=image')).services[0]?.id;
      if (!serviceId) return o.fallback;
      if (!registered || now - registered.at > ttl) {
        registered = { at: now, rows: (await get<{ registered_limits: LimitRow[] }>(`/registered_limits?service_id=${serviceId}`)).registered_limits };
      }
      let own = perProject.get(projectId);
      if (!own || now - own.at > ttl) {
        own = { at: now, rows: (await get<{ limits: LimitRow[] }>(`/limits?service_id=${serviceId}&project_id=${encodeURIComponent(projectId)}`)).limits };
        perProject.set(projectId, own);
        if (perProject.size > 10_000) perProject.delete(perProject.keys().next().value!);
      }
      const out: ProjectLimits = { ...o.fallback };
      for (const [resource, key] of Object.entries(RESOURCES)) {
        const p = own.rows.find((r) => r.resource_name === resource && r.project_id === projectId);
        const r = registered.rows.find((x) => x.resource_name === resource);
        const v = p?.resource_limit ?? r?.default_limit;
        if (v !== undefined) out[key] = v < 0 ? undefined : v;
      }
      return out;
    },
  };
}

/** Quotas from glance-api.conf alone (no Keystone limits). */
export function legacyLimits(fallback: ProjectLimits): LimitSource {
  return { limitsOf: async () => fallback };
}
