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
  return new Map(rows.map((r) => [r.host!, Number(r.gb ?? 0)]));
}
