// Identity's domain types (camelCase; the wire shapes live in api/*.views.ts).
export type Extra = Record<string, unknown>;

export interface Domain {
  id: string;
  name: string;
  description: string | null;
  enabled: boolean;
  extra: Extra;
  tags: string[];
  /** Resource options (`immutable`). */
  options: Record<string, unknown>;
}

export interface Project {
  id: string;
  name: string;
  domainId: string;
  /** For a top-level project, its domain's id (Keystone's convention). */
  parentId: string | null;
  isDomain: boolean;
  description: string | null;
  enabled: boolean;
  extra: Extra;
  tags: string[];
  /** Resource options (`immutable`). */
  options: Record<string, unknown>;
}

export interface User {
  id: string;
  name: string;
  domainId: string;
  enabled: boolean;
  defaultProjectId: string | null;
  extra: Extra;
  options: Record<string, unknown>;
  passwordExpiresAt: number | null;
  createdAt: number;
}

export interface Role {
  id: string;
  name: string;
  /** null for a global role. */
  domainId: string | null;
  description: string | null;
  extra: Extra;
  options: Record<string, unknown>;
}

export interface Region {
  id: string;
  description: string;
  parentRegionId: string | null;
  extra: Extra;
}

export interface Service {
  id: string;
  type: string;
  enabled: boolean;
  extra: Extra;
}

export type EndpointInterface = 'public' | 'internal' | 'admin';

export interface Endpoint {
  id: string;
  interface: EndpointInterface;
  serviceId: string;
  regionId: string | null;
  url: string;
  enabled: boolean;
  extra: Extra;
}

export type Scope =
  | { type: 'unscoped' }
  | { type: 'project'; projectId: string }
  | { type: 'domain'; domainId: string }
  | { type: 'system' };

export type AssignmentScope = { project: string } | { domain: string } | { system: 'all' };

export interface Assignment {
  actor: { user: string } | { group: string };
  scope: AssignmentScope;
  roleId: string;
  inherited: boolean;
  /** Set on effective listings for a role that comes through an implication. */
  priorRoleId?: string;
  /** Set on effective listings for a role that comes through a group. */
  viaGroupId?: string;
}
