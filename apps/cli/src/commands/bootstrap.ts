// `alto bootstrap`: keystone-manage bootstrap for a split deployment (a Kubernetes Job).
import { readFileSync } from 'node:fs';
import { systemClock, ValidationError } from '@alto/kernel';
import { createIdentity } from '@alto/identity';
import { createMetricsRegistry } from '@alto/runtime';
import { bootstrapInputOf, loadAltoConfig, type ConfigSources } from '../config.js';
import { makeLogger, openBus, openIdentityDatabase } from '../components.js';
import { progress } from '../progress.js';

export async function bootstrapCommand(sources: ConfigSources, opts: { adminPasswordFile?: string }): Promise<void> {
  const config = loadAltoConfig(sources);
  const password = opts.adminPasswordFile ? readFileSync(opts.adminPasswordFile, 'utf8').trim() : process.env.ALTO_ADMIN_PASSWORD;
  if (!password) throw new ValidationError('the admin password is needed: set ALTO_ADMIN_PASSWORD or pass --admin-password-file', 'cli.no_admin_password');
  const log = makeLogger(config, 'bootstrap');
  const bus = await openBus(config, log);
  const database = openIdentityDatabase(config);
  let identity: Awaited<ReturnType<typeof createIdentity>> | undefined;
  try {
    const id = await createIdentity({ config: config.identity, database, bus, clock: systemClock, log, metrics: createMetricsRegistry('bootstrap') });
    identity = id;
    await progress().step(
      'bootstrap',
      () => id.bootstrap(bootstrapInputOf(config, password)),
      (r) => (r.created.length ? r.created.join(', ') : 'nothing to do'),
    );
  } finally {
    // the bootstrap's cache invalidation must reach running replicas before the bus closes
    await identity?.drain();
    await bus.close();
    await database.close();
  }
}
