// Images: create, show, list, JSON-patch update, delete, deactivate/reactivate and tags, with
// Glance's visibility rules, read-only and reserved attributes, and its quotas on members, tags and properties.
import { randomUUID } from 'node:crypto';
import { NotFoundError, type RequestContext } from '@alto/kernel';
import type { ImageCoreDeps } from './deps.js';
import { warmDigestThreads } from './digest.js';
import type { Image, ImageStatus, MemberStatus, Visibility } from './models.js';
import {
  BadRequest,
  Conflict,
  DuplicateImage,
  Forbidden,
  GenericConflict,
  ImageNotFound,
  ImageProtected,
  OverLimit,
  TooLarge,
} from './errors.js';
import {
  addTag,
  countTags,
  deleteTag,
  imageIdExists,
  insertImage,
  listImages,
  replaceProperties,
  replaceTags,
  selectImage,
  softDeleteImage,
  updateImageRow,
  usageOf,
  wholeSeconds,
  type ImageColumns,
  type ImageFilters,
  type SortSpec,
} from '../store/image.repo.js';
import { selectMember } from '../store/member.repo.js';

/** Glance's reserved namespace for properties it sets itself. */
export const RESERVED_NAMESPACE = 'os_glance';

/** What POST /v2/images may carry once the schema accepted it. */
export interface NewImage {
  id?: string;
  name?: string | null;
  visibility?: Visibility;
  protected?: boolean;
  osHidden?: boolean;
  owner?: string | null;
  diskFormat?: string | null;
  containerFormat?: string | null;
  minDisk?: number;
  minRam?: number;
  tags?: string[];
  properties: Record<string, string>;
}

/** A decoded JSON-patch operation: path is the decoded pointer (`/name` -> ['name']). */
export interface Change {
  op: 'add' | 'replace' | 'remove';
  path: string[];
  value?: unknown;
  /** JSON-schema draft of the patch media type: 4 (v2.0) refuses `add` of a present property. */
  draft?: 4 | 10;
}

export interface ListParams {
  visibility?: Visibility | 'all';
  memberStatus: MemberStatus | 'all';
  filters: ImageFilters;
  sort: SortSpec[];
  marker?: string;
  limit: number;
}

/** Core attributes a patch may set directly (the rest are read-only or extra properties). */
const CORE_KEYS: Record<string, keyof Image> = {
  name: 'name',
  visibility: 'visibility',
  protected: 'protected',
  os_hidden: 'osHidden',
  owner: 'owner',
  disk_format: 'diskFormat',
  container_format: 'containerFormat',
  min_disk: 'minDisk',
  min_ram: 'minRam',
};

export function isReservedProperty(key: string): boolean {
  return key.startsWith(RESERVED_NAMESPACE);
}

export class ImagesService {
  private readonly d: ImageCoreDeps;
  constructor(d: ImageCoreDeps) {
    this.d = d;
  }

  /** The image if the caller may see it at all (Glance's is_image_visible), else ImageNotFound. */
  async getImageOrThrow(ctx: RequestContext, id: string): Promise<Image> {
    const image = await selectImage(this.d.db, id);
    if (!image || !(await this.visible(ctx, image))) throw ImageNotFound(id);
    return image;
  }

  /** Policy target for an image as Glance's ImageTarget builds it. */
  targetOf(ctx: RequestContext, image: Image): Record<string, unknown> {
    return imageTarget(ctx, image);
  }

  private async visible(ctx: RequestContext, image: Image): Promise<boolean> {
    if (this.isAdmin(ctx)) return true;
    if (image.owner !== null && image.owner === ctx.projectId) return true;
    if (image.visibility === 'public' || image.visibility === 'community') return true;
    if (image.visibility === 'shared' && ctx.projectId) return (await selectMember(this.d.db, image.id, ctx.projectId)) !== undefined;
    return false;
  }

  isAdmin(ctx: RequestContext): boolean {
    return this.d.authz.check('context_is_admin', ctx, {});
  }

  async create(ctx: RequestContext, input: NewImage): Promise<Image> {
    const owner = input.owner === undefined ? (ctx.projectId ?? null) : input.owner;
    if (!this.isAdmin(ctx) && owner !== (ctx.projectId ?? null)) {
      throw Forbidden(`You are not permitted to create images owned by '${owner}'.`, 'image.foreign_owner');
    }
    const visibility = input.visibility ?? 'shared';
    if (visibility === 'public') this.d.authz.enforce('publicize_image', ctx, { project_id: owner, owner, visibility });
    if (visibility === 'community') this.d.authz.enforce('communitize_image', ctx, { project_id: owner, owner, visibility });
    for (const key of Object.keys(input.properties)) {
      if (key.length > 255) throw BadRequest('Custom property should not be greater than 255 characters.');
    }
    if (input.minDisk !== undefined && input.minDisk < 0) throw BadRequest('Invalid value for min_disk: Cannot be a negative value');
    if (input.minRam !== undefined && input.minRam < 0) throw BadRequest('Invalid value for min_ram: Cannot be a negative value');
    this.checkQuota('properties', Object.keys(input.properties).length, this.d.config.imagePropertyQuota);
    const tags = [...new Set(input.tags ?? [])];
    this.checkQuota('tags', tags.length, this.d.config.imageTagQuota);
    if (owner) await this.checkCountLimit(owner);

    const now = this.now();
    const image: Image = {
      id: input.id ?? randomUUID(),
      name: input.name ?? null,
      status: 'queued',
      visibility,
      protected: input.protected ?? false,
      osHidden: input.osHidden ?? false,
      owner,
      size: null,
      virtualSize: null,
      checksum: null,
      osHashAlgo: null,
      osHashValue: null,
      diskFormat: input.diskFormat ?? null,
      containerFormat: input.containerFormat ?? null,
      minDisk: input.minDisk ?? 0,
      minRam: input.minRam ?? 0,
      createdAt: now,
      updatedAt: now,
      properties: input.properties,
      tags,
      locations: [],
      uploadId: null,
      uploadOwner: null,
      uploadLeaseUntil: null,
      stagingLocation: null,
      stagingSize: null,
    };
    if (await imageIdExists(this.d.db, image.id)) throw DuplicateImage(image.id);
    try {
      await this.d.db.transaction().execute((trx) => insertImage(trx, image));
    } catch (err) {
      if (await imageIdExists(this.d.db, image.id)) throw DuplicateImage(image.id);
      throw err;
    }
    // its data usually follows
    warmDigestThreads();
    return image;
  }

  async list(ctx: RequestContext, p: ListParams): Promise<Image[]> {
    let marker: Image | undefined;
    if (p.marker !== undefined) {
      marker = await selectImage(this.d.db, p.marker);
      if (!marker) throw BadRequest(`No image found with ID ${p.marker}`, 'image.bad_marker');
      if (!(await this.visible(ctx, marker))) throw Forbidden(`Forbidding request, image ${p.marker} not visible`, 'image.marker_not_visible');
    }
    return listImages(this.d.db, {
      projectId: ctx.projectId,
      isAdmin: this.isAdmin(ctx),
      visibility: p.visibility,
      memberStatus: p.memberStatus,
      filters: p.filters,
      sort: p.sort,
      ...(marker ? { marker } : {}),
      limit: p.limit,
    });
  }

  /** Applies JSON-patch changes in order, all or nothing. */
  async update(ctx: RequestContext, id: string, changes: Change[]): Promise<Image> {
    const before = await this.getImageOrThrow(ctx, id);
    const image: Image = { ...before, properties: { ...before.properties }, tags: [...before.tags] };
    for (const c of changes) this.apply(ctx, image, c);
    this.checkQuota('properties', Object.keys(image.properties).length, this.d.config.imagePropertyQuota);
    this.checkQuota('tags', image.tags.length, this.d.config.imageTagQuota);

    image.updatedAt = this.now();
    const set: ImageColumns = {
      name: image.name,
      visibility: image.visibility,
      protected: image.protected ? 1 : 0,
      os_hidden: image.osHidden ? 1 : 0,
      owner: image.owner,
      disk_format: image.diskFormat,
      container_format: image.containerFormat,
      min_disk: image.minDisk,
      min_ram: image.minRam,
      updated_at: image.updatedAt.getTime(),
    };
    await this.d.db.transaction().execute(async (trx) => {
      if (!(await updateImageRow(trx, id, set))) throw ImageNotFound(id);
      await replaceProperties(trx, id, image.properties);
      await replaceTags(trx, id, image.tags);
    });
    return image;
  }

  private apply(ctx: RequestContext, image: Image, c: Change): void {
    const root = c.path[0]!;
    const core = CORE_KEYS[root];
    if (root === 'tags') {
      if (c.op === 'remove') throw Forbidden('Property tags may not be removed.');
      image.tags = [...new Set(c.value as string[])];
      return;
    }
    if (root === 'locations') {
      // COMPAT(glance show_multiple_locations): location management is off, as upstream's default
      throw Forbidden('It\'s not allowed to update locations if locations are invisible.', 'image.locations_invisible');
    }
    if (c.op === 'remove') {
      if (core) throw Forbidden('Access was denied to this resource.', 'image.core_remove');
      if (!(root in image.properties)) throw GenericConflict();
      delete image.properties[root];
      return;
    }
    // COMPAT(glance ImageAPIPolicy.update_property): each add/replace of /visibility to public or
    // community checks its rule on the image as the earlier operations left it, changed or not
    if (root === 'visibility' && c.value === 'public') this.d.authz.enforce('publicize_image', ctx, image);
    if (root === 'visibility' && c.value === 'community') this.d.authz.enforce('communitize_image', ctx, image);
    if (c.op === 'add' && c.draft === 4 && (core !== undefined || root in image.properties)) throw Conflict(`Property ${root} already present.`, 'image.property_present');
    if (core) {
      if (root === 'owner' && !this.isAdmin(ctx)) throw Forbidden("Access was denied to this resource.", 'image.owner_not_admin');
      // COMPAT(glance domain Image.disk_format setter): any assignment, even of the same value, is
      // refused unless the image is queued or importing
      if ((root === 'disk_format' || root === 'container_format') && image.status !== 'queued' && image.status !== 'importing') {
        throw Forbidden(`Attribute ${root} can be only replaced for a queued image.`, 'image.format_not_queued');
      }
      if ((root === 'min_disk' || root === 'min_ram') && typeof c.value === 'number' && c.value < 0) {
        throw BadRequest(`Invalid value for ${root}: Cannot be a negative value`);
      }
      (image as unknown as Record<string, unknown>)[core] = c.value;
      return;
    }
    if (root.length > 255) throw BadRequest('Custom property should not be greater than 255 characters.');
    if (c.op === 'replace' && !(root in image.properties)) throw GenericConflict();
    image.properties[root] = c.value as string;
  }

  async delete(ctx: RequestContext, id: string): Promise<Image> {
    const image = await this.getImageOrThrow(ctx, id);
    if (image.protected) throw ImageProtected(id);
    if (image.status === 'uploading' || image.status === 'importing') {
      // COMPAT(glance): an import in flight is stopped by the delete; its worker sees the row gone
    }
    const n = await this.d.db.transaction().execute((trx) => softDeleteImage(trx, id, this.now().getTime()));
    if (!n) throw ImageNotFound(id);
    return image;
  }

  async deactivate(ctx: RequestContext, id: string): Promise<void> {
    const image = await this.getImageOrThrow(ctx, id);
    if (image.status === 'deactivated') return;
    if (image.status !== 'active') throw Forbidden(`Not allowed to deactivate image in status '${image.status}'`, 'image.deactivate_status');
    await this.setStatus(id, 'deactivated', 'active');
  }

  async reactivate(ctx: RequestContext, id: string): Promise<void> {
    const image = await this.getImageOrThrow(ctx, id);
    if (image.status === 'active') return;
    if (image.status !== 'deactivated') throw Forbidden(`Not allowed to reactivate image in status '${image.status}'`, 'image.reactivate_status');
    await this.setStatus(id, 'active', 'deactivated');
  }

  private async setStatus(id: string, to: ImageStatus, from: ImageStatus): Promise<void> {
    const n = await updateImageRow(this.d.db, id, { status: to, updated_at: this.now().getTime() }, { fromStatus: from });
    if (!n) throw Conflict(`Image status transition from ${from} to ${to} is not allowed`, 'image.invalid_transition');
  }

  async addTag(ctx: RequestContext, id: string, tag: string): Promise<void> {
    const image = await this.getImageOrThrow(ctx, id);
    if (image.tags.includes(tag)) return;
    this.checkQuota('tags', (await countTags(this.d.db, id)) + 1, this.d.config.imageTagQuota);
    // the image row first: its lock queues concurrent adds, so the second sees the first's tag
    // (no duplicate key) and MariaDB does not deadlock on the foreign key's shared lock
    await this.d.db.transaction().execute(async (trx) => {
      await updateImageRow(trx, id, { updated_at: this.now().getTime() });
      await addTag(trx, id, tag);
    });
  }

  async deleteTag(ctx: RequestContext, id: string, tag: string): Promise<void> {
    await this.getImageOrThrow(ctx, id);
    const n = await this.d.db.transaction().execute(async (trx) => {
      const removed = await deleteTag(trx, id, tag);
      if (removed) await updateImageRow(trx, id, { updated_at: this.now().getTime() });
      return removed;
    });
    if (!n) throw new NotFoundError('', 'image.tag_not_found');
  }

  /** Glance's ImageCountLimitExceeded / oslo.limit check before a new image row. */
  private async checkCountLimit(owner: string): Promise<void> {
    const limits = await this.d.limits.limitsOf(owner);
    if (limits.imageCountTotal === undefined) return;
    const usage = await usageOf(this.d.db, owner);
    if (usage.countTotal + 1 > limits.imageCountTotal) {
      throw OverLimit(`Project ${owner} is over a limit for [Resource image_count_total is over limit of ${limits.imageCountTotal} due to current usage ${usage.countTotal} and delta 1]`);
    }
  }

  private checkQuota(what: 'properties' | 'tags', count: number, quota: number): void {
    if (quota >= 0 && count > quota) throw TooLarge(`Attempted: ${count}, Maximum: ${quota}`);
  }

  private now(): Date {
    return new Date(wholeSeconds(this.d.clock.nowMs()));
  }
}

/** Glance's ImageTarget: image attributes, extra properties, and project_id/member_id aliases. */
export function imageTarget(ctx: RequestContext, image: Image): Record<string, unknown> {
  const member = image.visibility === 'shared' && ctx.projectId !== undefined && image.owner !== ctx.projectId ? ctx.projectId : null;
  return {
    ...image.properties,
    id: image.id,
    image_id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    protected: image.protected,
    os_hidden: image.osHidden,
    owner: image.owner,
    project_id: image.owner,
    member,
    member_id: member,
    disk_format: image.diskFormat,
    container_format: image.containerFormat,
    min_disk: image.minDisk,
    min_ram: image.minRam,
    size: image.size,
    virtual_size: image.virtualSize,
    checksum: image.checksum,
    tags: image.tags,
  };
}
