#!/usr/bin/env node
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(`webhook-listen needs Node.js 22.13 or newer (it stores events with node:sqlite); this is Node ${process.version}. Install a current Node.js and run it again.\n`);
  process.exit(1);
}
// V8's compiled code for our modules, kept between runs (in the OS temp folder, or NODE_COMPILE_CACHE): start-up
// skips compiling them. A cache that cannot be written is skipped silently; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
try {
  process.getBuiltinModule('node:module').enableCompileCache?.();
} catch {
  // Only slower.
}
await import('../dist/cli.js');
