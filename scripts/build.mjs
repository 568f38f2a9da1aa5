// npm run build: type-check with tsc, then bundle with esbuild into dist/ (what bin/ runs and the package ships).
// One bundle instead of ~30 ES modules (ours, commander's, chalk's) saves ~25 ms of a ~200 ms start; code
// splitting keeps what only some runs need (inspector, tunnel, other commands) in chunks loaded on demand.
import { build } from 'esbuild';
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.13',
  // Loaded lazily at run time from node_modules: big, and only needed once a delivery happens.
  external: ['undici'],
  // commander is CommonJS and requires node's built-ins; an ES module bundle needs a real require for that.
  banner: { js: "import { createRequire as __wlCreateRequire } from 'node:module';\nconst require = __wlCreateRequire(import.meta.url);" },
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: true,
  logLevel: 'warning',
});
cpSync('src/inspector/page', 'dist/inspector/page', { recursive: true });

// commander and chalk are inside the bundle, so their licences ship with it.
const bundled = ['commander', 'chalk'];
const notices = bundled.map((name) => {
  const dir = `node_modules/${name}`;
  const { version } = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
  const license = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  return `${name}@${version}\n\n${readFileSync(`${dir}/${license}`, 'utf8').trim()}\n`;
});
writeFileSync('dist/THIRD-PARTY-LICENSES.txt', `Bundled into dist/ by scripts/build.mjs:\n\n${notices.join('\n---\n\n')}`);
