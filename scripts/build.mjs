// npm run build: type-check with tsc, then bundle with esbuild into dist/ (what bin/ runs and the package ships). One
// file rather than ~30 ES modules or code-split chunks: each module the loader resolves, reads and links costs start-up
// time, while a lazy part of one bundle costs nothing until its dynamic import() runs (BENCHMARKS.md, start-up).
import { build } from 'esbuild';
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Node's built-in modules, taken with process.getBuiltinModule() instead of imported as ES modules. An ES import of a
 * built-in makes Node build a module facade that reads every export once, so lazy getters run: chalk's
 * `import process from 'node:process'` created process.stdin and the allowed-flags set, `node:fs` loaded its stream
 * classes, `node:http` Node's own undici (nodejs/node#59686): start-up time for nothing used.
 * `node:child_process` (commander requires it at load, for executable subcommands we do not have) is loaded on
 * first use.
 */
const builtins = {
  name: 'builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (a) => {
      const id = JSON.stringify(a.path);
      if (a.path !== 'node:child_process') return { contents: `module.exports = process.getBuiltinModule(${id});`, loader: 'js' };
      return {
        contents: `const real = () => process.getBuiltinModule(${id});
module.exports = new Proxy({}, {
  get: (_, k) => real()[k],
  has: (_, k) => k in real(),
  ownKeys: () => Reflect.ownKeys(real()),
  getOwnPropertyDescriptor: (_, k) => ({ ...Reflect.getOwnPropertyDescriptor(real(), k), configurable: true }),
});`,
        loader: 'js',
      };
    });
  },
};

/**
 * chalk's own colour detection (its vendored supports-color, run when chalk loads: `node:tty`, `node:os`, the
 * environment) feeds only its default instance, which we never use: src/cli.ts decides the level (NO_COLOR,
 * FORCE_COLOR, --no-color, a TTY) and every instance is `new Chalk({ level })`. So it is left out.
 */
const noColorDetection = {
  name: 'no-color-detection',
  setup(b) {
    b.onResolve({ filter: /^#supports-color$/ }, () => ({ path: 'supports-color', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'export default { stdout: false, stderr: false };', loader: 'js' }));
  },
};

rmSync('dist', { recursive: true, force: true });
await build({
  plugins: [builtins, noColorDetection],
  entryPoints: { cli: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: false,
  format: 'esm',
  platform: 'node',
  target: 'node22.13',
  // Loaded lazily at run time from node_modules: big, and only needed once a delivery happens.
  external: ['undici'],
  // No banner defining `require`: commander's require() calls of node's built-ins are the shims above, and nothing
  // else is left external but undici, which src/delivery.ts loads with a require of its own.
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
