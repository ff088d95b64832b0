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

export interface GroupTable {
  id: string;
  domain_id: string;
  name: string;
  description: string | null;
  extra: string;
}

export interface UserGroupMembershipTable {
  user_id: string;
  group_id: string;
}

export interface ProjectTagTable {
  project_id: string;
  name: string;
}

export interface DomainConfigTable {
  domain_id: string;
  group: string;
  option: string;
  /** JSON. */
  value: string;
  sensitive: number;
}

export interface ApplicationCredentialTable {
  id: string;
  name: string;
  secret_hash: string;
  description: string | null;
  user_id: string;
  project_id: string | null;
  system: string | null;
  expires_at: number | null;
  unrestricted: number;
  created_at: number;
}

export interface ApplicationCredentialRoleTable {
  application_credential_id: string;
  role_id: string;
}

export interface AccessRuleTable {
  id: string;
  user_id: string;
  service: string;
  path: string;
  method: string;
}

export interface ApplicationCredentialAccessRuleTable {
  application_credential_id: string;
  access_rule_id: string;
}

export interface TrustTable {
  id: string;
  trustor_user_id: string;
  trustee_user_id: string;
  project_id: string | null;
  impersonation: number;
  expires_at: number | null;
  remaining_uses: number | null;
  redelegated_trust_id: string | null;
  redelegation_count: number | null;
  deleted_at: number | null;
  created_at: number;
  extra: string;
}

export interface TrustRoleTable {
  trust_id: string;
  role_id: string;
}

export interface CredentialTable {
  id: string;
  user_id: string;
  project_id: string | null;
  type: string;
  encrypted_blob: string;
  key_hash: string;
  extra: string;
  created_at: number;
}

export interface RegisteredLimitTable {
  id: string;
  service_id: string;
  region_id: string | null;
  /** region_id or '' (unique key). */
  region_key: string;
  resource_name: string;
  default_limit: number;
  description: string | null;
}

export interface ProjectLimitTable {
  id: string;
  project_id: string | null;
  domain_id: string | null;
  /** project_id or domain_id (unique key). */
  target_key: string;
  registered_limit_id: string;
  resource_limit: number;
  description: string | null;
}

export interface PolicyTable {
  id: string;
  type: string;
  blob: string;
  extra: string;
}

export interface PolicyAssociationTable {
  id: string;
  policy_id: string;
  endpoint_id: string | null;
  service_id: string | null;
  region_id: string | null;
  /** `${endpoint_id ?? ''}|${service_id ?? ''}|${region_id ?? ''}` (unique key). */
  target_key: string;
}

export interface EndpointGroupTable {
  id: string;
  name: string;
  description: string | null;
  /** JSON object of endpoint attributes to match. */
  filters: string;
}

export interface ProjectEndpointTable {
  endpoint_id: string;
  project_id: string;
}

export interface ProjectEndpointGroupTable {
  endpoint_group_id: string;
  project_id: string;
}

export interface ConsumerTable {
  id: string;
  description: string | null;
  secret: string;
  extra: string;
}

export interface RequestTokenTable {
  id: string;
  request_secret: string;
  verifier: string | null;
  authorizing_user_id: string | null;
  requested_project_id: string;
  /** JSON array. */
  role_ids: string | null;
  consumer_id: string;
  expires_at: number | null;
}

export interface AccessTokenTable {
  id: string;
  access_secret: string;
  authorizing_user_id: string;
  project_id: string;
  /** JSON array. */
  role_ids: string;
  consumer_id: string;
  expires_at: number | null;
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
  group: GroupTable;
  user_group_membership: UserGroupMembershipTable;
  project_tag: ProjectTagTable;
  domain_config: DomainConfigTable;
  application_credential: ApplicationCredentialTable;
  application_credential_role: ApplicationCredentialRoleTable;
  access_rule: AccessRuleTable;
  application_credential_access_rule: ApplicationCredentialAccessRuleTable;
  trust: TrustTable;
  trust_role: TrustRoleTable;
  credential: CredentialTable;
  registered_limit: RegisteredLimitTable;
  project_limit: ProjectLimitTable;
  policy: PolicyTable;
  policy_association: PolicyAssociationTable;
  endpoint_group: EndpointGroupTable;
  project_endpoint: ProjectEndpointTable;
  project_endpoint_group: ProjectEndpointGroupTable;
  consumer: ConsumerTable;
  request_token: RequestTokenTable;
  access_token: AccessTokenTable;
}
