// The identity service's domain services, built together (see plugin.ts).
import type { AuthService } from './domain/auth.service.js';
import type { ApplicationCredentialsService } from './domain/application-credentials.service.js';
import type { TrustsService } from './domain/trusts.service.js';
import type { CatalogService } from './domain/catalog.service.js';
import type { CredentialsService } from './domain/credentials.service.js';
import type { OAuth1Service } from './domain/oauth1.service.js';
import type { DomainConfigService } from './domain/domain-config.service.js';
import type { LimitsService } from './domain/limits.service.js';
import type { PoliciesService } from './domain/policies.service.js';
import type { EndpointFilterService } from './domain/endpoint-filter.service.js';
import type { GroupsService } from './domain/groups.service.js';
import type { ResourceService } from './domain/resource.service.js';
import type { RevocationService } from './domain/revocation.service.js';
import type { RolesService } from './domain/roles.service.js';
import type { TokensService } from './domain/tokens.service.js';
import type { UsersService } from './domain/users.service.js';

export interface IdentityServices {
  resources: ResourceService;
  users: UsersService;
  roles: RolesService;
  catalog: CatalogService;
  revocations: RevocationService;
  tokens: TokensService;
  auth: AuthService;
  credentials: CredentialsService;
  oauth1: OAuth1Service;
  limits: LimitsService;
  policies: PoliciesService;
  endpointFilter: EndpointFilterService;
  groups: GroupsService;
  domainConfigs: DomainConfigService;
  applicationCredentials: ApplicationCredentialsService;
  trusts: TrustsService;
}
