#!/usr/bin/env node
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(`webhook-listen needs Node.js 22.13 or newer (it stores events with node:sqlite); this is Node ${process.version}. Install a current Node.js and run it again.\n`);
  process.exit(1);
}
await import('../dist/cli.js');
