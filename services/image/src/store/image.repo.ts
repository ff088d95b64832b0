// Images with their properties, tags and locations; visibility-aware listing with keyset pages.
import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { Image, ImageLocation, ImageStatus, MemberStatus, Visibility } from '../domain/models.js';
import type { ImageDB, ImageTable } from './schema.js';

/** A database handle or a transaction; repositories accept either. */
export type Db = Kysely<ImageDB>;
type Row = Selectable<ImageTable>;
type EB = ExpressionBuilder<ImageDB, 'image'>;

const bool = (v: number | boolean): boolean => v === 1 || v === true;
const num = (v: number | string | bigint | null): number | null => (v === null ? null : Number(v));

function rowToImage(r: Row, properties: Record<string, string>, tags: string[], locations: ImageLocation[]): Image {
  return {
    id: r.id,
    name: r.name,
    status: r.status as ImageStatus,
    visibility: r.visibility as Visibility,
    protected: bool(r.protected),
    osHidden: bool(r.os_hidden),
    owner: r.owner,
    size: num(r.size),
    virtualSize: num(r.virtual_size),
    checksum: r.checksum,
    osHashAlgo: r.os_hash_algo,
    osHashValue: r.os_hash_value,
    diskFormat: r.disk_format,
    containerFormat: r.container_format,
    minDisk: Number(r.min_disk),
    minRam: Number(r.min_ram),
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
    properties,
    tags,
    locations,
    uploadId: r.upload_id,
    uploadOwner: r.upload_owner,
    uploadLeaseUntil: num(r.upload_lease_until),
    stagingLocation: r.staging_location,
    stagingSize: num(r.staging_size),
  };
}

/** The columns a core update may set. */
export type ImageColumns = Partial<Omit<ImageTable, 'id' | 'created_at'>>;

export function imageColumns(i: Image): ImageTable {
  return {
    id: i.id,
    name: i.name,
    status: i.status,
    visibility: i.visibility,
    protected: i.protected ? 1 : 0,
    os_hidden: i.osHidden ? 1 : 0,
    owner: i.owner,
    size: i.size,
    virtual_size: i.virtualSize,
    checksum: i.checksum,
    os_hash_algo: i.osHashAlgo,
    os_hash_value: i.osHashValue,
    disk_format: i.diskFormat,
    container_format: i.containerFormat,
    min_disk: i.minDisk,
    min_ram: i.minRam,
    created_at: i.createdAt.getTime(),
    updated_at: i.updatedAt.getTime(),
    deleted: 0,
    deleted_at: null,
    upload_id: i.uploadId,
    upload_owner: i.uploadOwner,
    upload_lease_until: i.uploadLeaseUntil,
    staging_location: i.stagingLocation,
    staging_size: i.stagingSize,
  };
}

/** Glance shows whole seconds: times are stored as shown. */
export const wholeSeconds = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** The hold on an image is over (upload, stage or import done or undone). */
export const RELEASED: ImageColumns = { upload_id: null, upload_owner: null, upload_lease_until: null };

/** The columns that make verified data the image's: active, with its size and hashes. */
export function activeWithData(sums: { size: number; md5: string; sha512: string }, virtualSize: number | null, nowMs: number): ImageColumns {
  return {
    ...RELEASED,
    status: 'active',
    size: sums.size,
    checksum: sums.md5,
    os_hash_algo: 'sha512',
    os_hash_value: sums.sha512,
    virtual_size: virtualSize,
    updated_at: wholeSeconds(nowMs),
  };
}

export async function insertImage(db: Db, i: Image): Promise<void> {
  await db.insertInto('image').values(imageColumns(i)).execute();
  await replaceProperties(db, i.id, i.properties);
  await replaceTags(db, i.id, i.tags);
}

/** Whether an id was ever used (Glance never reuses the id of a deleted image). */
export async function imageIdExists(db: Db, id: string): Promise<boolean> {
  return (await db.selectFrom('image').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}

async function hydrate(db: Db, rows: Row[]): Promise<Image[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [props, tags, locs] = await Promise.all([
    db.selectFrom('image_property').selectAll().where('image_id', 'in', ids).execute(),
    db.selectFrom('image_tag').selectAll().where('image_id', 'in', ids).orderBy('value').execute(),
    db.selectFrom('image_location').selectAll().where('image_id', 'in', ids).where('status', '=', 'active').orderBy('created_at').orderBy('id').execute(),
  ]);
  const propsOf = new Map<string, Record<string, string>>();
  for (const p of props) (propsOf.get(p.image_id) ?? propsOf.set(p.image_id, {}).get(p.image_id)!)[p.name] = p.value;
  const tagsOf = new Map<string, string[]>();
  for (const t of tags) (tagsOf.get(t.image_id) ?? tagsOf.set(t.image_id, []).get(t.image_id)!).push(t.value);
  const locsOf = new Map<string, ImageLocation[]>();
  for (const l of locs) {
    (locsOf.get(l.image_id) ?? locsOf.set(l.image_id, []).get(l.image_id)!).push({
      id: l.id,
      store: l.store,
      url: l.url,
      metadata: JSON.parse(l.metadata) as Record<string, unknown>,
      status: l.status as ImageLocation['status'],
    });
  }
  return rows.map((r) => rowToImage(r, propsOf.get(r.id) ?? {}, tagsOf.get(r.id) ?? [], locsOf.get(r.id) ?? []));
}

export async function selectImage(db: Db, id: string): Promise<Image | undefined> {
  const row = await db.selectFrom('image').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
  return row ? (await hydrate(db, [row]))[0] : undefined;
}

/**
 * Sets core columns; with `fromStatus` only while the image is still in that status (the
 * compare-and-set that lets exactly one of two concurrent uploads start). Returns rows changed.
 */
export async function updateImageRow(db: Db, id: string, set: ImageColumns, guard: { fromStatus?: ImageStatus | ImageStatus[]; uploadId?: string } = {}): Promise<number> {
  let q = db.updateTable('image').set(set).where('id', '=', id).where('deleted', '=', 0);
  if (guard.fromStatus !== undefined) q = q.where('status', 'in', Array.isArray(guard.fromStatus) ? guard.fromStatus : [guard.fromStatus]);
  if (guard.uploadId !== undefined) q = q.where('upload_id', '=', guard.uploadId);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function replaceProperties(db: Db, id: string, props: Record<string, string>): Promise<void> {
  await db.deleteFrom('image_property').where('image_id', '=', id).execute();
  const rows = Object.entries(props).map(([name, value]) => ({ image_id: id, name, value }));
  if (rows.length) await db.insertInto('image_property').values(rows).execute();
}

export async function replaceTags(db: Db, id: string, tags: string[]): Promise<void> {
  await db.deleteFrom('image_tag').where('image_id', '=', id).execute();
  const rows = [...new Set(tags)].map((value) => ({ image_id: id, value }));
  if (rows.length) await db.insertInto('image_tag').values(rows).execute();
}

export async function addTag(db: Db, id: string, tag: string): Promise<void> {
  const exists = await db.selectFrom('image_tag').select('value').where('image_id', '=', id).where('value', '=', tag).executeTakeFirst();
  if (!exists) await db.insertInto('image_tag').values({ image_id: id, value: tag }).execute();
}

export async function deleteTag(db: Db, id: string, tag: string): Promise<number> {
  const r = await db.deleteFrom('image_tag').where('image_id', '=', id).where('value', '=', tag).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function countTags(db: Db, id: string): Promise<number> {
  const r = await db.selectFrom('image_tag').select((eb) => eb.fn.countAll<number>().as('n')).where('image_id', '=', id).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function insertLocation(db: Db, imageId: string, loc: ImageLocation, nowMs: number): Promise<void> {
  await db
    .insertInto('image_location')
    .values({ id: loc.id, image_id: imageId, store: loc.store, url: loc.url, metadata: JSON.stringify(loc.metadata), status: loc.status, created_at: nowMs })
    .execute();
}

/** Marks every live location of an image for deletion from its store. */
export async function markLocationsForDelete(db: Db, imageId: string): Promise<void> {
  await db.updateTable('image_location').set({ status: 'pending_delete' }).where('image_id', '=', imageId).where('status', '=', 'active').execute();
}

export async function selectPendingDeletes(db: Db, limit: number): Promise<{ id: string; imageId: string; store: string; url: string }[]> {
  const rows = await db.selectFrom('image_location').select(['id', 'image_id', 'store', 'url']).where('status', '=', 'pending_delete').limit(limit).execute();
  return rows.map((r) => ({ id: r.id, imageId: r.image_id, store: r.store, url: r.url }));
}

export async function deleteLocationRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('image_location').where('id', '=', id).execute();
}

/** Soft delete, as Glance: the row stays so the id is never reused; its data is marked for removal. */
export async function softDeleteImage(db: Db, id: string, nowMs: number): Promise<number> {
  const n = await updateImageRow(db, id, { deleted: 1, deleted_at: nowMs, status: 'deleted', updated_at: nowMs, ...RELEASED });
  if (n) {
    await markLocationsForDelete(db, id);
    await db.deleteFrom('image_member').where('image_id', '=', id).execute();
  }
  return n;
}

/** Images whose upload or import lease has lapsed (or, with `notOwner`, is held by a dead process). */
export async function selectStaleHolds(db: Db, nowMs: number, notOwner?: string): Promise<Row[]> {
  return db
    .selectFrom('image')
    .selectAll()
    .where('deleted', '=', 0)
    .where('upload_id', 'is not', null)
    .where((eb) => {
      const lapsed = eb('upload_lease_until', '<', nowMs);
      return notOwner === undefined ? lapsed : eb.or([lapsed, eb('upload_owner', '!=', notOwner)]);
    })
    .execute();
}

export async function selectImageRowAnyState(db: Db, id: string): Promise<Row | undefined> {
  return db.selectFrom('image').selectAll().where('id', '=', id).executeTakeFirst();
}

// ---- listing ----------------------------------------------------------------------------------

export type SortKey = 'name' | 'status' | 'container_format' | 'disk_format' | 'size' | 'id' | 'created_at' | 'updated_at' | 'visibility' | 'min_disk' | 'min_ram';
export interface SortSpec {
  key: SortKey;
  dir: 'asc' | 'desc';
}

export type Comparison = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte';

type CoreFilter = 'checksum' | 'os_hash_value' | 'os_hash_algo' | 'min_disk' | 'min_ram' | 'size' | 'virtual_size';
const NUMERIC_CORE = new Set<CoreFilter>(['min_disk', 'min_ram', 'size', 'virtual_size']);

export interface ImageFilters {
  /** Exact values (an `in:` list has several). */
  name?: string[];
  status?: string[];
  diskFormat?: string[];
  containerFormat?: string[];
  id?: string[];
  owner?: string[];
  protected?: boolean;
  osHidden?: boolean;
  sizeMin?: number;
  sizeMax?: number;
  createdAt?: { op: Comparison; ms: number }[];
  updatedAt?: { op: Comparison; ms: number }[];
  tags?: string[];
  properties?: Record<string, string[]>;
  /** Other core columns compared for equality (checksum, os_hash_value, min_disk, min_ram). */
  core?: Partial<Record<CoreFilter, string>>;
}

export interface ImageListQuery {
  projectId: string | undefined;
  isAdmin: boolean;
  visibility: Visibility | 'all' | undefined;
  memberStatus: MemberStatus | 'all';
  filters: ImageFilters;
  sort: SortSpec[];
  /** The image the previous page ended with. */
  marker?: Image;
  limit: number;
}

const OPS: Record<Comparison, '=' | '!=' | '>' | '>=' | '<' | '<='> = { eq: '=', neq: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' };

/** NULL sorts as the smallest value, the same on every engine, so keyset pages line up. */
function sortExpr(eb: EB, key: SortKey): Expression<unknown> {
  if (key === 'name' || key === 'container_format' || key === 'disk_format') return eb.fn.coalesce(eb.ref(key), sql.lit(''));
  if (key === 'size') return eb.fn.coalesce(eb.ref('size'), sql.lit(-1));
  return eb.ref(key);
}

function markerValue(m: Image, key: SortKey): unknown {
  switch (key) {
    case 'name':
      return m.name ?? '';
    case 'container_format':
      return m.containerFormat ?? '';
    case 'disk_format':
      return m.diskFormat ?? '';
    case 'size':
      return m.size ?? -1;
    case 'created_at':
      return m.createdAt.getTime();
    case 'updated_at':
      return m.updatedAt.getTime();
    case 'min_disk':
      return m.minDisk;
    case 'min_ram':
      return m.minRam;
    default:
      return m[key];
  }
}

/** The rows a caller may see at all, narrowed by the visibility and member_status filters as Glance does. */
function visibilityCondition(eb: EB, q: ImageListQuery): Expression<SqlBool> | undefined {
  const member = (statuses: MemberStatus[] | 'all') => {
    let sub = eb.selectFrom('image_member').select('image_member.image_id').whereRef('image_member.image_id', '=', 'image.id').where('image_member.member', '=', q.projectId ?? '');
    if (statuses !== 'all') sub = sub.where('image_member.status', 'in', statuses);
    return eb.exists(sub);
  };
  const memberStatuses = q.memberStatus === 'all' ? 'all' : [q.memberStatus];
  const own = eb('owner', '=', q.projectId ?? '');
  const v = q.visibility;
  if (q.isAdmin) {
    if (v === 'all') return undefined;
    if (v !== undefined) return eb('visibility', '=', v);
    // COMPAT(glance): without a visibility filter, community images only when owned
    return eb.or([own, eb('visibility', '!=', 'community')]);
  }
  switch (v) {
    case 'public':
    case 'community':
      return eb('visibility', '=', v);
    case 'private':
      return eb.and([eb('visibility', '=', 'private'), own]);
    case 'shared':
      return eb.and([eb('visibility', '=', 'shared'), eb.or([own, member(memberStatuses)])]);
    case 'all':
      return eb.or([own, eb('visibility', 'in', ['public', 'community']), eb.and([eb('visibility', '=', 'shared'), member(memberStatuses)])]);
    default:
      // COMPAT(glance v2 images list): community images are listed only when asked for by visibility
      return eb.or([own, eb('visibility', '=', 'public'), eb.and([eb('visibility', '=', 'shared'), member(memberStatuses)])]);
  }
}

export async function listImages(db: Db, q: ImageListQuery): Promise<Image[]> {
  const f = q.filters;
  let query = db.selectFrom('image').selectAll().where('deleted', '=', 0);
  query = query.where((eb) => {
    const conds: Expression<SqlBool>[] = [];
    const vis = visibilityCondition(eb, q);
    if (vis) conds.push(vis);
    const inList = (col: 'name' | 'status' | 'disk_format' | 'container_format' | 'id' | 'owner', vals?: string[]) => {
      if (vals !== undefined) conds.push(vals.length ? eb(col, 'in', vals) : sql<SqlBool>`1 = 0`);
    };
    inList('name', f.name);
    inList('status', f.status);
    inList('disk_format', f.diskFormat);
    inList('container_format', f.containerFormat);
    inList('id', f.id);
    inList('owner', f.owner);
    for (const [col, v] of Object.entries(f.core ?? {}) as [CoreFilter, string][]) {
      if (NUMERIC_CORE.has(col) && !/^-?\d+$/.test(v.trim())) conds.push(sql<SqlBool>`1 = 0`);
      else conds.push(NUMERIC_CORE.has(col) ? eb(col, '=', Number(v)) : eb(col, '=', v));
    }
    if (f.protected !== undefined) conds.push(eb('protected', '=', f.protected ? 1 : 0));
    conds.push(eb('os_hidden', '=', f.osHidden ? 1 : 0));
    if (f.sizeMin !== undefined) conds.push(eb('size', '>=', f.sizeMin));
    if (f.sizeMax !== undefined) conds.push(eb('size', '<=', f.sizeMax));
    for (const c of f.createdAt ?? []) conds.push(eb('created_at', OPS[c.op], c.ms));
    for (const c of f.updatedAt ?? []) conds.push(eb('updated_at', OPS[c.op], c.ms));
    for (const tag of f.tags ?? []) {
      conds.push(eb.exists(eb.selectFrom('image_tag').select('image_tag.image_id').whereRef('image_tag.image_id', '=', 'image.id').where('image_tag.value', '=', tag)));
    }
    for (const [name, values] of Object.entries(f.properties ?? {})) {
      conds.push(
        eb.exists(
          eb
            .selectFrom('image_property')
            .select('image_property.image_id')
            .whereRef('image_property.image_id', '=', 'image.id')
            .where('image_property.name', '=', name)
            .where('image_property.value', 'in', values),
        ),
      );
    }
    if (q.marker) {
      // keyset: rows strictly after the marker in the sort order (sort keys then id)
      const keys: SortSpec[] = [...q.sort];
      if (!keys.some((k) => k.key === 'id')) keys.push({ key: 'id', dir: keys.at(-1)?.dir ?? 'desc' });
      const ors: Expression<SqlBool>[] = [];
      for (let i = 0; i < keys.length; i++) {
        const ands: Expression<SqlBool>[] = [];
        for (let j = 0; j < i; j++) ands.push(eb(sortExpr(eb, keys[j]!.key), '=', markerValue(q.marker, keys[j]!.key)));
        ands.push(eb(sortExpr(eb, keys[i]!.key), keys[i]!.dir === 'asc' ? '>' : '<', markerValue(q.marker, keys[i]!.key)));
        ors.push(eb.and(ands));
      }
      conds.push(eb.or(ors));
    }
    return eb.and(conds);
  });
  for (const s of q.sort) query = query.orderBy((eb) => sortExpr(eb, s.key), s.dir);
  if (!q.sort.some((s) => s.key === 'id')) query = query.orderBy('id', q.sort.at(-1)?.dir ?? 'desc');
  const rows = await query.limit(q.limit).execute();
  return hydrate(db, rows);
}

// ---- usage (quotas) ---------------------------------------------------------------------------

export interface Usage {
  /** Bytes of active data owned (image_size_total). */
  sizeTotal: number;
  /** Bytes waiting in staging (image_stage_total). */
  stageTotal: number;
  /** Images (image_count_total). */
  countTotal: number;
  /** Images being uploaded or imported (image_count_uploading). */
  countUploading: number;
}

export async function usageOf(db: Db, owner: string): Promise<Usage> {
  const r = await db
    .selectFrom('image')
    .select((eb) => [
      eb.fn.countAll<number>().as('count_total'),
      eb.fn.sum<number>(eb.fn.coalesce('size', sql.lit(0))).as('size_total'),
      eb.fn.sum<number>(eb.fn.coalesce('staging_size', sql.lit(0))).as('stage_total'),
      eb.fn.sum<number>(eb.case().when('upload_id', 'is not', null).then(1).else(0).end()).as('count_uploading'),
    ])
    .where('owner', '=', owner)
    .where('deleted', '=', 0)
    .executeTakeFirstOrThrow();
  return {
    sizeTotal: Number(r.size_total ?? 0),
    stageTotal: Number(r.stage_total ?? 0),
    countTotal: Number(r.count_total ?? 0),
    countUploading: Number(r.count_uploading ?? 0),
  };
}
