// The identity service's composition: domain services over one database, the Keystone v3 API
// routes, the bus-driven cache invalidation between replicas, and readiness checks.
import { availableParallelism, hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Bus, Subscription } from '@alto/bus';
import { policyCredentials, type Clock } from '@alto/kernel';
import { migrationStatus, type Database } from '@alto/db';
import { createAuthenticator, createHttpServer, createValidators, keystoneRenderer, mountRoutes, requestBaseUrl, type AnyRoute } from '@alto/http';
import { Enforcer, flattenTarget, loadPolicyFile } from '@alto/policy';
import { instrumentHttp, type Logger, type ReadinessCheck, type Runnable } from '@alto/runtime';
import type { IdentityConfig } from './config.js';
import type { IdentityDB } from './store/schema.js';
import { identityMigrations } from './store/migrations/index.js';
import { identityPolicies } from './policies.js';
import { KeyRepositoryReader } from './crypto/key-repository.js';
import { TokenFormatter } from './crypto/token-formatter.js';
import { PasswordHasher as BoundedHasher, type PasswordPolicy } from './crypto/passwords.js';
import { Notifier } from './domain/notifications.js';
import type { CoreDeps, Invalidator } from './domain/deps.js';
import { ResourceService } from './domain/resource.service.js';
import { DomainConfigService, LDAP_DEFAULTS } from './domain/domain-config.service.js';
import { UsersService, type PasswordHasher } from './domain/users.service.js';
import { RolesService } from './domain/roles.service.js';
import { CatalogService } from './domain/catalog.service.js';
import { LimitsService } from './domain/limits.service.js';
import { PoliciesService } from './domain/policies.service.js';
import { EndpointFilterService } from './domain/endpoint-filter.service.js';
import { RevocationService } from './domain/revocation.service.js';
import { TokensService, toAuthContext } from './domain/tokens.service.js';
import { AuthService } from './domain/auth.service.js';
import { ApplicationCredentialsService } from './domain/application-credentials.service.js';
import { TrustsService } from './domain/trusts.service.js';
import { CredentialsService } from './domain/credentials.service.js';
import { OAuth1Service } from './domain/oauth1.service.js';
import { credentialCipherFor } from './crypto/credential-cipher.js';
import { bootstrap, type BootstrapInput, type BootstrapResult } from './domain/bootstrap.js';
import type { IdentityServices } from './services.js';
import { tokenCredentials, type Frame } from './api/common.js';
import { versionRoutes } from './api/versions.js';
import { authRoutes } from './api/auth.js';
import { domainRoutes } from './api/domains.js';
import { projectRoutes } from './api/projects.js';
import { domainConfigRoutes } from './api/domain-config.js';
import { userRoutes } from './api/users.js';
import { roleRoutes } from './api/roles.js';
import { grantRoutes } from './api/grants.js';
import { roleAssignmentRoutes } from './api/role-assignments.js';
import { groupRoutes } from './api/groups.js';
import { GroupsService } from './domain/groups.service.js';
import { catalogRoutes } from './api/catalog.js';
import { limitRoutes } from './api/limits.js';
import { policyRoutes } from './api/policies.js';
import { endpointFilterRoutes } from './api/endpoint-filter.js';
import { revokeRoutes } from './api/revoke.js';
import { credentialRoutes } from './api/credentials.js';
import { ec2Routes } from './api/ec2.js';
import { oauth1Routes } from './api/oauth1.js';
import { applicationCredentialRoutes } from './api/application-credentials.js';
import { trustRoutes } from './api/trusts.js';

export interface IdentityDeps {
  config: IdentityConfig;
  database: Database<IdentityDB>;
  bus: Bus;
  clock: Clock;
  log: Logger;
  metrics: Registry;
  /** Check every answer against its schema (tests). */
  validateResponses?: boolean;
}

export interface Identity {
  app: FastifyInstance;
  services: IdentityServices;
  /** Background work: cache invalidation between replicas and the revocation refresh. */
  runnable: Runnable;
  checks: ReadinessCheck[];
  bootstrap(input: BootstrapInput): Promise<BootstrapResult>;
  /** Waits for notifications and invalidation broadcasts in flight; call before closing the bus. */
  drain(): Promise<void>;
}

/** Keystone's wording for the errors the HTTP frame raises itself. */
const KEYSTONE_MESSAGES = {
  'http.malformed_json': 'Expecting to find valid JSON in request body. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.',
  'http.not_object': 'Expecting to find valid JSON in request body. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.',
  'http.bad_content_type': 'Expecting to find application/json in Content-Type header. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.',
  'http.body_too_large': 'Request is too large.',
};

/**
 * Changes to identity data make cached token validations and catalogs stale. The generation
 * counter is bumped here and on every replica through a fanout cast; a replica that misses a
 * message still re-reads revocations every refresh interval.
 */
/** The fanout topic identity tells about changes on; other services listen to forget cached validations. */
export const IDENTITY_SYNC_TOPIC = 'identity-sync';

class BusInvalidator implements Invalidator {
  generation = 0;
  readonly origin = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly bus: Bus;
  private readonly log: Logger;
  constructor(bus: Bus, log: Logger) {
    this.bus = bus;
    this.log = log;
  }
  private readonly inFlight = new Set<Promise<void>>();
  invalidate(reason: string): void {
    this.generation++;
    const p = this.bus
      .cast({ topic: IDENTITY_SYNC_TOPIC, fanout: true }, 'invalidate', { origin: this.origin, reason })
      .catch((err: unknown) => {
        this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not tell other identity replicas to invalidate');
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
  peerInvalidated(): void {
    this.generation++;
  }
}

export function passwordPolicyOf(config: IdentityConfig): Partial<PasswordPolicy> {
  return {
    algorithm: config.identity.password_hash_algorithm,
    ...(config.identity.password_hash_rounds !== undefined ? { rounds: config.identity.password_hash_rounds } : {}),
    maxPasswordLength: config.identity.max_password_length,
  };
}

/** Every Keystone v3 route this service serves, in mount order. */
export function identityRoutes(services: IdentityServices, frame: Frame): AnyRoute[] {
  return [
    ...versionRoutes(frame),
    ...authRoutes(services, frame),
    ...domainRoutes(services, frame),
    ...projectRoutes(services, frame),
    ...domainConfigRoutes(services, frame),
    ...userRoutes(services, frame),
    ...roleRoutes(services, frame),
    ...grantRoutes(services, frame),
    ...roleAssignmentRoutes(services, frame),
    ...groupRoutes(services, frame),
    ...catalogRoutes(services, frame),
    ...limitRoutes(services, frame),
    ...policyRoutes(services, frame),
    ...endpointFilterRoutes(services, frame),
    ...revokeRoutes(services, frame),
    ...credentialRoutes(services, frame),
    ...ec2Routes(services, frame),
    ...oauth1Routes(services, frame),
    ...applicationCredentialRoutes(services, frame),
    ...trustRoutes(services, frame),
  ];
}

export async function createIdentity(deps: IdentityDeps): Promise<Identity> {
  const { config, database, bus, clock, log } = deps;
  const invalidator = new BusInvalidator(bus, log);
  const notifier = new Notifier({ bus, clock, log, host: hostname(), observerId: () => catalog.identityServiceId() });
  const core: CoreDeps = { db: database.db, clock, log, notifier, invalidator, defaultDomainId: config.identity.default_domain_id };

  // Slow hashes share libuv's thread pool with file I/O: run at most one per core at a time.
  const hasher: PasswordHasher = new BoundedHasher({ policy: passwordPolicyOf(config), maxConcurrent: Math.max(1, availableParallelism()) });
  const keys = new KeyRepositoryReader({
    path: config.fernet_tokens.key_repository,
    clock,
    onWarning: (m) => log.warn({ key_repository: config.fernet_tokens.key_repository }, m),
    onReloadError: (e) => log.error({ err: e.message }, 'fernet key repository could not be re-read; keeping the keys already loaded'),
  });
  const formatter = new TokenFormatter({ keys, clock, defaultDomainId: config.identity.default_domain_id });

  const retentionMs = (config.token.expiration + config.token.allow_expired_window) * 1000;
  const revocations = new RevocationService(core, retentionMs);
  const resources = new ResourceService(core, { revocations, maxProjectTreeDepth: config.default.max_project_tree_depth, enforcementModel: config.unified_limit.enforcement_model });
  const users = new UsersService(core, resources, hasher, { revocations, securityCompliance: config.security_compliance });
  const roles = new RolesService(core);
  const groups = new GroupsService(core, { resources, users, revocations });
  const catalog = new CatalogService(core, { returnAllEndpointsIfNoFilter: config.endpoint_filter.return_all_endpoints_if_no_filter });
  const limits = new LimitsService(core, { catalog, resources }, config.unified_limit.enforcement_model);
  const policies = new PoliciesService(core, { catalog });
  const endpointFilter = new EndpointFilterService(core, { catalog, resources });
  const applicationCredentials = new ApplicationCredentialsService(core, { users, roles, resources, hasher }, { userLimit: config.application_credential.user_limit });
  const trusts = new TrustsService(core, { users, roles, resources, revocations }, { maxRedelegationCount: config.trust.max_redelegation_count });
  const oauth1 = new OAuth1Service(core, { resources, roles }, { requestTokenDuration: config.oauth1.request_token_duration, accessTokenDuration: config.oauth1.access_token_duration });
  const tokens = new TokensService(core, { formatter, keys, resources, users, roles, revocations, trusts, applicationCredentials, oauth1 }, {
    expiration: config.token.expiration,
    allowExpiredWindow: config.token.allow_expired_window,
    cacheEntries: config.token.cache_entries,
  });
  const auth = new AuthService(core, { resources, users, roles, tokens, trusts, applicationCredentials, oauth1 }, { allowRescopeScopedToken: config.token.allow_rescope_scoped_token });
  const cipher = credentialCipherFor(config.credential.key_repository, clock, (m) => log.warn({ key_repository: config.credential.key_repository }, m));
  const credentials = new CredentialsService(core, { cipher, resources, users, tokens }, { userLimit: config.credential.user_limit, authTtlMinutes: config.credential.auth_ttl });
  const domainConfigs = new DomainConfigService(core, resources, { defaults: { identity: { driver: 'sql', list_limit: null }, ldap: LDAP_DEFAULTS }, securityCompliance: config.security_compliance });
  const services: IdentityServices = { resources, users, roles, catalog, revocations, tokens, auth, credentials, oauth1, limits, policies, endpointFilter, groups, domainConfigs, applicationCredentials, trusts };

  const overrides = config.oslo_policy.policy_file ? await loadPolicyFile(config.oslo_policy.policy_file) : undefined;
  const enforcer = new Enforcer(identityPolicies, {
    enforceScope: config.oslo_policy.enforce_scope,
    enforceNewDefaults: config.oslo_policy.enforce_new_defaults,
    ...(overrides ? { overrides } : {}),
    onWarning: (m) => log.warn({ policy_file: config.oslo_policy.policy_file }, m),
  });

  const frame: Frame = {
    publicEndpoint: config.api.public_endpoint,
    listLimit: config.default.list_limit,
    // the same target flattening and credentials as a route's own check (mountRoutes below)
    enforce: (name, target, ctx) => enforcer.enforce(name, flattenTarget(target), { ...policyCredentials(ctx), ...tokenCredentials(ctx) }),
  };
  const app = createHttpServer({
    logger: log,
    bodyLimit: config.api.max_request_body_size,
    jsonOnly: true,
    renderer: keystoneRenderer({ wwwAuthenticateUri: (req) => `${requestBaseUrl(req, config.api.public_endpoint)}/v3`, messages: KEYSTONE_MESSAGES }),
  });
  // Keystone's answers depend on the caller's token; caches must key on it
  app.addHook('onSend', async (_req, reply) => {
    void reply.header('vary', 'X-Auth-Token');
  });
  // keystone's own auth context middleware is keystonemiddleware with service_type identity
  const authenticator = createAuthenticator({
    validator: { validate: async (t, o) => toAuthContext(await tokens.validate(t, { allowExpired: o?.allowExpired === true })) },
    clock,
    serviceType: 'identity',
  });
  mountRoutes(
    app,
    identityRoutes(services, frame),
    {
      // Keystone flattens the policy dict ({"target": {"project": {...}}} -> "target.project.id")
      enforcer: { enforce: (name, target, creds) => enforcer.enforce(name, flattenTarget(target), creds) },
      authenticator,
      validators: createValidators(),
      validateResponses: deps.validateResponses ?? false,
    },
  );
  instrumentHttp(app, deps.metrics);

  /** Waits for notifications and invalidation broadcasts still being sent. */
  const drain = async () => {
    await notifier.drain();
    await invalidator.drain();
  };
  let sync: Subscription | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const runnable: Runnable = {
    name: 'identity-sync',
    async start() {
      // The database may not be migrated yet (db-sync runs beside us in Kubernetes): keep the
      // process up with /readyz saying why, and read the revocation list as soon as it can be.
      const warm = async () => {
        await revocations.load();
        await catalog.catalogFor(undefined, ''); // so CADF events carry the observer id
      };
      await warm().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'identity data not readable yet; retrying'));
      sync = await bus.serve(
        { topic: IDENTITY_SYNC_TOPIC, server: invalidator.origin },
        {
          invalidate: async (args) => {
            if (args.origin === invalidator.origin) return;
            invalidator.peerInvalidated();
            await revocations.refresh();
          },
        },
      );
      // re-read revocations every 30 s (every 2 s until the first read succeeds)
      const tick = () => {
        timer = setTimeout(() => {
          (revocations.ready ? revocations.refresh() : warm())
            .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'revocation refresh failed'))
            .finally(() => {
              if (!stopped) tick();
            });
        }, revocations.ready ? 30_000 : 2_000);
        timer.unref();
      };
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await sync?.stop();
      await drain();
    },
  };

  const checks: ReadinessCheck[] = [
    {
      name: 'database',
      check: async () => {
        const ms = await database.ping();
        const { pending } = await migrationStatus(database, identityMigrations);
        if (pending.length) throw new Error(`schema is behind: run "alto db sync identity" (pending: ${pending.join(', ')})`);
        return `${database.dialect} ${ms.toFixed(1)} ms`;
      },
    },
    { name: 'bus', check: async () => `${bus.transport} round trip ${(await bus.ping({ timeoutMs: 3000 })).toFixed(1)} ms` },
    {
      name: 'revocation list',
      check: async () => {
        if (!revocations.ready) throw new Error('not loaded yet');
        return `${revocations.list().length} events`;
      },
    },
    {
      name: 'fernet keys',
      check: async () => {
        const k = await keys.keys();
        return `${k.length} keys`;
      },
    },
  ];

  return {
    app,
    services,
    runnable,
    checks,
    bootstrap: (input) => bootstrap(core, { resources, users, roles, catalog }, input),
    drain,
  };
}

