// The scheduler with two real workers (file backends in two directories, two zones) over the
// in-process bus and SQLite: a create goes to the backend the zone and the type's extra specs
// pick and becomes available there; nothing fitting is an error; a volume whose placement
// message was lost is placed by the sweep.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, type Bus } from '@alto/bus';
import { migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, type ScratchDatabase } from '@alto/db/testing';
import { systemClock } from '@alto/kernel';
import { createLogger } from '@alto/runtime';
import { FileBackend } from '../drivers/file-backend.js';
import { blockStorageMigrations } from '../store/migrations/index.js';
import type { BlockStorageDB, VolumeTable } from '../store/schema.js';
import { volumeRow } from '../testing/volume-row.js';
import { insertVolume, selectVolume } from '../store/volume.repo.js';
import { selectServices } from '../store/service.repo.js';
import { VolumeWorker, WORKER_BINARY } from './volume-worker.js';
import { SCHEDULER_TOPIC, VolumeScheduler } from './volume-scheduler.js';

const noQemu = spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0 ? 'qemu-img is not installed (Debian qemu-utils)' : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('volume scheduler and workers', { skip: noQemu }, () => {
  let scratch: ScratchDatabase;
  let database: Database<BlockStorageDB>;
  let bus: Bus;
  const dirs: Record<string, string> = {};
  const log = createLogger({ level: 'silent' });
  const running: { stop(): Promise<void> }[] = [];
  let scheduler: VolumeScheduler;
  let typeId = '';

  const volume = async (over: Partial<VolumeTable>) => {
    const row = volumeRow(over);
    await insertVolume(database.db, row);
    return row.id;
  };
  const settled = async (id: string) => {
    for (let i = 0; i < 200; i++) {
      const row = await selectVolume(database.db, id);
      if (row && row.status !== 'creating') return row;
      await sleep(25);
    }
    return assert.fail(`volume ${id} is still creating`);
  };

  before(async () => {
    scratch = await scratchDatabase('sqlite');
    database = scratch.open<BlockStorageDB>();
    await migrateToLatest(database, blockStorageMigrations);
    bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock: systemClock });
    for (const [name, zone] of [
      ['alpha', 'nova'],
      ['beta', 'zone2'],
    ] as const) {
      dirs[name] = mkdtempSync(join(tmpdir(), `alto-sched-${name}-`));
      const w = new VolumeWorker({
        db: database.db,
        bus,
        clock: systemClock,
        log,
        backend: new FileBackend({ name, directory: dirs[name] }),
        host: `host-${name}@${name}#${name}`,
        owner: `worker-${name}`,
        availabilityZone: zone,
        sweepMs: 200,
      });
      await w.start();
      running.push(w);
    }
    scheduler = new VolumeScheduler({ db: database.db, bus, clock: systemClock, log, host: 'sched1', sweepMs: 60_000, unplacedAfterMs: 100 });
    await scheduler.start();
    running.push(scheduler);
    typeId = randomUUID();
    await database.db.insertInto('volume_type').values({ id: typeId, name: 'alpha-only', description: null, is_public: 1, qos_specs_id: null, created_at: Date.now(), updated_at: null, deleted: 0, deleted_at: null }).execute();
    await database.db.insertInto('volume_type_extra_spec').values({ volume_type_id: typeId, key: 'volume_backend_name', value: 'alpha' }).execute();
  });
  after(async () => {
    for (const r of running.reverse()) await r.stop();
    await bus?.close();
    await database?.close();
    await scratch?.drop();
    for (const d of Object.values(dirs)) rmSync(d, { recursive: true, force: true });
  });

  test('workers report themselves with their capacity', async () => {
    const services = await selectServices(database.db, WORKER_BINARY);
    assert.deepEqual(services.map((s) => [s.host, s.availability_zone]), [
      ['host-alpha@alpha#alpha', 'nova'],
      ['host-beta@beta#beta', 'zone2'],
    ]);
    const caps = JSON.parse(services[0]!.capabilities!) as Record<string, unknown>;
    assert.equal(caps.volume_backend_name, 'alpha');
    assert.ok(typeof caps.free_capacity_gb === 'number' && caps.free_capacity_gb > 0);
  });

  test('the zone picks the backend, and the volume becomes available there', async () => {
    const id = await volume({ availability_zone: 'zone2', size: 2 });
    await bus.cast({ topic: SCHEDULER_TOPIC }, 'create_volume', { volume_id: id });
    const row = await settled(id);
    assert.equal(row.status, 'available');
    assert.equal(row.host, 'host-beta@beta#beta');
    assert.ok(existsSync(join(dirs.beta!, `volume-${id}`)));
    assert.ok(!existsSync(join(dirs.alpha!, `volume-${id}`)));
  });

  test("the type's extra specs pick the backend", async () => {
    const id = await volume({ volume_type_id: typeId });
    await bus.cast({ topic: SCHEDULER_TOPIC }, 'create_volume', { volume_id: id });
    const row = await settled(id);
    assert.equal(row.status, 'available');
    assert.equal(row.host, 'host-alpha@alpha#alpha');
  });

  test('no backend in the zone asked for: the volume is in error and nothing was made', async () => {
    const id = await volume({ availability_zone: 'nowhere' });
    await bus.cast({ topic: SCHEDULER_TOPIC }, 'create_volume', { volume_id: id });
    const row = await settled(id);
    assert.equal(row.status, 'error');
    assert.equal(row.host, null);
    for (const d of Object.values(dirs)) assert.ok(!existsSync(join(d, `volume-${id}`)));
  });

  test('a volume whose placement message was lost is placed by the sweep', async () => {
    const id = await volume({ created_at: Date.now() - 1000 });
    await scheduler.sweep();
    const row = await settled(id);
    assert.equal(row.status, 'available');
    assert.ok(row.host);
  });
});
