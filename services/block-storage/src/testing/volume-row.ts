// A volume row as the API would insert it, for tests: override only what the test is about.
import { randomUUID } from 'node:crypto';
import type { VolumeTable } from '../store/schema.js';

export function volumeRow(over: Partial<VolumeTable> = {}): VolumeTable {
  return {
    id: randomUUID(),
    project_id: 'p1',
    user_id: 'u1',
    name: null,
    description: null,
    size: 1,
    status: 'creating',
    attach_status: 'detached',
    migration_status: null,
    availability_zone: 'nova',
    volume_type_id: randomUUID(),
    host: null,
    bootable: 0,
    multiattach: 0,
    read_only: 0,
    snapshot_id: null,
    source_volid: null,
    image_id: null,
    encryption_key_id: null,
    replication_status: null,
    consistencygroup_id: null,
    group_id: null,
    provider_location: null,
    target_size: null,
    task_owner: null,
    task_lease_until: null,
    created_at: Date.now(),
    updated_at: null,
    launched_at: null,
    terminated_at: null,
    deleted: 0,
    deleted_at: null,
    previous_status: null,
    use_quota: 1,
    task_args: null,
    ...over,
  };
}
