import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { CommandIO } from '../commands/io.js';
import { createJsonPrinter } from '../format/json.js';
import type { Printer } from '../format/printer.js';
import { createTerminalPrinter } from '../format/terminal.js';
import { debug, fail } from './signals.js';

const env = process.env;

/* Colour and output, decided here, once: --no-color, a non-empty NO_COLOR, FORCE_COLOR, then whether it is a TTY. */


export function colorLevel(noColorFlag: boolean, stream: NodeJS.WriteStream): 0 | 1 | 2 | 3 {
  if (noColorFlag) return 0;
  if (env.NO_COLOR) return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    if (force === '2') return 2;
    if (force === '3') return 3;
    return 1;
  }
  if (!stream.isTTY || env.TERM === 'dumb') return 0;
  if (env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit') return 3;
  return 2;
}

export interface OutputFlags {
  json?: boolean;
  verbose?: boolean;
  color?: boolean;
}

export function makePrinter(flags: OutputFlags): Printer {
  if (flags.json) return createJsonPrinter(process.stdout, process.stderr);
  return createTerminalPrinter({
    colorLevel: colorLevel(flags.color === false, process.stdout),
    // Read for every line: node keeps stdout.columns current on SIGWINCH.
    width: process.stdout.isTTY ? () => process.stdout.columns || 100 : 0,
    verbose: flags.verbose ?? false,
    out: process.stdout,
    err: process.stderr,
    debug,
    interactive: Boolean(process.stderr.isTTY),
  });
}

export function defaultStoreDir(): string {
  if (env.WEBHOOK_LISTEN_HOME) return env.WEBHOOK_LISTEN_HOME;
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'webhook-listen');
}

/** Output for one-shot commands, decided from their flags. */
export function commandIO(flags: OutputFlags): CommandIO {
  return {
    out: process.stdout,
    printer: makePrinter(flags),
    json: Boolean(flags.json),
    colorLevel: flags.json ? 0 : colorLevel(flags.color === false, process.stdout),
    width: process.stdout.isTTY ? process.stdout.columns || 100 : 0,
    ...(process.stdin.isTTY ? { confirm: askOnTerminal } : {}),
  };
}

/** A yes/no question on stderr, answered on the terminal; only "y" or "yes" is a yes. */
function askOnTerminal(question: string): Promise<boolean> {
  const { createInterface } = process.getBuiltinModule('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) =>
    rl.question(`${question} [y/N] `, (answer) => {
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    }),
  );
}

export function storeOf(opts: { store?: string }, root: { store?: string }): string {
  return opts.store ?? root.store ?? defaultStoreDir();
}

/** Runs a one-shot command: a RunError or a false result exits 1. */
export async function runCommand(io: CommandIO, fn: () => Promise<boolean | void> | boolean | void): Promise<void> {
  try {
    const ok = await fn();
    if (ok === false) process.exitCode = 1;
  } catch (err) {
    fail(err, io.printer);
  }
}

export async function readData(source: string): Promise<Buffer> {
  if (source !== '-') {
    try {
      return readFileSync(source);
    } catch (err) {
      throw new InvalidArgumentError(`cannot read ${source} (${(err as NodeJS.ErrnoException).code ?? err}).`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

