// RequestContext: who is calling and with what scope, as keystonemiddleware and oslo.context see it.
export interface RequestContext {
  requestId: string;
  /** The caller's request id when it sent one in oslo's format (X-OpenStack-Request-ID). */
  globalRequestId?: string | undefined;
  authToken?: string | undefined;
  userId?: string | undefined;
  userName?: string | undefined;
  userDomainId?: string | undefined;
  userDomainName?: string | undefined;
  projectId?: string | undefined;
  projectName?: string | undefined;
  projectDomainId?: string | undefined;
  projectDomainName?: string | undefined;
  /** Set for domain-scoped tokens. */
  domainId?: string | undefined;
  domainName?: string | undefined;
  /** `all` for system-scoped tokens. */
  systemScope?: 'all' | undefined;
  roles: string[];
  isAdminProject: boolean;
  serviceUserId?: string | undefined;
  serviceUserDomainId?: string | undefined;
  serviceProjectId?: string | undefined;
  serviceProjectDomainId?: string | undefined;
  serviceRoles: string[];
  applicationCredentialId?: string | undefined;
  trustId?: string | undefined;
  authMethods?: string[] | undefined;
  auditIds?: string[] | undefined;
  tokenExpiresAt?: Date | undefined;
}

/** A context for work the system does on its own behalf (workers, bootstrap). */
export function systemContext(requestId: string): RequestContext {
  return { requestId, roles: [], serviceRoles: [], isAdminProject: false };
}

/** oslo.context's to_policy_values(): the credentials dict policy rules are checked against. */
export function policyCredentials(ctx: RequestContext): Record<string, unknown> {
  return {
    user_id: ctx.userId ?? null,
    user_domain_id: ctx.userDomainId ?? null,
    system_scope: ctx.systemScope ?? null,
    domain_id: ctx.domainId ?? null,
    project_id: ctx.projectId ?? null,
    project_domain_id: ctx.projectDomainId ?? null,
    roles: ctx.roles,
    is_admin_project: ctx.isAdminProject,
    service_user_id: ctx.serviceUserId ?? null,
    service_user_domain_id: ctx.serviceUserDomainId ?? null,
    service_project_id: ctx.serviceProjectId ?? null,
    service_project_domain_id: ctx.serviceProjectDomainId ?? null,
    service_roles: ctx.serviceRoles,
  };
}
