/*
 * The house rules of docs/ARCHITECTURE.md, read from the source itself so they hold without anyone remembering them:
 * which room may import which, which room owns each npm package, no import cycle, no function over 80 lines and no
 * file over 450.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

/** Each room (a folder of src/) and the rooms it may import; a room may always import its own files. */
export const RULES: Record<string, string[]> = {
  core: [],
  store: ['core'],
  http: ['core'],
  relay: ['core'],
  tunnel: ['core'],
  forward: ['core'],
  format: ['core'],
  inspector: ['core', 'store', 'format'],
  listen: ['core', 'store', 'http', 'relay', 'tunnel', 'forward', 'format', 'inspector'],
  commands: ['core', 'store', 'relay', 'forward', 'format', 'inspector'],
  cli: ['core', 'format', 'relay', 'commands', 'listen'],
};

/** Each npm package, and node:sqlite, is imported by one room only. */
export const OWNERS: Record<string, string> = { commander: 'cli', chalk: 'format', undici: 'forward', 'node:sqlite': 'store' };

const MAX_FUNCTION_LINES = 80;
const MAX_FILE_LINES = 450;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

export interface Import {
  from: string;
  specifier: string;
  typeOnly: boolean;
}

/** Every import of a file: static (type-only marked), dynamic import(), and typeof import() in types. */
export function importsOf(file: string, text: string): Import[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Import[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(node) ? Boolean(node.importClause?.isTypeOnly) : node.isTypeOnly;
      found.push({ from: file, specifier: node.moduleSpecifier.text, typeOnly });
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0]!))
      found.push({ from: file, specifier: node.arguments[0].text, typeOnly: false });
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal))
      found.push({ from: file, specifier: node.argument.literal.text, typeOnly: true });
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'getBuiltinModule' && ts.isStringLiteral(node.arguments[0]!))
      found.push({ from: file, specifier: node.arguments[0].text, typeOnly: false });
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const roomOf = (file: string): string => relative(SRC, file).split('/')[0]!;

/** What breaks the rules, as lines a person can act on. */
export function ruleBreaks(files: { path: string; text: string }[]): string[] {
  const broken: string[] = [];
  for (const { path, text } of files) {
    const room = roomOf(path);
    for (const imp of importsOf(path, text)) {
      const owner = OWNERS[imp.specifier] ?? OWNERS[imp.specifier.split('/')[0]!];
      if (owner && owner !== room) broken.push(`${relative(SRC, path)} imports ${imp.specifier}, which only ${owner}/ may import`);
      if (!imp.specifier.startsWith('.')) continue;
      const target = roomOf(resolve(dirname(path), imp.specifier));
      if (target !== room && !(RULES[room] ?? []).includes(target)) broken.push(`${relative(SRC, path)} (${room}/) imports ${imp.specifier} (${target}/), which ${room}/ may not`);
    }
  }
  return broken;
}

/** Import cycles between files (type-only imports included: a cycle of types is still a knot to read). */
export function cycles(files: { path: string; text: string }[]): string[] {
  const edges = new Map<string, string[]>();
  for (const { path, text } of files)
    edges.set(
      path,
      importsOf(path, text)
        .filter((i) => i.specifier.startsWith('.'))
        .map((i) => resolve(dirname(path), i.specifier).replace(/\.js$/, '.ts')),
    );
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const walk = (node: string, trail: string[]): void => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      found.push([...trail.slice(trail.indexOf(node)), node].map((f) => relative(SRC, f)).join(' → '));
      return;
    }
    state.set(node, 'open');
    for (const next of edges.get(node) ?? []) walk(next, [...trail, node]);
    state.set(node, 'done');
  };
  for (const node of edges.keys()) walk(node, []);
  return found;
}

/** Functions, methods and arrow functions longer than `max` lines, and files longer than MAX_FILE_LINES. */
export function tooLong(files: { path: string; text: string }[], max = MAX_FUNCTION_LINES): string[] {
  const out: string[] = [];
  for (const { path, text } of files) {
    const lines = text.split('\n').length;
    if (lines > MAX_FILE_LINES) out.push(`${relative(SRC, path)}: ${lines} lines (at most ${MAX_FILE_LINES})`);
    const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const from = sf.getLineAndCharacterOfPosition(node.getStart()).line;
        const to = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        if (to - from + 1 > max) out.push(`${relative(SRC, path)}:${from + 1}: a function of ${to - from + 1} lines (at most ${max})`);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

/** Uses of the process as a whole (exit codes, argv, signals) outside cli/. */
export function processOutsideCli(files: { path: string; text: string }[]): string[] {
  return files
    .filter(({ path }) => roomOf(path) !== 'cli')
    .flatMap(({ path, text }) => [...text.matchAll(/process\.(exit|exitCode|argv|on)\b/g)].map((m) => `${relative(SRC, path)} uses process.${m[1]}`));
}

const files = (): { path: string; text: string }[] => sourceFiles(SRC).map((path) => ({ path, text: readFileSync(path, 'utf8') }));

test('each room imports only the rooms docs/ARCHITECTURE.md allows, and each package is imported by its one room', () => {
  assert.deepEqual(ruleBreaks(files()), []);
});

test('only cli/ touches the process as a whole: exit codes, argv, signal handlers', () => {
  assert.deepEqual(processOutsideCli(files()), []);
});

test('no import cycle between the files of src/', () => {
  assert.deepEqual(cycles(files()), []);
});

test(`no function in src/ over ${MAX_FUNCTION_LINES} lines, no file over ${MAX_FILE_LINES}`, () => {
  assert.deepEqual(tooLong(files()), []);
});

test('the checks themselves catch a bad import, a cycle and a long function', () => {
  const at = (p: string): string => join(SRC, p);
  const bad = [
    { path: at('core/x.ts'), text: "import { openStore } from '../store/index.js';\nimport { Command } from 'commander';\n" },
    { path: at('store/a.ts'), text: "import type { B } from './b.js';\nexport type A = B;\n" },
    { path: at('store/b.ts'), text: "import type { A } from './a.js';\nexport type B = A;\n" },
    { path: at('format/y.ts'), text: `export function y(): void {\n${'  void 0;\n'.repeat(90)}}\n` },
  ];
  assert.deepEqual(ruleBreaks(bad), [
    'core/x.ts (core/) imports ../store/index.js (store/), which core/ may not',
    'core/x.ts imports commander, which only cli/ may import',
  ]);
  assert.deepEqual(cycles(bad), ['store/a.ts → store/b.ts → store/a.ts']);
  assert.deepEqual(tooLong(bad), ['format/y.ts:1: a function of 92 lines (at most 80)']);
});

test('the inspector page scripts parse (they are shipped as written, not compiled)', () => {
  const page = join(SRC, 'inspector/page');
  for (const name of readdirSync(page).filter((n) => n.endsWith('.js'))) {
    const run = spawnSync(process.execPath, ['--check', join(page, name)], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${name}: ${run.stderr}`);
  }
});
