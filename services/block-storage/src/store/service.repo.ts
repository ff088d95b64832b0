// Service rows: each worker's heartbeat and last capability report, what os-services shows and
// what the scheduler places volumes by.
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { ServiceTable } from './schema.js';
import type { Db } from './volume.repo.js';

export type ServiceRow = Selectable<ServiceTable>;

export interface ServiceReport {
  host: string;
  binary: string;
  topic: string;
  availabilityZone: string;
  capabilities?: Record<string, unknown>;
  nowMs: number;
}

/** Records a heartbeat (and capabilities, when given); creates the row on the first report. */
export async function reportService(db: Db, r: ServiceReport): Promise<void> {
  const set = { topic: r.topic, availability_zone: r.availabilityZone, updated_at: r.nowMs, ...(r.capabilities ? { capabilities: JSON.stringify(r.capabilities) } : {}) };
  const n = await db.updateTable('service').set(set).where('host', '=', r.host).where('binary', '=', r.binary).executeTakeFirst();
  if (Number(n.numUpdatedRows) > 0) return;
  try {
    await db
      .insertInto('service')
      .values({ id: randomUUID(), host: r.host, binary: r.binary, disabled: 0, disabled_reason: null, frozen: 0, created_at: r.nowMs, capabilities: null, ...set })
      .execute();
  } catch {
    // another process inserted it first: report again as an update
    await db.updateTable('service').set(set).where('host', '=', r.host).where('binary', '=', r.binary).execute();
  }
}

export async function selectServices(db: Db, binary: string): Promise<ServiceRow[]> {
  return db.selectFrom('service').selectAll().where('binary', '=', binary).orderBy('host').execute();
}

/** GiB allocated to live volumes, per backend host (Cinder's allocated_capacity_gb). */
export async function allocatedByHost(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('volume')
    .select((eb) => ['host', eb.fn.sum<number>('size').as('gb')])
    .where('deleted', '=', 0)
    .where('host', 'is not', null)
    .groupBy('host')
    .execute();
  // volume hosts are host@backend#pool; the backend's total is what the scheduler weighs
  const out = new Map<string, number>();
  for (const r of rows) {
    const backend = r.host!.split('#')[0]!;
    out.set(backend, (out.get(backend) ?? 0) + Number(r.gb ?? 0));
  }
  return out;
}

/**
 * Cinder's host matching (db _filter_host): `a@b#c` matches only itself, `a@b` itself and its
 * pools, a bare host itself, its backends and pools.
 */
export function hostMatches(host: string, value: string): boolean {
  if (host === value) return true;
  if (value.includes('#')) return false;
  if (host.startsWith(`${value}#`)) return true;
  return !value.includes('@') && host.startsWith(`${value}@`);
}

/** Every service row, oldest first, optionally of one binary and matching a host (os-services). */
export async function selectServicesWhere(db: Db, filters: { host?: string | undefined; binary?: string | undefined }): Promise<ServiceRow[]> {
  let q = db.selectFrom('service').selectAll();
  if (filters.binary !== undefined) q = q.where('binary', '=', filters.binary);
  const rows = await q.orderBy('created_at').orderBy('host').orderBy('binary').execute();
  return filters.host === undefined ? rows : rows.filter((r) => hostMatches(r.host, filters.host!));
}

/** Enables or disables a service for scheduling; the reason is kept unless a new one is given. */
export async function setServiceDisabled(db: Db, id: string, disabled: boolean, reason?: string | null): Promise<void> {
  await db
    .updateTable('service')
    .set({ disabled: disabled ? 1 : 0, ...(reason !== undefined ? { disabled_reason: reason } : {}) })
    .where('id', '=', id)
    .execute();
}

/** Freezes or thaws a service when it is in the other state (a conditional update); false when it was not. */
export async function setServiceFrozen(db: Db, id: string, frozen: boolean): Promise<boolean> {
  const r = await db
    .updateTable('service')
    .set({ frozen: frozen ? 1 : 0 })
    .where('id', '=', id)
    .where('frozen', '=', frozen ? 0 : 1)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
