// Runs the real openstack CLI (python3-openstackclient) and openstacksdk against a cloud.
import { spawnSync } from 'node:child_process';

export const HAVE_OPENSTACK = spawnSync('sh', ['-c', 'command -v openstack'], { encoding: 'utf8' }).status === 0;

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `openstack <args>`; throws with the CLI's own error unless allowFailure. */
export function openstack(env: NodeJS.ProcessEnv, args: string[], opts: { allowFailure?: boolean } = {}): CliResult {
  const r = spawnSync('openstack', args, { env, encoding: 'utf8', timeout: 120_000 });
  const res = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  if (!opts.allowFailure && r.status !== 0) throw new Error(`openstack ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return res;
}

/** `openstack <args> -f json`, parsed. */
export function openstackJson<T = unknown>(env: NodeJS.ProcessEnv, args: string[]): T {
  return JSON.parse(openstack(env, [...args, '-f', 'json']).stdout) as T;
}

/** Runs a Python snippet with Debian's python3 (which has openstacksdk) and returns its stdout as JSON. */
export function python<T = unknown>(env: NodeJS.ProcessEnv, code: string): T {
  const r = spawnSync('/usr/bin/python3', ['-c', code], { env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python3 exited ${r.status}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
