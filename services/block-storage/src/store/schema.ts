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
  previous_status: string | null;
  use_quota: number;
  /** JSON: what the transitional status needs (upload's image id, retype's type, restore's backup). */
  task_args: string | null;
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
  use_quota: number;
}

export interface QuotaUsageTable {
  project_id: string;
  resource: string;
  in_use: number;
  reserved: number;
  updated_at: number;
}

export interface QuotaTable {
  project_id: string;
  resource: string;
  hard_limit: number;
  updated_at: number;
}

export interface QuotaClassTable {
  class_name: string;
  resource: string;
  hard_limit: number;
  updated_at: number;
}

export interface QosSpecsTable {
  id: string;
  name: string;
  consumer: string;
  created_at: number;
  updated_at: number | null;
  deleted: number;
  deleted_at: number | null;
}

export interface VolumeAttachmentTable {
  id: string;
  volume_id: string;
  project_id: string;
  instance_uuid: string | null;
  attached_host: string | null;
  mountpoint: string | null;
  attach_status: string;
  attach_mode: string | null;
  /** JSON */
  connector: string | null;
  /** JSON */
  connection_info: string | null;
  attach_time: number | null;
  detach_time: number | null;
  created_at: number;
  updated_at: number | null;
  deleted: number;
  deleted_at: number | null;
}

export interface BackupTable {
  id: string;
  project_id: string;
  user_id: string;
  volume_id: string;
  snapshot_id: string | null;
  name: string | null;
  description: string | null;
  status: string;
  fail_reason: string | null;
  size: number;
  object_count: number;
  container: string | null;
  availability_zone: string | null;
  host: string | null;
  service: string | null;
  is_incremental: number;
  parent_id: string | null;
  data_timestamp: number | null;
  restore_volume_id: string | null;
  encryption_key_id: string | null;
  task_owner: string | null;
  task_lease_until: number | null;
  created_at: number;
  updated_at: number | null;
  deleted: number;
  deleted_at: number | null;
}

export interface TransferTable {
  id: string;
  volume_id: string;
  source_project_id: string;
  destination_project_id: string | null;
  display_name: string | null;
  salt: string;
  crypt_hash: string;
  no_snapshots: number;
  accepted: number;
  created_at: number;
  updated_at: number | null;
  deleted: number;
  deleted_at: number | null;
}

export interface MessageTable {
  id: string;
  project_id: string;
  request_id: string | null;
  resource_type: string | null;
  resource_uuid: string | null;
  event_id: string;
  message_level: string;
  detail_id: string | null;
  action_id: string | null;
  created_at: number;
  expires_at: number | null;
  deleted: number;
  deleted_at: number | null;
}

export interface DefaultVolumeTypeTable {
  project_id: string;
  volume_type_id: string;
  created_at: number;
  updated_at: number | null;
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
  quota: QuotaTable;
  quota_class: QuotaClassTable;
  qos_specs: QosSpecsTable;
  qos_spec_kv: KeyValueTable & { qos_specs_id: string };
  volume_attachment: VolumeAttachmentTable;
  backup: BackupTable;
  backup_metadata: KeyValueTable & { backup_id: string };
  transfer: TransferTable;
  message: MessageTable;
  default_volume_type: DefaultVolumeTypeTable;
}
