// The `alto` command: its subcommands and how errors reach the user.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { AltoError } from '@alto/kernel';
import { ConfigError } from '@alto/config';
import type { ConfigSources } from './config.js';
import { up } from './commands/up.js';
import { serve } from './commands/serve.js';
import { dbSync } from './commands/db.js';
import { bootstrapCommand } from './commands/bootstrap.js';
import { registerCommand } from './commands/register.js';
import { renderTable, status } from './commands/status.js';
import { fernetRotate, fernetSetup } from './commands/fernet.js';
import { credentialRotate, credentialSetup } from './commands/credential.js';
import { policySample } from './commands/policy.js';
import { COMPONENTS } from './components.js';
import { k8sSecrets } from './commands/k8s.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('alto')
  .version(version, '-V, --version', 'print the version')
  .description('Altostratus: an OpenStack-compatible cloud: identity (Keystone v3), image (Glance v2) and block storage (Cinder v3) today; compute and network next.')
  .addHelpText(
    'after',
    `
Start here:
  alto up                          the whole cloud on this machine (SQLite, in-process bus), data in ./.alto
  export OS_CLIENT_CONFIG_FILE=.alto/clouds.yaml OS_CLOUD=altostratus
  openstack token issue            then use the openstack CLI as with any OpenStack cloud

Split deployment (what the Kubernetes manifests run):
  alto db sync identity            create or upgrade the identity database (a Job)
  alto fernet setup                create the token key repository
  alto credential setup            create the credential encryption key repository
  alto bootstrap                   admin user, default roles, catalog (a Job; needs ALTO_ADMIN_PASSWORD)
  alto serve identity-api          one component in the foreground (a Deployment)
  alto db sync image               create or upgrade the image database (a Job)
  alto register image              the glance user and the image catalog entry, after bootstrap (a Job)
  alto serve image-api             the image API (a Deployment)
  alto db sync block-storage       create or upgrade the block storage database (a Job)
  alto register block-storage      the cinder user and the volumev3/block-storage catalog entries (a Job)
  alto serve volume-api            the block storage API; volume-scheduler, volume-worker and
                                   volume-backup run the same way (Deployments, a StatefulSet)
  alto status                      check each of them for real: database, bus, keys, a real request

Configuration: --config FILE (YAML) or ALTO_CONFIG, overridden by ALTO_<SECTION>__<KEY> variables,
e.g. ALTO_IDENTITY__DATABASE__CONNECTION=postgresql://user:pw@host/identity.`,
  );

const configOption = () => new Option('-c, --config <file>', 'YAML config file (default: $ALTO_CONFIG)');
const sourcesOf = (o: { config?: string; host?: string; dataDir?: string }): ConfigSources => ({
  file: o.config,
  overrides: { ...(o.host ? { host: o.host } : {}), ...(o.dataDir ? { data_dir: o.dataDir } : {}) },
});

program
  .command('up')
  .description('start the whole cloud in this process on the embedded defaults; bootstraps on first start')
  .addOption(configOption())
  .option('--host <address>', 'address every API binds to (default 127.0.0.1)')
  .option('--data-dir <dir>', 'where state lives (default ./.alto, or $ALTO_DATA_DIR)')
  .action(async (o: { config?: string; host?: string; dataDir?: string }) => up(sourcesOf(o)));

program
  .command('serve')
  .description(`run one component in the foreground: ${COMPONENTS.join(', ')}`)
  .argument('<component>', COMPONENTS.join(' | '))
  .addOption(configOption())
  .action(async (component: string, o: { config?: string }) => serve(component, sourcesOf(o)));

const db = program.command('db').description('database schema management');
db.command('sync')
  .description('apply pending migrations of a service database (safe to run concurrently)')
  .argument('<service>', 'identity | image | block-storage')
  .option('--check', 'only report pending migrations; exit 1 if any')
  .addOption(configOption())
  .action(async (service: string, o: { config?: string; check?: boolean }) => {
    process.exitCode = await dbSync(service, sourcesOf(o), o);
  });

program
  .command('bootstrap')
  .description('create the default domain, admin user and project, default roles, region and identity endpoints (idempotent)')
  .option('--admin-password-file <file>', 'read the admin password from a file (default: $ALTO_ADMIN_PASSWORD)')
  .addOption(configOption())
  .action(async (o: { config?: string; adminPasswordFile?: string }) => bootstrapCommand(sourcesOf(o), o));

program
  .command('register')
  .description("register a service with the identity service over its API, after bootstrap: its user (<service>.keystone_authtoken's username and password) with the service and admin roles on the service project, its catalog entry and endpoints (idempotent)")
  .argument('<service>', 'image | block-storage')
  .option('--admin-password-file <file>', 'read the admin password from a file (default: $ALTO_ADMIN_PASSWORD)')
  .option('--public-url <url>', 'public endpoint (default: image.api.public_endpoint, else the bind address)')
  .option('--internal-url <url>', 'internal endpoint (default: the public one)')
  .option('--admin-url <url>', 'admin endpoint (default: the public one)')
  .option('--wait <seconds>', 'keep retrying this long while identity is unreachable or not bootstrapped yet (a Job started with the others)', Number, 0)
  .addOption(configOption())
  .addHelpText('after', '\nLogs in as bootstrap.admin_username at image.keystone_authtoken.auth_url (default: the identity API).\nExample: ALTO_ADMIN_PASSWORD=... alto register image --internal-url http://image-api:9292 --wait 600')
  .action(async (service: string, o: { config?: string; adminPasswordFile?: string; publicUrl?: string; internalUrl?: string; adminUrl?: string; wait?: number }) => {
    await registerCommand(service, sourcesOf(o), o);
  });

program
  .command('status')
  .description('check every component for real: database, bus, keys, and a real token against the API')
  .option('--json', 'machine-readable output')
  .option('--data-dir <dir>', 'data directory of "alto up" (for its clouds.yaml)')
  .addOption(configOption())
  .action(async (o: { config?: string; json?: boolean; dataDir?: string }) => {
    const rows = await status(sourcesOf(o));
    process.stdout.write(o.json ? `${JSON.stringify(rows, null, 2)}\n` : renderTable(rows));
    process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
  });

const fernet = program.command('fernet').description('token key repository (like keystone-manage fernet_*)');
fernet
  .command('setup')
  .description('create the key repository if it is empty')
  .addOption(configOption())
  .option('--k8s-secret <name>', 'keep the keys in this Kubernetes Secret of the pod\'s namespace (run in a pod)')
  .action(async (o: { config?: string; k8sSecret?: string }) => fernetSetup(sourcesOf(o), o));
fernet
  .command('rotate')
  .description('promote the staged key to primary, stage a new one, drop the oldest beyond max_active_keys')
  .addOption(configOption())
  .option('--k8s-secret <name>', 'rotate the keys kept in this Kubernetes Secret (the identity-fernet-rotate CronJob does)')
  .action(async (o: { config?: string; k8sSecret?: string }) => fernetRotate(sourcesOf(o), o));

const credential = program.command('credential').description('credential encryption key repository (like keystone-manage credential_*)');
credential
  .command('setup')
  .description('create the key repository if it is empty')
  .addOption(configOption())
  .option('--k8s-secret <name>', "keep the keys in this Kubernetes Secret of the pod's namespace (run in a pod)")
  .action(async (o: { config?: string; k8sSecret?: string }) => credentialSetup(sourcesOf(o), o));
credential
  .command('rotate')
  .description('re-encrypt every credential with the primary key, then promote the staged key (credential_migrate + credential_rotate)')
  .addOption(configOption())
  .option('--k8s-secret <name>', 'rotate the keys kept in this Kubernetes Secret')
  .action(async (o: { config?: string; k8sSecret?: string }) => credentialRotate(sourcesOf(o), o));

const policy = program.command('policy').description('policy defaults');
policy
  .command('sample')
  .description('print the default policies of a service as a commented policy.yaml')
  .argument('<service>', 'identity')
  .action((service: string) => {
    process.stdout.write(policySample(service));
  });

const k8s = program.command('k8s').description('Kubernetes deployment helpers (deploy/kubernetes)');
k8s
  .command('secrets')
  .description("write an overlay's secret inputs (passwords, Erlang cookie, fernet keys) with fresh random values; existing ones are kept")
  .argument('<overlay-dir>', 'e.g. deploy/kubernetes/overlays/single-node')
  .option('--force', 'replace existing values too (invalidates every issued token and stored password)')
  .action(async (dir: string, o: { force?: boolean }) => {
    await k8sSecrets(dir, { force: o.force ?? false });
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`alto: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof AltoError && err.kind !== 'internal') {
    process.stderr.write(`alto: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`alto: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
