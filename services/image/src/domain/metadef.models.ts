// Metadata definitions as the domain sees them: namespaces and what they contain.

/**
 * One property definition: a JSON-schema fragment (type, title, enum, minimum, ...), kept with
 * upstream's key names because it is data users write and read back, not an API field.
 */
export type PropertyDef = Record<string, unknown>;

export type NamespaceVisibility = 'public' | 'private';

export interface MetadefNamespace {
  id: number;
  namespace: string;
  displayName: string | null;
  description: string | null;
  visibility: NamespaceVisibility;
  protected: boolean;
  owner: string;
  createdAt: Date;
  /** null for rows loaded without one (Glance's load_metadefs). */
  updatedAt: Date | null;
}

export interface MetadefObject {
  id: number;
  name: string;
  description: string | null;
  required: string[];
  properties: Record<string, PropertyDef>;
  createdAt: Date;
  updatedAt: Date | null;
}

export interface MetadefProperty {
  id: number;
  name: string;
  /** As written: carries a `name` key only when the definition was posted on its own. */
  schema: PropertyDef;
}

export interface MetadefTag {
  id: number;
  name: string;
  createdAt: Date;
  updatedAt: Date | null;
}

export interface ResourceType {
  name: string;
  createdAt: Date;
  updatedAt: Date | null;
}

export interface ResourceTypeAssociation {
  name: string;
  prefix: string | null;
  propertiesTarget: string | null;
  createdAt: Date;
  updatedAt: Date | null;
}

/** What a namespace carries inline when it is created in one request. */
export interface NewNamespace {
  namespace: string;
  displayName?: string | undefined;
  description?: string | undefined;
  visibility?: NamespaceVisibility | undefined;
  protected?: boolean | undefined;
  owner?: string | undefined;
  resourceTypeAssociations?: NewAssociation[] | undefined;
  properties?: Record<string, PropertyDef> | undefined;
  objects?: NewObject[] | undefined;
  tags?: string[] | undefined;
}

export interface NewAssociation {
  name: string;
  prefix?: string | null | undefined;
  propertiesTarget?: string | null | undefined;
}

export interface NewObject {
  name: string;
  description?: string | null | undefined;
  required?: string[] | null | undefined;
  properties?: Record<string, PropertyDef> | null | undefined;
}

/** PUT replaces every field; what the body lacks becomes Glance's default. */
export interface NamespaceUpdate {
  namespace: string;
  displayName: string | null;
  description: string | null;
  visibility: NamespaceVisibility | null;
  protected: boolean | null;
  owner: string | null;
}
