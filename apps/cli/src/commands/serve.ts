// `alto serve <component>`: one component in the foreground, for a pod or a systemd unit.
import { exitOnSignals } from '@alto/runtime';
import { ValidationError } from '@alto/kernel';
import { loadAltoConfig, type ConfigSources } from '../config.js';
import { COMPONENTS, Manager, addIdentityApi, addImageApi, addVolumeApi, addVolumeScheduler, addVolumeWorkers, addBackupWorker, addHealthListener, makeLogger, openBlockStorageDatabase, openBus, type ComponentName } from '../components.js';

export async function serve(component: string, sources: ConfigSources): Promise<void> {
  if (!(COMPONENTS as readonly string[]).includes(component)) {
    throw new ValidationError(`unknown component "${component}"; known: ${COMPONENTS.join(', ')}`, 'cli.unknown_component');
  }
  const config = loadAltoConfig(sources);
  const log = makeLogger(config, component);
  const manager = new Manager(log);
  const bus = await openBus(config, log);
  manager.add({ name: 'bus', start: async () => {}, stop: () => bus.close() });
  switch (component as ComponentName) {
    case 'identity-api':
      await addIdentityApi(manager, config, bus, log);
      break;
    case 'image-api':
      await addImageApi(manager, config, bus, log);
      break;
    case 'volume-api':
      await addVolumeApi(manager, config, bus, log);
      break;
    case 'volume-scheduler':
    case 'volume-worker':
    case 'volume-backup': {
      const database = openBlockStorageDatabase(config);
      manager.add({ name: 'block-storage-database', start: async () => {}, stop: () => database.close() });
      if (component === 'volume-scheduler') addVolumeScheduler(manager, config, bus, log, database);
      else if (component === 'volume-worker') addVolumeWorkers(manager, config, bus, log, database);
      else addBackupWorker(manager, config, bus, log, database);
      const h = config.block_storage.health;
      const key = component === 'volume-scheduler' ? 'scheduler_port' : component === 'volume-worker' ? 'worker_port' : 'backup_port';
      addHealthListener(manager, component, database, { host: h.host, port: h[key], setting: `block_storage.health.${key}` }, log);
      break;
    }
  }
  await manager.start();
  exitOnSignals(manager, log);
  const ready = await manager.readiness();
  const api = component === 'image-api' ? config.image.api : component === 'volume-api' ? config.block_storage.api : component === 'identity-api' ? config.identity.api : undefined;
  log.info({ component, ...(api ? { host: api.host, port: api.port } : {}), ready: ready.ok, checks: ready.checks }, 'serving');
}
