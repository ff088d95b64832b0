// A minimal Glance v2 client for the volume service: show, find by name, create and delete images, and stream image data to and from files, with the caller's or the service's token.
import { createHash, getHashes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadable } from 'node:stream/web';
import { newRequestId, type Clock } from '@alto/kernel';
import { errorMessage, passwordToken, type KeystoneToken, type PasswordAuth } from '@alto/clients';

/** An image as Glance v2 shows it: the base properties, and custom properties at the top level. */
export interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  visibility: string;
  protected: boolean;
  owner: string | null;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  virtual_size: number | null;
  min_disk: number;
  min_ram: number;
  checksum: string | null;
  os_hash_algo?: string | null;
  os_hash_value?: string | null;
  [property: string]: unknown;
}

/** Glance v2's base properties (its image schema's); every other key of an image is a custom property. */
export const GLANCE_BASE_PROPERTIES = new Set([
  'id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo', 'os_hash_value', 'owner', 'size', 'virtual_size',
  'min_ram', 'min_disk', 'container_format', 'disk_format', 'created_at', 'updated_at', 'tags', 'direct_url', 'locations', 'self', 'file', 'schema', 'stores',
]);

/** What Glance answered (status) or that it could not be reached (status undefined). */
export class GlanceError extends Error {
  readonly status: number | undefined;
  /** What Glance said, without our side of the exchange (URLs): fit for the API's callers. */
  readonly reason: string;
  constructor(status: number | undefined, message: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options);
    this.name = 'GlanceError';
    this.status = status;
    this.reason = options?.reason ?? message;
  }
}

/** Where a request's token comes from. A renewable source is asked again, fresh, after a 401. */
export interface TokenSource {
  token(fresh?: boolean): Promise<string>;
  readonly renewable: boolean;
}

/** The caller's own token (Cinder acts in the user's context for create, show and find): a 401 is final. */
export function userToken(token: string): TokenSource {
  return { token: async () => token, renewable: false };
}

/** The volume service's own token (keystone_authtoken's user), renewed a minute before it expires and whenever Glance refuses it. */
export interface ServiceTokens extends TokenSource {
  /** The URL of a catalog entry of the service token (type, interface), if there is one. */
  catalogUrl(type: string, iface?: string, region?: string): Promise<string | undefined>;
}

export function serviceTokens(auth: PasswordAuth, clock: Clock): ServiceTokens {
  let own: { id: string; expiresMs: number; token: KeystoneToken } | undefined;
  let pending: Promise<NonNullable<typeof own>> | undefined;
  const current = async (fresh: boolean) => {
    if (!fresh && own && own.expiresMs - clock.nowMs() > 60_000) return own;
    // concurrent transfers share one password authentication
    pending ??= passwordToken(auth)
      .then((t) => (own = { id: t.id, expiresMs: Date.parse(t.token.expires_at), token: t.token }))
      .finally(() => (pending = undefined));
    return pending;
  };
  return {
    renewable: true,
    token: async (fresh = false) => (await current(fresh)).id,
    async catalogUrl(type, iface = 'public', region) {
      const entry = (await current(false)).token.catalog?.find((c) => c.type === type);
      return entry?.endpoints.find((e) => e.interface === iface && (region === undefined || e.region_id === region))?.url;
    },
  };
}

/**
 * The image API's URL: the first of [DEFAULT] glance_api_servers (http:// when no scheme, as
 * Cinder's), else the service token's catalog entry of type image (Cinder's glance_catalog_info
 * image:glance:publicURL).
 */
export function glanceEndpoint(glanceApiServers: string | undefined, tokens: ServiceTokens, region?: string): () => Promise<string> {
  const first = glanceApiServers?.split(',').map((s) => s.trim()).find(Boolean);
  if (first) {
    const url = /^https?:\/\//.test(first) ? first : `http://${first}`;
    return async () => url;
  }
  return async () => {
    const url = await tokens.catalogUrl('image', 'public', region);
    if (!url) throw new GlanceError(undefined, 'the identity catalog has no public image endpoint and [DEFAULT] glance_api_servers is unset');
    return url;
  };
}

export interface GlanceClientOptions {
  /** The image API's base URL (without /v2). */
  endpoint: string | (() => Promise<string>);
  /** Per request for metadata calls; data transfers are bounded by progress instead. */
  timeoutMs?: number;
  /** A data transfer that moves no byte for this long is abandoned. */
  idleMs?: number;
}

/** The parts of a new image Cinder sends: name, formats, visibility, protected and custom properties as strings. */
export type NewImage = { name: string; disk_format: string; container_format: string; visibility?: string; protected?: boolean; id?: string } & Record<string, unknown>;

const KNOWN_HASHES = new Set(getHashes());

export class GlanceClient {
  readonly #endpoint: () => Promise<string>;
  readonly #timeoutMs: number;
  readonly #idleMs: number;

  constructor(options: GlanceClientOptions) {
    const e = options.endpoint;
    this.#endpoint = typeof e === 'string' ? async () => e : e;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#idleMs = options.idleMs ?? 120_000;
  }

  async getImage(tokens: TokenSource, imageId: string): Promise<GlanceImage> {
    return (await this.#json<GlanceImage>(tokens, 'GET', `/v2/images/${encodeURIComponent(imageId)}`)).body;
  }

  /** Images whose name is exactly `name` that the token's project may see. */
  async findImagesByName(tokens: TokenSource, name: string): Promise<GlanceImage[]> {
    return (await this.#json<{ images: GlanceImage[] }>(tokens, 'GET', `/v2/images?name=${encodeURIComponent(name)}`)).body.images;
  }

  async createImage(tokens: TokenSource, image: NewImage): Promise<GlanceImage> {
    return (await this.#json<GlanceImage>(tokens, 'POST', '/v2/images', image)).body;
  }

  /** Deletes an image; absent is success. */
  async deleteImage(tokens: TokenSource, imageId: string): Promise<void> {
    try {
      await this.#json(tokens, 'DELETE', `/v2/images/${encodeURIComponent(imageId)}`);
    } catch (err) {
      if (err instanceof GlanceError && err.status === 404) return;
      throw err;
    }
  }

  /** Streams a file as an image's data (PUT /v2/images/{id}/file); the image must be queued. */
  async uploadFile(tokens: TokenSource, imageId: string, path: string): Promise<void> {
    const { size } = await stat(path);
    const idle = idleWatch(this.#idleMs);
    try {
      await this.#send(
        tokens,
        'PUT',
        `/v2/images/${encodeURIComponent(imageId)}/file`,
        () => ({
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
          body: Readable.toWeb(createReadStream(path).pipe(new Transform({ transform: (chunk: Buffer, _enc, done) => (idle.touch(), done(null, chunk)) }))) as ReadableStream<Uint8Array>,
        }),
        idle.signal,
      );
    } finally {
      idle.stop();
    }
  }

  /**
   * Streams an image's data into `path` (made under a temporary name, renamed when whole) and
   * checks it against the image's size and hash (os_hash_value, else the md5 checksum), as
   * glanceclient does; data that does not match is removed and refused.
   */
  async downloadFile(tokens: TokenSource, image: Pick<GlanceImage, 'id' | 'size' | 'checksum' | 'os_hash_algo' | 'os_hash_value'>, path: string): Promise<void> {
    const idle = idleWatch(this.#idleMs);
    try {
      await this.#download(tokens, image, path, idle);
    } finally {
      idle.stop();
    }
  }

  async #download(tokens: TokenSource, image: Pick<GlanceImage, 'id' | 'size' | 'checksum' | 'os_hash_algo' | 'os_hash_value'>, path: string, idle: IdleWatch): Promise<void> {
    const res = await this.#send(tokens, 'GET', `/v2/images/${encodeURIComponent(image.id)}/file`, () => ({ headers: { accept: 'application/octet-stream' } }), idle.signal);
    if (res.status === 204 || !res.body) throw new GlanceError(204, `image ${image.id} has no data`);
    const algo = image.os_hash_algo && image.os_hash_value && KNOWN_HASHES.has(image.os_hash_algo) ? image.os_hash_algo : image.checksum ? 'md5' : undefined;
    const expected = algo === 'md5' ? image.checksum : image.os_hash_value;
    const hash: Hash | undefined = algo ? createHash(algo) : undefined;
    const limit = typeof image.size === 'number' ? image.size : Number.POSITIVE_INFINITY;
    let seen = 0;
    const part = `${path}.part`;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        idle.touch();
        if (seen > limit) return done(new GlanceError(200, `image ${image.id} sent more than its size of ${limit} bytes`));
        hash?.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(res.body as WebReadable<Uint8Array>), meter, createWriteStream(part));
      if (seen < limit && limit !== Number.POSITIVE_INFINITY) throw new GlanceError(200, `image ${image.id} sent ${seen} of its ${limit} bytes`);
      const got = hash?.digest('hex');
      if (got !== undefined && got !== expected) throw new GlanceError(200, `image ${image.id} data has ${algo} ${got}, not the ${expected} Glance recorded`);
      await rename(part, path);
    } catch (err) {
      await rm(part, { force: true });
      throw err instanceof GlanceError ? err : new GlanceError(undefined, `download of image ${image.id} broke off: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async #json<T>(tokens: TokenSource, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await this.#send(tokens, method, path, () => ({
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }));
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** One request, asked again once with a fresh token when a renewable token was refused (401). */
  async #send(tokens: TokenSource, method: string, path: string, make: () => { headers: Record<string, string>; body?: RequestInit['body'] }, signal?: AbortSignal): Promise<Response> {
    const url = (await this.#endpoint()).replace(/\/+$/, '').replace(/\/v2$/, '') + path;
    for (let attempt = 0; ; attempt++) {
      const token = await tokens.token(attempt > 0);
      const { headers, body } = make();
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: { 'x-auth-token': token, 'x-openstack-request-id': newRequestId(), ...headers },
          ...(body !== undefined ? { body, duplex: 'half' } : {}),
          // a metadata call has a deadline; a transfer only has to keep moving (idleWatch)
          signal: signal ?? AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (err) {
        const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
        throw new GlanceError(undefined, `${method} ${url}: ${why}`, { cause: err });
      }
      if (res.status === 401 && tokens.renewable && attempt === 0) {
        await res.body?.cancel();
        continue;
      }
      if (res.status >= 200 && res.status < 300) return res;
      const text = await res.text().catch(() => '');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        // webob answers HTML or plain text; errorMessage takes the start of it
      }
      const reason = glanceMessage(parsed) ?? res.statusText;
      throw new GlanceError(res.status, `${method} ${url} answered ${res.status}: ${reason}`, { reason: `HTTP ${res.status} ${res.statusText}: ${reason}` });
    }
  }
}

interface IdleWatch {
  signal: AbortSignal;
  touch(): void;
  stop(): void;
}

/** An abort signal that fires when `ms` pass without touch(): a transfer of any size, as long as it moves. */
function idleWatch(ms: number): IdleWatch {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(new Error(`no data moved for ${ms} ms`)), ms);
    timer.unref();
  };
  touch();
  return { signal: ctl.signal, touch, stop: () => clearTimeout(timer) };
}

/** The message of a Glance error body: its JSON {"message"}, or the text of webob's HTML page. */
function glanceMessage(body: unknown): string | undefined {
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  if (typeof body === 'string') {
    const html = /<\/h1>\s*([\s\S]*?)<br \/><br \/>/.exec(body)?.[1];
    if (html) return html.trim();
  }
  return errorMessage(body);
}
