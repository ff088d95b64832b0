// clouds.yaml and openrc for the openstack CLI and openstacksdk, written with mode 0600.
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';

export const CLOUD_NAME = 'altostratus';

export interface ClientCredentials {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  regionName: string;
}

function writeSecretFile(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

export function writeClientConfig(dataDir: string, c: ClientCredentials): { clouds: string; openrc: string } {
  const clouds = join(dataDir, 'clouds.yaml');
  const openrc = join(dataDir, 'openrc');
  const doc = {
    clouds: {
      [CLOUD_NAME]: {
        auth: { auth_url: c.authUrl, username: c.username, password: c.password, project_name: c.projectName, user_domain_name: 'Default', project_domain_name: 'Default' },
        region_name: c.regionName,
        interface: 'public',
        identity_api_version: 3,
      },
    },
  };
  writeSecretFile(clouds, `# Written by "alto up". Use with: export OS_CLIENT_CONFIG_FILE=${clouds} OS_CLOUD=${CLOUD_NAME}\n${stringify(doc)}`);
  const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  writeSecretFile(
    openrc,
    [
      `# Written by "alto up". Use with: source ${openrc}`,
      `export OS_AUTH_URL=${q(c.authUrl)}`,
      `export OS_USERNAME=${q(c.username)}`,
      `export OS_PASSWORD=${q(c.password)}`,
      `export OS_PROJECT_NAME=${q(c.projectName)}`,
      `export OS_USER_DOMAIN_NAME=Default`,
      `export OS_PROJECT_DOMAIN_NAME=Default`,
      `export OS_REGION_NAME=${q(c.regionName)}`,
      `export OS_IDENTITY_API_VERSION=3`,
      `export OS_INTERFACE=public`,
      '',
    ].join('\n'),
  );
  return { clouds, openrc };
}

/** The admin password a previous `alto up` generated, if its clouds.yaml is still there. */
export function readSavedPassword(dataDir: string): string | undefined {
  const clouds = join(dataDir, 'clouds.yaml');
  if (!existsSync(clouds)) return undefined;
  try {
    const doc = parse(readFileSync(clouds, 'utf8')) as { clouds?: Record<string, { auth?: { password?: unknown } }> };
    const pw = doc.clouds?.[CLOUD_NAME]?.auth?.password;
    return typeof pw === 'string' && pw ? pw : undefined;
  } catch {
    return undefined;
  }
}

/** The credentials in clouds.yaml, for `alto status`. */
export function readClientConfig(dataDir: string): ClientCredentials | undefined {
  const clouds = join(dataDir, 'clouds.yaml');
  if (!existsSync(clouds)) return undefined;
  const doc = parse(readFileSync(clouds, 'utf8')) as { clouds?: Record<string, { auth?: Record<string, string>; region_name?: string }> };
  const c = doc.clouds?.[CLOUD_NAME];
  if (!c?.auth) return undefined;
  return { authUrl: c.auth.auth_url ?? '', username: c.auth.username ?? '', password: c.auth.password ?? '', projectName: c.auth.project_name ?? '', regionName: c.region_name ?? 'RegionOne' };
}

/** A service user's password: generated on first use and kept (mode 600) in the data directory. */
export function serviceUserPassword(dataDir: string, user: string): string {
  const file = join(dataDir, `${user}-service-password`);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  // hex: a password that starts with '-' reads as an option to other tools' argument parsers
  const pw = randomBytes(24).toString('hex');
  writeSecretFile(file, `${pw}\n`);
  return pw;
}
