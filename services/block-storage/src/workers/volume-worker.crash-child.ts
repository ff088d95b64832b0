// A volume worker in its own process for the kill -9 test (volume-worker.crash.test.ts): its backend stalls around each change so the test can kill it mid-work.
// Arguments: <database connection> <backend directory> <host> <owner> <lease ms> <stall ms>.
// Prints one JSON line per backend call it stalls in: {"op", "id", "when": "after" | "before"}.
import { createBus } from '@alto/bus';
import { openDatabase } from '@alto/db';
import { systemClock } from '@alto/kernel';
import { createLogger } from '@alto/runtime';
import { FileBackend } from '../drivers/file-backend.js';
import type { VolumeBackend } from '../spi/volume-backend.js';
import type { BlockStorageDB } from '../store/schema.js';
import { VolumeWorker } from './volume-worker.js';

const [connection, directory, host, owner, leaseMs, stallMs] = process.argv.slice(2);
if (!connection || !directory || !host || !owner || !leaseMs || !stallMs) {
  process.stderr.write('usage: volume-worker.crash-child <connection> <directory> <host> <owner> <leaseMs> <stallMs>\n');
  process.exit(2);
}

const real = new FileBackend({ name: 'file', directory });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (op: string, id: string, when: 'after' | 'before') => process.stdout.write(`${JSON.stringify({ op, id, when })}\n`);
// Most calls make their change and then stall: killed there, the backend has done the work and
// the database does not know it (the case a rerun must converge from). A clone stalls before it
// starts: killed there, nothing was done.
const after = async (op: string, id: string, work: Promise<void>) => {
  await work;
  say(op, id, 'after');
  await sleep(Number(stallMs));
};
const before = async (op: string, id: string, work: () => Promise<void>) => {
  say(op, id, 'before');
  await sleep(Number(stallMs));
  await work();
};

const backend: VolumeBackend = {
  name: real.name,
  open: () => real.open(),
  stats: () => real.stats(),
  createVolume: (spec) => after('createVolume', spec.volumeId, real.createVolume(spec)),
  deleteVolume: (id) => after('deleteVolume', id, real.deleteVolume(id)),
  extendVolume: (id, size) => after('extendVolume', id, real.extendVolume(id, size)),
  inspectVolume: (id) => real.inspectVolume(id),
  createSnapshot: (volumeId, snapshotId) => after('createSnapshot', snapshotId, real.createSnapshot(volumeId, snapshotId)),
  deleteSnapshot: (volumeId, snapshotId) => after('deleteSnapshot', snapshotId, real.deleteSnapshot(volumeId, snapshotId)),
  createVolumeFromSnapshot: (snapshotId, sourceVolumeId, spec) => after('createVolumeFromSnapshot', spec.volumeId, real.createVolumeFromSnapshot(snapshotId, sourceVolumeId, spec)),
  cloneVolume: (sourceVolumeId, spec) => before('cloneVolume', spec.volumeId, () => real.cloneVolume(sourceVolumeId, spec)),
  copyImageToVolume: (volumeId, imagePath, imageFormat, sizeGb, format) => real.copyImageToVolume(volumeId, imagePath, imageFormat, sizeGb, format),
  copyVolumeToFile: (volumeId, destPath, format) => real.copyVolumeToFile(volumeId, destPath, format),
  initializeConnection: (volumeId, connector) => real.initializeConnection(volumeId, connector),
  terminateConnection: (volumeId, connector) => real.terminateConnection(volumeId, connector),
  listVolumes: () => real.listVolumes(),
};

const log = createLogger({ level: 'silent' });
const database = openDatabase<BlockStorageDB>({ connection, sqlite_synchronous: 'normal' });
const bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock: systemClock });
const worker = new VolumeWorker({ db: database.db, bus, clock: systemClock, log, backend, host, owner, leaseMs: Number(leaseMs), sweepMs: 60_000 });
await worker.start();
// the test kills this process; nothing here ends it
setInterval(() => undefined, 60_000);
