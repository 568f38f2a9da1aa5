import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

export const BIN = fileURLToPath(new URL('../../../bin/webhook-listen.js', import.meta.url));

export type JsonRecord = Record<string, any> & { type: string };

export interface Cli {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Parsed stdout lines (in --json mode). */
  records(): JsonRecord[];
  waitForRecord(pred: (r: JsonRecord) => boolean, what: string, timeoutMs?: number): Promise<JsonRecord>;
  waitForOutput(pattern: RegExp, timeoutMs?: number, stream?: 'stdout' | 'stderr'): Promise<RegExpMatchArray>;
  /** Sends a signal and resolves with the exit code (bounded). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** A throwaway store folder, removed by the returned cleanup. */
export function tempDir(prefix = 'wl-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the built CLI as a child process; `wrapper` runs it under another command (`unshare …`). */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, wrapper: string[] = []): Cli {
  const [command, ...before] = wrapper.length ? [...wrapper, process.execPath] : [process.execPath];
  const child = spawn(command!, [...before, BIN, ...args], {
    env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, DEBUG: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const cli: Cli = {
    child,
    stdout: '',
    stderr: '',
    records() {
      // Only whole lines: the last one may still be arriving.
      return cli.stdout
        .slice(0, cli.stdout.lastIndexOf('\n') + 1)
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as JsonRecord);
    },
    waitForRecord(pred, what, timeoutMs = 10_000) {
      return waitFor(() => cli.records().find(pred), `${what}\n--- stdout\n${cli.stdout}\n--- stderr\n${cli.stderr}`, timeoutMs);
    },
    waitForOutput(pattern, timeoutMs = 10_000, stream = 'stdout') {
      return waitFor(() => cli[stream].match(pattern), `${pattern} in ${stream}\n--- stdout\n${cli.stdout}\n--- stderr\n${cli.stderr}`, timeoutMs);
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await cli.exited;
      clearTimeout(timer);
      return code;
    },
    // After 'exit' the last of stdout and stderr may still be on its way: wait for 'close' too (bounded, in case a
    // grandchild holds the pipes).
    exited: new Promise((resolve) =>
      child.on('exit', (code) => {
        const timer = setTimeout(() => resolve(code), 2000);
        child.once('close', () => {
          clearTimeout(timer);
          resolve(code);
        });
      }),
    ),
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (cli.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (cli.stderr += d));
  return cli;
}

/** Starts `webhook-listen --json --no-tunnel --port 0` with a fresh store and waits for its ready record. */
export async function startListening(
  args: string[] = [],
  opts: { store?: string; env?: Record<string, string | undefined> } = {},
): Promise<{ cli: Cli; url: string; store: string; ready: JsonRecord; cleanup(): Promise<void> }> {
  const temp = opts.store ? undefined : tempDir();
  const store = opts.store ?? temp!.dir;
  // A random inspector port keeps parallel tests apart; tests of the inspector pass their own flags.
  const inspector = args.some((a) => a.startsWith('--inspect') || a === '--no-inspect') ? [] : ['--inspect-port', '0'];
  const cli = runCli(['--json', '--no-tunnel', '--port', '0', '--store', store, ...inspector, ...args], opts.env);
  const ready = await cli.waitForRecord((r) => r.type === 'ready', 'the ready record');
  return {
    cli,
    url: ready.listenUrl as string,
    store,
    ready,
    async cleanup() {
      await cli.stop('SIGKILL');
      temp?.cleanup();
    },
  };
}

/** Runs a one-shot command to completion (killed after 15 s) and returns its exit code and output. */
export async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = runCli(args, env);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), 15_000);
  const code = await cli.exited;
  clearTimeout(timer);
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}
