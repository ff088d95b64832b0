// What every image route shares: the frame (config the views need), schema checks worded as
// Glance's, the policy targets Glance builds, and query parsing helpers.
import type { RequestContext } from '@alto/kernel';
import { compileJsonSchema } from '@alto/http';
import type { ImageServices } from '../services.js';
import { BadRequest, SchemaMismatch } from '../domain/errors.js';
import { imageTarget } from '../domain/images.service.js';
import { GLANCE_SCHEMAS } from './schemas.data.js';

export interface ImageFrame {
  services: ImageServices;
  limitDefault: number;
  limitMax: number;
  /** enabled_backends configured: images show `stores`, responses carry OpenStack-image-store-ids. */
  multiStore: boolean;
  storeIds: string[];
  storeDescriptions: Record<string, string | undefined>;
  defaultStore: string;
  importMethods: string[];
  /** The JSON schemas served by /v2/schemas/*, with the configured format lists. */
  schemas: Record<string, Record<string, unknown>>;
  showDirectUrl: boolean;
  /** Checks a body against a named schema; throws Glance's 400. */
  validate(schema: 'image' | 'member', body: unknown): void;
}

/** The served schemas: Glance's, with disk and container formats from config. */
export function buildSchemas(diskFormats: string[], containerFormats: string[]): Record<string, Record<string, unknown>> {
  const schemas = JSON.parse(JSON.stringify(GLANCE_SCHEMAS)) as Record<string, Record<string, unknown>>;
  const setEnums = (image: Record<string, unknown>) => {
    const props = image.properties as Record<string, Record<string, unknown>>;
    props.disk_format!.enum = [null, ...diskFormats];
    props.container_format!.enum = [null, ...containerFormats];
  };
  setEnums(schemas.image!);
  setEnums(((schemas.images!.properties as Record<string, Record<string, unknown>>).images!.items as Record<string, unknown>));
  return schemas;
}

export function schemaValidator(schemas: Record<string, Record<string, unknown>>): ImageFrame['validate'] {
  // Glance's schemas carry draft-3 style annotations ajv does not know; they are documentation
  const strip = (s: Record<string, unknown>) => JSON.parse(JSON.stringify(s, (k, v: unknown) => (k === 'links' || k === 'readOnly' || k === 'writeOnly' || k === 'name' && typeof v === 'string' ? undefined : v))) as Record<string, unknown>;
  const compiled: Record<string, (v: unknown) => string | undefined> = {
    image: compileJsonSchema(strip(schemas.image!)),
    member: compileJsonSchema(strip(schemas.member!)),
  };
  return (name, body) => {
    const reason = compiled[name]!(body);
    if (reason !== undefined) throw SchemaMismatch(name, reason);
  };
}

/** Glance's policy target for a call before the image exists (add_image). */
export function proposedTarget(ctx: RequestContext, body: Record<string, unknown>): Record<string, unknown> {
  const owner = body.owner ?? ctx.projectId ?? null;
  return { project_id: owner, owner, visibility: body.visibility ?? 'private' };
}

export { imageTarget };

/** Loads the image the caller may see (404 otherwise) and answers its policy target. */
export async function imageTargetOf(frame: ImageFrame, ctx: RequestContext, imageId: string): Promise<Record<string, unknown>> {
  const image = await frame.services.images.getImageOrThrow(ctx, imageId);
  return imageTarget(ctx, image);
}

/** Query values arrive as a string or, when repeated, an array; Glance takes the last for scalars. */
const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export function one(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length ? str(v[v.length - 1]) : undefined;
  return v === undefined ? undefined : str(v);
}

export function all(v: unknown): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v.map(str) : [str(v)];
}

/** `true`/`false` as oslo's strutils.bool_from_string(strict=True) reads them. */
export function strictBool(value: string, message: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(v)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(v)) return false;
  throw BadRequest(message);
}

export const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
