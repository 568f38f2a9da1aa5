/*
 * npm run bench: every measurement on loopback, each against a baseline measured in the same run, printed as
 * a Markdown table of ratios. These machines are shared and noisy; absolute numbers alone mean little.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN } from '../test/helpers/cli.js';
import { startLtServer, tunnelId } from '../test/helpers/lt-server.js';
import { type Counted, countInstructions } from './callgrind.js';
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

// Throughput (1) with two CPUs or more: the server gets CPU 1 and the load generator CPU 0, the same for every
// contender, so they do not fight over one core and runs vary less. Everything else runs unpinned: forwarding
// and the tunnel involve three processes, and pinning two of them to one core measures the pinning.
const CAN_PIN = cpus().length >= 2 && existsSync('/usr/bin/taskset');
let PIN = false;
const SERVER_CPU = '1';
const LOAD_CPU = '0';
function spawnNode(args: string[], cpu: string, options: Parameters<typeof spawn>[2]): ChildProcess {
  return PIN ? spawn('/usr/bin/taskset', ['-c', cpu, process.execPath, ...args], options) : spawn(process.execPath, args, options);
}

/** Starts a node script and waits for `pattern` in its output (stdout to a file, so printing costs it, not us). */
async function start(args: string[], pattern: RegExp, name: string): Promise<{ proc: ChildProcess; match: RegExpMatchArray; log: string }> {
  const log = join(work, `${name}-${children.length}.log`);
  const fd = openSync(log, 'w');
  const proc = spawnNode(args, SERVER_CPU, { stdio: ['ignore', fd, fd], env: { ...process.env, NO_COLOR: '1' } });
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

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Load {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** autocannon in its own process, so the load generator never shares an event loop with what it measures. */
function load(url: string, opts: { connections: number; duration?: number; amount?: number; rate?: number; headers?: Record<string, string>; body?: string }): Promise<Load> {
  const args = [AUTOCANNON, '--json', '-m', 'POST', '-i', opts.body ?? SEED, '-H', 'content-type=application/json', '-c', String(opts.connections)];
  if (opts.amount) args.push('-a', String(opts.amount));
  else args.push('-d', String(opts.duration ?? DURATION));
  if (opts.rate) args.push('-R', String(opts.rate));
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}=${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const p = spawnNode(args, LOAD_CPU, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d));
    p.on('exit', () => {
      try {
        const r = JSON.parse(out) as {
          requests: { average: number; total: number };
          latency: { p50: number; p99: number };
          errors: number;
          timeouts: number;
          non2xx: number;
        };
        resolve({ rps: r.requests.average, total: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx });
      } catch (err) {
        reject(new Error(`autocannon gave no result: ${(err as Error).message}\n${out}`));
      }
    });
  });
}

/** Load on a running server: throughput, and the server's CPU time per request over the same run. */
async function measure(proc: ChildProcess, url: string, opts: Parameters<typeof load>[1]): Promise<Load & { cpuUs: number }> {
  const before = cpuSeconds(proc.pid!);
  const r = await load(url, opts);
  return { ...r, cpuUs: ((cpuSeconds(proc.pid!) - before) * 1e6) / Math.max(1, r.total) };
}

const raw = (port = 0): Promise<{ proc: ChildProcess; match: RegExpMatchArray }> =>
  start([here('./servers/raw.js'), String(port)], /listening (\d+)/, 'raw');

async function webhookListen(
  extra: string[],
  name = 'wl',
  nodeFlags: string[] = [],
  bin = BIN,
  store = mkdtempSync(join(work, 'store-')),
): Promise<{ proc: ChildProcess; url: string; log: string }> {
  const port = await freePort();
  const s = await start([...nodeFlags, bin, '--no-tunnel', '--no-inspect', '--port', String(port), '--store', store, ...extra], /Waiting for events/, name);
  return { proc: s.proc, url: `http://127.0.0.1:${port}`, log: s.log };
}

const rows: string[][] = [];
const row = (...cells: (string | number)[]): void => {
  rows.push(cells.map(String));
  console.error(cells.join(' | '));
};
const fmt = (n: number, d = 0): string => n.toFixed(d);
const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ROUNDS = quick ? 1 : 3;

// ---- 1. listener throughput ----
async function throughput(): Promise<void> {
  PIN = CAN_PIN;
  const contenders: { name: string; start: () => Promise<{ proc: ChildProcess; url: string }> }[] = [
    { name: 'raw', start: async () => raw().then((s) => ({ proc: s.proc, url: `http://127.0.0.1:${s.match[1]}/my/webhook/url` })) },
    {
      name: 'express',
      start: async () =>
        start([here('./servers/express.js')], /listening (\d+)/, 'express').then((s) => ({ proc: s.proc, url: `http://127.0.0.1:${s.match[1]}/my/webhook/url` })),
    },
    {
      name: 'minimal',
      start: async () =>
        start([here('./servers/minimal.js')], /listening (\d+)/, 'minimal').then((s) => ({ proc: s.proc, url: `http://127.0.0.1:${s.match[1]}/my/webhook/url` })),
    },
    {
      // The fair peer (issue 28): durable before its 200, as webhook-listen is.
      name: 'durable',
      start: async () =>
        start([here('./servers/durable.js')], /listening (\d+)/, 'durable').then((s) => ({ proc: s.proc, url: `http://127.0.0.1:${s.match[1]}/my/webhook/url` })),
    },
    { name: 'wl', start: async () => webhookListen([]).then((s) => ({ proc: s.proc, url: `${s.url}/my/webhook/url` })) },
  ];
  for (const connections of [10, 32, 100]) {
    const rps: Record<string, number[]> = { raw: [], express: [], minimal: [], durable: [], wl: [] };
    const cpu: Record<string, number[]> = { raw: [], express: [], minimal: [], durable: [], wl: [] };
    // Rounds interleave the contenders, so a slow minute of the machine hits all of them.
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of contenders) {
        const s = await c.start();
        await load(s.url, { connections, duration: 1 });
        const m = await measure(s.proc, s.url, { connections });
        await stop(s.proc);
        rps[c.name]!.push(m.rps);
        cpu[c.name]!.push(m.cpuUs);
      }
    }
    const b = median(rps.raw!);
    const e = median(rps.express!);
    const n = median(rps.minimal!);
    const d = median(rps.durable!);
    const w = median(rps.wl!);
    row(
      `1. throughput, ${connections} conns`,
      `raw node:http ${fmt(b)} req/s (${fmt(median(cpu.raw!))} µs CPU/req)`,
      `durable peer ${fmt(d)} (${fmt(d / b, 2)}× raw, ${fmt(median(cpu.durable!))} µs CPU/req); express ${fmt(e)} (${fmt(e / b, 2)}×); minimal receiver ${fmt(n)} (${fmt(n / b, 2)}×)`,
      `webhook-listen ${fmt(w)} req/s (${fmt(median(cpu.wl!))} µs CPU/req)`,
      `${fmt(w / d, 2)}× the durable peer, ${fmt(w / b, 2)}× raw`,
      '≥ 0.80× the durable peer',
      verdict(w / d >= 0.8),
    );
  }
  PIN = false;
}

// ---- 2. forwarding overhead (end to end with --passthrough) ----
async function forwarding(): Promise<void> {
  const app = await raw();
  const appOrigin = `http://127.0.0.1:${app.match[1]}`;
  const appUrl = `${appOrigin}/my/webhook/url`;
  const proxy = await start([here('./servers/proxy.js'), appOrigin], /listening (\d+)/, 'proxy');
  const proxyUrl = `http://127.0.0.1:${proxy.match[1]}/my/webhook/url`;
  const wl = await webhookListen(['--passthrough', '-f', appOrigin]);
  const wlUrl = `${wl.url}/my/webhook/url`;
  for (const rate of [200, 1000]) {
    // p99 is the slowest 1 %: one hiccup of the machine moves it by milliseconds. Rounds, and the median of each figure.
    const runs: Record<string, { count: number; errors: number; p50: number; p99: number }>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const out = await new Promise<string>((resolve) => {
        const p = spawnNode([here('./servers/latency-client.js'), SEED, String(rate), String(quick ? 3 : DURATION), appUrl, proxyUrl, wlUrl], LOAD_CPU, {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let text = '';
        p.stdout!.on('data', (d: Buffer) => (text += d));
        p.on('exit', () => resolve(text));
      });
      runs.push(JSON.parse(out) as Record<string, { count: number; errors: number; p50: number; p99: number }>);
    }
    const of = (url: string): { count: number; errors: number; p50: number; p99: number } => ({
      count: runs.reduce((n, r) => n + r[url]!.count, 0),
      errors: runs.reduce((n, r) => n + r[url]!.errors, 0),
      p50: median(runs.map((r) => r[url]!.p50)),
      p99: median(runs.map((r) => r[url]!.p99)),
    });
    const direct = of(appUrl);
    const bare = of(proxyUrl);
    const through = of(wlUrl);
    const add50 = through.p50 - direct.p50;
    const add99 = through.p99 - direct.p99;
    row(
      `2. forwarding overhead, ${rate} req/s (${direct.count + bare.count + through.count} requests in ${ROUNDS} rounds, ${direct.errors + bare.errors + through.errors} errors; medians)`,
      `direct p50 ${fmt(direct.p50, 2)} ms, p99 ${fmt(direct.p99, 2)} ms`,
      `bare node:http proxy +${fmt(bare.p50 - direct.p50, 2)} ms p50, +${fmt(bare.p99 - direct.p99, 2)} ms p99`,
      `through p50 ${fmt(through.p50, 2)} ms, p99 ${fmt(through.p99, 2)} ms (p99 per round: ${runs.map((r) => fmt(r[wlUrl]!.p99, 1)).join(', ')})`,
      `+${fmt(add50, 2)} ms p50, +${fmt(add99, 2)} ms p99`,
      '≤ +1 ms p50, ≤ +5 ms p99',
      verdict(add50 <= 1 && add99 <= 5),
    );
  }
  await stop(wl.proc);
  await stop(proxy.proc);
  await stop(app.proc);
}

// ---- 3. through a localtunnel server on loopback ----
/** What the counting app (`raw.ts … count`) has answered so far. */
function appCount(port: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: Number(port), path: '/count', agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => resolve(Number(text)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Waits until the app has answered `target` POSTs (bounded: `maxMs`); resolves how long that took. */
async function drained(port: string, target: number, maxMs = 120_000): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs && (await appCount(port)) < target) await sleep(50);
  return performance.now() - t0;
}

async function tunnel(): Promise<void> {
  const server = await startLtServer();
  const app = await start([here('./servers/raw.js'), '0', 'count'], /listening (\d+)/, 'app');
  const appPort = app.match[1]!;
  type Through = Load & { cpuUs: number; appUs: number; inWindow: number; drainMs: number; e2eRps: number; e2eCpuUs: number; urlMs: number; idleRss: number };
  /**
   * Starts a tunnel client, loads the fixture with its subdomain in Host, stops it. The plain client pipes each
   * request to the app before answering; webhook-listen answers once the event is stored and forwards it after, one
   * at a time per target, in order (issue 4): under a flood its deliveries fall behind and drain after the load. So
   * beside the rate it answered at, each run says how many reached the app during the load, how long the rest took
   * after it, the rate counted until the app had them all, and CPU per request over that whole time.
   */
  const through = async (args: string[], urlPattern: RegExp, name: string): Promise<Through> => {
    const spawned = performance.now();
    const client = await start(args, urlPattern, name);
    // start() reads the log every 25 ms: the time to the URL is that coarse.
    const urlMs = performance.now() - spawned;
    const host = { host: `${tunnelId(client.match[1]!)}.localhost:${server.port}` };
    await sleep(300);
    const idleRss = rssMb(client.proc.pid!).rss;
    const first = await appCount(appPort);
    const warm = await load(`${server.url}/my/webhook/url`, { connections: 10, duration: 1, headers: host });
    await drained(appPort, first + warm.total);
    await sleep(500);
    const before = await appCount(appPort);
    const appBefore = cpuSeconds(app.proc.pid!);
    const cpuBefore = cpuSeconds(client.proc.pid!);
    const r = await load(`${server.url}/my/webhook/url`, { connections: 10, headers: host });
    const cpuLoad = cpuSeconds(client.proc.pid!) - cpuBefore;
    const inWindow = (await appCount(appPort)) - before;
    const drainMs = await drained(appPort, before + r.total);
    const cpuAll = cpuSeconds(client.proc.pid!) - cpuBefore;
    const appUs = ((cpuSeconds(app.proc.pid!) - appBefore) * 1e6) / Math.max(1, r.total);
    await stop(client.proc);
    return {
      ...r,
      cpuUs: (cpuLoad * 1e6) / Math.max(1, r.total),
      appUs,
      inWindow: inWindow / Math.max(1, r.total),
      drainMs,
      e2eRps: r.total / (DURATION + drainMs / 1000),
      e2eCpuUs: (cpuAll * 1e6) / Math.max(1, r.total),
      urlMs,
      idleRss,
    };
  };
  const runs = { plain: [] as Through[], wl: [] as Through[] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.plain.push(await through([here('./servers/plain-tunnel.js'), server.url, appPort], /url (\S+)/, 'plain-tunnel'));
    const store = mkdtempSync(join(work, 'store-'));
    const wlArgs = [BIN, '--no-inspect', '--port', String(await freePort()), '--store', store, '--tunnel-host', server.url, '-f', `http://127.0.0.1:${appPort}`];
    runs.wl.push(await through(wlArgs, /Public URL\s+(http\S+)/, 'wl-tunnel'));
  }
  await stop(app.proc);
  await server.stop();
  const m = (xs: Through[], k: 'rps' | 'p50' | 'cpuUs' | 'appUs' | 'inWindow' | 'drainMs' | 'e2eRps' | 'e2eCpuUs' | 'urlMs' | 'idleRss'): number =>
    median(xs.map((x) => x[k]));
  row(
    '3. a tunnel opened, before any load: spawn to the public URL (±25 ms), RSS',
    `plain client ${fmt(m(runs.plain, 'urlMs'))} ms, ${fmt(m(runs.plain, 'idleRss'), 1)} MB`,
    '',
    `webhook-listen (store, forward target) ${fmt(m(runs.wl, 'urlMs'))} ms, ${fmt(m(runs.wl, 'idleRss'), 1)} MB`,
    `${fmt(m(runs.wl, 'urlMs') / m(runs.plain, 'urlMs'), 2)}× / ${fmt(m(runs.wl, 'idleRss') / m(runs.plain, 'idleRss'), 2)}×`,
    '',
    '',
  );
  const p = m(runs.plain, 'rps');
  const w = m(runs.wl, 'rps');
  row(
    '3. through a localtunnel server, 10 conns: requests answered',
    `plain client → app ${fmt(p)} req/s, p50 ${m(runs.plain, 'p50')} ms; CPU per request: client ${fmt(m(runs.plain, 'cpuUs'))} µs, app ${fmt(m(runs.plain, 'appUs'))} µs`,
    '',
    `webhook-listen (store, print, forward) ${fmt(w)} req/s, p50 ${m(runs.wl, 'p50')} ms; CPU per request during the load: ${fmt(m(runs.wl, 'cpuUs'))} µs; ${fmt(m(runs.wl, 'inWindow') * 100)} % reached the app during it`,
    `${fmt(w / p, 2)}×`,
    '≥ 0.90×',
    verdict(w / p >= 0.9),
  );
  const pe = m(runs.plain, 'e2eRps');
  const we = m(runs.wl, 'e2eRps');
  row(
    '3. the same, counted until the app had every event',
    `plain client ${fmt(pe)} req/s (drained ${fmt(m(runs.plain, 'drainMs'))} ms after the load); CPU per request client ${fmt(m(runs.plain, 'e2eCpuUs'))} µs`,
    '',
    `webhook-listen ${fmt(we)} req/s (its deliveries drained ${fmt(m(runs.wl, 'drainMs') / 1000, 1)} s after the ${DURATION} s load); CPU per request ${fmt(m(runs.wl, 'e2eCpuUs'))} µs`,
    `${fmt(we / pe, 2)}×`,
    '',
    '',
  );
}

// ---- 4. start-up ----
/**
 * From spawn to `pattern` on stdout, read from a pipe as it comes (start() polls a log file every 25 ms: too coarse
 * for start-up, where it added up to 25 ms to every figure until issue 15's fourth round).
 */
async function timeToReady(args: string[], pattern: RegExp): Promise<number> {
  const t0 = performance.now();
  const proc = spawnNode(args, SERVER_CPU, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, NO_COLOR: '1' } });
  children.push(proc);
  const ms = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (pattern.test(out)) resolve(performance.now() - t0);
    });
    proc.once('exit', () => reject(new Error(`exited before ${pattern}:\n${out}`)));
  });
  await stop(proc);
  return ms;
}

async function startup(): Promise<void> {
  const runs = quick ? 5 : 15;
  const bare: number[] = [];
  const bareLoopback: number[] = [];
  const wl: number[] = [];
  const wlDefault: number[] = [];
  // One run that stops as a user stops it (^C), so that node's compile cache is written as after a first use (the
  // measured runs are SIGKILLed, which writes nothing).
  {
    const store = mkdtempSync(join(work, 'store-'));
    const first = await start([BIN, '--no-tunnel', '--port', '0', '--inspect-port', '0', '--store', store], /Waiting for events/, 'startup');
    await new Promise<void>((resolve) => {
      first.proc.once('exit', () => resolve());
      first.proc.kill('SIGINT');
    });
  }
  for (let i = 0; i < runs; i++) {
    bare.push(await timeToReady(['-e', "require('http').createServer((q,s)=>s.end()).listen(0,()=>console.log('ready'))"], /ready/));
    // Bound to 127.0.0.1 as webhook-listen is: node looks the address up (loading node:dns) before it binds.
    bareLoopback.push(await timeToReady(['-e', "require('http').createServer((q,s)=>s.end()).listen(0,'127.0.0.1',()=>console.log('ready'))"], /ready/));
    const store = mkdtempSync(join(work, 'store-'));
    wl.push(await timeToReady([BIN, '--no-tunnel', '--no-inspect', '--port', '0', '--store', store], /Waiting for events/));
    wlDefault.push(await timeToReady([BIN, '--no-tunnel', '--port', '0', '--inspect-port', '0', '--store', store], /Waiting for events/));
  }
  const b = median(bare);
  const l = median(bareLoopback);
  const w = median(wl);
  const d = median(wlDefault);
  row(
    '4. start-up to the ready line (median)',
    `bare node -e server ${fmt(b)} ms; bound to 127.0.0.1 ${fmt(l)} ms`,
    '',
    `webhook-listen ${fmt(w)} ms (with inspector ${fmt(d)} ms)`,
    `${fmt(w / b, 2)}× (${fmt(d / b, 2)}×); ${fmt(w / l, 2)}× the loopback one`,
    '≤ 1.5×',
    verdict(w / b <= 1.5),
  );
}

// ---- 5. memory after 100k events ----
/**
 * RSS, its peak, and the part of it that is the process's own memory (anonymous pages): the rest is file pages,
 * mostly the node binary's code and data (~34 MB for a bare node:http server on Node 24, ~44 MB for webhook-listen,
 * which runs more of node: SQLite, zlib, crypto), shared with every node process and given back under pressure.
 */
function rssMb(pid: number): { rss: number; peak: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string, text = status): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
  let anon = Number.NaN;
  try {
    anon = kb('Anonymous', readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')) / 1024;
  } catch {
    // Kernels before 4.14 have no smaps_rollup.
  }
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024, anon };
}

/** The live JS heap after the last full GC, from --trace-gc lines in the log ("Mark-Compact 26.4 (31.5) -> 20.4 (31.5) MB"). */
function liveHeapMb(log: string): number {
  const all = [...readFileSync(log, 'utf8').matchAll(/Mark-Compact[^\n]*?-> ([\d.]+) \(([\d.]+)\) MB/g)];
  return Number(all.at(-1)?.[1] ?? Number.NaN);
}

async function memory(): Promise<void> {
  const amount = quick ? 20_000 : 100_000;
  const bare = await start(['-e', "require('http').createServer((q,s)=>{q.resume();q.on('end',()=>s.end())}).listen(0,()=>console.log('ready'))"], /ready/, 'bare');
  await sleep(1000);
  const bareMem = rssMb(bare.proc.pid!);
  const floor = bareMem.rss;
  await stop(bare.proc);
  const app = await raw();
  const target = `http://127.0.0.1:${app.match[1]}`;
  for (const mode of ['burst', 'paced'] as const) {
    const wl = await webhookListen(['-f', target], `wl-${mode}`, ['--trace-gc']);
    await sleep(1000);
    const idleMem = rssMb(wl.proc.pid!);
    const idle = idleMem.rss;
    // Burst: as fast as 32 connections go, far faster than one ordered lane delivers, so most wait in the queue.
    // Paced: 2,000 events a second, which the app keeps up with.
    const r = await load(`${wl.url}/my/webhook/url`, mode === 'burst' ? { connections: 32, amount } : { connections: 10, amount, rate: 2000 });
    await sleep(2000);
    const mem = rssMb(wl.proc.pid!);
    const live = liveHeapMb(wl.log);
    await stop(wl.proc);
    row(
      `5. memory after ${amount / 1000}k events, ${mode === 'burst' ? '32 conns flat out' : '2,000/s'} (forwarding, store on)`,
      `bare node:http ${fmt(floor)} MB (own ${fmt(bareMem.anon)} MB); webhook-listen idle ${fmt(idle)} MB (own ${fmt(idleMem.anon)} MB)`,
      `${r.errors} errors, ${r.non2xx} non-2xx`,
      `RSS ${fmt(mem.rss)} MB (peak ${fmt(mem.peak)} MB; own memory ${fmt(mem.anon)} MB), live JS heap ${fmt(live, 1)} MB`,
      '',
      '< 80 MB',
      verdict(mem.rss < 80),
    );
  }
  await stop(app.proc);
  // Growth with the body: RSS after a run of bodies of each size (default output, no forward target), beside the
  // instruction counts of the callgrind suite.
  for (const [label, size, amount] of [['1 KB', 1024, 20_000], ['64 KB', 64 * 1024, 5_000], ['1 MB', 1024 * 1024, 500], ['5 MB', 5 * 1024 * 1024, 100]] as const) {
    const file = join(work, `body-${size}.json`);
    writeFileSync(file, JSON.stringify({ event: 'newMessage', pad: 'x'.repeat(size - 40) }));
    const wl = await webhookListen([], `wl-body-${size}`, ['--trace-gc']);
    await sleep(500);
    const idle = rssMb(wl.proc.pid!).rss;
    const r = await load(`${wl.url}/my/webhook/url`, { connections: 4, amount: quick ? Math.ceil(amount / 5) : amount, body: file });
    await sleep(2000);
    const mem = rssMb(wl.proc.pid!);
    const live = liveHeapMb(wl.log);
    await stop(wl.proc);
    row(
      `5c. memory after ${quick ? Math.ceil(amount / 5) : amount} events of ${label}, 4 conns (store on, no forward)`,
      `idle ${fmt(idle)} MB`,
      `${r.errors} errors, ${r.non2xx} non-2xx`,
      `RSS ${fmt(mem.rss)} MB (peak ${fmt(mem.peak)} MB; own memory ${fmt(mem.anon)} MB), live JS heap ${Number.isNaN(live) ? 'not measured (no full GC ran)' : `${fmt(live, 1)} MB`}`,
      '',
      '',
      '',
    );
  }
}

// ---- 6. the event store: SQLite against the 0.1.0 NDJSON store, and history on a large store ----

/** The 0.1.0 release (NDJSON segment store), built from git history into the bench folder; undefined without git. */
function build010(): string | undefined {
  const dir = join(work, 'v0.1.0');
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  try {
    execFileSync('git', ['-C', repo, 'worktree', 'add', '--detach', dir, RELEASE_010], { stdio: 'ignore' });
    process.on('exit', () => {
      try {
        execFileSync('git', ['-C', repo, 'worktree', 'remove', '--force', dir], { stdio: 'ignore' });
      } catch {
        // The folder goes with the bench folder anyway.
      }
    });
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    execFileSync('node', ['scripts/build.mjs'], { cwd: dir, stdio: 'ignore' });
    return join(dir, 'bin', 'webhook-listen.js');
  } catch {
    return undefined;
  }
}
const RELEASE_010 = '78b0690';

/** One GET, timed. */
function timedGet(url: string, host?: string): Promise<{ ms: number; status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = httpRequest(url, { method: 'GET', headers: host ? { host } : {} }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** POSTs the seed to `url` one after another until stopped; the slowest answer is the listener's worst wait. */
function probe(url: string): { stop(): Promise<{ worst: number; count: number }> } {
  const body = readFileSync(SEED);
  let running = true;
  let worst = 0;
  let count = 0;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', () => resolve());
        req.end(body);
      });
      worst = Math.max(worst, performance.now() - t0);
      count++;
      await sleep(20);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { worst, count };
    },
  };
}

async function store(): Promise<void> {
  const old = build010();
  PIN = CAN_PIN;
  const contenders: { name: string; start: () => Promise<{ proc: ChildProcess; url: string }> }[] = [
    { name: 'raw', start: async () => raw().then((s) => ({ proc: s.proc, url: `http://127.0.0.1:${s.match[1]}/my/webhook/url` })) },
    { name: 'wl', start: async () => webhookListen([]).then((s) => ({ proc: s.proc, url: `${s.url}/my/webhook/url` })) },
  ];
  if (old) contenders.push({ name: 'v010', start: async () => webhookListen([], 'v010', [], old).then((s) => ({ proc: s.proc, url: `${s.url}/my/webhook/url` })) });
  const rps: Record<string, number[]> = { raw: [], wl: [], v010: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of contenders) {
      const s = await c.start();
      await load(s.url, { connections: 32, duration: 1 });
      rps[c.name]!.push((await measure(s.proc, s.url, { connections: 32 })).rps);
      await stop(s.proc);
    }
  }
  PIN = false;
  const b = median(rps.raw!);
  const w = median(rps.wl!);
  const o = old ? median(rps.v010!) : Number.NaN;
  row(
    '6a. throughput with the SQLite store, 32 conns',
    `raw node:http ${fmt(b)} req/s`,
    old ? `0.1.0 (NDJSON store) ${fmt(o)} req/s (${fmt(o / b, 2)}× raw)` : '0.1.0 not built (no git history)',
    `webhook-listen ${fmt(w)} req/s`,
    `${fmt(w / b, 2)}× raw${old ? `, ${fmt(w / o, 2)}× 0.1.0` : ''}`,
    '≥ 1× 0.1.0',
    old ? verdict(w >= o * 0.95) : '',
  );

  // Stores of 10k and 100k events, filled through the listener itself: start-up, `events` and the inspector's first
  // page should not grow with the store (no full scan anywhere).
  const sizes = quick ? [1_000, 10_000] : [10_000, 100_000];
  const dir = mkdtempSync(join(work, 'big-store-'));
  const keep = String(sizes.at(-1)! * 2);
  const readyOn = async (storeDir: string): Promise<number> => {
    const xs: number[] = [];
    for (let i = 0; i < 3; i++)
      xs.push(await timeToReady([BIN, '--no-tunnel', '--no-inspect', '--port', '0', '--store', storeDir, '--keep', keep, '-f', 'http://127.0.0.1:9'], /Waiting for events/));
    return median(xs);
  };
  const startEmpty = await readyOn(mkdtempSync(join(work, 'empty-store-')));
  let filled = 0;
  for (const many of sizes) {
    const filler = await webhookListen(['--keep', keep], 'fill', [], BIN, dir);
    await load(`${filler.url}/my/webhook/url`, { connections: 32, amount: many - filled });
    await stop(filler.proc);
    filled = many;
    // Pending deliveries come from an index, so start-up should not grow with the store.
    const startFull = await readyOn(dir);
    row(
      `6c. start-up with -f on a store of ${many / 1000}k events`,
      `empty store ${fmt(startEmpty)} ms`,
      '',
      `${many / 1000}k events ${fmt(startFull)} ms`,
      `${fmt(startFull / startEmpty, 2)}×`,
      '≈ 1× (no scan)',
      verdict(startFull / startEmpty < 1.5),
    );
    const port = await freePort();
    const inspectPort = await freePort();
    const wl = await start([BIN, '--no-tunnel', '--port', String(port), '--inspect-port', String(inspectPort), '--store', dir, '--keep', keep], /Waiting for events/, 'history');
    const listenUrl = `http://127.0.0.1:${port}/my/webhook/url`;
    await sleep(500);
    let p = probe(listenUrl);
    const t0 = performance.now();
    await new Promise<void>((resolve) => spawn(process.execPath, [BIN, 'events', '--store', dir], { stdio: 'ignore' }).on('exit', () => resolve()));
    const eventsMs = performance.now() - t0;
    const duringEvents = await p.stop();
    p = probe(listenUrl);
    const page = await timedGet(`http://127.0.0.1:${inspectPort}/_webhook-listen/api/events`, `127.0.0.1:${inspectPort}`);
    const duringPage = await p.stop();
    await stop(wl.proc);
    filled += duringEvents.count + duringPage.count;
    row(
      `6b. history on a store of ${many / 1000}k events`,
      `\`events\` (its own process) ${fmt(eventsMs)} ms; listener's worst answer meanwhile ${fmt(duringEvents.worst, 1)} ms`,
      '',
      `inspector's first page (${page.bytes} bytes) ${fmt(page.ms)} ms; listener's worst answer meanwhile ${fmt(duringPage.worst, 1)} ms`,
      '',
      'no full scan: both well under 1 s',
      verdict(eventsMs < 1000 && page.ms < 1000),
    );
  }
}

// ---- 8. a backlog: the app is down and deliveries pile up; what the listener costs meanwhile ----
async function backlog(): Promise<void> {
  const sizes = quick ? [0, 10_000, 30_000] : [0, 50_000, 200_000];
  const seen: { owed: number; fillS: number; worst: number; cpu: number; restartMs: number; restartRss: number; drainMs: number; drainCpuUs: number }[] = [];
  for (const owed of sizes) {
    // Forwarded to a port nothing listens on: every event stays owed.
    const appPort = String(await freePort());
    const args = ['-f', `http://127.0.0.1:${appPort}/hook`, '--keep', '10000'];
    const store = mkdtempSync(join(work, 'store-'));
    const wl = await webhookListen(args, 'wl', [], BIN, store);
    const url = `${wl.url}/my/webhook/url`;
    // The same warm-up for every size (the first answers of a fresh process are slow): 500 more owed.
    await load(url, { connections: 8, amount: 500 });
    const t0 = performance.now();
    if (owed > 0) await load(url, { connections: 8, amount: owed });
    const fillS = (performance.now() - t0) / 1000;
    await sleep(2000);
    const before = cpuSeconds(wl.proc.pid!);
    const p = probe(url);
    await sleep(quick ? 6000 : 12_000);
    const { worst } = await p.stop();
    const cpu = ((cpuSeconds(wl.proc.pid!) - before) / (quick ? 6 : 12)) * 100;
    // Killed (stop() is SIGKILL), then started again on the same store: it claims everything owed before binding.
    await stop(wl.proc);
    const t1 = performance.now();
    // Retried every 200 ms while the app is still down, so that the drain below starts as soon as the app is up.
    const again = await webhookListen([...args, '--retry-delay', '200ms'], 'wl-restart', [], BIN, store);
    const restartMs = performance.now() - t1;
    await sleep(5000);
    const restartRss = rssMb(again.proc.pid!).rss;
    // Then the app comes back: how fast does what was owed reach it (from its first delivery to the last)?
    const app = await start([here('./servers/raw.js'), appPort, 'count'], /listening (\d+)/, 'app');
    const all = owed + 500;
    const firstBy = performance.now() + 10_000;
    while ((await appCount(appPort)) === 0 && performance.now() < firstBy) await sleep(5);
    const cpuBefore = cpuSeconds(again.proc.pid!);
    const drainMs = await drained(appPort, all);
    const drainCpuUs = ((cpuSeconds(again.proc.pid!) - cpuBefore) * 1e6) / all;
    await stop(app.proc);
    await stop(again.proc);
    seen.push({ owed, fillS, worst, cpu, restartMs, restartRss, drainMs, drainCpuUs });
  }
  const [base, ...rest] = seen;
  for (const r of rest)
    row(
      `8. ${r.owed / 1000}k deliveries owed (app down, --keep 10000)`,
      `500 owed: worst answer ${fmt(base!.worst, 1)} ms, listener CPU ${fmt(base!.cpu, 1)} % (probes every 20 ms)`,
      '',
      `received in ${fmt(r.fillS, 1)} s; then worst answer ${fmt(r.worst, 1)} ms, listener CPU ${fmt(r.cpu, 1)} %`,
      `${fmt(r.worst / base!.worst, 1)}× worst answer, ${fmt(r.cpu / base!.cpu, 1)}× CPU`,
      'no stall growing with the backlog',
      verdict(r.worst < 50),
    );
  for (const r of seen)
    row(
      `8. the app back after ${fmt((r.owed + 500) / 1000, 1)}k were owed: all delivered (in order)`,
      '',
      '',
      `in ${fmt(r.drainMs / 1000, 1)} s from the first, ${fmt(((r.owed + 500) * 1000) / r.drainMs)} a second; listener CPU ${fmt(r.drainCpuUs)} µs per delivery`,
      '',
      '',
      '',
    );
  for (const r of rest)
    row(
      `8. restart with ${r.owed / 1000}k owed (the last listener killed)`,
      `500 owed: ready in ${fmt(base!.restartMs)} ms, RSS 5 s later ${fmt(base!.restartRss)} MB`,
      '',
      `ready in ${fmt(r.restartMs)} ms, RSS 5 s later ${fmt(r.restartRss)} MB`,
      `${fmt(r.restartMs / base!.restartMs, 1)}× the time, +${fmt(r.restartRss - base!.restartRss)} MB`,
      '',
      '',
    );
}

// ---- 7. instructions per request (callgrind): the figure to watch, the same on a busy machine ----
async function callgrind(): Promise<void> {
  const seed = readFileSync(SEED);
  const count = quick ? 500 : 4000;
  // Long enough a warm-up for V8's optimising tiers to have settled, for every contender (after 5,000 requests
  // webhook-listen's helper threads still compiled ~38 k instructions per request), and past --keep (10,000) so that
  // pruning is part of the count, as in a listener that has run for a while.
  const opts = { count, warmup: quick ? 2000 : 15_000 };
  const onPort = (m: RegExpMatchArray): string => `http://127.0.0.1:${m[1]}/my/webhook/url`;
  const wlArgs = async (extra: string[]): Promise<{ args: string[]; url: string }> => {
    const port = await freePort();
    const store = mkdtempSync(join(work, 'cg-store-'));
    return { args: [BIN, '--no-tunnel', '--no-inspect', '--port', String(port), '--store', store, ...extra], url: `http://127.0.0.1:${port}/my/webhook/url` };
  };
  const wl = async (extra: string[], body = seed, o = opts): Promise<Counted> => {
    const { args, url } = await wlArgs(extra);
    return countInstructions(args, /Waiting for events|"type":"ready"/, () => url, body, o);
  };
  const raw = await countInstructions([here('./servers/raw.js'), '0'], /listening (\d+)/, onPort, seed, opts);
  const minimal = await countInstructions([here('./servers/minimal.js'), '0'], /listening (\d+)/, onPort, seed, opts);
  const app = await start([here('./servers/raw.js'), '0'], /listening (\d+)/, 'cg-app');
  // The fair peer (issue 28): a hand-written durable receiver, alone and forwarding to the same app.
  const appUrl = `http://127.0.0.1:${app.match[1]}`;
  const durable = await countInstructions([here('./servers/durable.js'), '0'], /listening (\d+)/, onPort, seed, opts);
  const durableFwd = await countInstructions([here('./servers/durable.js'), '0', `${appUrl}/hook`], /listening (\d+)/, onPort, seed, opts);
  const contenders: [string, Counted, Counted, number][] = [
    ['webhook-listen (default output)', await wl([]), durable, 1.25],
    ['webhook-listen --json', await wl(['--json']), durable, 1.5],
    ['webhook-listen -f app', await wl(['-f', appUrl]), durableFwd, 1.4],
  ];
  await stop(app.proc);
  const k = (n: number): string => `${fmt(n / 1000)} k`;
  row('7. instructions per request (callgrind, 1 KB seed)', `raw node:http ${k(raw.all)} (main ${k(raw.main)})`, `minimal receiver ${k(minimal.all)}; durable peer ${k(durable.all)}, forwarding ${k(durableFwd.all)}`, '', '', '', '');
  for (const [name, c, peer, target] of contenders)
    row(`7. ${name}`, '', '', `${k(c.all)} (main ${k(c.main)})`, `${fmt(c.all / peer.all, 2)}× the durable peer, ${fmt(c.all / raw.all, 2)}× raw`, `≤ ${target}× the durable peer`, verdict(c.all <= peer.all * target));
  // Cost growth with the body: the same listener, bigger bodies.
  for (const [label, size, n] of [['64 KB', 64 * 1024, 200], ['1 MB', 1024 * 1024, 30], ['5 MB', 5 * 1024 * 1024, 10]] as const) {
    const body = Buffer.from(JSON.stringify({ event: 'newMessage', pad: 'x'.repeat(size - 40) }));
    const c = await wl([], body, { count: quick ? Math.max(5, Math.floor(n / 3)) : n, warmup: 5 });
    row(`7. webhook-listen, ${label} bodies`, '', '', `${k(c.all)} per request (main ${k(c.main)})`, `${fmt(c.all / size, 1)} per body byte`, '', '');
  }
}

// ---- 9. a relay channel against the tunnel ----
/**
 * Issue 26: the added latency of the relay (a gosmee-format fixture, test/helpers/relay-server.ts) from the sender's
 * POST to the app's receipt, against the same through the localtunnel fixture and straight to the local port, and
 * events a second through each for a burst (10 senders at a time) counted until the app had them all. The app runs
 * in this process and notes when each event arrives.
 */
async function relay(): Promise<void> {
  const { startRelayServer } = await import('../test/helpers/relay-server.js');
  const arrived = new Map<number, number>();
  let waiter: { n: number; done: () => void } | undefined;
  const app = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = Number((JSON.parse(Buffer.concat(chunks).toString()) as { n: number }).n);
      arrived.set(n, performance.now());
      if (waiter && (waiter.n === n || (waiter.n < 0 && arrived.size >= -waiter.n))) waiter.done();
      res.end('ok');
    });
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  const until = (n: number): Promise<void> => new Promise((done) => (arrived.has(n) || (n < 0 && arrived.size >= -n) ? done() : (waiter = { n, done })));
  const N = quick ? 100 : 300;
  const BURST = quick ? 500 : 2_000;
  /** Latencies of N events sent one after another, then the rate of a burst. */
  const path = async (post: (body: string) => Promise<unknown>): Promise<{ p50: number; p99: number; rate: number }> => {
    arrived.clear();
    const ms: number[] = [];
    for (let n = 0; n < N + 20; n++) {
      const t0 = performance.now();
      await post(JSON.stringify({ event: 'newMessage', n }));
      await until(n);
      if (n >= 20) ms.push(arrived.get(n)! - t0);
    }
    arrived.clear();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 10 }, async () => {
      while (next < BURST) await post(JSON.stringify({ event: 'newMessage', n: next++ }));
    }));
    await until(-BURST);
    ms.sort((a, b) => a - b);
    return { p50: ms[Math.floor(ms.length / 2)]!, p99: ms[Math.floor(ms.length * 0.99)]!, rate: BURST / ((performance.now() - t0) / 1000) };
  };
  const posting = (url: string, headers: Record<string, string> = {}) => (body: string) => postBody(url, body, headers);
  const results: Record<string, { p50: number; p99: number; rate: number }[]> = { direct: [], tunnel: [], relay: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const direct = await webhookListen(['-f', appUrl], 'wl-direct');
    results.direct!.push(await path(posting(direct.url)));
    await stop(direct.proc);
    const lt = await startLtServer();
    const viaTunnel = await start([BIN, '--no-inspect', '--port', String(await freePort()), '--store', mkdtempSync(join(work, 'store-')), '--tunnel-host', lt.url, '-f', appUrl], /Public URL\s+(http\S+)/, 'wl-tunnel');
    results.tunnel!.push(await path(posting(`${lt.url}/`, { host: `${tunnelId(viaTunnel.match[1]!)}.localhost:${lt.port}` })));
    await stop(viaTunnel.proc);
    await lt.stop();
    const server = await startRelayServer({ kind: 'gosmee', redis: true });
    const viaRelay = await start([BIN, '--no-inspect', '--port', String(await freePort()), '--store', mkdtempSync(join(work, 'store-')), '--relay', `gosmee:${server.channelUrl()}`, '-f', appUrl], /relay\s+connected/, 'wl-relay');
    results.relay!.push(await path(posting(server.channelUrl())));
    await stop(viaRelay.proc);
    await server.stop();
  }
  app.close();
  const m = (k: string, f: 'p50' | 'p99' | 'rate'): number => median(results[k]!.map((r) => r[f]));
  row(
    `9. POST to the app's receipt, ${N} events one at a time: p50 / p99`,
    `straight to the local port ${fmt(m('direct', 'p50'), 1)} / ${fmt(m('direct', 'p99'), 1)} ms`,
    `through the localtunnel fixture ${fmt(m('tunnel', 'p50'), 1)} / ${fmt(m('tunnel', 'p99'), 1)} ms`,
    `through a gosmee relay fixture ${fmt(m('relay', 'p50'), 1)} / ${fmt(m('relay', 'p99'), 1)} ms`,
    `${fmt(m('relay', 'p50') / m('tunnel', 'p50'), 2)}× / ${fmt(m('relay', 'p99') / m('tunnel', 'p99'), 2)}× the tunnel`,
    '',
    '',
  );
  row(
    `9. a burst of ${BURST}, 10 senders, until the app had all: events/s`,
    `local port ${fmt(m('direct', 'rate'))}`,
    `tunnel ${fmt(m('tunnel', 'rate'))}`,
    `relay ${fmt(m('relay', 'rate'))}`,
    `${fmt(m('relay', 'rate') / m('tunnel', 'rate'), 2)}× the tunnel`,
    '',
    '',
  );
}

/** One POST of a JSON body; resolves when answered. */
function postBody(url: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, agent: keepAlive }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const keepAlive = new Agent({ keepAlive: true, maxSockets: 10 });

const only = process.argv.find((a) => /^--only=/.test(a))?.slice(7);
// callgrind runs only when asked for (-- --only=callgrind): under valgrind everything is ~50× slower.
const suites: Record<string, () => Promise<void>> = { throughput, forwarding, tunnel, startup, memory, store, backlog, relay, ...(only?.includes('callgrind') ? { callgrind } : {}) };
for (const [name, fn] of Object.entries(suites)) if (!only || only.split(',').includes(name)) await fn();

const header = ['measure', 'baseline', 'peer', 'webhook-listen', 'ratio / added', 'target', 'verdict'];
const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const how = CAN_PIN ? `in 1, the server pinned to CPU ${SERVER_CPU} and autocannon to CPU ${LOAD_CPU} (taskset), the rest unpinned` : 'unpinned';
const report = `Machine: ${machine}. Command: \`npm run bench${quick ? ' -- --quick' : ''}\`. Load: autocannon or bench/servers/latency-client (own process), 1 KB seed newMessage POSTs, ${DURATION} s per point, ${ROUNDS} interleaved round(s), medians; ${how}.\n\n${table}\n`;
console.log(report);
writeFileSync(join(process.cwd(), 'bench', 'last-run.md'), report);
process.exit(0);
