// Registers a service with the identity service over its API, as an operator (or a Kubernetes
// Job) would with the openstack CLI: its service user and roles, its catalog entry and endpoints.
// Idempotent: anything already there is left as it is (a changed password is set again).
import { passwordToken, request, type PasswordAuth } from '@alto/clients';

export interface ServiceRegistration {
  /** Catalog type and name (image / glance). */
  type: string;
  name: string;
  description: string;
  /** public, internal and admin URL (all the same on one machine). */
  url: string;
  /** Per-interface URLs where they differ from `url` (in a cluster: public through the Ingress, internal and admin through the Service). */
  urls?: Partial<Record<'public' | 'internal' | 'admin', string>>;
  regionId: string;
  /** The service's own user, in the service project, with the roles devstack gives it. */
  user: { name: string; password: string };
  serviceProjectName: string;
}

interface Named {
  id: string;
  name: string;
}

export async function registerService(admin: PasswordAuth, reg: ServiceRegistration): Promise<string[]> {
  const base = admin.authUrl.replace(/\/+$/, '').replace(/\/v3$/, '') + '/v3';
  const token = (await passwordToken({ ...admin, system: true })).id;
  const h = { 'x-auth-token': token };
  const get = async <T>(path: string) => (await request<T>(`${base}${path}`, { headers: h })).body;
  const post = async <T>(path: string, body: unknown) => (await request<T>(`${base}${path}`, { method: 'POST', headers: h, body })).body;
  const done: string[] = [];

  const project = (await get<{ projects: Named[] }>(`/projects?name=${encodeURIComponent(reg.serviceProjectName)}&domain_id=default`)).projects[0];
  if (!project) throw new Error(`the service project "${reg.serviceProjectName}" does not exist; run "alto bootstrap" first`);

  let user = (await get<{ users: Named[] }>(`/users?name=${encodeURIComponent(reg.user.name)}&domain_id=default`)).users[0];
  if (!user) {
    user = (await post<{ user: Named }>('/users', { user: { name: reg.user.name, password: reg.user.password, domain_id: 'default', default_project_id: project.id } })).user;
    done.push(`user ${reg.user.name}`);
  } else {
    // the saved password is the source of truth: make sure the user still has it
    const ok = await passwordToken({ authUrl: base, username: reg.user.name, password: reg.user.password }).then(
      () => true,
      () => false,
    );
    if (!ok) {
      await request(`${base}/users/${user.id}`, { method: 'PATCH', headers: h, body: { user: { password: reg.user.password } } });
      done.push(`password of ${reg.user.name}`);
    }
  }
  const roles = (await get<{ roles: Named[] }>('/roles')).roles;
  const roleId = (name: string) => {
    const r = roles.find((x) => x.name === name);
    if (!r) throw new Error(`role "${name}" does not exist; run "alto bootstrap" first`);
    return r.id;
  };
  for (const role of ['service', 'admin']) {
    if (!roles.some((r) => r.name === role) && role === 'service') {
      const created = (await post<{ role: Named }>('/roles', { role: { name: 'service' } })).role;
      roles.push(created);
      done.push('role service');
    }
    await request(`${base}/projects/${project.id}/users/${user.id}/roles/${roleId(role)}`, { method: 'PUT', headers: h, accept: [204] });
  }
  // system reader: to read unified limits for any project (oslo.limit's requirement)
  await request(`${base}/system/users/${user.id}/roles/${roleId('reader')}`, { method: 'PUT', headers: h, accept: [204] });

  let service = (await get<{ services: (Named & { type: string })[] }>(`/services?type=${encodeURIComponent(reg.type)}`)).services[0];
  if (!service) {
    service = (await post<{ service: Named & { type: string } }>('/services', { service: { type: reg.type, name: reg.name, description: reg.description, enabled: true } })).service;
    done.push(`service ${reg.name}`);
  }
  const endpoints = (await get<{ endpoints: { id: string; interface: string; url: string; region_id: string | null }[] }>(`/endpoints?service_id=${service.id}`)).endpoints;
  for (const iface of ['public', 'internal', 'admin'] as const) {
    const url = reg.urls?.[iface] ?? reg.url;
    const e = endpoints.find((x) => x.interface === iface && x.region_id === reg.regionId);
    if (!e) {
      await post('/endpoints', { endpoint: { service_id: service.id, interface: iface, url, region_id: reg.regionId, enabled: true } });
      done.push(`${iface} endpoint`);
    } else if (e.url !== url) {
      await request(`${base}/endpoints/${e.id}`, { method: 'PATCH', headers: h, body: { endpoint: { url } } });
      done.push(`${iface} endpoint url`);
    }
  }
  return done;
}
