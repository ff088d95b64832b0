#!/usr/bin/env node
// Runs one test suite over the compiled tests (tsc -b first), with node's built-in runner.
//   unit  every *.test.js in packages/, services/, apps/: SQLite and the in-process bus only
//   db    *.db.test.js on SQLite, PostgreSQL and MariaDB (ALTO_TEST_POSTGRES_URL, ALTO_TEST_MYSQL_URL required)
//   bus   *.bus.test.js on the in-process bus and RabbitMQ (ALTO_TEST_AMQP_URL required)
//   e2e   tests/e2e: the real openstack CLI and openstacksdk against a running cloud
//   k8s   tests/k8s: render and validate the Kustomize overlays, run what they say
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern=tokens).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const [suite = 'unit', ...extra] = process.argv.slice(2);

function walk(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function compiledTests(tops, pred) {
  const files = [];
  for (const top of tops) {
    for (const pkg of readdirSync(join(root, top))) {
      files.push(...walk(join(root, top, pkg, 'dist')).filter(pred));
    }
  }
  return files.sort();
}

const isTest = (f) => f.endsWith('.test.js');
const env = { ...process.env };
let files;
let concurrency = Math.max(2, Number(process.env.ALTO_TEST_CONCURRENCY ?? 2));
switch (suite) {
  case 'unit':
    files = compiledTests(['packages', 'services', 'apps'], isTest);
    break;
  case 'db':
    env.ALTO_TEST_REQUIRE_ENGINES = 'sqlite,postgres,mysql';
    files = compiledTests(['packages', 'services', 'apps'], (f) => f.endsWith('.db.test.js'));
    break;
  case 'bus':
    env.ALTO_TEST_REQUIRE_AMQP = '1';
    files = compiledTests(['packages', 'services', 'apps'], (f) => f.endsWith('.bus.test.js'));
    break;
  case 'e2e':
    files = walk(join(root, 'tests/e2e/dist')).filter(isTest).sort();
    // every file starts its own cloud on free ports; two at a time overlap one's CLI start-ups
    // with the other's server work
    concurrency = Math.max(1, Number(process.env.ALTO_TEST_E2E_CONCURRENCY ?? 2));
    break;
  case 'k8s':
    files = walk(join(root, 'tests/k8s/dist')).filter(isTest).sort();
    concurrency = 1;
    break;
  default:
    console.error(`unknown suite ${suite}; one of unit, db, bus, e2e, k8s`);
    process.exit(2);
}

const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
if (files.length === 0) {
  console.error(`no test files for suite ${suite}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...extra, ...files], { cwd: root, stdio: 'inherit', env });
process.exit(r.status ?? 1);
