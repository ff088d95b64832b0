// `alto db sync <service>`: apply a service's migrations (a Kubernetes Job); `--check` only reports.
import { migrateToLatest, migrationStatus, type Database } from '@alto/db';
import { identityMigrations } from '@alto/identity';
import { imageMigrations } from '@alto/image';
import { blockStorageMigrations } from '@alto/block-storage';
import { ValidationError } from '@alto/kernel';
import { loadAltoConfig, type ConfigSources } from '../config.js';
import { openBlockStorageDatabase, openIdentityDatabase, openImageDatabase } from '../components.js';
import { progress } from '../progress.js';

export const SERVICES = ['identity', 'image', 'block-storage'] as const;

export async function dbSync(service: string, sources: ConfigSources, opts: { check?: boolean }): Promise<number> {
  if (!(SERVICES as readonly string[]).includes(service)) throw new ValidationError(`unknown service "${service}"; known: ${SERVICES.join(', ')}`, 'cli.unknown_service');
  const config = loadAltoConfig(sources);
  const database: Database<unknown> =
    service === 'image' ? (openImageDatabase(config) as Database<unknown>) : service === 'block-storage' ? (openBlockStorageDatabase(config) as Database<unknown>) : (openIdentityDatabase(config) as Database<unknown>);
  const migrations = service === 'image' ? imageMigrations : service === 'block-storage' ? blockStorageMigrations : identityMigrations;
  const p = progress();
  try {
    if (opts.check) {
      const s = await migrationStatus(database, migrations);
      p.info(`${service} (${database.description}): ${s.applied.length} applied, ${s.pending.length} pending${s.pending.length ? `: ${s.pending.join(', ')}` : ''}`);
      return s.pending.length ? 1 : 0;
    }
    await p.step(`${service} database ${database.description}`, () => migrateToLatest(database, migrations), (a) => (a.length ? `applied ${a.join(', ')}` : 'already up to date'));
    return 0;
  } finally {
    await database.close();
  }
}
