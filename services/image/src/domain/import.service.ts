// Interoperable image import: glance-direct (from staging), web-download (from an allowed URL)
// and copy-image (to more stores). The API call records the wish (image importing, a task) and
// answers 202; reconcile() converges it, and a restart finishes or undoes what a crash cut short.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { RequestContext } from '@alto/kernel';
import type { ImageCoreDeps } from './deps.js';
import type { Image, Task } from './models.js';
import { DataDigest } from './digest.js';
import { createInspector } from './format-inspector.js';
import { BadRequest, Conflict, ImageNotFound, OverLimit } from './errors.js';
import type { ImagesService } from './images.service.js';
import type { ImageStoreDriver } from '../spi/store.js';
import { RELEASED, activeWithData, wholeSeconds, insertLocation, replaceProperties, selectImage, selectImageRowAnyState, updateImageRow, usageOf } from '../store/image.repo.js';
import { finishTask, insertTask, selectTask, selectTasksOfImage } from '../store/task.repo.js';

export interface ImportRequest {
  method: string;
  uri?: string | undefined;
  stores?: string[] | undefined;
  allStores?: boolean | undefined;
  allStoresMustSucceed?: boolean | undefined;
}

export interface UrlFilter {
  /** Throws BadRequest when web-download may not fetch this URL. */
  check(uri: string): void;
}

const TASK_TTL_MS = 48 * 3600 * 1000;

export class ImportService {
  private readonly d: ImageCoreDeps;
  private readonly images: ImagesService;
  private readonly urls: UrlFilter;
  /** Asks the worker to converge an image soon (in-process queue). */
  kick: (imageId: string) => void = () => undefined;

  constructor(d: ImageCoreDeps, images: ImagesService, urls: UrlFilter) {
    this.d = d;
    this.images = images;
    this.urls = urls;
  }

  async tasksOf(ctx: RequestContext, id: string): Promise<Task[]> {
    await this.images.getImageOrThrow(ctx, id);
    return selectTasksOfImage(this.d.db, id);
  }

  /** POST /v2/images/{id}/import. */
  async start(ctx: RequestContext, image: Image, req: ImportRequest): Promise<void> {
    const method = req.method;
    if (!this.d.config.enabledImportMethods.includes(method)) throw BadRequest(`Import method ${method} is not enabled.`, 'image.method_disabled');
    if (image.owner) {
      const limits = await this.d.limits.limitsOf(image.owner);
      if (limits.imageSizeTotal !== undefined) {
        const used = (await usageOf(this.d.db, image.owner)).sizeTotal;
        if (used >= limits.imageSizeTotal * 1024 * 1024) {
          throw OverLimit(`Project ${image.owner} is over a limit for [Resource image_size_total is over limit of ${limits.imageSizeTotal} due to current usage ${Math.ceil(used / 1048576)} and delta 0]`);
        }
      }
    }
    if (image.status === 'active' && method !== 'copy-image') throw Conflict('Image with status active cannot be target for import');
    if (image.status !== 'active' && method === 'copy-image') throw Conflict('Only images with status active can be targeted for copying');
    if (image.status !== 'queued' && method === 'web-download') throw Conflict(`Image needs to be in 'queued' state to use '${method}' method`);
    if (image.status !== 'uploading' && method === 'glance-direct') throw Conflict("Image needs to be staged before 'glance-direct' method can be used");
    if (method === 'glance-direct' && image.uploadId !== null) throw Conflict("Image needs to be staged before 'glance-direct' method can be used");
    if (!image.containerFormat) throw Conflict("'container_format' needs to be set before import");
    if (!image.diskFormat) throw Conflict("'disk_format' needs to be set before import");
    if (image.properties.os_glance_import_task && image.uploadId !== null) {
      throw Conflict(`Image ${image.id} has an import in progress (task ${image.properties.os_glance_import_task})`, 'image.import_locked');
    }
    if (method === 'web-download') {
      if (!req.uri) throw BadRequest("Import request requires a 'uri' field.", 'image.no_uri');
      this.urls.check(req.uri);
    }

    let stores = req.allStores ? [...this.d.stores.byId.keys()] : (req.stores ?? [this.d.stores.defaultId]);
    for (const s of stores) if (!this.d.stores.byId.has(s)) throw Conflict(`Unknown scheme '${s}' found in URI`, 'image.unknown_store');
    if (method === 'copy-image') {
      const present = new Set(image.locations.map((l) => l.store));
      if (req.allStores) stores = stores.filter((s) => !present.has(s));
      else for (const s of stores) if (present.has(s)) throw BadRequest(`Image is already present at store '${s}'`);
      if (stores.length === 0) return;
    }
    if (req.allStoresMustSucceed === false && !this.d.stores.multiStore) throw BadRequest(`All_stores_must_succeed can only be set with enabled_backends ${req.uri ?? 'None'}`);

    const now = this.d.clock.nowMs();
    const task: Task = {
      id: randomUUID(),
      type: 'api_image_import',
      status: 'processing',
      owner: ctx.projectId ?? image.owner ?? '',
      imageId: image.id,
      userId: ctx.userId ?? null,
      requestId: ctx.requestId,
      input: {
        image_id: image.id,
        import_req: { method: { name: method, ...(req.uri ? { uri: req.uri } : {}) }, ...(req.stores ? { stores: req.stores } : {}), ...(req.allStores !== undefined ? { all_stores: req.allStores } : {}) },
        backend: stores,
      },
      result: null,
      message: '',
      createdAt: new Date(now),
      updatedAt: new Date(now),
      expiresAt: null,
    };
    const properties = {
      ...image.properties,
      os_glance_import_task: task.id,
      os_glance_importing_to_stores: stores.join(','),
      os_glance_failed_import: '',
    };
    const held = await this.d.db.transaction().execute(async (trx) => {
      const n = await updateImageRow(
        trx,
        image.id,
        {
          status: method === 'copy-image' ? 'active' : 'importing',
          upload_id: task.id,
          upload_owner: this.d.instanceId,
          upload_lease_until: now + this.d.config.uploadLeaseMs,
          updated_at: wholeSeconds(now),
        },
        { fromStatus: image.status },
      );
      if (!n) return false;
      await insertTask(trx, task);
      await replaceProperties(trx, image.id, properties);
      return true;
    });
    if (!held) throw Conflict(`Image ${image.id} changed while the import was starting; try again`, 'image.import_race');
    this.kick(image.id);
  }

  /**
   * Converges one image's import: re-reads it, takes the lease, copies the data to every wanted
   * store, and makes the image active (or undoes the import when the source is gone).
   */
  async reconcile(imageId: string): Promise<void> {
    const image = await selectImage(this.d.db, imageId);
    if (!image) return this.cleanupDeleted(imageId);
    const taskId = image.properties.os_glance_import_task;
    if (!taskId || image.uploadId !== taskId) return;
    const now = this.d.clock.nowMs();
    if (image.uploadOwner !== this.d.instanceId && (image.uploadLeaseUntil ?? 0) > now && !this.d.embedded) return;
    // take (or keep) the lease
    const claimed = await updateImageRow(this.d.db, imageId, { upload_owner: this.d.instanceId, upload_lease_until: now + this.d.config.uploadLeaseMs }, { uploadId: taskId });
    if (!claimed) return;
    const task = await selectTask(this.d.db, taskId);
    const method = ((task?.input.import_req as { method?: { name?: string; uri?: string } } | undefined)?.method?.name ?? 'glance-direct');
    const uri = (task?.input.import_req as { method?: { uri?: string } } | undefined)?.method?.uri;
    const wanted = (image.properties.os_glance_importing_to_stores ?? '').split(',').filter(Boolean);
    const keep = setInterval(() => {
      void updateImageRow(this.d.db, imageId, { upload_lease_until: this.d.clock.nowMs() + this.d.config.uploadLeaseMs }, { uploadId: taskId }).catch(() => undefined);
    }, Math.max(1000, this.d.config.uploadLeaseMs / 3));
    try {
      await this.run(image, taskId, method, uri, wanted);
    } catch (err) {
      await this.fail(image, taskId, method, wanted, err instanceof Error ? err.message : String(err));
    } finally {
      clearInterval(keep);
    }
  }

  private async open(image: Image, method: string, uri: string | undefined): Promise<Readable> {
    if (method === 'glance-direct') {
      if (!image.stagingLocation) throw new Error('staged data is missing');
      return this.d.stores.staging.read(image.stagingLocation);
    }
    if (method === 'web-download') {
      this.urls.check(uri ?? '');
      const res = await fetch(uri!, { redirect: 'manual', signal: AbortSignal.timeout(600_000) });
      if (res.status !== 200 || !res.body) throw new Error(`web-download of ${uri} answered ${res.status}`);
      return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    }
    const loc = image.locations[0];
    if (!loc) throw new Error('the image has no data to copy');
    return this.d.stores.byId.get(loc.store)!.read(loc.url);
  }

  private async run(image: Image, taskId: string, method: string, uri: string | undefined, wanted: string[]): Promise<void> {
    const stores = wanted.map((s) => this.d.stores.byId.get(s)).filter((s): s is ImageStoreDriver => !!s);
    if (stores.length === 0) throw new Error('no known store to import to');
    const first = stores[0]!;
    const inspector = createInspector(image.diskFormat ?? 'raw');
    const digest = new DataDigest(inspector);
    const source = await this.open(image, method, uri);
    const written: { store: string; location: string }[] = [];
    const stored = await first.write(image.id, taskId, digest.through(source), { maxBytes: this.d.config.imageSizeCap });
    written.push({ store: first.id, location: stored.location });
    for (const s of stores.slice(1)) {
      const copy = await s.write(image.id, taskId, await first.read(stored.location), { maxBytes: this.d.config.imageSizeCap });
      written.push({ store: s.id, location: copy.location });
    }
    const sums = digest.result();
    const inspected = inspector.finish(sums.size);
    if (!copyOnlyMethod(method) && this.d.config.requireImageFormatMatch && inspected.rejection) {
      for (const w of written) await this.d.stores.byId.get(w.store)?.delete(w.location).catch(() => undefined);
      throw new Error(inspected.rejection);
    }
    const virtualSize = inspected.virtualSize;
    const now = this.d.clock.nowMs();
    const copyOnly = method === 'copy-image';
    const ok = await this.d.db.transaction().execute(async (trx) => {
      const set = copyOnly
        ? { ...RELEASED, updated_at: wholeSeconds(now) }
        : { ...activeWithData(sums, virtualSize, now), staging_location: null, staging_size: null };
      if (!(await updateImageRow(trx, image.id, set, { uploadId: taskId }))) return false;
      for (const w of written) await insertLocation(trx, image.id, { id: randomUUID(), store: w.store, url: w.location, metadata: { store: w.store }, status: 'active' }, now);
      const props: Record<string, string> = { ...image.properties, os_glance_importing_to_stores: '', os_glance_failed_import: '' };
      delete props.os_glance_import_task;
      await replaceProperties(trx, image.id, props);
      await finishTask(trx, taskId, 'success', '', { image_id: image.id }, now, now + TASK_TTL_MS);
      return true;
    });
    if (!ok) {
      for (const w of written) await this.d.stores.byId.get(w.store)?.delete(w.location).catch(() => undefined);
      return;
    }
    if (method === 'glance-direct' && image.stagingLocation) await this.d.stores.staging.delete(image.stagingLocation).catch(() => undefined);
  }

  private async fail(image: Image, taskId: string, method: string, wanted: string[], message: string): Promise<void> {
    this.d.log.warn({ image_id: image.id, task_id: taskId, err: message }, 'image import failed');
    const now = this.d.clock.nowMs();
    await this.d.db.transaction().execute(async (trx) => {
      const back = method === 'copy-image' ? 'active' : 'queued';
      const n = await updateImageRow(
        trx,
        image.id,
        { status: back, ...RELEASED, staging_location: null, staging_size: null, updated_at: wholeSeconds(now) },
        { uploadId: taskId },
      );
      if (!n) return;
      const props: Record<string, string> = { ...image.properties, os_glance_importing_to_stores: '', os_glance_failed_import: wanted.join(',') };
      delete props.os_glance_import_task;
      await replaceProperties(trx, image.id, props);
      await finishTask(trx, taskId, 'failure', message, null, now, now + TASK_TTL_MS);
    });
    if (image.stagingLocation && method === 'glance-direct') await this.d.stores.staging.delete(image.stagingLocation).catch(() => undefined);
  }

  /** A deleted image's staged data goes too. */
  private async cleanupDeleted(imageId: string): Promise<void> {
    const row = await selectImageRowAnyState(this.d.db, imageId);
    if (row?.staging_location) {
      await this.d.stores.staging.delete(row.staging_location).catch(() => undefined);
      await this.d.db.updateTable('image').set({ staging_location: null, staging_size: null }).where('id', '=', imageId).execute();
    }
  }
}

/** web-download's URL rules: an operator's glob allow-list first, then Glance's scheme/host/port filters. */
export function urlFilter(o: {
  allowedUrlPatterns: string[];
  allowedSchemes: string[];
  disallowedSchemes: string[];
  allowedHosts: string[];
  disallowedHosts: string[];
  allowedPorts: number[];
  disallowedPorts: number[];
}): UrlFilter {
  const patterns = o.allowedUrlPatterns.map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
  return {
    check(uri) {
      const refuse = () => {
        throw BadRequest(`URI for web-download does not pass filtering: ${uri}`, 'image.uri_filtered');
      };
      if (!patterns.some((p) => p.test(uri))) refuse();
      let u: URL;
      try {
        u = new URL(uri);
      } catch {
        return refuse();
      }
      const scheme = u.protocol.replace(/:$/, '');
      if (o.allowedSchemes.length ? !o.allowedSchemes.includes(scheme) : o.disallowedSchemes.includes(scheme)) refuse();
      if (o.allowedHosts.length ? !o.allowedHosts.includes(u.hostname) : o.disallowedHosts.includes(u.hostname)) refuse();
      const port = u.port ? Number(u.port) : scheme === 'https' ? 443 : 80;
      if (o.allowedPorts.length ? !o.allowedPorts.includes(port) : o.disallowedPorts.includes(port)) refuse();
    },
  };
}

export { ImageNotFound };

const copyOnlyMethod = (m: string) => m === 'copy-image';
