// Snapshots: create (quota in the same transaction as the row), list, show, update, delete,
// metadata and the snapshot actions, with the invariants Cinder's volume/api.py keeps; the volume's
// worker is told only the snapshot's id and converges it (a lost message is found by its sweep).
import { randomUUID } from 'node:crypto';
import { sql, type Expression, type ExpressionBuilder, type Selectable, type SqlBool } from 'kysely';
import type { RequestContext } from '@alto/kernel';
import { VOLUME_TOPIC } from '../workers/topics.js';
import { afterMarker, sortExpr, withTiebreak, type NullAs, type SortSpec } from '../store/keyset.js';
import type { BlockStorageDB, SnapshotTable } from '../store/schema.js';
import { typeNamesOf } from '../store/type.repo.js';
import { selectVolume, type Db, type VolumeRow } from '../store/volume.repo.js';
import { isAdmin, ownerTarget, type BlockStorageCoreDeps } from './deps.js';
import { BadRequest, InvalidInput, InvalidSnapshot, InvalidVolume, SnapshotMetadataNotFound, SnapshotNotFound, VolumeNotFound } from './errors.js';
import { snapshotDeltas, type QuotaEngine } from './quotas.js';

export type SnapshotRow = Selectable<SnapshotTable>;

/** A snapshot with what its views show besides the row. */
export interface SnapshotDetail {
  row: SnapshotRow;
  metadata: Record<string, string>;
}

export interface CreateSnapshotInput {
  volumeId: string;
  name?: string | null | undefined;
  description?: string | null | undefined;
  metadata?: Record<string, string> | null | undefined;
  /** force=true: an in-use volume may be snapshotted (create_snapshot_force). */
  force?: boolean | undefined;
  /** 3.66+: in-use volumes are fine without force. */
  allowInUse?: boolean | undefined;
}

export interface UpdateSnapshotInput {
  name?: string | null | undefined;
  description?: string | null | undefined;
}

export interface SnapshotListQuery {
  /** Only this project's snapshots; undefined: every project's (all_tenants). */
  projectId?: string | undefined;
  /** column = value. */
  eq: Partial<Record<keyof SnapshotTable, string | number | null>>;
  /** column LIKE %value% (3.34 `name~`). */
  like: Partial<Record<keyof SnapshotTable, string>>;
  /** Every key=value must be in the snapshot's metadata. */
  metadata: Record<string, string>;
  /** The snapshot's volume is in this availability zone. */
  availabilityZone?: string | undefined;
  /** The snapshot's volume is on this host, backend or pool (Cinder's _filter_host levels). */
  host?: string | undefined;
  /** A filter no snapshot can match (an admin's unknown key, a metadata filter that is not a dict). */
  none?: boolean;
  sort: SortSpec[];
  marker?: SnapshotRow | undefined;
  limit: number;
  /** Rows to skip after the marker (Cinder's offset). */
  offset?: number | undefined;
}

/** Snapshot columns a list may sort by (Cinder accepts any model attribute; these are ours). */
export const SNAPSHOT_SORT_KEYS = new Set([
  'id', 'name', 'description', 'status', 'progress', 'volume_id', 'volume_size', 'project_id', 'user_id', 'volume_type_id', 'group_snapshot_id',
  'created_at', 'updated_at', 'use_quota',
]);
const SNAPSHOT_NULL_AS: NullAs = { name: 'text', description: 'text', progress: 'text', volume_type_id: 'text', group_snapshot_id: 'text', updated_at: 'number' };

/** Statuses os-update_snapshot_status may move from, and to (contrib/snapshot_actions.py). */
const STATUS_MAP: Record<string, string[]> = {
  creating: ['creating', 'available', 'error'],
  deleting: ['deleting', 'error_deleting'],
};

/** Every status a snapshot can have (objects/fields.py SnapshotStatus.ALL, in Cinder's order). */
export const SNAPSHOT_STATUSES = ['error', 'available', 'creating', 'deleting', 'deleted', 'updating', 'error_deleting', 'unmanaging', 'backing-up', 'restoring'] as const;

/** Cinder's _is_volume_migrating: a migration is under way. */
const isMigrating = (v: VolumeRow) => v.migration_status !== null && !['deleting', 'error', 'success'].includes(v.migration_status);

export class SnapshotsService {
  private readonly d: BlockStorageCoreDeps;
  private readonly quotas: QuotaEngine;

  constructor(d: BlockStorageCoreDeps, quotas: QuotaEngine) {
    this.d = d;
    this.quotas = quotas;
  }

  /** A live snapshot the caller may see (its project's; any for admins), or SnapshotNotFound. */
  async getRowOrThrow(ctx: RequestContext, id: string, db: Db = this.d.db): Promise<SnapshotRow> {
    const row = await db.selectFrom('snapshot').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
    if (!row || (!isAdmin(ctx) && row.project_id !== ctx.projectId)) throw SnapshotNotFound(id);
    return row;
  }

  /** The policy target Cinder passes for a snapshot (its fields, owner's project and user). */
  target(row: SnapshotRow): Record<string, unknown> {
    return { ...row, project_id: row.project_id, user_id: row.user_id };
  }

  /** The volume a new snapshot would be taken of, as its policy target (volume:create_snapshot). */
  async volumeRowOrThrow(ctx: RequestContext, volumeId: string): Promise<VolumeRow> {
    const v = await selectVolume(this.d.db, volumeId);
    if (!v || (!isAdmin(ctx) && v.project_id !== ctx.projectId)) throw VolumeNotFound(volumeId);
    return v;
  }

  async getOrThrow(ctx: RequestContext, id: string): Promise<SnapshotDetail> {
    const [detail] = await this.hydrate([await this.getRowOrThrow(ctx, id)]);
    return detail!;
  }

  async hydrate(rows: SnapshotRow[]): Promise<SnapshotDetail[]> {
    const meta = await metadataOf(this.d.db, rows.map((r) => r.id));
    return rows.map((row) => ({ row, metadata: meta.get(row.id) ?? {} }));
  }

  async list(q: SnapshotListQuery): Promise<SnapshotDetail[]> {
    const sort = withTiebreak(q.sort);
    let query = this.d.db.selectFrom('snapshot').selectAll().where(listWhere(q));
    if (q.marker) {
      const marker = q.marker as unknown as Record<string, unknown>;
      query = query.where((eb) => afterMarker(eb, sort, marker, SNAPSHOT_NULL_AS));
    }
    for (const s of sort) query = query.orderBy((eb) => sortExpr(eb, s.key, SNAPSHOT_NULL_AS), s.dir);
    query = query.limit(q.limit);
    if (q.offset) query = query.offset(q.offset);
    return this.hydrate(await query.execute());
  }

  /** How many snapshots match (3.45 with_count). */
  async count(q: SnapshotListQuery): Promise<number> {
    const r = await this.d.db.selectFrom('snapshot').select((eb) => eb.fn.countAll<number>().as('n')).where(listWhere(q)).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async markerOrThrow(ctx: RequestContext, id: string): Promise<SnapshotRow> {
    return this.getRowOrThrow(ctx, id);
  }

  /**
   * Records a snapshot of a volume (status creating) and its quota in one transaction, then tells
   * the volume's worker. The caller has checked volume:create_snapshot on the volume.
   */
  async create(ctx: RequestContext, input: CreateSnapshotInput): Promise<SnapshotDetail> {
    const projectId = ctx.projectId;
    if (!projectId) throw BadRequest('a project-scoped token is required to create a snapshot');
    const volume = await this.volumeRowOrThrow(ctx, input.volumeId);
    await this.assertNotFrozen(volume.host);
    // Cinder's _create_snapshot_in_db_validate, in its order (its host check comes too late to be seen)
    if (volume.status === 'maintenance') throw InvalidVolume('The snapshot cannot be created when the volume is in maintenance mode.');
    if (isMigrating(volume)) throw InvalidVolume('Snapshot cannot be created while volume is migrating.');
    if (volume.status === 'error') throw InvalidVolume('The snapshot cannot be created when the volume is in error status.');
    if (volume.status.startsWith('replica_')) throw InvalidVolume('Snapshot of secondary replica is not allowed.');
    const valid = input.force || input.allowInUse ? ['available', 'in-use'] : ['available'];
    const wrongStatus = (status: string) => InvalidVolume(`Volume ${volume.id} status must be ${valid.join(', ')}, but current status is: ${status}.`);
    if (!valid.includes(volume.status)) throw wrongStatus(volume.status);

    const typeName = (await typeNamesOf(this.d.db, [volume.volume_type_id])).get(volume.volume_type_id) ?? volume.volume_type_id;
    const deltas = snapshotDeltas(Number(volume.size), typeName);
    const row: SnapshotTable = {
      id: randomUUID(),
      volume_id: volume.id,
      project_id: projectId,
      user_id: ctx.userId ?? '',
      name: input.name ?? null,
      description: input.description ?? null,
      status: 'creating',
      progress: '0%',
      volume_size: Number(volume.size),
      volume_type_id: volume.volume_type_id,
      group_snapshot_id: null,
      provider_location: null,
      task_owner: null,
      task_lease_until: null,
      created_at: this.d.clock.nowMs(),
      updated_at: null,
      deleted: 0,
      deleted_at: null,
      use_quota: 1,
    };
    await this.quotas.prepare(projectId, deltas);
    await this.d.db.transaction().execute(async (trx) => {
      await this.quotas.consume(trx, projectId, deltas);
      await trx.insertInto('snapshot').values(row).execute();
      await writeMetadata(trx, row.id, input.metadata ?? {}, true);
      // Cinder re-reads the volume after the insert: a volume that moved meanwhile undoes it all
      const now = await selectVolume(trx, volume.id);
      if (!now || !valid.includes(now.status)) throw wrongStatus(now?.status ?? 'deleted');
    });
    await this.kick(row.id, volume.host, 'create_snapshot');
    return this.getOrThrow(ctx, row.id);
  }

  /**
   * Cinder's assert_not_frozen on the volume's backend: no host is InvalidVolume (extract_host),
   * a frozen backend refuses every change.
   */
  private async assertNotFrozen(host: string | null): Promise<void> {
    if (!host) throw InvalidVolume('volume is not assigned to a host');
    const backend = host.split('#')[0]!;
    const row = await this.d.db.selectFrom('service').select('frozen').where('binary', '=', 'cinder-volume').where('host', '=', backend).executeTakeFirst();
    if (row?.frozen) throw InvalidInput('Modification operations are not allowed on frozen storage backends.');
  }

  /** Tells the worker of the snapshot's volume to look at it; a lost message is found by its sweep. */
  async kick(snapshotId: string, host: string | null, method: 'create_snapshot' | 'delete_snapshot'): Promise<void> {
    if (!host) return;
    await this.d.bus.cast({ topic: VOLUME_TOPIC, server: host }, method, { snapshot_id: snapshotId }).catch((err: unknown) => {
      this.d.log.warn({ snapshot_id: snapshotId, err: err instanceof Error ? err.message : String(err) }, 'could not send the snapshot to be worked on; a sweep will find it');
    });
  }

  async update(ctx: RequestContext, id: string, input: UpdateSnapshotInput): Promise<SnapshotDetail> {
    const row = await this.getRowOrThrow(ctx, id);
    const set: Partial<SnapshotTable> = { updated_at: this.d.clock.nowMs() };
    if (input.name !== undefined) set.name = input.name;
    if (input.description !== undefined) set.description = input.description;
    await this.d.db.updateTable('snapshot').set(set).where('id', '=', row.id).where('deleted', '=', 0).execute();
    const updated = await this.getOrThrow(ctx, id);
    // COMPAT(cinder): the PUT answer shows updated_at as it was before (the object is not refreshed after save)
    return { ...updated, row: { ...updated.row, updated_at: row.updated_at } };
  }

  /**
   * Marks a snapshot deleting and tells its volume's worker, which deletes it and gives the quota
   * back. force (os-force_delete) skips the status check, never the group one.
   */
  async delete(ctx: RequestContext, id: string, opts: { force?: boolean } = {}): Promise<void> {
    const row = await this.getRowOrThrow(ctx, id);
    const volume = await selectVolume(this.d.db, row.volume_id);
    if (volume) await this.assertNotFrozen(volume.host);
    let q = this.d.db
      .updateTable('snapshot')
      .set({ status: 'deleting', updated_at: this.d.clock.nowMs(), task_owner: null, task_lease_until: null })
      .where('id', '=', row.id)
      .where('deleted', '=', 0)
      .where('group_snapshot_id', 'is', null);
    if (!opts.force) q = q.where('status', 'in', ['available', 'error']);
    const r = await q.executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) {
      throw InvalidSnapshot(opts.force ? 'Snapshot must not be part of a group.' : 'Snapshot status must be available or error and must not be part of a group.');
    }
    await this.kick(row.id, volume?.host ?? null, 'delete_snapshot');
  }

  /** os-reset_status: any status, no checks (admins); the work a worker held is let go. */
  async resetStatus(ctx: RequestContext, id: string, status: string): Promise<void> {
    const row = await this.getRowOrThrow(ctx, id);
    await this.d.db
      .updateTable('snapshot')
      .set({ status: status.toLowerCase(), updated_at: this.d.clock.nowMs(), task_owner: null, task_lease_until: null })
      .where('id', '=', row.id)
      .where('deleted', '=', 0)
      .execute();
  }

  /** os-update_snapshot_status: a driver reporting on a snapshot it is creating or deleting. */
  async updateStatus(ctx: RequestContext, id: string, status: string, progress?: string | null): Promise<void> {
    const row = await this.getRowOrThrow(ctx, id);
    const allowed = STATUS_MAP[row.status];
    if (!allowed) throw BadRequest(`Snapshot status ${row.status} not allowed for update_snapshot_status`);
    if (!allowed.includes(status)) throw BadRequest(`Provided snapshot status ${status} not allowed for snapshot with status ${row.status}.`);
    const set: Partial<SnapshotTable> = { status, updated_at: this.d.clock.nowMs() };
    if (progress) set.progress = progress;
    // compare-and-set: a worker that finished meanwhile wins
    const r = await this.d.db.updateTable('snapshot').set(set).where('id', '=', row.id).where('deleted', '=', 0).where('status', '=', row.status).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw BadRequest(`Provided snapshot status ${status} not allowed for snapshot with status ${row.status}.`);
  }

  // ---- metadata ------------------------------------------------------------------------------

  async metadata(ctx: RequestContext, id: string): Promise<Record<string, string>> {
    const row = await this.getRowOrThrow(ctx, id);
    return (await metadataOf(this.d.db, [row.id])).get(row.id) ?? {};
  }

  async metadataKey(ctx: RequestContext, id: string, key: string): Promise<string> {
    const meta = await this.metadata(ctx, id);
    if (!(key in meta)) throw SnapshotMetadataNotFound(id, key);
    return meta[key]!;
  }

  /** Merges (POST, PUT of one key) or replaces (PUT) a snapshot's metadata; answers the result. */
  async setMetadata(ctx: RequestContext, id: string, meta: Record<string, string>, replace: boolean): Promise<Record<string, string>> {
    const row = await this.getRowOrThrow(ctx, id);
    await this.d.db.transaction().execute(async (trx) => {
      await writeMetadata(trx, row.id, meta, replace);
      await trx.updateTable('snapshot').set({ updated_at: this.d.clock.nowMs() }).where('id', '=', row.id).execute();
    });
    return this.metadata(ctx, id);
  }

  async deleteMetadataKey(ctx: RequestContext, id: string, key: string): Promise<void> {
    const row = await this.getRowOrThrow(ctx, id);
    const r = await this.d.db.deleteFrom('snapshot_metadata').where('snapshot_id', '=', row.id).where('key', '=', key).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw SnapshotMetadataNotFound(id, key);
  }

  /** volume_extension:extended_snapshot_attributes, checked as Cinder does: on the caller's own target. */
  extendedAttributes(ctx: RequestContext): boolean {
    return this.d.authz.check('volume_extension:extended_snapshot_attributes', ctx, ownerTarget(ctx));
  }
}

function listWhere(q: SnapshotListQuery) {
  return (eb: ExpressionBuilder<BlockStorageDB, 'snapshot'>) => {
    const conds: Expression<SqlBool>[] = [eb('deleted', '=', 0)];
    if (q.none) conds.push(sql<SqlBool>`1 = 0`);
    if (q.projectId !== undefined) conds.push(eb('project_id', '=', q.projectId));
    for (const [k, v] of Object.entries(q.eq)) conds.push(v === null ? eb(k as keyof SnapshotTable, 'is', null) : eb(k as keyof SnapshotTable, '=', v as never));
    // '!' escapes the pattern on every engine alike (SQLite has no default escape, MySQL and PostgreSQL differ on '\\')
    for (const [k, v] of Object.entries(q.like)) conds.push(sql<SqlBool>`${eb.ref(k as keyof SnapshotTable)} like ${`%${v.replace(/[!%_]/g, (c) => `!${c}`)}%`} escape '!'`);
    for (const [k, v] of Object.entries(q.metadata)) {
      conds.push(eb.exists(eb.selectFrom('snapshot_metadata as m').select('m.snapshot_id').whereRef('m.snapshot_id', '=', 'snapshot.id').where('m.key', '=', k).where('m.value', '=', v)));
    }
    if (q.availabilityZone !== undefined) {
      const az = q.availabilityZone;
      conds.push(eb.exists(eb.selectFrom('volume as v').select('v.id').whereRef('v.id', '=', 'snapshot.volume_id').where('v.availability_zone', '=', az)));
    }
    if (q.host !== undefined) {
      const host = q.host;
      // pool: exact; backend: exact or its pools; host: exact, its backends or its pools (prefix
      // compares, not LIKE: SQLite has no default escape for the _ hosts may contain)
      const prefixes = host.includes('#') ? [] : host.includes('@') ? [`${host}#`] : [`${host}@`, `${host}#`];
      conds.push(
        eb.exists(
          eb
            .selectFrom('volume as hv')
            .select('hv.id')
            .whereRef('hv.id', '=', 'snapshot.volume_id')
            .where((x) => x.or([x('hv.host', '=', host), ...prefixes.map((p) => x(sql<string>`substr(${x.ref('hv.host')}, 1, ${sql.lit(p.length)})`, '=', p))])),
        ),
      );
    }
    return eb.and(conds);
  };
}

/** key -> value maps of several snapshots' metadata (one query for a page). */
async function metadataOf(db: Db, ids: string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>(ids.map((id) => [id, {}]));
  if (!ids.length) return out;
  const rows = await db.selectFrom('snapshot_metadata').select(['snapshot_id', 'key', 'value']).where('snapshot_id', 'in', ids).orderBy('key').execute();
  for (const r of rows) out.get(r.snapshot_id)![r.key] = r.value;
  return out;
}

/** Replaces (replace=true) or merges a snapshot's metadata. */
async function writeMetadata(db: Db, snapshotId: string, meta: Record<string, string>, replace: boolean): Promise<void> {
  if (replace) await db.deleteFrom('snapshot_metadata').where('snapshot_id', '=', snapshotId).execute();
  else if (Object.keys(meta).length) await db.deleteFrom('snapshot_metadata').where('snapshot_id', '=', snapshotId).where('key', 'in', Object.keys(meta)).execute();
  const rows = Object.entries(meta).map(([key, value]) => ({ snapshot_id: snapshotId, key, value }));
  if (rows.length) await db.insertInto('snapshot_metadata').values(rows).execute();
}
