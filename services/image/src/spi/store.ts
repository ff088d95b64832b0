// The image store contract (glance_store's role): where image bytes live. Drivers implement it and
// pass the conformance suite in store.conformance.ts; only the composition root picks one.
import type { Readable } from 'node:stream';

/** What a committed write left behind. */
export interface StoredData {
  /** The store-specific URL of the bytes, kept in the image's locations (e.g. file:///data/images/<id>). */
  location: string;
  /** Bytes written. */
  size: number;
}

export interface WriteOptions {
  /**
   * Stop and fail with StoreSizeExceeded once more than this many bytes arrived (image_size_cap,
   * quotas); nothing is kept.
   */
  maxBytes?: number;
  /** Aborts the write (client went away); nothing is kept. */
  signal?: AbortSignal;
}

export interface ReadRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (HTTP Range semantics). */
  end: number;
}

/** A write that died before commit (process killed): its name derives from image and upload ids. */
export interface PartialWrite {
  imageId: string;
  uploadId: string;
  /** Last modification of the partial data, for leases. */
  modifiedAt: Date;
}

/** Where copyTo puts bytes: write resolves when the chunk's memory may be reused. */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
}

export interface StoreCapacity {
  totalBytes: number;
  freeBytes: number;
}

/**
 * One configured backend (a `enabled_backends` entry, or the staging area).
 *
 * Writes are all-or-nothing: data goes to a partial object named from (imageId, uploadId) and
 * becomes visible at `location` only after it is durable (fsync) and renamed into place. A write
 * that fails, is aborted or exceeds maxBytes removes its partial data before it rejects. A write
 * cut short by kill -9 leaves a partial that `partials()` lists and `discardPartial()` removes.
 */
export interface ImageStoreDriver {
  /** The backend id (`enabled_backends` key, e.g. "fast"; "file" when there is one store). */
  readonly id: string;
  /** The driver type as glance_store names it: "file". */
  readonly type: string;
  /** Options shown to admins by GET /v2/info/stores/detail (e.g. {datadir, chunk_size}). */
  readonly properties: Record<string, unknown>;
  /** Prepares the backend (creates directories); fails with a message saying what to fix. */
  open(): Promise<void>;
  write(imageId: string, uploadId: string, data: AsyncIterable<Uint8Array> | Readable, opts?: WriteOptions): Promise<StoredData>;
  /** Streams stored bytes, or one byte range of them. Fails with StoreDataNotFound when absent. */
  read(location: string, range?: ReadRange): Promise<Readable>;
  /** Size of the stored bytes; StoreDataNotFound when absent. */
  size(location: string): Promise<number>;
  /** Removes stored bytes; absent bytes are not an error (deletes are retried). */
  delete(location: string): Promise<void>;
  /**
   * Optional: hands stored bytes (or a range) to `sink` chunk by chunk, reusing the same few
   * buffers: each chunk may be overwritten once `sink.write` resolves. Serving data this way
   * allocates nothing per chunk (read() costs a garbage-collected buffer per chunk).
   */
  copyTo?(location: string, sink: ByteSink, range?: ReadRange): Promise<number>;
  partials(): AsyncIterable<PartialWrite>;
  discardPartial(imageId: string, uploadId: string): Promise<void>;
  capacity(): Promise<StoreCapacity>;
  /** Whether a location belongs to this backend. */
  owns(location: string): boolean;
}

/** Raised by drivers; the image service turns them into Glance's answers. */
export class StoreError extends Error {
  readonly code: 'not_found' | 'size_exceeded' | 'aborted' | 'full' | 'backend';
  constructor(code: StoreError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export const StoreDataNotFound = (location: string) => new StoreError('not_found', `image data not found at ${location}`);
export const StoreSizeExceeded = (maxBytes: number) => new StoreError('size_exceeded', `image data is larger than the ${maxBytes} bytes allowed`);
