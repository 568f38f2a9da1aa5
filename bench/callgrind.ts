/*
 * Instructions per request under valgrind's callgrind: the same on a busy or an idle machine, unlike wall-clock
 * figures here. Each server runs under callgrind with instrumentation off; after a warm-up, `callgrind_control -i on`
 * and `-z`, a fixed number of keep-alive requests, then `-d`; the dump's totals, per thread, divided by the count.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Counted {
  /** Instructions per request, every thread of the process. */
  all: number;
  /** The main thread's (JavaScript, the event loop). */
  main: number;
  /** RSS at the end (MB), as valgrind sees it: only comparable between runs under it. */
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends `count` POSTs of `body` over `parallel` keep-alive connections; resolves when all are answered. */
async function load(url: string, body: Buffer, count: number, parallel = 4): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: parallel });
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', () => resolve());
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        await one();
      }
    }),
  );
  agent.destroy();
}

/** The totals of every thread's dump file: [main, all]. */
function totals(dir: string): { main: number; all: number } {
  let main = 0;
  let all = 0;
  for (const f of readdirSync(dir)) {
    const m = /-(\d+)$/.exec(f);
    if (!m) continue;
    const t = /^totals: (\d+)/m.exec(readFileSync(join(dir, f), 'utf8'));
    const n = t ? Number(t[1]) : 0;
    all += n;
    if (Number(m[1]) === 1) main += n;
  }
  return { main, all };
}

/**
 * Runs `args` (a node script and its arguments) under callgrind, waits for `ready` in its output, warms it up, then
 * counts `count` requests of `body` to the URL `urlOf` makes from the ready match.
 */
export async function countInstructions(
  args: string[],
  ready: RegExp,
  urlOf: (m: RegExpMatchArray) => string,
  body: Buffer,
  opts: { count: number; warmup: number; env?: NodeJS.ProcessEnv },
): Promise<Counted> {
  const dir = mkdtempSync(join(tmpdir(), 'wl-cg-'));
  const logFile = join(dir, 'log.txt');
  const fd = openSync(logFile, 'w');
  const proc: ChildProcess = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', '--separate-threads=yes', `--callgrind-out-file=${join(dir, 'cg.out')}`, process.execPath, ...args],
    { stdio: ['ignore', fd, fd], env: { ...process.env, NO_COLOR: '1', ...opts.env } },
  );
  closeSync(fd);
  try {
    let m: RegExpMatchArray | null = null;
    for (let i = 0; i < 1200 && !m; i++) {
      await sleep(100);
      m = readFileSync(logFile, 'utf8').match(ready);
      if (proc.exitCode !== null) break;
    }
    if (!m) throw new Error(`did not start under valgrind:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    const url = urlOf(m);
    await load(url, body, opts.warmup);
    // A second, shorter warm-up on new connections, after a pause: the first requests after one (new sockets, timers
    // that fired meanwhile) deoptimised and recompiled a wave of functions, which the counted window then held.
    if (opts.warmup >= 1000) {
      await sleep(2000);
      await load(url, body, Math.ceil(opts.warmup / 5));
      await sleep(2000);
    }
    const ctl = (...a: string[]): void => void execFileSync('callgrind_control', [...a, String(proc.pid)], { stdio: 'ignore' });
    ctl('-i', 'on');
    ctl('-z');
    await load(url, body, opts.count);
    // Work the requests set off after their answers (deliveries, the store's commit) belongs to them too.
    await sleep(1500);
    ctl('-d');
    const t = totals(dir);
    return { all: t.all / opts.count, main: t.main / opts.count };
  } finally {
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
