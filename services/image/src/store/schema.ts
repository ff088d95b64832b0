// Kysely table types for the image database (see migrations/ for the DDL).
import type { Generated } from 'kysely';

export interface ImageTable {
  id: string;
  name: string | null;
  status: string;
  visibility: string;
  protected: number;
  os_hidden: number;
  owner: string | null;
  size: number | null;
  virtual_size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  disk_format: string | null;
  container_format: string | null;
  min_disk: number;
  min_ram: number;
  created_at: number;
  updated_at: number;
  deleted: number;
  deleted_at: number | null;
  /** The upload or import holding the image (saving, uploading-to-stage, importing). */
  upload_id: string | null;
  /** Which process holds it, and until when (ms) unless it renews. */
  upload_owner: string | null;
  upload_lease_until: number | null;
  /** Data waiting in the staging store for an import. */
  staging_location: string | null;
  staging_size: number | null;
}

export interface ImagePropertyTable {
  image_id: string;
  name: string;
  value: string;
}

export interface ImageTagTable {
  image_id: string;
  value: string;
}

export interface ImageMemberTable {
  image_id: string;
  member: string;
  status: string;
  created_at: number;
  updated_at: number;
}

export interface ImageLocationTable {
  id: string;
  image_id: string;
  /** Backend id. */
  store: string;
  url: string;
  metadata: string;
  /** active, or pending_delete until the data is gone from the store. */
  status: string;
  created_at: number;
}

export interface TaskTable {
  id: string;
  type: string;
  status: string;
  owner: string;
  image_id: string | null;
  user_id: string | null;
  request_id: string | null;
  input: string;
  result: string | null;
  message: string;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
}

export interface MetadefNamespaceTable {
  id: Generated<number>;
  namespace: string;
  display_name: string | null;
  description: string | null;
  /** public | private */
  visibility: string;
  protected: number;
  owner: string;
  created_at: number;
  updated_at: number | null;
}

export interface MetadefObjectTable {
  id: Generated<number>;
  namespace_id: number;
  name: string;
  description: string | null;
  /** Comma-joined property names, as Glance stores them. */
  required: string | null;
  /** JSON: property name -> property definition. */
  json_schema: string;
  created_at: number;
  updated_at: number | null;
}

export interface MetadefPropertyTable {
  id: Generated<number>;
  namespace_id: number;
  name: string;
  /** JSON: the property definition. */
  json_schema: string;
  created_at: number;
  updated_at: number | null;
}

export interface MetadefTagTable {
  id: Generated<number>;
  namespace_id: number;
  name: string;
  created_at: number;
  updated_at: number | null;
}

export interface MetadefResourceTypeTable {
  id: Generated<number>;
  name: string;
  protected: number;
  created_at: number;
  updated_at: number | null;
}

export interface MetadefNamespaceResourceTypeTable {
  id: Generated<number>;
  resource_type_id: number;
  namespace_id: number;
  properties_target: string | null;
  prefix: string | null;
  created_at: number;
  updated_at: number | null;
}

export interface ImageDB {
  image: ImageTable;
  image_property: ImagePropertyTable;
  image_tag: ImageTagTable;
  image_member: ImageMemberTable;
  image_location: ImageLocationTable;
  task: TaskTable;
  metadef_namespace: MetadefNamespaceTable;
  metadef_object: MetadefObjectTable;
  metadef_property: MetadefPropertyTable;
  metadef_tag: MetadefTagTable;
  metadef_resource_type: MetadefResourceTypeTable;
  metadef_namespace_resource_type: MetadefNamespaceResourceTypeTable;
}
