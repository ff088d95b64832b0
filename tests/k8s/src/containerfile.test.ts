// Checks what can be checked of the Containerfile without a container engine: its inputs exist, its entrypoint is what the build makes, nothing secret goes in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { copySources, envOf, execForm, lastOf, readContainerfile, substituteArgs } from './containerfile.js';
import { repoRoot } from './render.js';

const file = readContainerfile();
const final = file.stages.at(-1);
const build = file.stages[0];

/** .containerignore patterns (gitignore-like, as Docker and Podman read them), as regular expressions. */
function ignorePatterns(): RegExp[] {
  const text = readFileSync(join(repoRoot, '.containerignore'), 'utf8');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('!'))
    .map((p) => {
      const body = p
        .replace(/^\/+|\/+$/g, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .split('**/')
        .map((part) => part.replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
        .join('(?:.*/)?');
      // a pattern matches the path itself or anything under it
      return new RegExp(`^${body}(?:/.*)?$`);
    });
}
const ignored = (path: string) => ignorePatterns().some((re) => re.test(path));

test('it has a build stage and a runtime stage, both on the pinned Node.js 24 slim image ./alto uses', () => {
  assert.ok(build && final && file.stages.length === 2, 'two stages');
  const nodeVersion = file.globalArgs.get('NODE_VERSION');
  const nodeSh = readFileSync(join(repoRoot, 'scripts', 'lib', 'node.sh'), 'utf8');
  assert.equal(nodeVersion, /ALTO_NODE_VERSION=\$\{ALTO_NODE_VERSION:-([\d.]+)\}/.exec(nodeSh)?.[1], 'the same Node.js as scripts/lib/node.sh');
  for (const stage of file.stages) {
    assert.match(substituteArgs(stage.from, file.globalArgs), /^docker\.io\/library\/node:24\.\d+\.\d+-bookworm-slim$/);
  }
});

test('every path it COPYs from the build context exists and is not excluded by .containerignore', () => {
  let count = 0;
  for (const stage of file.stages) {
    for (const ins of stage.instructions.filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.rest))) {
      for (const src of copySources(ins)) {
        count++;
        assert.ok(existsSync(join(repoRoot, src)), `line ${ins.line}: ${src} exists`);
        assert.ok(!ignored(src.replace(/^\.\//, '')), `line ${ins.line}: ${src} is not excluded by .containerignore`);
      }
    }
  }
  assert.ok(count >= 6, `${count} COPY sources`);
  // npm ci needs the manifest of every workspace the lockfile knows
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] };
  const copiedTops = new Set(build?.instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => copySources(i).map((s) => s.replace(/^\.\//, ''))));
  for (const ws of pkg.workspaces) {
    const [top = ws, rest] = ws.split('/', 2);
    const dirs = rest === '*' ? (existsSync(join(repoRoot, top)) ? readdirSync(join(repoRoot, top)).map((d) => join(top, d)) : []) : [ws];
    if (dirs.some((d) => existsSync(join(repoRoot, d, 'package.json')))) assert.ok(copiedTops.has(top), `workspace ${ws} has packages: ${top} is copied for npm ci`);
  }
});

test('the entrypoint is the alto command the build produces (apps/cli dist/main.js from src/main.ts, its package bin)', () => {
  assert.ok(final);
  const entrypoint = execForm(lastOf(final, 'ENTRYPOINT'));
  // the image runs node with the ./alto launcher's flags
  const launcherFlags = /exec node ((?:--\S+ )*)"\$ROOT\/apps\/cli\/dist\/main\.js"/.exec(readFileSync(join(repoRoot, 'alto'), 'utf8'))?.[1]?.trim().split(' ').filter(Boolean) ?? [];
  assert.deepEqual(entrypoint, ['node', ...launcherFlags, '/opt/alto/apps/cli/dist/main.js']);
  assert.ok(launcherFlags.length > 0, 'the launcher passes node flags (checked so this test keeps reading them)');
  assert.equal(lastOf(final, 'WORKDIR')?.rest, '/opt/alto');
  assert.ok(build?.instructions.some((i) => i.keyword === 'WORKDIR' && i.rest === '/opt/alto'), 'built where it runs, so workspace links stay valid');
  const cli = JSON.parse(readFileSync(join(repoRoot, 'apps', 'cli', 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  assert.equal(cli.bin?.alto, './dist/main.js');
  const tsconfig = JSON.parse(readFileSync(join(repoRoot, 'apps', 'cli', 'tsconfig.json'), 'utf8')) as { compilerOptions?: { rootDir?: string; outDir?: string } };
  assert.equal(tsconfig.compilerOptions?.rootDir, 'src');
  assert.equal(tsconfig.compilerOptions?.outDir, 'dist');
  assert.ok(existsSync(join(repoRoot, 'apps', 'cli', 'src', 'main.ts')), 'src/main.ts compiles to dist/main.js');
  assert.ok(existsSync(join(repoRoot, 'apps', 'cli', 'dist', 'main.js')), 'and this checkout has built it');
  const runs = build?.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.rest) ?? [];
  assert.ok(runs.some((r) => r.startsWith('npm ci')), 'npm ci from the lockfile');
  assert.ok(runs.some((r) => /node node_modules\/typescript\/bin\/tsc -b apps\/cli\b/.test(r)), 'tsc -b builds the CLI');
  assert.ok(runs.some((r) => /npm prune --omit=dev/.test(r)), 'devDependencies dropped');
  assert.ok(final.instructions.some((i) => i.keyword === 'COPY' && /--from=build/.test(i.rest)), 'the runtime stage takes only the build output');
});

test('it runs as a fixed non-root user, and no credential or deployment input can enter it', () => {
  assert.ok(final);
  const user = lastOf(final, 'USER')?.rest;
  assert.match(user ?? '', /^[1-9]\d*:[1-9]\d*$/, 'numeric uid:gid, so runAsNonRoot can verify it');
  for (const [name] of envOf(final)) assert.doesNotMatch(name, /PASSWORD|SECRET|TOKEN|COOKIE|CONNECTION|TRANSPORT_URL/);
  for (const path of ['deploy/kubernetes/overlays/single-node/secrets.env', 'deploy/kubernetes/overlays/ha/fernet-keys/0', 'some/dir/secrets.env', '.git/config', 'node_modules/x', 'apps/cli/dist/main.js', '.alto/clouds.yaml']) {
    assert.ok(ignored(path), `${path} is excluded from the build context`);
  }
  for (const path of ['package.json', 'package-lock.json', 'apps/cli/src/main.ts', 'services/identity/src/index.ts']) {
    assert.ok(!ignored(path), `${path} is in the build context`);
  }
});
