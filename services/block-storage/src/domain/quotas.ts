// Cinder's quota engine: limits from project rows, then the `default` quota class, then
// cinder.conf; usage moved with conditional updates inside the caller's transaction, so a
// breach answers 413 and leaves nothing behind, even for racing requests.
import type { Db } from '../store/volume.repo.js';
import { addUsage, ensureUsageRows, selectClassLimits, selectProjectLimits, selectUsage } from '../store/quota.repo.js';
import { OverQuota } from './errors.js';

/** The resources every project has (volume-type resources are added per type). */
export const QUOTA_RESOURCES = ['volumes', 'snapshots', 'gigabytes', 'backups', 'backup_gigabytes', 'groups', 'per_volume_gigabytes'] as const;
/** Per volume type: volumes_<type>, gigabytes_<type>, snapshots_<type> (unlimited by default). */
export const TYPE_RESOURCES = ['volumes', 'gigabytes', 'snapshots'] as const;

export type Deltas = Record<string, number>;

/** The resource a volume type adds for a base resource (Cinder names them by type name). */
export const typeResource = (base: (typeof TYPE_RESOURCES)[number], typeName: string) => `${base}_${typeName}`;

export class QuotaEngine {
  private readonly db: Db;
  private readonly defaults: Record<string, number>;
  private readonly nowMs: () => number;

  constructor(d: { db: Db; defaults: Record<string, number>; nowMs: () => number }) {
    this.db = d.db;
    this.defaults = d.defaults;
    this.nowMs = d.nowMs;
  }

  /** The `default` class limits: cinder.conf, overridden by quota_class rows. */
  async classLimits(className = 'default', typeNames: string[] = []): Promise<Record<string, number>> {
    const rows = await selectClassLimits(this.db, className);
    const fallback = className === 'default' ? new Map<string, number>() : await selectClassLimits(this.db, 'default');
    const out: Record<string, number> = {};
    for (const r of QUOTA_RESOURCES) out[r] = rows.get(r) ?? fallback.get(r) ?? this.defaults[r] ?? -1;
    for (const t of typeNames) for (const b of TYPE_RESOURCES) out[typeResource(b, t)] = rows.get(typeResource(b, t)) ?? fallback.get(typeResource(b, t)) ?? -1;
    return out;
  }

  /** A project's hard limits (its own, else the default class's). */
  async limitsOf(projectId: string, typeNames: string[] = [], db: Db = this.db): Promise<Record<string, number>> {
    const [own, cls] = await Promise.all([selectProjectLimits(db, projectId), this.classLimits('default', typeNames)]);
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(cls)) out[k] = own.get(k) ?? v;
    return out;
  }

  async usageOf(projectId: string): Promise<Map<string, { inUse: number; reserved: number }>> {
    return selectUsage(this.db, projectId);
  }

  /** Creates the usage rows `consume` will move; call before the transaction. */
  async prepare(projectId: string, deltas: Deltas): Promise<void> {
    await ensureUsageRows(this.db, projectId, Object.keys(deltas).filter((k) => deltas[k] !== 0), this.nowMs());
  }

  /**
   * Adds deltas to the project's usage inside `trx`, or throws Cinder's 413 for the first
   * resource that would go over its limit (the caller's transaction then undoes everything).
   */
  async consume(trx: Db, projectId: string, deltas: Deltas): Promise<void> {
    const typeNames = [...new Set(Object.keys(deltas).flatMap((k) => (/^(volumes|gigabytes|snapshots)_(.+)$/.exec(k)?.[2] ? [/^(volumes|gigabytes|snapshots)_(.+)$/.exec(k)![2]!] : [])))];
    const limits = await this.limitsOf(projectId, typeNames, trx);
    const now = this.nowMs();
    for (const [resource, delta] of Object.entries(deltas)) {
      const limit = limits[resource] ?? -1;
      if (await addUsage(trx, projectId, resource, delta, limit, now)) continue;
      const usage = (await selectUsage(trx, projectId)).get(resource);
      throw overQuota(resource, delta, limit, usage?.inUse ?? 0);
    }
  }

  /** Gives usage back (the work is undone or the resource deleted); never below zero. */
  async release(trx: Db, projectId: string, deltas: Deltas): Promise<void> {
    const now = this.nowMs();
    for (const [resource, delta] of Object.entries(deltas)) if (delta) await addUsage(trx, projectId, resource, -Math.abs(delta), -1, now);
  }

  /** Cinder's per_volume_gigabytes check (VolumeSizeExceedsLimit, a 413). */
  async checkPerVolumeSize(projectId: string, sizeGb: number): Promise<void> {
    const limit = (await this.limitsOf(projectId)).per_volume_gigabytes ?? -1;
    if (limit >= 0 && sizeGb > limit) throw OverQuota('VolumeSizeExceedsLimit', `Requested volume size ${sizeGb}G is larger than maximum allowed limit ${limit}G.`);
  }
}

/** The quota error Cinder raises for a resource (cinder/quota_utils.py process_reserve_over_quota). */
export function overQuota(resource: string, requested: number, limit: number, consumed: number): Error {
  if (resource === 'volumes' || resource.startsWith('volumes_')) return OverQuota('VolumeLimitExceeded', `Maximum number of volumes allowed (${limit}) exceeded for quota '${resource}'.`);
  if (resource === 'snapshots' || resource.startsWith('snapshots_')) return OverQuota('SnapshotLimitExceeded', `Maximum number of snapshots allowed (${limit}) exceeded`);
  if (resource === 'backups') return OverQuota('BackupLimitExceeded', `Maximum number of backups allowed (${limit}) exceeded`);
  if (resource === 'backup_gigabytes') {
    return OverQuota('VolumeBackupSizeExceedsAvailableQuota', `Requested backup exceeds allowed Backup gigabytes quota. Requested ${requested}G, quota is ${limit}G and ${consumed}G has been consumed.`);
  }
  return OverQuota('VolumeSizeExceedsAvailableQuota', `Requested volume or snapshot exceeds allowed ${resource} quota. Requested ${requested}G, quota is ${limit}G and ${consumed}G has been consumed.`);
}

/** What a volume of `sizeGb` and type `typeName` counts against. */
export function volumeDeltas(sizeGb: number, typeName: string): Deltas {
  return { volumes: 1, gigabytes: sizeGb, [typeResource('volumes', typeName)]: 1, [typeResource('gigabytes', typeName)]: sizeGb };
}

/** What a snapshot of a `sizeGb` volume of type `typeName` counts against. */
export function snapshotDeltas(sizeGb: number, typeName: string): Deltas {
  return { snapshots: 1, gigabytes: sizeGb, [typeResource('snapshots', typeName)]: 1, [typeResource('gigabytes', typeName)]: sizeGb };
}
