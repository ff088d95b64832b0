// Domain -> wire for images, members and tasks, as Glance's v2 serializers write them.
import type { Image, ImageMember, Task } from '../domain/models.js';

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface ImageViewOptions {
  multiStore: boolean;
  showDirectUrl: boolean;
}

/** Extra properties first, then the core attributes (Glance's order; clients do not rely on it). */
export function imageView(i: Image, o: ImageViewOptions): Record<string, unknown> {
  const view: Record<string, unknown> = {
    ...i.properties,
    name: i.name,
    disk_format: i.diskFormat,
    container_format: i.containerFormat,
    visibility: i.visibility,
    size: i.size,
    virtual_size: i.virtualSize,
    status: i.status,
    checksum: i.checksum,
    protected: i.protected,
    min_ram: i.minRam,
    min_disk: i.minDisk,
    owner: i.owner,
    os_hidden: i.osHidden,
    os_hash_algo: i.osHashAlgo,
    os_hash_value: i.osHashValue,
    id: i.id,
    created_at: iso(i.createdAt),
    updated_at: iso(i.updatedAt),
    tags: i.tags,
    self: `/v2/images/${i.id}`,
    file: `/v2/images/${i.id}/file`,
    schema: '/v2/schemas/image',
  };
  const live = i.locations.filter((l) => l.status === 'active');
  if (o.multiStore && live.length) view.stores = [...new Set(live.map((l) => l.store))].sort().join(',');
  if (o.showDirectUrl && live.length) view.direct_url = live[0]!.url;
  return view;
}

export function memberView(m: ImageMember): Record<string, unknown> {
  return {
    status: m.status,
    created_at: iso(m.createdAt),
    updated_at: iso(m.updatedAt),
    image_id: m.imageId,
    member_id: m.memberId,
    schema: '/v2/schemas/member',
  };
}

export function taskView(t: Task): Record<string, unknown> {
  return {
    id: t.id,
    type: t.type,
    status: t.status,
    owner: t.owner,
    image_id: t.imageId,
    user_id: t.userId,
    request_id: t.requestId,
    input: t.input,
    result: t.result,
    message: t.message,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
    expires_at: t.expiresAt ? iso(t.expiresAt) : null,
    self: `/v2/tasks/${t.id}`,
    schema: '/v2/schemas/task',
  };
}
