// `alto status`: checks every component for real (its database answers, the bus round-trips a
// message, the API answers a real request with a real token) and prints a table or JSON.
import { passwordToken, request, validateToken } from '@alto/clients';
import { blockStorageUrl, identityUrl, imageUrl, loadAltoConfig, type ConfigSources } from '../config.js';
import { readClientConfig } from '../client-config.js';

export interface StatusRow {
  component: string;
  check: string;
  ok: boolean;
  ms: number;
  detail: string;
}

async function timed(component: string, check: string, fn: () => Promise<string>): Promise<StatusRow> {
  const t0 = performance.now();
  try {
    const detail = await fn();
    return { component, check, ok: true, ms: Math.round(performance.now() - t0), detail };
  } catch (err) {
    return { component, check, ok: false, ms: Math.round(performance.now() - t0), detail: err instanceof Error ? err.message : String(err) };
  }
}

export async function status(sources: ConfigSources): Promise<StatusRow[]> {
  const config = loadAltoConfig(sources);
  const url = identityUrl(config);
  const rows: StatusRow[] = [];
  // The component's own deep checks (database, bus, keys), as its readiness probe sees them.
  const ready = await request<{ checks: { name: string; ok: boolean; ms: number; detail?: string }[] }>(`${url}/readyz`, { accept: [200, 503], timeoutMs: 8000 }).catch((err: unknown) => err as Error);
  if (ready instanceof Error) {
    rows.push({ component: 'identity-api', check: 'reachable', ok: false, ms: 0, detail: `${ready.message} (is "alto up" or "alto serve identity-api" running?)` });
    return rows;
  }
  // under `alto up` one process answers every component's checks; each row goes to its owner
  const ownerOf = (name: string) => (name.startsWith('image ') ? 'image-api' : name.startsWith('block-storage ') ? 'volume-api' : 'identity-api');
  const own = (name: string, component: string) => ownerOf(name) === component;
  for (const c of ready.body.checks.filter((x) => own(x.name, 'identity-api'))) rows.push({ component: 'identity-api', check: c.name, ok: c.ok, ms: Math.round(c.ms), detail: c.detail ?? '' });

  // A real request with a real token, as a user would make it.
  const creds = readClientConfig(config.data_dir);
  const password = process.env.ALTO_ADMIN_PASSWORD ?? process.env.OS_PASSWORD ?? creds?.password;
  if (!password) {
    rows.push({ component: 'identity-api', check: 'token', ok: false, ms: 0, detail: `no credentials: ${config.data_dir}/clouds.yaml is missing and ALTO_ADMIN_PASSWORD is unset` });
    return rows;
  }
  let token: string | undefined;
  rows.push(
    await timed('identity-api', 'issue token', async () => {
      const t = await passwordToken({ authUrl: `${url}/v3`, username: config.bootstrap.admin_username, password, projectName: config.bootstrap.admin_project_name });
      token = t.id;
      return `${t.token.user.name} on ${t.token.project?.name ?? '?'}, ${t.token.catalog?.length ?? 0} services in the catalog`;
    }),
  );
  if (token) {
    const tk = token;
    rows.push(await timed('identity-api', 'validate token', async () => `expires ${(await validateToken(`${url}/v3`, tk, tk)).token.expires_at}`));
    rows.push(
      await timed('identity-api', 'list regions', async () => {
        const r = await request<{ regions: { id: string }[] }>(`${url}/v3/regions`, { headers: { 'x-auth-token': tk } });
        return r.body.regions.map((x) => x.id).join(', ') || '(none)';
      }),
    );
  }

  // image-api: its own deep checks (database, stores), then a real listing with the same token
  const img = imageUrl(config);
  const imgReady = await request<{ checks: { name: string; ok: boolean; ms: number; detail?: string }[] }>(`${img}/readyz`, { accept: [200, 503], timeoutMs: 8000 }).catch((err: unknown) => err as Error);
  if (imgReady instanceof Error) {
    rows.push({ component: 'image-api', check: 'reachable', ok: false, ms: 0, detail: `${imgReady.message} (is "alto up" or "alto serve image-api" running?)` });
    return rows;
  }
  for (const c of imgReady.body.checks.filter((x) => own(x.name, 'image-api'))) rows.push({ component: 'image-api', check: c.name, ok: c.ok, ms: Math.round(c.ms), detail: c.detail ?? '' });
  if (token) {
    const tk = token;
    rows.push(
      await timed('image-api', 'list images', async () => {
        const r = await request<{ images: unknown[] }>(`${img}/v2/images?limit=1000`, { headers: { 'x-auth-token': tk } });
        return `${r.body.images.length} image(s) visible to ${config.bootstrap.admin_username}`;
      }),
    );
  }

  // volume-api: its database, then the services os-services reports (scheduler, workers, backup)
  // and a real volume listing, with the same token
  const vol = blockStorageUrl(config);
  const volReady = await request<{ checks: { name: string; ok: boolean; ms: number; detail?: string }[] }>(`${vol}/readyz`, { accept: [200, 503], timeoutMs: 8000 }).catch((err: unknown) => err as Error);
  if (volReady instanceof Error) {
    rows.push({ component: 'volume-api', check: 'reachable', ok: false, ms: 0, detail: `${volReady.message} (is "alto up" or "alto serve volume-api" running?)` });
    return rows;
  }
  for (const c of volReady.body.checks.filter((x) => own(x.name, 'volume-api'))) rows.push({ component: 'volume-api', check: c.name, ok: c.ok, ms: Math.round(c.ms), detail: c.detail ?? '' });
  if (token) {
    const tk = token;
    rows.push(
      await timed('volume-api', 'services up', async () => {
        const r = await request<{ services: { binary: string; host: string; state: string; status: string }[] }>(`${vol}/v3/os-services`, { headers: { 'x-auth-token': tk } });
        const down = r.body.services.filter((s) => s.status === 'enabled' && s.state !== 'up');
        if (!r.body.services.some((s) => s.binary === 'cinder-volume' && s.state === 'up')) throw new Error('no cinder-volume worker is up: volumes cannot be created (is "alto serve volume-worker" running?)');
        if (down.length) throw new Error(`down: ${down.map((s) => `${s.binary} on ${s.host}`).join(', ')}`);
        return r.body.services.map((s) => `${s.binary} on ${s.host}`).join(', ');
      }),
    );
    rows.push(
      await timed('volume-api', 'list volumes', async () => {
        const r = await request<{ volumes: unknown[] }>(`${vol}/v3/volumes?limit=1000`, { headers: { 'x-auth-token': tk } });
        return `${r.body.volumes.length} volume(s) in ${config.bootstrap.admin_project_name}`;
      }),
    );
  }
  return rows;
}

export function renderTable(rows: StatusRow[]): string {
  const head = ['COMPONENT', 'CHECK', 'STATUS', 'TIME', 'DETAIL'];
  const body = rows.map((r) => [r.component, r.check, r.ok ? 'ok' : 'FAIL', `${r.ms} ms`, r.detail]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n') + '\n';
}
