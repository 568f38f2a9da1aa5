/*
 * npm run bench: every measurement on loopback, each against a baseline measured in the same run, printed as
 * a Markdown table of ratios. These machines are shared and noisy; absolute numbers alone mean little.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN } from '../test/helpers/cli.js';
import { startLtServer } from '../test/helpers/lt-server.js';
import { freePort } from '../test/helpers/net.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const AUTOCANNON = fileURLToPath(new URL('../../node_modules/autocannon/autocannon.js', import.meta.url));
const SEED = fileURLToPath(new URL('../../test/fixtures/new-message.json', import.meta.url));
const quick = process.argv.includes('--quick');
const DURATION = quick ? 3 : 8;
const work = mkdtempSync(join(tmpdir(), 'wl-bench-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts a node script and waits for `pattern` in its output (stdout to a file, so printing costs it, not us). */
async function start(args: string[], pattern: RegExp, name: string): Promise<{ proc: ChildProcess; match: RegExpMatchArray; log: string }> {
  const log = join(work, `${name}-${children.length}.log`);
  const fd = openSync(log, 'w');
  const proc = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], env: { ...process.env, NO_COLOR: '1' } });
  closeSync(fd);
  children.push(proc);
  for (let i = 0; i < 400; i++) {
    const m = readFileSync(log, 'utf8').match(pattern);
    if (m) return { proc, match: m, log };
    if (proc.exitCode !== null) break;
    await sleep(25);
  }
  throw new Error(`${name} did not start:\n${readFileSync(log, 'utf8')}`);
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** autocannon in its own process, so the load generator never shares an event loop with what it measures. */
function load(url: string, opts: { connections: number; duration?: number; amount?: number; rate?: number; headers?: Record<string, string> }): Promise<Load> {
  const args = [AUTOCANNON, '--json', '-m', 'POST', '-i', SEED, '-H', 'content-type=application/json', '-c', String(opts.connections)];
  if (opts.amount) args.push('-a', String(opts.amount));
  else args.push('-d', String(opts.duration ?? DURATION));
  if (opts.rate) args.push('-R', String(opts.rate));
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}=${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.on('exit', () => {
      try {
        const r = JSON.parse(out) as {
          requests: { average: number };
          latency: { p50: number; p99: number };
          errors: number;
          timeouts: number;
          non2xx: number;
        };
        resolve({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx });
      } catch (err) {
        reject(new Error(`autocannon gave no result: ${(err as Error).message}\n${out}`));
      }
    });
  });
}

const raw = (port = 0): Promise<{ proc: ChildProcess; match: RegExpMatchArray }> =>
  start([here('./servers/raw.js'), String(port)], /listening (\d+)/, 'raw');

async function webhookListen(extra: string[], name = 'wl'): Promise<{ proc: ChildProcess; url: string; log: string }> {
  const port = await freePort();
  const store = mkdtempSync(join(work, 'store-'));
  const s = await start([BIN, '--no-tunnel', '--no-inspect', '--port', String(port), '--store', store, ...extra], /Waiting for events/, name);
  return { proc: s.proc, url: `http://127.0.0.1:${port}`, log: s.log };
}

const rows: string[][] = [];
const row = (...cells: (string | number)[]): void => {
  rows.push(cells.map(String));
  console.error(cells.join(' | '));
};
const fmt = (n: number, d = 0): string => n.toFixed(d);
const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');

// ---- 1. listener throughput ----
async function throughput(): Promise<void> {
  for (const connections of [10, 32, 100]) {
    const base = await raw();
    const baseUrl = `http://127.0.0.1:${base.match[1]}/my/webhook/url`;
    await load(baseUrl, { connections, duration: 1 });
    const b = await load(baseUrl, { connections });
    await stop(base.proc);

    const ex = await start([here('./servers/express.js')], /listening (\d+)/, 'express');
    const exUrl = `http://127.0.0.1:${ex.match[1]}/my/webhook/url`;
    await load(exUrl, { connections, duration: 1 });
    const e = await load(exUrl, { connections });
    await stop(ex.proc);

    const wl = await webhookListen([]);
    await load(`${wl.url}/my/webhook/url`, { connections, duration: 1 });
    const w = await load(`${wl.url}/my/webhook/url`, { connections });
    await stop(wl.proc);

    row(`1. throughput, ${connections} conns`, `raw node:http ${fmt(b.rps)} req/s`, `express ${fmt(e.rps)} (${fmt(e.rps / b.rps, 2)}×)`, `webhook-listen ${fmt(w.rps)} req/s`, `${fmt(w.rps / b.rps, 2)}×`, '≥ 0.70×', verdict(w.rps / b.rps >= 0.7));
  }
}

// ---- 2. forwarding overhead (end to end with --passthrough) ----
async function forwarding(): Promise<void> {
  const app = await raw();
  const appUrl = `http://127.0.0.1:${app.match[1]}`;
  const wl = await webhookListen(['--passthrough', '-f', appUrl]);
  for (const rate of [200, 1000]) {
    await load(`${appUrl}/my/webhook/url`, { connections: 10, duration: 1, rate });
    const direct = await load(`${appUrl}/my/webhook/url`, { connections: 10, rate });
    await load(`${wl.url}/my/webhook/url`, { connections: 10, duration: 1, rate });
    const through = await load(`${wl.url}/my/webhook/url`, { connections: 10, rate });
    const add50 = through.p50 - direct.p50;
    const add99 = through.p99 - direct.p99;
    row(
      `2. forwarding overhead, ${rate} req/s`,
      `direct p50 ${direct.p50} ms, p99 ${direct.p99} ms`,
      '',
      `through p50 ${through.p50} ms, p99 ${through.p99} ms`,
      `+${fmt(add50, 1)} ms p50, +${fmt(add99, 1)} ms p99`,
      '≤ +1 ms p50, ≤ +5 ms p99',
      verdict(add50 <= 1 && add99 <= 5),
    );
  }
  await stop(wl.proc);
  await stop(app.proc);
}

// ---- 3. through a localtunnel server on loopback ----
async function tunnel(): Promise<void> {
  const server = await startLtServer();
  const app = await raw();
  const appPort = app.match[1]!;
  const idOf = (url: string): string => /^https?:\/\/([^.]+)\./.exec(url)![1]!;

  const plain = await start([here('./servers/plain-tunnel.js'), server.url, appPort], /url (\S+)/, 'plain-tunnel');
  const plainId = idOf(plain.match[1]!);
  const hostP = { host: `${plainId}.localhost:${server.port}` };
  await sleep(300);
  await load(`${server.url}/my/webhook/url`, { connections: 10, duration: 1, headers: hostP });
  const p = await load(`${server.url}/my/webhook/url`, { connections: 10, headers: hostP });
  await stop(plain.proc);

  const port = await freePort();
  const store = mkdtempSync(join(work, 'store-'));
  const wl = await start(
    [BIN, '--no-inspect', '--port', String(port), '--store', store, '--tunnel-host', server.url, '-f', `http://127.0.0.1:${appPort}`],
    /Public URL\s+(http\S+)/,
    'wl-tunnel',
  );
  const wlId = idOf(wl.match[1]!);
  const hostW = { host: `${wlId}.localhost:${server.port}` };
  await sleep(300);
  await load(`${server.url}/my/webhook/url`, { connections: 10, duration: 1, headers: hostW });
  const w = await load(`${server.url}/my/webhook/url`, { connections: 10, headers: hostW });
  await stop(wl.proc);
  await stop(app.proc);
  await server.stop();
  row(
    '3. through a localtunnel server, 10 conns',
    `plain client → app ${fmt(p.rps)} req/s, p50 ${p.p50} ms`,
    '',
    `webhook-listen (forwarding) ${fmt(w.rps)} req/s, p50 ${w.p50} ms`,
    `${fmt(w.rps / p.rps, 2)}×`,
    '≥ 0.90×',
    verdict(w.rps / p.rps >= 0.9),
  );
}

// ---- 4. start-up ----
async function timeToReady(args: string[], pattern: RegExp): Promise<number> {
  const t0 = performance.now();
  const s = await start(args, pattern, 'startup');
  const ms = performance.now() - t0;
  await stop(s.proc);
  return ms;
}

async function startup(): Promise<void> {
  const runs = quick ? 5 : 15;
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const bare: number[] = [];
  const wl: number[] = [];
  const wlDefault: number[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(await timeToReady(['-e', "require('http').createServer((q,s)=>s.end()).listen(0,()=>console.log('ready'))"], /ready/));
    const store = mkdtempSync(join(work, 'store-'));
    wl.push(await timeToReady([BIN, '--no-tunnel', '--no-inspect', '--port', '0', '--store', store], /Waiting for events/));
    wlDefault.push(await timeToReady([BIN, '--no-tunnel', '--port', '0', '--inspect-port', '0', '--store', store], /Waiting for events/));
  }
  const b = median(bare);
  const w = median(wl);
  const d = median(wlDefault);
  row('4. start-up to the ready line (median)', `bare node -e server ${fmt(b)} ms`, '', `webhook-listen ${fmt(w)} ms (with inspector ${fmt(d)} ms)`, `${fmt(w / b, 2)}× (${fmt(d / b, 2)}×)`, '≤ 1.5×', verdict(w / b <= 1.5));
}

// ---- 5. memory after 100k events ----
function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

async function memory(): Promise<void> {
  const app = await raw();
  const wl = await webhookListen(['-f', `http://127.0.0.1:${app.match[1]}`]);
  const amount = quick ? 20_000 : 100_000;
  const r = await load(`${wl.url}/my/webhook/url`, { connections: 32, amount });
  await sleep(2000);
  const mem = rssMb(wl.proc.pid!);
  await stop(wl.proc);
  await stop(app.proc);
  row(`5. memory after ${amount / 1000}k events (forwarding, store on)`, `${r.errors} errors, ${r.non2xx} non-2xx`, '', `RSS ${fmt(mem.rss)} MB (peak ${fmt(mem.peak)} MB)`, '', '< 80 MB', verdict(mem.rss < 80));
}

const only = process.argv.find((a) => /^--only=/.test(a))?.slice(7);
const suites: Record<string, () => Promise<void>> = { throughput, forwarding, tunnel, startup, memory };
for (const [name, fn] of Object.entries(suites)) if (!only || only.split(',').includes(name)) await fn();

const header = ['measure', 'baseline', 'peer', 'webhook-listen', 'ratio / added', 'target', 'verdict'];
const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const report = `Machine: ${machine}. Command: \`npm run bench${quick ? ' -- --quick' : ''}\`. Load: autocannon (own process), 1 KB seed newMessage POSTs, ${DURATION} s per point.\n\n${table}\n`;
console.log(report);
writeFileSync(join(process.cwd(), 'bench', 'last-run.md'), report);
process.exit(0);
