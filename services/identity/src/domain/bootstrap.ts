// keystone-manage bootstrap, idempotent: the default domain, admin and service projects, the
// admin user, the default roles and their implications, the region and the identity endpoints.
import type { EndpointInterface } from './models.js';
import type { CoreDeps } from './deps.js';
import type { ResourceService } from './resource.service.js';
import type { UsersService } from './users.service.js';
import type { RolesService } from './roles.service.js';
import type { CatalogService } from './catalog.service.js';

export interface BootstrapInput {
  adminUsername: string;
  /** Set the admin's password: always on creation, and reset when it no longer matches. */
  adminPassword: string;
  adminProjectName: string;
  serviceProjectName: string;
  regionId: string;
  serviceName: string;
  publicUrl: string;
  internalUrl: string;
  adminUrl: string;
}

export interface BootstrapResult {
  created: string[];
  adminUserId: string;
  adminProjectId: string;
}

/**
 * Upstream's default roles (Keystone 2024.x): admin implies manager implies member implies
 * reader; service stands apart for service accounts.
 */
export const DEFAULT_ROLES = ['reader', 'member', 'manager', 'admin', 'service'] as const;
export const DEFAULT_IMPLICATIONS: [string, string][] = [
  ['member', 'reader'],
  ['manager', 'member'],
  ['admin', 'manager'],
];

export async function bootstrap(
  deps: CoreDeps,
  s: { resources: ResourceService; users: UsersService; roles: RolesService; catalog: CatalogService },
  input: BootstrapInput,
): Promise<BootstrapResult> {
  const created: string[] = [];
  const domainId = deps.defaultDomainId;

  if (!(await s.resources.getDomainOrThrow(domainId).catch(() => undefined))) {
    await s.resources.createDomain({ id: domainId, name: 'Default', description: 'The default domain', enabled: true }, undefined);
    created.push(`domain Default (${domainId})`);
  }

  const caller = { ctx: { requestId: 'bootstrap', roles: [], serviceRoles: [], isAdminProject: false }, initiator: {} };
  const ensureProject = async (name: string, description: string) => {
    const found = await s.resources.findProjectByName(domainId, name);
    if (found) return found;
    created.push(`project ${name}`);
    return s.resources.createProject({ name, domainId, description }, caller);
  };
  const adminProject = await ensureProject(input.adminProjectName, 'Bootstrap project for initializing the cloud.');
  await ensureProject(input.serviceProjectName, 'Service accounts of the cloud services.');

  let admin = await s.users.findUserByName(domainId, input.adminUsername);
  if (!admin) {
    admin = await s.users.createUser({ name: input.adminUsername, domainId, password: input.adminPassword, enabled: true }, undefined);
    created.push(`user ${input.adminUsername}`);
  } else {
    if (!(await s.users.passwordUsable(admin, input.adminPassword))) {
      await s.users.updateUser(admin.id, { password: input.adminPassword }, caller);
      created.push(`password of ${input.adminUsername} reset`);
    }
    if (!admin.enabled) await s.users.updateUser(admin.id, { enabled: true }, caller);
  }

  const roleIds = new Map<string, string>();
  for (const name of DEFAULT_ROLES) {
    const existing = (await s.roles.listRoles({ name }))[0];
    if (existing) {
      roleIds.set(name, existing.id);
      continue;
    }
    const role = await s.roles.createRole({ name, options: { immutable: true } }, undefined);
    roleIds.set(name, role.id);
    created.push(`role ${name}`);
  }
  const existingRules = new Set((await s.roles.listImplications()).flatMap((r) => r.implies.map((i) => `${r.prior.id}>${i.id}`)));
  for (const [prior, implied] of DEFAULT_IMPLICATIONS) {
    const p = roleIds.get(prior)!;
    const i = roleIds.get(implied)!;
    if (existingRules.has(`${p}>${i}`)) continue;
    await s.roles.createImpliedRole(p, i, undefined);
    created.push(`${prior} implies ${implied}`);
  }

  const adminRole = roleIds.get('admin')!;
  for (const scope of [{ project: adminProject.id }, { system: 'all' as const }]) {
    const grant = { roleId: adminRole, actor: { user: admin.id }, scope };
    const exists = await s.roles.checkGrant(grant).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await s.roles.createGrant(grant, caller);
      created.push('project' in scope ? `admin role on ${input.adminProjectName}` : 'admin role on the system');
    }
  }

  if (!(await s.catalog.getRegionOrThrow(input.regionId).catch(() => undefined))) {
    await s.catalog.createRegion({ id: input.regionId }, undefined);
    created.push(`region ${input.regionId}`);
  }
  let service = (await s.catalog.listServices({ type: 'identity' }))[0];
  if (!service) {
    service = await s.catalog.createService({ type: 'identity', enabled: true, extra: { name: input.serviceName } }, undefined);
    created.push(`service ${input.serviceName} (identity)`);
  }
  const endpoints = await s.catalog.listEndpoints({ serviceId: service.id });
  const wanted: [EndpointInterface, string][] = [
    ['public', input.publicUrl],
    ['internal', input.internalUrl],
    ['admin', input.adminUrl],
  ];
  for (const [iface, url] of wanted) {
    const e = endpoints.find((x) => x.interface === iface && x.regionId === input.regionId);
    if (!e) {
      await s.catalog.createEndpoint({ interface: iface, serviceId: service.id, regionId: input.regionId, url }, undefined);
      created.push(`${iface} endpoint ${url}`);
    } else if (e.url !== url) {
      await s.catalog.updateEndpoint(e.id, { url }, caller);
      created.push(`${iface} endpoint moved to ${url}`);
    }
  }
  deps.invalidator.invalidate('bootstrap');
  return { created, adminUserId: admin.id, adminProjectId: adminProject.id };
}
