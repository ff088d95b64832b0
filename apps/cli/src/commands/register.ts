// `alto register <service>`: a service's user, roles, catalog entry and endpoints in the identity service, over its API (a Kubernetes Job after bootstrap).
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AltoError, ServiceUnavailableError, ValidationError } from '@alto/kernel';
import { blockStorageUrl, identityUrl, imageUrl, loadAltoConfig, type AltoConfig, type ConfigSources } from '../config.js';
import { registerService, type ServiceRegistration } from '../register.js';
import { progress } from '../progress.js';

export const REGISTRABLE = ['image', 'block-storage'] as const;

export interface RegisterOptions {
  adminPasswordFile?: string;
  publicUrl?: string;
  internalUrl?: string;
  adminUrl?: string;
  /** Seconds to keep retrying while the identity service is unreachable or not bootstrapped yet; 0: fail at once. */
  wait?: number;
}

/** How often a waiting registration tries again: quick enough for a Job, slow enough not to load a starting API. */
const RETRY_MS = 3000;

/** Where the admin logs in: the identity URL the service itself validates tokens against. */
export function registrationAuthUrl(config: AltoConfig, service = 'image'): string {
  const section = service === 'block-storage' ? config.block_storage : config.image;
  return section.keystone_authtoken.auth_url ?? `${identityUrl(config)}/v3`;
}

/**
 * The image service's registration, as `alto up` makes it: user `glance` (keystone_authtoken's
 * username) in keystone_authtoken's project, catalog type image. Endpoints default to
 * image.api.public_endpoint (or the bind address) for all three interfaces.
 */
export function imageRegistration(config: AltoConfig, urls: Pick<RegisterOptions, 'publicUrl' | 'internalUrl' | 'adminUrl'> = {}): ServiceRegistration {
  const ka = config.image.keystone_authtoken;
  if (!ka.password) {
    throw new ValidationError('the image service user\'s password is needed: set image.keystone_authtoken.password (ALTO_IMAGE__KEYSTONE_AUTHTOKEN__PASSWORD)', 'cli.no_service_password');
  }
  const url = urls.publicUrl ?? imageUrl(config);
  return {
    type: 'image',
    name: 'glance',
    description: 'Glance Image Service',
    url,
    urls: { public: url, ...(urls.internalUrl ? { internal: urls.internalUrl } : {}), ...(urls.adminUrl ? { admin: urls.adminUrl } : {}) },
    regionId: config.bootstrap.region_id,
    user: { name: ka.username ?? 'glance', password: ka.password },
    // the project the service authenticates in (keystone_authtoken), which bootstrap creates as its service project
    serviceProjectName: ka.project_name,
  };
}

/**
 * The block storage service's registrations, as DevStack makes them: user `cinder`, catalog
 * types `block-storage` (cinder) and `volumev3` (cinderv3), endpoints `<url>/v3/$(project_id)s`.
 */
export function blockStorageRegistrations(config: AltoConfig, urls: Pick<RegisterOptions, 'publicUrl' | 'internalUrl' | 'adminUrl'> = {}): ServiceRegistration[] {
  const ka = config.block_storage.keystone_authtoken;
  if (!ka.password) {
    throw new ValidationError("the block storage service user's password is needed: set block_storage.keystone_authtoken.password (ALTO_BLOCK_STORAGE__KEYSTONE_AUTHTOKEN__PASSWORD)", 'cli.no_service_password');
  }
  const v3 = (u: string) => `${u.replace(/\/+$/, '')}/v3/$(project_id)s`;
  const url = v3(urls.publicUrl ?? blockStorageUrl(config));
  const per = { public: url, ...(urls.internalUrl ? { internal: v3(urls.internalUrl) } : {}), ...(urls.adminUrl ? { admin: v3(urls.adminUrl) } : {}) };
  const common = { url, urls: per, regionId: config.bootstrap.region_id, user: { name: ka.username ?? 'cinder', password: ka.password }, serviceProjectName: ka.project_name };
  return [
    { type: 'block-storage', name: 'cinder', description: 'Cinder Volume Service', ...common },
    { type: 'volumev3', name: 'cinderv3', description: 'Cinder Volume Service V3', ...common },
  ];
}

/** What `alto register <service>` registers. */
export function registrationsOf(service: string, config: AltoConfig, urls: Pick<RegisterOptions, 'publicUrl' | 'internalUrl' | 'adminUrl'> = {}): ServiceRegistration[] {
  return service === 'block-storage' ? blockStorageRegistrations(config, urls) : [imageRegistration(config, urls)];
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function registerCommand(service: string, sources: ConfigSources, opts: RegisterOptions): Promise<string[]> {
  if (!(REGISTRABLE as readonly string[]).includes(service)) throw new ValidationError(`unknown service "${service}"; known: ${REGISTRABLE.join(', ')}`, 'cli.unknown_service');
  const config = loadAltoConfig(sources);
  const password = opts.adminPasswordFile ? readFileSync(opts.adminPasswordFile, 'utf8').trim() : process.env.ALTO_ADMIN_PASSWORD;
  if (!password) throw new ValidationError('the admin password is needed: set ALTO_ADMIN_PASSWORD or pass --admin-password-file', 'cli.no_admin_password');
  const wait = opts.wait ?? 0;
  if (!Number.isFinite(wait) || wait < 0) throw new ValidationError(`--wait must be a number of seconds, not "${String(opts.wait)}"`, 'cli.bad_wait');
  const regs = registrationsOf(service, config, opts);
  const authUrl = registrationAuthUrl(config, service);
  const admin = { authUrl, username: config.bootstrap.admin_username, password, projectName: config.bootstrap.admin_project_name };
  const p = progress();
  p.info(`Registering ${regs.map((r) => `${r.name} (${r.type})`).join(' and ')} with the identity service at ${authUrl}`);

  const deadline = performance.now() + wait * 1000;
  let lastReason: string | undefined;
  const attempt = async (reg: ServiceRegistration): Promise<string[]> => {
    // Level-based: every attempt re-reads what exists and adds what is missing, so retrying a
    // half-done registration is safe. Until bootstrap has run (or while identity-api starts)
    // the attempt fails with the reason, which is shown once per change.
    for (;;) {
      try {
        return await registerService(admin, reg);
      } catch (err) {
        if (err instanceof ValidationError || performance.now() + RETRY_MS > deadline) {
          if (err instanceof AltoError && err.kind !== 'internal') throw err;
          throw new ServiceUnavailableError(`registering ${reg.name} at ${authUrl}: ${messageOf(err)}`, 'cli.register_failed', { cause: err });
        }
        const reason = messageOf(err);
        if (reason !== lastReason) p.info(`  … not yet (${reason}); retrying every ${RETRY_MS / 1000} s for up to ${wait} s`);
        lastReason = reason;
        await sleep(RETRY_MS);
      }
    }
  };
  const done: string[] = [];
  for (const reg of regs) {
    done.push(...(await p.step(`${reg.type} service ${reg.name}: user ${reg.user.name}, catalog entry, endpoints in ${reg.regionId}`, () => attempt(reg), (d) => (d.length ? d.join(', ') : 'up to date'))));
  }
  const reg = regs[0]!;
  const urls = { public: reg.url, internal: reg.urls?.internal ?? reg.url, admin: reg.urls?.admin ?? reg.url };
  const next =
    service === 'block-storage'
      ? 'Next: start volume-api, volume-scheduler and volume-worker (alto serve ...) with the same keystone_authtoken settings; then\n  openstack volume list          (as any user of the cloud)'
      : 'Next: start the image API (alto serve image-api) with the same keystone_authtoken settings; then\n  openstack image list          (as any user of the cloud)';
  p.info(`
Endpoints: public ${urls.public}, internal ${urls.internal}, admin ${urls.admin}
${next}`);
  return done;
}
