// The identity service's domain services, built together (see plugin.ts).
import type { AuthService } from './domain/auth.service.js';
import type { CatalogService } from './domain/catalog.service.js';
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
}
