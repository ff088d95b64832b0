// The image service's composition: stores, domain services over one database, the Glance v2
// routes with token auth and policy, the maintenance reconciler, and readiness checks.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { ForbiddenError, policyCredentials, type AltoError, type Cache, type Clock, type RequestContext } from '@alto/kernel';
import { migrationStatus, type Database } from '@alto/db';
import { createAuthenticator, createHttpServer, createValidators, glanceRenderer, mountRoutes, requestBaseUrl, type TokenValidator } from '@alto/http';
import { Enforcer, loadPolicyFile } from '@alto/policy';
import { instrumentHttp, type Logger, type ReadinessCheck, type Runnable } from '@alto/runtime';
import type { ImageConfig } from './config.js';
import type { ImageDB } from './store/schema.js';
import { imageMigrations } from './store/migrations/index.js';
import { imagePolicies } from './policies.js';
import type { Authorizer, ImageCoreDeps, LimitSource, StoreSet } from './domain/deps.js';
import type { Image } from './domain/models.js';
import { ImageNotFound } from './domain/errors.js';
import { ImagesService, imageTarget } from './domain/images.service.js';
import { ImageDataService } from './domain/image-data.service.js';
import { MembersService } from './domain/members.service.js';
import { ImportService, urlFilter } from './domain/import.service.js';
import { ImageMaintenance } from './workers/image-maintenance.js';
import { usageOf } from './store/image.repo.js';
import type { ImageServices } from './services.js';
import { buildSchemas, schemaValidator, type ImageFrame } from './api/common.js';
import { imageRoutes } from './api/images.js';
import { imageDataRoutes } from './api/image-data.js';
import { memberRoutes } from './api/members.js';
import { discoveryRoutes } from './api/discovery.js';
import { metadefRoutes } from './api/metadefs.js';
import { MetadefsService, metadefAuthorizer } from './domain/metadefs.service.js';

export interface ImageDeps {
  config: ImageConfig;
  database: Database<ImageDB>;
  stores: StoreSet;
  /** Validates callers' tokens (keystonemiddleware's job): the identity service over HTTP. */
  validator: TokenValidator;
  /** Shared token-validation cache (oslo.cache), when there is one. */
  cache?: Cache | undefined;
  limits: LimitSource;
  clock: Clock;
  log: Logger;
  metrics: Registry;
  validateResponses?: boolean;
}

export interface ImageApi {
  app: FastifyInstance;
  services: ImageServices;
  maintenance: ImageMaintenance;
  runnables: Runnable[];
  checks: ReadinessCheck[];
}

/** webob's wording for the errors the HTTP frame raises itself. */
const GLANCE_MESSAGES = {
  'auth.no_token':
    'This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.',
  'auth.invalid_token':
    'This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.',
  'http.malformed_json': 'Malformed JSON in request body.',
  'http.route_not_found': 'The resource could not be found.',
  'http.method_not_allowed': (err: AltoError) => `The method ${typeof err.details?.method === 'string' ? err.details.method : ''} is not allowed for this resource.`,
};

export async function createImage(deps: ImageDeps): Promise<ImageApi> {
  const { config, database, clock, log, stores } = deps;
  const overrides = config.oslo_policy.policy_file ? await loadPolicyFile(config.oslo_policy.policy_file) : undefined;
  const enforcer = new Enforcer(imagePolicies, {
    enforceScope: config.oslo_policy.enforce_scope,
    enforceNewDefaults: config.oslo_policy.enforce_new_defaults,
    ...(overrides ? { overrides } : {}),
    onWarning: (m) => log.warn({ policy_file: config.oslo_policy.policy_file }, m),
  });
  const targetOf = (ctx: RequestContext, t: Image | Record<string, unknown>) => ('createdAt' in t && 'locations' in t ? imageTarget(ctx, t as Image) : t);
  const allowed = (rule: string, creds: Record<string, unknown>, target: Record<string, unknown>) => {
    try {
      enforcer.enforce(rule, target, creds);
      return true;
    } catch {
      return false;
    }
  };
  /** Glance's ImageAPIPolicy: a denial on an image the caller cannot even get reads as 404. */
  const enforceOnImage = (rule: string, target: Record<string, unknown>, creds: Record<string, unknown>) => {
    try {
      enforcer.enforce(rule, target, creds);
    } catch (err) {
      const imageId = target.image_id;
      if (typeof imageId === 'string' && (rule === 'get_image' || !allowed('get_image', creds, target))) throw ImageNotFound(imageId);
      if (err instanceof ForbiddenError) throw new ForbiddenError(`You are not authorized to complete ${rule} action.`, 'image.policy');
      throw err;
    }
  };
  const authz: Authorizer = {
    enforce: (rule, ctx, t) => enforceOnImage(rule, targetOf(ctx, t), policyCredentials(ctx)),
    check: (rule, ctx, t) => allowed(rule, policyCredentials(ctx), targetOf(ctx, t)),
  };
  const metadefAuthz = metadefAuthorizer((rule, target, creds) => enforcer.enforce(rule, target, creds));

  const instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const core: ImageCoreDeps = {
    db: database.db,
    clock,
    log,
    stores,
    limits: deps.limits,
    authz,
    config: {
      imageSizeCap: config.default.image_size_cap,
      imageMemberQuota: config.default.image_member_quota,
      imagePropertyQuota: config.default.image_property_quota,
      imageTagQuota: config.default.image_tag_quota,
      diskFormats: config.image_format.disk_formats,
      containerFormats: config.image_format.container_formats,
      enabledImportMethods: config.default.enabled_import_methods,
      uploadLeaseMs: config.default.upload_lease_seconds * 1000,
      requireImageFormatMatch: config.image_format.require_image_format_match,
    },
    instanceId,
    embedded: database.dialect === 'sqlite',
  };
  const images = new ImagesService(core);
  const data = new ImageDataService(core, images);
  const members = new MembersService(core, images);
  const f = config.import_filtering_opts;
  const imports = new ImportService(core, images, urlFilter({
    allowedUrlPatterns: f.allowed_url_patterns,
    allowedSchemes: f.allowed_schemes,
    disallowedSchemes: f.disallowed_schemes,
    allowedHosts: f.allowed_hosts,
    disallowedHosts: f.disallowed_hosts,
    allowedPorts: f.allowed_ports,
    disallowedPorts: f.disallowed_ports,
  }));
  const services: ImageServices = { images, data, members, imports, metadefs: new MetadefsService({ db: database.db, clock, authz: metadefAuthz }) };
  const maintenance = new ImageMaintenance(core, imports, { intervalSeconds: 30 });
  data.kickDeletes = () => maintenance.kick();

  // web-download is listed only when an operator allowed some URLs (see config.ts)
  const importMethods = config.default.enabled_import_methods.filter((m) => m !== 'web-download' || f.allowed_url_patterns.length > 0);
  const schemas = buildSchemas(config.image_format.disk_formats, config.image_format.container_formats);
  const frame: ImageFrame = {
    services,
    limitDefault: config.default.limit_param_default,
    limitMax: config.default.api_limit_max,
    multiStore: stores.multiStore,
    storeIds: [...stores.byId.keys()],
    storeDescriptions: Object.fromEntries(stores.descriptions),
    defaultStore: stores.defaultId,
    importMethods,
    schemas,
    showDirectUrl: config.default.show_image_direct_url,
    validate: schemaValidator(schemas),
  };

  const app = createHttpServer({
    logger: log,
    bodyLimit: config.api.max_request_body_size,
    strictSlashes: true,
    renderer: glanceRenderer({ wwwAuthenticateUri: () => config.keystone_authtoken.www_authenticate_uri ?? config.keystone_authtoken.auth_url ?? '', messages: GLANCE_MESSAGES }),
  });
  const authenticator = createAuthenticator({
    validator: deps.validator,
    clock,
    cache: deps.cache,
    cacheTtlSeconds: config.keystone_authtoken.token_cache_time,
    serviceTokenRoles: config.keystone_authtoken.service_token_roles,
    serviceTokenRolesRequired: config.keystone_authtoken.service_token_roles_required,
    serviceType: config.keystone_authtoken.service_type ?? 'image',
  });
  mountRoutes(
    app,
    [
      ...discoveryRoutes(frame, {
        publicEndpoint: config.api.public_endpoint,
        usage: async (projectId) => {
          const [u, l] = await Promise.all([usageOf(database.db, projectId), deps.limits.limitsOf(projectId)]);
          const MiB = 1024 * 1024;
          return {
            image_size_total: { limit: l.imageSizeTotal ?? -1, usage: Math.ceil(u.sizeTotal / MiB) },
            image_stage_total: { limit: l.imageStageTotal ?? -1, usage: Math.ceil(u.stageTotal / MiB) },
            image_count_total: { limit: l.imageCountTotal ?? -1, usage: u.countTotal },
            image_count_uploading: { limit: l.imageCountUploading ?? -1, usage: u.countUploading },
          };
        },
        storeDetails: async () =>
          [...stores.byId.values()].map((s) => ({
            id: s.id,
            type: s.type,
            ...(stores.descriptions.get(s.id) ? { description: stores.descriptions.get(s.id) } : {}),
            ...(s.id === stores.defaultId ? { default: true } : {}),
            properties: s.properties,
          })),
      }),
      ...imageRoutes(frame),
      ...imageDataRoutes(frame),
      ...memberRoutes(frame),
      ...metadefRoutes(frame),
    ],
    {
      // Glance passes the target flat (ImageTarget), never nested as Keystone does
      enforcer: {
        enforce: (name, target, creds) => {
          const t = (target.target ?? { project_id: creds.project_id ?? null }) as Record<string, unknown>;
          if (name.includes('metadef')) return metadefAuthz.enforceCreds(name, t, creds);
          enforceOnImage(name, t, creds);
        },
      },
      authenticator,
      validators: createValidators(),
      validateResponses: deps.validateResponses ?? false,
    },
  );
  instrumentHttp(app, deps.metrics);

  const checks: ReadinessCheck[] = [
    {
      name: 'image database',
      check: async () => {
        const ms = await database.ping();
        const { pending } = await migrationStatus(database, imageMigrations);
        if (pending.length) throw new Error(`schema is behind: run "alto db sync image" (pending: ${pending.join(', ')})`);
        return `${database.dialect} ${ms.toFixed(1)} ms`;
      },
    },
    {
      name: 'image stores',
      check: async () => {
        const parts: string[] = [];
        for (const s of [...stores.byId.values(), stores.staging]) {
          const c = await s.capacity();
          parts.push(`${s.id} ${(c.freeBytes / 2 ** 30).toFixed(1)} GiB free`);
        }
        return parts.join(', ');
      },
    },
  ];
  const storesRunnable: Runnable = {
    name: 'image-stores',
    async start() {
      for (const s of [...stores.byId.values(), stores.staging]) await s.open();
      // the hash threads start with the first image created (domain/digest.ts warmDigestThreads)
    },
    async stop() {},
  };
  return { app, services, maintenance, runnables: [storesRunnable, maintenance], checks };
}

export { requestBaseUrl };
