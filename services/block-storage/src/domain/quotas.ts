// Cinder's quota engine: limits from project rows, then the `default` quota class, then
// cinder.conf; usage moved with conditional updates inside the caller's transaction, so a
// breach answers 413 and leaves nothing behind, even for racing requests.
import type { Db } from '../store/volume.repo.js';
import { pyRepr } from '@alto/http';
import {
  addUsage,
  deleteProjectLimits,
  ensureUsageRows,
  selectClassLimits,
  selectLiveTypeNames,
  selectProjectLimits,
  selectUsage,
  upsertClassLimit,
  upsertProjectLimit,
} from '../store/quota.repo.js';
import { BadRequest, InvalidInput, OverQuota } from './errors.js';

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
  async classLimits(className = 'default', typeNames: string[] = [], db: Db = this.db): Promise<Record<string, number>> {
    const rows = await selectClassLimits(db, className);
    const fallback = className === 'default' ? new Map<string, number>() : await selectClassLimits(db, 'default');
    const out: Record<string, number> = {};
    for (const r of QUOTA_RESOURCES) out[r] = rows.get(r) ?? fallback.get(r) ?? this.defaults[r] ?? -1;
    for (const t of typeNames) for (const b of TYPE_RESOURCES) out[typeResource(b, t)] = rows.get(typeResource(b, t)) ?? fallback.get(typeResource(b, t)) ?? -1;
    return out;
  }

  /** A project's hard limits (its own, else the default class's); inside a transaction pass it as db (SQLite has one connection). */
  async limitsOf(projectId: string, typeNames: string[] = [], db: Db = this.db): Promise<Record<string, number>> {
    const own = await selectProjectLimits(db, projectId);
    const cls = await this.classLimits('default', typeNames, db);
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

  // os-quota-sets and os-quota-class-sets: quota sets as admins show and change them.

  /** Every quota resource in Cinder's order: volume resources, per live type volumes_/gigabytes_/snapshots_<type>, groups. */
  async resourceNames(): Promise<string[]> {
    return quotaSetOrder(await selectLiveTypeNames(this.db));
  }

  /** Cinder's get_defaults: the `default` class's rows, else cinder.conf. */
  async defaultQuotaSet(): Promise<Record<string, number>> {
    const types = await selectLiveTypeNames(this.db);
    return inOrder(quotaSetOrder(types), await this.classLimits('default', types));
  }

  /** A class's limits, falling back to the default class and cinder.conf (get_class_quotas). */
  async classQuotaSet(className: string): Promise<Record<string, number>> {
    const types = await selectLiveTypeNames(this.db);
    return inOrder(quotaSetOrder(types), await this.classLimits(className, types));
  }

  /** A project's limits: its own rows, else the defaults. */
  async projectQuotaSet(projectId: string): Promise<Record<string, number>> {
    const types = await selectLiveTypeNames(this.db);
    return inOrder(quotaSetOrder(types), await this.limitsOf(projectId, types));
  }

  /** A project's limits with what it uses and has reserved (?usage=true). */
  async projectQuotaUsage(projectId: string): Promise<Record<string, QuotaUsageView>> {
    const [limits, usage] = await Promise.all([this.projectQuotaSet(projectId), selectUsage(this.db, projectId)]);
    const out: Record<string, QuotaUsageView> = {};
    for (const [k, limit] of Object.entries(limits)) out[k] = { limit, in_use: usage.get(k)?.inUse ?? 0, reserved: usage.get(k)?.reserved ?? 0 };
    return out;
  }

  /**
   * Sets some of a project's limits (Cinder's quota_set format check, then the usage check),
   * all or none; answers the project's limits.
   */
  async updateProjectQuotas(projectId: string, values: Record<string, unknown>): Promise<Record<string, number>> {
    if (projectId.length > 255) throw InvalidInput(`quota_set_name has ${projectId.length} characters, more than 255.`);
    const names = new Set(await this.resourceNames());
    const bad: string[] = [];
    const valid: [string, number][] = [];
    for (const [key, value] of Object.entries(values)) {
      if (NON_QUOTA_KEYS.includes(key)) continue;
      if (!names.has(key)) {
        bad.push(key);
        continue;
      }
      valid.push([key, quotaInteger(value, key)]);
    }
    if (bad.length) throw InvalidInput(`Bad key(s) in quota set: ${bad.join(', ')}`);
    // COMPAT(cinder quotas.py): usage is checked only for resources the project already has a
    // limit row for (get_project_quotas(defaults=False)); a first limit may go below usage
    const [own, usage] = await Promise.all([selectProjectLimits(this.db, projectId), selectUsage(this.db, projectId)]);
    for (const [key, value] of valid) {
      if (key === 'per_volume_gigabytes' || value === -1 || !own.has(key)) continue;
      const u = usage.get(key);
      const used = (u?.inUse ?? 0) + (u?.reserved ?? 0);
      if (value < used) {
        throw BadRequest(`Quota ${key} limit must be equal or greater than existing resources. Current usage is ${used} and the requested limit is ${value}.`);
      }
    }
    const now = this.nowMs();
    await this.db.transaction().execute(async (trx) => {
      for (const [key, value] of valid) await upsertProjectLimit(trx, projectId, key, value, now);
    });
    return this.projectQuotaSet(projectId);
  }

  /** Drops a project's own limits: the defaults apply again (DELETE os-quota-sets). */
  async resetProjectQuotas(projectId: string): Promise<void> {
    await deleteProjectLimits(this.db, projectId);
  }

  /** Sets some of a quota class's limits (parameter_types.quota_class_set); answers the class's limits. */
  async updateClassQuotas(className: string, values: Record<string, unknown>): Promise<Record<string, number>> {
    if (className.length > 255) throw InvalidInput(`quota_class_name has ${className.length} characters, more than 255.`);
    const names = new Set(await this.resourceNames());
    const bad = Object.keys(values).filter((k) => !names.has(k));
    if (bad.length) throw InvalidInput(`Bad key(s) in quota class set: ${bad.join(', ')}`);
    const valid = Object.entries(values).map(([k, v]) => [k, classLimitValue(k, v)] as const);
    const now = this.nowMs();
    await this.db.transaction().execute(async (trx) => {
      for (const [key, value] of valid) await upsertClassLimit(trx, className, key, value, now);
    });
    return this.classQuotaSet(className);
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


/** A resource's limit with its usage (os-quota-sets ?usage=true). */
export interface QuotaUsageView {
  limit: number;
  in_use: number;
  reserved: number;
}

/** Keys a quota set body may carry besides resources (Cinder's NON_QUOTA_KEYS). */
const NON_QUOTA_KEYS = ['tenant_id', 'id'];
/** The largest limit (Cinder's db.MAX_INT). */
const MAX_INT = 2147483647;

/** Cinder's order of a quota set's keys. */
export function quotaSetOrder(typeNames: string[]): string[] {
  return [
    'volumes',
    'per_volume_gigabytes',
    'snapshots',
    'gigabytes',
    'backups',
    'backup_gigabytes',
    ...typeNames.flatMap((t) => TYPE_RESOURCES.map((b) => typeResource(b, t))),
    'groups',
  ];
}

function inOrder(names: string[], limits: Record<string, number>): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, limits[n] ?? -1]));
}

/** oslo's validate_integer (int(str(value)) within bounds), worded as oslo words it. */
export function quotaInteger(value: unknown, name: string, min = -1, max = MAX_INT): number {
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' && Number.isInteger(value) ? String(value) : '';
  if (!/^[-+]?\d+$/.test(text)) throw BadRequest(`${name} must be an integer`);
  const n = Number(text);
  if (n < min) throw BadRequest(`${name} must be >= ${min}`);
  if (n > max) throw BadRequest(`${name} must be <= ${max}`);
  return n;
}

/** python's str() of a JSON value, as jsonschema's "Value: %s" shows it. */
const pyStr = (v: unknown) => (typeof v === 'string' ? v : pyRepr(v));

/** A quota class value: an integer >= -1, or a string of digits (jsonschema's wording). */
function classLimitValue(key: string, v: unknown): number {
  const fail = (message: string) => BadRequest(`Invalid input for field/attribute ${key}. Value: ${pyStr(v)}. ${message}`);
  if (!(typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)))) throw fail(`${pyRepr(v)} is not of type 'integer', 'string'`);
  if (typeof v === 'string' && !/^[0-9]*$/.test(v)) throw fail(`${pyRepr(v)} does not match '^[0-9]*$'`);
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof v === 'number' && n < -1) throw fail(`${pyRepr(v)} is less than the minimum of -1`);
  if (typeof v === 'string' && v.length < 1) throw fail(`${pyRepr(v)} is too short`);
  if (n > MAX_INT) throw fail(`${pyRepr(v)} is greater than the maximum of ${MAX_INT}`);
  return n;
}
