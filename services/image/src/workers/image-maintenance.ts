// The image service's reconciler: finishes or undoes uploads and imports a crash cut short,
// removes partial data nobody holds, and deletes the data of deleted images from their stores.
import type { Runnable } from '@alto/runtime';
import type { ImageCoreDeps } from '../domain/deps.js';
import type { ImportService } from '../domain/import.service.js';
import type { ImageStoreDriver } from '../spi/store.js';
import { RELEASED, deleteLocationRow, selectPendingDeletes, selectStaleHolds, updateImageRow } from '../store/image.repo.js';

export interface MaintenanceOptions {
  /** Seconds between sweeps (a kick runs one sooner). */
  intervalSeconds: number;
}

export class ImageMaintenance implements Runnable {
  readonly name = 'image-maintenance';
  private readonly d: ImageCoreDeps;
  private readonly imports: ImportService;
  private readonly opts: MaintenanceOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private firstSweep = true;
  private readonly importQueue = new Set<string>();
  private importing: Promise<void> | undefined;

  constructor(d: ImageCoreDeps, imports: ImportService, opts: MaintenanceOptions) {
    this.d = d;
    this.imports = imports;
    this.opts = opts;
  }

  async start(): Promise<void> {
    this.imports.kick = (id) => this.enqueueImport(id);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.importing;
  }

  /** Runs a sweep soon (after a delete, say). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /** Resolves when the current sweep and import work are done (tests). */
  async idle(): Promise<void> {
    while (this.running || this.importing) {
      await this.running;
      await this.importing;
    }
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.sweep()
        .catch((err: unknown) => this.d.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'image maintenance sweep failed; retrying'))
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          const next = this.again ? 0 : this.opts.intervalSeconds * 1000;
          this.again = false;
          this.schedule(next);
        });
    }, ms);
    this.timer.unref();
  }

  private enqueueImport(imageId: string): void {
    this.importQueue.add(imageId);
    if (this.importing || this.stopped) return;
    this.importing = (async () => {
      while (this.importQueue.size && !this.stopped) {
        const id = this.importQueue.values().next().value!;
        this.importQueue.delete(id);
        await this.imports.reconcile(id).catch((err: unknown) => {
          this.d.log.error({ image_id: id, err: err instanceof Error ? err.message : String(err) }, 'import reconcile failed');
        });
      }
    })().finally(() => {
      this.importing = undefined;
    });
  }

  /** One pass over everything that can be left half done. */
  async sweep(): Promise<void> {
    const now = this.d.clock.nowMs();
    // 1. holds whose holder is gone: uploads go back to queued, imports resume
    const notOwner = this.d.embedded && this.firstSweep ? this.d.instanceId : undefined;
    this.firstSweep = false;
    for (const row of await selectStaleHolds(this.d.db, now, notOwner)) {
      if (row.status === 'saving' || (row.status === 'uploading' && row.staging_location === null)) {
        await updateImageRow(this.d.db, row.id, { status: 'queued', ...RELEASED }, { uploadId: row.upload_id! });
        this.d.log.info({ image_id: row.id, was: row.status }, 'an upload was cut short; the image is queued again');
      } else {
        this.enqueueImport(row.id);
      }
    }
    // 2. partial data nobody holds any more
    const stores: ImageStoreDriver[] = [...this.d.stores.byId.values(), this.d.stores.staging];
    for (const store of stores) {
      for await (const p of store.partials()) {
        const row = await this.d.db.selectFrom('image').select(['upload_id', 'upload_owner', 'upload_lease_until']).where('id', '=', p.imageId).executeTakeFirst();
        const held = row?.upload_id === p.uploadId && ((row.upload_lease_until ?? 0) > now || row.upload_owner === this.d.instanceId);
        if (!held) await store.discardPartial(p.imageId, p.uploadId);
      }
    }
    // 3. data of deleted images
    for (;;) {
      const batch = await selectPendingDeletes(this.d.db, 100);
      if (!batch.length) break;
      for (const loc of batch) {
        const store = this.d.stores.byId.get(loc.store);
        if (store) await store.delete(loc.url);
        else this.d.log.warn({ image_id: loc.imageId, store: loc.store }, 'deleted image data is in a store that is no longer configured; forgetting it');
        await deleteLocationRow(this.d.db, loc.id);
      }
    }
    const staged = await this.d.db.selectFrom('image').select(['id', 'staging_location']).where('deleted', '=', 1).where('staging_location', 'is not', null).limit(100).execute();
    for (const r of staged) {
      await this.d.stores.staging.delete(r.staging_location!);
      await this.d.db.updateTable('image').set({ staging_location: null, staging_size: null }).where('id', '=', r.id).execute();
    }
  }
}
