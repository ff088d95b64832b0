// Kysely table types for the block storage database (see migrations/ for the DDL).

export interface ServiceTable {
  id: string;
  host: string;
  binary: string;
  topic: string;
  availability_zone: string;
  disabled: number;
  disabled_reason: string | null;
  frozen: number;
  capabilities: string | null;
  created_at: number;
  updated_at: number;
}

export interface VolumeTypeTable {
  id: string;
  name: string;
  description: string | null;
  is_public: number;
  qos_specs_id: string | null;
  created_at: number;
  updated_at: number | null;
  deleted: number;
  deleted_at: number | null;
}

export interface VolumeTypeExtraSpecTable {
  volume_type_id: string;
  key: string;
  value: string;
}

export interface VolumeTypeProjectTable {
  volume_type_id: string;
  project_id: string;
}

export interface VolumeTable {
  id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  size: number;
  status: string;
  attach_status: string;
  migration_status: string | null;
  availability_zone: string;
  volume_type_id: string;
  host: string | null;
  bootable: number;
  multiattach: number;
  read_only: number;
  snapshot_id: string | null;
  source_volid: string | null;
  image_id: string | null;
  encryption_key_id: string | null;
  replication_status: string | null;
  consistencygroup_id: string | null;
  group_id: string | null;
  provider_location: string | null;
  target_size: number | null;
  task_owner: string | null;
  task_lease_until: number | null;
  created_at: number;
  updated_at: number | null;
  launched_at: number | null;
  terminated_at: number | null;
  deleted: number;
  deleted_at: number | null;
}

export interface KeyValueTable {
  key: string;
  value: string;
}

export interface SnapshotTable {
  id: string;
  volume_id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  status: string;
  progress: string | null;
  volume_size: number;
  volume_type_id: string | null;
  group_snapshot_id: string | null;
  provider_location: string | null;
  task_owner: string | null;
  task_lease_until: number | null;
  created_at: number;
  updated_at: number | null;
  deleted: number;
  deleted_at: number | null;
}

export interface QuotaUsageTable {
  project_id: string;
  resource: string;
  in_use: number;
  reserved: number;
  updated_at: number;
}

export interface BlockStorageDB {
  service: ServiceTable;
  volume_type: VolumeTypeTable;
  volume_type_extra_spec: VolumeTypeExtraSpecTable;
  volume_type_project: VolumeTypeProjectTable;
  volume: VolumeTable;
  volume_metadata: KeyValueTable & { volume_id: string };
  volume_image_metadata: KeyValueTable & { volume_id: string };
  snapshot: SnapshotTable;
  snapshot_metadata: KeyValueTable & { snapshot_id: string };
  quota_usage: QuotaUsageTable;
}
