// Kysely table types for the identity database (see migrations/ for the DDL).
import type { Generated } from 'kysely';

export const ROOT_DOMAIN_ID = '<<keystone.domain.root>>';
export const NULL_ROLE_DOMAIN = '<<null>>';

export interface ProjectTable {
  id: string;
  name: string;
  domain_id: string;
  parent_id: string | null;
  is_domain: number;
  enabled: number;
  description: string | null;
  extra: string;
  created_at: number;
}

export interface UserTable {
  id: string;
  domain_id: string;
  name: string;
  enabled: number;
  default_project_id: string | null;
  extra: string;
  options: string;
  created_at: number;
  last_active_at: number | null;
  failed_auth_count: Generated<number>;
  failed_auth_at: number | null;
}

export interface PasswordTable {
  id: string;
  user_id: string;
  password_hash: string;
  created_at: number;
  expires_at: number | null;
  self_service: number;
}

export interface RoleTable {
  id: string;
  name: string;
  domain_id: string;
  description: string | null;
  extra: string;
  options: string;
}

export interface ImpliedRoleTable {
  prior_role_id: string;
  implied_role_id: string;
}

export type AssignmentType = 'UserProject' | 'UserDomain' | 'GroupProject' | 'GroupDomain' | 'UserSystem' | 'GroupSystem';

export interface AssignmentTable {
  type: AssignmentType;
  actor_id: string;
  target_id: string;
  role_id: string;
  inherited: number;
}

export interface RegionTable {
  id: string;
  description: string;
  parent_region_id: string | null;
  extra: string;
}

export interface ServiceTable {
  id: string;
  type: string;
  enabled: number;
  extra: string;
}

export interface EndpointTable {
  id: string;
  interface: string;
  service_id: string;
  region_id: string | null;
  url: string;
  enabled: number;
  extra: string;
}

export interface RevocationEventTable {
  id: string;
  domain_id: string | null;
  project_id: string | null;
  user_id: string | null;
  role_id: string | null;
  trust_id: string | null;
  consumer_id: string | null;
  access_token_id: string | null;
  issued_before: number;
  expires_at: number | null;
  revoked_at: number;
  audit_id: string | null;
  audit_chain_id: string | null;
}

export interface IdentityDB {
  project: ProjectTable;
  user: UserTable;
  password: PasswordTable;
  role: RoleTable;
  implied_role: ImpliedRoleTable;
  assignment: AssignmentTable;
  region: RegionTable;
  service: ServiceTable;
  endpoint: EndpointTable;
  revocation_event: RevocationEventTable;
}
