// `alto up`: the whole cloud in one process on the embedded defaults; bootstraps on first start.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InProcessBroker } from '@alto/bus';
import { migrateToLatest } from '@alto/db';
import { CREDENTIAL_MAX_ACTIVE_KEYS, identityMigrations, setupKeyRepository } from '@alto/identity';
import { exitOnSignals } from '@alto/runtime';
import { newPassword } from '@alto/kernel';
import { blockStorageUrl, bootstrapInputOf, identityUrl, imageUrl, loadAltoConfig, type ConfigSources } from '../config.js';
import { Manager, addIdentityApi, addImageApi, addVolumeApi, addBackupWorker, addVolumeScheduler, addVolumeWorkers, blockStorageImages, makeLogger, openBus } from '../components.js';
import { imageMigrations } from '@alto/image';
import { blockStorageMigrations } from '@alto/block-storage';
import { registerService } from '../register.js';
import { blockStorageRegistrations, imageRegistration } from './register.js';
import { serviceUserPassword } from '../client-config.js';
import { progress } from '../progress.js';
import { CLOUD_NAME, readSavedPassword, writeClientConfig } from '../client-config.js';

export interface UpOptions extends ConfigSources {
  quiet?: boolean;
}

export async function up(opts: UpOptions): Promise<void> {
  const t0 = performance.now();
  // a person watching a terminal reads text; pods and pipes get JSON unless told otherwise
  const textLogs = process.stderr.isTTY && !process.env.ALTO_LOG__FORMAT;
  const config = loadAltoConfig(textLogs ? { ...opts, overrides: { 'log.format': 'text', ...opts.overrides } } : opts);
  const p = progress(process.stderr, opts.quiet);
  const log = makeLogger(config, 'alto');
  p.info(`Starting Altostratus (data in ${config.data_dir})`);

  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  const broker = new InProcessBroker({ logger: log.child({ component: 'bus' }) });
  const manager = new Manager(log);
  const bus = await openBus(config, log, broker);
  manager.add({ name: 'bus', start: async () => {}, stop: () => bus.close() });

  const { identity, database } = await addIdentityApi(manager, config, bus, log.child({ component: 'identity-api' }));
  await p.step('identity database', () => migrateToLatest(database, identityMigrations), (applied) => (applied.length ? `${applied.length} migration(s) applied` : 'up to date'));
  await p.step('fernet keys', () => setupKeyRepository(config.identity.fernet_tokens.key_repository, { maxActiveKeys: config.identity.fernet_tokens.max_active_keys }), (r) =>
    r.created ? 'created' : `${r.keyIds.length} keys`,
  );
  await p.step('credential keys', () => setupKeyRepository(config.identity.credential.key_repository, { maxActiveKeys: CREDENTIAL_MAX_ACTIVE_KEYS }), (r) => (r.created ? 'created' : `${r.keyIds.length} keys`));

  // the image service checks tokens as its own user (keystone_authtoken), made below
  const ka = config.image.keystone_authtoken;
  config.image.keystone_authtoken = { ...ka, username: ka.username ?? 'glance', password: ka.password ?? serviceUserPassword(config.data_dir, 'glance') };
  const { database: imageDb } = await addImageApi(manager, config, bus, log.child({ component: 'image-api' }));
  await p.step('image database', () => migrateToLatest(imageDb, imageMigrations), (applied) => (applied.length ? `${applied.length} migration(s) applied` : 'up to date'));

  // block storage: volume-api, volume-scheduler and one volume-worker per backend, on the in-process bus
  const kb = config.block_storage.keystone_authtoken;
  config.block_storage.keystone_authtoken = { ...kb, username: kb.username ?? 'cinder', password: kb.password ?? serviceUserPassword(config.data_dir, 'cinder') };
  const volumeLog = log.child({ component: 'block-storage' });
  // one Glance client and service token for the API's checks and the workers' transfers
  const images = blockStorageImages(config);
  const { database: volumeDb } = await addVolumeApi(manager, config, bus, volumeLog, undefined, images);
  await p.step('block storage database', () => migrateToLatest(volumeDb, blockStorageMigrations), (applied) => (applied.length ? `${applied.length} migration(s) applied` : 'up to date'));
  addVolumeScheduler(manager, config, bus, volumeLog, volumeDb);
  const backends = addVolumeWorkers(manager, config, bus, volumeLog, volumeDb, images);
  addBackupWorker(manager, config, bus, volumeLog, volumeDb, backends);

  const explicit = process.env.ALTO_ADMIN_PASSWORD;
  const password = explicit ?? readSavedPassword(config.data_dir) ?? newPassword();
  const url = identityUrl(config);
  const input = bootstrapInputOf(config, password);
  await unlessDone(config.data_dir, 'bootstrap', input, () => p.step('bootstrap', () => identity.bootstrap(input), (r) => (r.created.length ? r.created.join(', ') : 'nothing to do')));
  const files = writeClientConfig(config.data_dir, { authUrl: `${url}/v3`, username: input.adminUsername, password, projectName: input.adminProjectName, regionName: input.regionId });

  await p.step('identity, image and block storage', () => manager.start(), () => `${url}/v3, ${imageUrl(config)}, ${blockStorageUrl(config)}/v3`);
  const admin = { authUrl: `${url}/v3`, username: input.adminUsername, password };
  const image = imageRegistration(config);
  await unlessDone(config.data_dir, 'registered-image', { admin, image }, () =>
    p.step('image service registration', () => registerService(admin, image), (done) => (done.length ? done.join(', ') : 'up to date')),
  );
  const volume = blockStorageRegistrations(config);
  await unlessDone(config.data_dir, 'registered-block-storage', { admin, volume }, () =>
    p.step('block storage registration', async () => [...(await registerService(admin, volume[0]!)), ...(await registerService(admin, volume[1]!))], (done) => (done.length ? done.join(', ') : 'up to date')),
  );
  exitOnSignals(manager, log);
  p.info(`Altostratus is up in ${((performance.now() - t0) / 1000).toFixed(1)} s. To use it with the openstack CLI:\n`);
  process.stdout.write(`export OS_CLIENT_CONFIG_FILE=${files.clouds}\nexport OS_CLOUD=${CLOUD_NAME}\n`);
  p.info(`\nThen try: openstack catalog list; openstack volume create --size 1 lab-volume-1. Stop with Ctrl-C; data stays in ${config.data_dir}.`);
}

/**
 * Runs a one-time setup step only when its input changed since it last succeeded: bootstrap and
 * registration each log in with a deliberately slow password hash, which every restart would
 * otherwise pay for (and compete with the first requests for the CPU). The stamp in the data
 * directory holds a salted hash of the input, never the input itself (it carries passwords).
 */
async function unlessDone(dataDir: string, name: string, input: unknown, run: () => Promise<unknown>): Promise<void> {
  const stamp = join(dataDir, `.${name}`);
  const [salt = randomBytes(16).toString('hex'), done] = existsSync(stamp) ? readFileSync(stamp, 'utf8').split('\n') : [];
  const fingerprint = createHash('sha256').update(salt).update(JSON.stringify(input)).digest('hex');
  if (done === fingerprint) return;
  await run();
  writeFileSync(stamp, `${salt}\n${fingerprint}\n`, { mode: 0o600 });
}
