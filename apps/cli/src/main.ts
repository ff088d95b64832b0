#!/usr/bin/env node
// The `alto` command's entry point: refuses a Node.js too old for our native addons (they crash
// rather than fail on Node 20) before loading anything else.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(`alto: Node.js ${process.version} is too old; Altostratus needs Node.js 22 or newer. The ./alto launcher installs Node 24 into .tools/ by itself.\n`);
  process.exit(1);
}
// Compiled code is cached on disk (Node >= 22.1) for the short commands: later starts skip most
// of the parsing. Not for the servers (up, serve): V8 materialises every cached function at load,
// about 12 MB more resident memory for as long as they run, to save 100-150 ms once.
const command = process.argv[2];
if (command !== 'up' && command !== 'serve') {
  const mod = await import('node:module');
  mod.enableCompileCache?.();
}
await import('./cli.js');
