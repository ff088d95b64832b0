// /v2/images/{id}/file, /stage, /import and /tasks: image data in and out, and interoperable import.
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AltoError, type RequestContext } from '@alto/kernel';
import { defineRoute, RawBody, StreamBody, type AnyRoute } from '@alto/http';
import type { ByteSink } from '../spi/store.js';
import { BadRequest } from '../domain/errors.js';
import type { DataSource } from '../domain/image-data.service.js';
import type { ImportRequest } from '../domain/import.service.js';
import { imageTargetOf, type ImageFrame } from './common.js';
import { taskView } from './views.js';

const ImageId = Type.Object({ image_id: Type.String() });

/** The request as a data source; the signal fires when the client goes away mid-upload. */
function dataSource(req: FastifyRequest, body: unknown): DataSource {
  if (!(body instanceof StreamBody)) {
    if (body instanceof RawBody || body === undefined || body === null) {
      throw new AltoError('unsupported_media_type', 'image.upload_type', 'Unsupported Content-Type');
    }
    // a JSON content type on an upload route
    throw new AltoError('unsupported_media_type', 'image.upload_type', 'Unsupported Content-Type');
  }
  const type = body.contentType.split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/octet-stream') throw new AltoError('unsupported_media_type', 'image.upload_type', 'Unsupported Content-Type');
  const ac = new AbortController();
  const abort = () => {
    if (!req.raw.complete) ac.abort();
  };
  req.raw.on('aborted', abort);
  req.raw.socket?.on('close', abort);
  const len = req.headers['content-length'];
  return { body: req.raw, length: len !== undefined ? Number(len) : undefined, signal: ac.signal };
}

export function imageDataRoutes(frame: ImageFrame): AnyRoute[] {
  const s = frame.services;
  const target = (input: { params: { image_id: string } }, ctx: RequestContext) => imageTargetOf(frame, ctx, input.params.image_id);

  const sendData = async (req: FastifyRequest, reply: FastifyReply, ctx: RequestContext, id: string) => {
    const range = req.headers.range;
    const d = await s.data.download(ctx, id, typeof range === 'string' ? range : undefined);
    if (!d.stream && !d.copyTo) {
      void reply.code(204);
      return reply.send();
    }
    void reply.header('content-type', 'application/octet-stream');
    if (d.image.checksum && !d.range) void reply.header('content-md5', d.image.checksum);
    void reply.header('content-length', String(d.length));
    if (d.range) {
      void reply.code(206);
      void reply.header('content-range', `bytes ${d.range.start}-${d.range.end}/${d.range.total}`);
    }
    if (d.stream) return reply.send(d.stream);
    return sendCopy(reply, d.copyTo!);
  };

  return [
    defineRoute({
      method: 'PUT',
      url: '/v2/images/:image_id/file',
      params: ImageId,
      policy: 'upload_image',
      target,
      streamBody: true,
      status: 204,
      errors: [404, 409, 410, 413, 415],
      handler: async ({ params, req, body }, ctx) => {
        const store = req.headers['x-image-meta-store'];
        await s.data.upload(ctx, params.image_id, dataSource(req, body), typeof store === 'string' ? store : undefined);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v2/images/:image_id/file',
      params: ImageId,
      policy: 'download_image',
      target,
      errors: [403, 404, 416],
      handler: async ({ params, req, reply }, ctx) => sendData(req, reply, ctx, params.image_id),
    }),
    defineRoute({
      method: 'PUT',
      url: '/v2/images/:image_id/stage',
      params: ImageId,
      policy: 'modify_image',
      target,
      streamBody: true,
      status: 204,
      errors: [404, 409, 410, 413, 415],
      handler: async ({ params, req, body }, ctx) => {
        await s.data.stage(ctx, params.image_id, dataSource(req, body));
        return undefined;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v2/images/:image_id/import',
      params: ImageId,
      // copy-image is guarded by copy_image, every other method by modify_image (Glance's import_image)
      policy: 'modify_image',
      policyOf: ({ body }) => ((body as { method?: { name?: unknown } } | undefined)?.method?.name === 'copy-image' ? 'copy_image' : 'modify_image'),
      target,
      status: 202,
      errors: [404, 409, 413],
      handler: async ({ params, body, req }, ctx) => {
        const r = parseImportBody(body);
        const storesHeader = req.headers['x-image-meta-store'];
        if (r.stores === undefined && typeof storesHeader === 'string') r.stores = [storesHeader];
        const image = await s.images.getImageOrThrow(ctx, params.image_id);
        await s.imports.start(ctx, image, r);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v2/images/:image_id/tasks',
      params: ImageId,
      policy: 'get_image',
      target,
      errors: [404],
      handler: async ({ params }, ctx) => ({ tasks: (await s.imports.tasksOf(ctx, params.image_id)).map(taskView) }),
    }),
  ];
}

/**
 * Writes image data straight to the socket from the store's reused buffers: each chunk is
 * released when the socket has taken it, so serving a GiB allocates (and collects) nothing.
 * The reply is hijacked, so the headers fastify holds are written here; HEAD gets headers only.
 */
async function sendCopy(reply: FastifyReply, copyTo: (sink: ByteSink) => Promise<number>): Promise<FastifyReply> {
  const res = reply.raw;
  reply.hijack();
  res.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>);
  if (reply.request.method === 'HEAD') {
    res.end();
    return reply;
  }
  let failed: Error | undefined;
  // a write whose callback never comes (socket gone) must not hold the file open forever
  const waiting = new Set<(err: Error) => void>();
  const fail = (err: Error) => {
    failed ??= err;
    for (const reject of waiting) reject(failed);
    waiting.clear();
  };
  res.on('error', fail);
  res.on('close', () => {
    if (!res.writableFinished) fail(new Error('client went away'));
  });
  try {
    await copyTo({
      write: (chunk) =>
        new Promise<void>((resolve, reject) => {
          if (failed) return reject(failed);
          waiting.add(reject);
          res.write(chunk, (err) => {
            waiting.delete(reject);
            if (err) reject(err);
            else if (failed) reject(failed);
            else resolve();
          });
        }),
    });
    res.end();
  } catch (err) {
    // headers are out: all that is left is to cut the connection so the client sees a short body
    reply.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'image download ended early');
    res.destroy();
  }
  return reply;
}

/** Glance's _validate_import_body, with its wording. */
function parseImportBody(body: unknown): ImportRequest {
  if (body === undefined || body instanceof RawBody || typeof body !== 'object' || body === null) throw BadRequest('Body expected in request.');
  const b = body as Record<string, unknown>;
  const method = b.method as Record<string, unknown> | undefined;
  if (method === undefined) throw BadRequest("Import request requires a 'method' field.");
  if (typeof method !== 'object' || method === null || method.name === undefined) throw BadRequest("Import request requires a 'name' field.");
  const name = typeof method.name === 'string' ? method.name : JSON.stringify(method.name);
  if (!['glance-direct', 'web-download', 'copy-image', 'glance-download'].includes(name)) throw BadRequest(`Unknown import method name '${name}'.`);
  if (b.all_stores_must_succeed !== undefined && typeof b.all_stores_must_succeed !== 'boolean') throw BadRequest("'all_stores_must_succeed' must be boolean value only");
  if (b.all_stores !== undefined && typeof b.all_stores !== 'boolean') throw BadRequest("'all_stores' must be boolean value only");
  if (b.all_stores === true && b.stores !== undefined) throw BadRequest('All stores and stores cannot be set together');
  return {
    method: name,
    uri: typeof method.uri === 'string' ? method.uri : undefined,
    stores: Array.isArray(b.stores) ? b.stores.map(String) : undefined,
    allStores: b.all_stores,
    allStoresMustSucceed: b.all_stores_must_succeed,
  };
}
