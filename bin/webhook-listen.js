#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// A listener that runs all day in a corner of the screen should stay small. V8 sizes its heap for throughput:
// the young generation doubles up to 16 MB per semi-space and the old one grows up to 4x its live size, which
// gave 150 MB of RSS for a 13 MB live heap (BENCHMARKS.md). Both factors are read at each GC, so setting them
// here, before anything else is loaded, takes effect. Given to node itself (node --heap-growing-percent=… bin/…),
// the user's own value wins.
const own = process.execArgv.join(' ');
if (!/semi-space-growth-factor/.test(own)) setFlagsFromString('--semi-space-growth-factor=1');
if (!/heap-growing-percent/.test(own)) setFlagsFromString('--heap-growing-percent=30');

await import('../dist/cli.js');
