// Image data: streamed upload with hashes computed on the way, ranged download, staging for
// interoperable import, and the leases that let a restart clean up an upload a crash cut short.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AltoError, NotFoundError, type RequestContext } from '@alto/kernel';
import type { ImageCoreDeps } from './deps.js';
import type { Image } from './models.js';
import { DataDigest, type DigestResult } from './digest.js';
import { createInspector } from './format-inspector.js';
import { BadRequest, Forbidden, ImageGoneDuringUpload, InvalidImageData, InvalidTransition, OverLimit, TooLarge, UploadAborted } from './errors.js';
import type { ImagesService } from './images.service.js';
import { StoreError, type ByteSink, type ImageStoreDriver, type ReadRange } from '../spi/store.js';
import { RELEASED, activeWithData, insertLocation, wholeSeconds, selectImage, updateImageRow, usageOf } from '../store/image.repo.js';

export interface DataSource {
  body: Readable;
  /** Content-Length when the client sent one. */
  length?: number | undefined;
  /** Fires when the client goes away. */
  signal: AbortSignal;
}

export interface Download {
  image: Image;
  /** undefined (with no copyTo): the image has no data (Glance answers 204). */
  stream?: Readable;
  /** Set when the store can hand over data in reused buffers (preferred over stream). */
  copyTo?: (sink: ByteSink) => Promise<number>;
  /** Bytes sent, and the range when one was asked for. */
  length?: number;
  range?: ReadRange & { total: number };
}

const MiB = 1024 * 1024;

/** Parses one `bytes=a-b` / `bytes=a-` / `bytes=-n` range against a size; undefined if unsatisfiable. */
export function parseRange(header: string, size: number): ReadRange | undefined | 'invalid' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return undefined;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return 'invalid';
  }
  if (start >= size || size === 0) return undefined;
  return { start, end };
}

export class ImageDataService {
  private readonly d: ImageCoreDeps;
  private readonly images: ImagesService;
  /** Asks the maintenance worker to remove deleted images' data now (set by the worker). */
  kickDeletes: () => void = () => undefined;
  constructor(d: ImageCoreDeps, images: ImagesService) {
    this.d = d;
    this.images = images;
  }

  private store(id: string): ImageStoreDriver {
    const s = this.d.stores.byId.get(id);
    if (!s) throw BadRequest(`Store for identifier ${id} not found`, 'image.unknown_store');
    return s;
  }

  /** Bytes the owner may still add: image_size_cap and the size limit (MiB in Keystone). */
  private async room(owner: string | null, kind: 'size' | 'stage'): Promise<{ maxBytes: number; limitMessage?: (attempted: number) => string }> {
    const maxBytes = this.d.config.imageSizeCap;
    if (!owner) return { maxBytes };
    const limits = await this.d.limits.limitsOf(owner);
    const usage = await usageOf(this.d.db, owner);
    if (limits.imageCountUploading !== undefined && usage.countUploading + 1 > limits.imageCountUploading) {
      throw OverLimit(
        `Project ${owner} is over a limit for [Resource image_count_uploading is over limit of ${limits.imageCountUploading} due to current usage ${usage.countUploading} and delta 1]`,
      );
    }
    const limit = kind === 'size' ? limits.imageSizeTotal : limits.imageStageTotal;
    if (limit === undefined) return { maxBytes };
    const used = kind === 'size' ? usage.sizeTotal : usage.stageTotal;
    const resource = kind === 'size' ? 'image_size_total' : 'image_stage_total';
    const usedMiB = Math.ceil(used / MiB);
    if (used >= limit * MiB) {
      throw OverLimit(`Project ${owner} is over a limit for [Resource ${resource} is over limit of ${limit} due to current usage ${usedMiB} and delta 0]`);
    }
    const left = limit * MiB - used;
    return {
      maxBytes: Math.min(maxBytes, left),
      limitMessage: (attempted) =>
        `Project ${owner} is over a limit for [Resource ${resource} is over limit of ${limit} due to current usage ${usedMiB} and delta ${Math.ceil(attempted / MiB)}]`,
    };
  }

  /** Takes the image from `from` to `to` for this upload; exactly one concurrent caller wins. */
  private async hold(image: Image, from: 'queued', to: 'saving' | 'uploading'): Promise<string> {
    const uploadId = randomUUID();
    const n = await updateImageRow(
      this.d.db,
      image.id,
      { status: to, upload_id: uploadId, upload_owner: this.d.instanceId, upload_lease_until: this.d.clock.nowMs() + this.d.config.uploadLeaseMs },
      { fromStatus: from },
    );
    if (!n) {
      const now = await selectImage(this.d.db, image.id);
      throw InvalidTransition(now?.status ?? image.status, to);
    }
    return uploadId;
  }

  /** Renews the lease while data flows, at most every third of its length. */
  private leaseKeeper(imageId: string, uploadId: string): (bytes: number) => void {
    let last = this.d.clock.nowMs();
    return () => {
      const now = this.d.clock.nowMs();
      if (now - last < this.d.config.uploadLeaseMs / 3) return;
      last = now;
      void updateImageRow(this.d.db, imageId, { upload_lease_until: now + this.d.config.uploadLeaseMs }, { uploadId }).catch((err: unknown) => {
        this.d.log.warn({ image_id: imageId, err: err instanceof Error ? err.message : String(err) }, 'could not renew the upload lease');
      });
    };
  }

  private async release(imageId: string, uploadId: string, back: 'queued'): Promise<void> {
    await updateImageRow(this.d.db, imageId, { status: back, ...RELEASED }, { uploadId }).catch((err: unknown) => {
      this.d.log.error({ image_id: imageId, err: err instanceof Error ? err.message : String(err) }, 'could not put the image back to queued; the lease sweeper will');
    });
  }

  private translate(err: unknown, limitMessage?: (attempted: number) => string, attempted = 0): Error {
    if (err instanceof StoreError) {
      if (err.code === 'size_exceeded') {
        return limitMessage ? OverLimit(limitMessage(attempted)) : TooLarge(`Image exceeds the storage quota: The size of the data ${attempted} will exceed the limit. ${this.d.config.imageSizeCap} bytes remaining.`);
      }
      if (err.code === 'aborted') return new UploadAborted();
      if (err.code === 'full') return TooLarge(`Image storage media is full: ${err.message}`);
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  /** PUT /v2/images/{id}/file. */
  async upload(ctx: RequestContext, id: string, src: DataSource, storeId?: string): Promise<void> {
    const image = await this.images.getImageOrThrow(ctx, id);
    this.requireFormats(image);
    if (image.status !== 'queued') throw InvalidTransition(image.status, 'saving');
    const store = this.store(storeId ?? this.d.stores.defaultId);
    const room = await this.room(image.owner, 'size');
    if (src.length !== undefined && src.length > room.maxBytes) throw this.translate(new StoreError('size_exceeded', ''), room.limitMessage, src.length);
    const uploadId = await this.hold(image, 'queued', 'saving');
    const inspector = createInspector(image.diskFormat ?? 'raw');
    const digest = new DataDigest(inspector);
    let stored;
    try {
      stored = await store.write(id, uploadId, digest.through(src.body, this.leaseKeeper(id, uploadId)), { maxBytes: room.maxBytes, signal: src.signal });
    } catch (err) {
      await this.release(id, uploadId, 'queued');
      throw this.translate(err, room.limitMessage, digest.size);
    }
    const inspected = inspector.finish(stored.size);
    if (this.d.config.requireImageFormatMatch && inspected.rejection) {
      await store.delete(stored.location).catch(() => undefined);
      await this.release(id, uploadId, 'queued');
      throw InvalidImageData(inspected.rejection);
    }
    await this.commit(image, uploadId, store, stored, digest.result(), inspected.virtualSize);
  }

  /** Makes uploaded data the image's: active with its hashes and location, if the upload still holds the image. */
  async commit(image: Image, uploadId: string, store: ImageStoreDriver, stored: { location: string; size: number }, sums: DigestResult, virtualSize: number | null): Promise<void> {
    const now = this.d.clock.nowMs();
    const done = await this.d.db.transaction().execute(async (trx) => {
      const n = await updateImageRow(trx, image.id, activeWithData(sums, virtualSize, now), { uploadId });
      if (!n) return false;
      await insertLocation(trx, image.id, { id: randomUUID(), store: store.id, url: stored.location, metadata: { store: store.id }, status: 'active' }, now);
      return true;
    });
    if (!done) {
      // deleted (or taken over) while the data arrived: drop what we wrote
      await store.delete(stored.location).catch(() => undefined);
      throw ImageGoneDuringUpload(image.id);
    }
  }

  private requireFormats(image: Image): void {
    const missing = [image.containerFormat ? undefined : 'container_format', image.diskFormat ? undefined : 'disk_format'].filter((x): x is string => !!x);
    if (missing.length === 1) throw BadRequest(`Property ${missing[0]} must be set prior to saving data.`, 'image.formats_missing');
    if (missing.length) throw BadRequest(`Properties ${missing.join(', ')} must be set prior to saving data.`, 'image.formats_missing');
  }

  /** GET /v2/images/{id}/file. */
  async download(ctx: RequestContext, id: string, rangeHeader?: string): Promise<Download> {
    const image = await this.images.getImageOrThrow(ctx, id);
    if (image.status === 'deactivated' && !this.images.isAdmin(ctx)) {
      throw Forbidden('The requested image has been deactivated. Image data download is forbidden.', 'image.deactivated');
    }
    const loc = image.locations[0];
    if (!loc || image.status !== 'active' && image.status !== 'deactivated') return { image };
    const store = this.store(loc.store);
    const total = image.size ?? (await store.size(loc.url));
    const body = async (range?: ReadRange) =>
      store.copyTo ? { copyTo: (sink: ByteSink) => store.copyTo!(loc.url, sink, range) } : { stream: await store.read(loc.url, range) };
    if (rangeHeader !== undefined) {
      const r = parseRange(rangeHeader, total);
      if (r === 'invalid') return { image, ...(await body()), length: total };
      if (r === undefined) throw new RangeNotSatisfiable(total);
      return { image, ...(await body(r)), length: r.end - r.start + 1, range: { ...r, total } };
    }
    return { image, ...(await body()), length: total };
  }

  /** PUT /v2/images/{id}/stage: data waits in the staging store for POST .../import. */
  async stage(ctx: RequestContext, id: string, src: DataSource): Promise<void> {
    const image = await this.images.getImageOrThrow(ctx, id);
    // COMPAT(glance): staging exists only for glance-direct
    if (!this.d.config.enabledImportMethods.includes('glance-direct')) throw new NotFoundError('The resource could not be found.', 'image.stage_disabled');
    if (image.status !== 'queued') throw InvalidTransition(image.status, 'uploading');
    const room = await this.room(image.owner, 'stage');
    if (src.length !== undefined && src.length > room.maxBytes) throw this.translate(new StoreError('size_exceeded', ''), room.limitMessage, src.length);
    const uploadId = await this.hold(image, 'queued', 'uploading');
    const staging = this.d.stores.staging;
    let stored;
    let size = 0;
    try {
      const keep = this.leaseKeeper(id, uploadId);
      stored = await staging.write(id, uploadId, countThrough(src.body, (n) => ((size = n), keep(n))), { maxBytes: room.maxBytes, signal: src.signal });
    } catch (err) {
      await this.release(id, uploadId, 'queued');
      throw this.translate(err, room.limitMessage, size);
    }
    // the stage is done: the image waits in `uploading` for an import, no longer held by this request
    const n = await updateImageRow(
      this.d.db,
      id,
      { staging_location: stored.location, staging_size: stored.size, ...RELEASED, updated_at: wholeSeconds(this.d.clock.nowMs()) },
      { uploadId },
    );
    if (!n) {
      await staging.delete(stored.location).catch(() => undefined);
      throw ImageGoneDuringUpload(id);
    }
  }
}

async function* countThrough(source: AsyncIterable<Uint8Array>, onChunk: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    onChunk(n);
    yield chunk;
  }
}

/** 416 with the size, for a Range that starts past the end. */
export class RangeNotSatisfiable extends AltoError {
  readonly total: number;
  constructor(total: number) {
    super('bad_request', 'image.range_not_satisfiable', 'Requested range not satisfiable', { details: { status: 416, total } });
    this.total = total;
  }
}
