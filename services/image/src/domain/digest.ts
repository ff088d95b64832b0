// Hashes and inspects image data while it streams to a store: md5 (Glance's checksum), sha512
// (os_hash_value), byte count and the format inspector's view, without holding the data.
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** What the format inspector offers the data path (see format-inspector.ts). */
export interface StreamInspector {
  feed(chunk: Uint8Array): void;
}

export interface DigestResult {
  size: number;
  md5: string;
  sha512: string;
}

export class DataDigest {
  private readonly md5: Hash = createHash('md5');
  private readonly sha512: Hash = createHash('sha512');
  private readonly inspector: StreamInspector | undefined;
  size = 0;
  constructor(inspector?: StreamInspector) {
    this.inspector = inspector;
  }

  /**
   * Passes the data through unchanged, hashing each chunk on the way; the consumer's pace sets
   * the pace (backpressure), so memory stays at a chunk or two whatever the image size.
   */
  async *through(source: AsyncIterable<Uint8Array> | Readable, onChunk?: (bytesSoFar: number) => void): AsyncGenerator<Uint8Array> {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      this.md5.update(chunk);
      this.sha512.update(chunk);
      this.inspector?.feed(chunk);
      this.size += chunk.length;
      onChunk?.(this.size);
      yield chunk;
    }
  }

  result(): DigestResult {
    return { size: this.size, md5: this.md5.digest('hex'), sha512: this.sha512.digest('hex') };
  }
}
