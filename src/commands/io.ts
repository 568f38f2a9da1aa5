import type { Printer } from '../format/printer.js';

/** What a one-shot command writes to: raw streams for data, a printer for events and results. */
export interface CommandIO {
  out: NodeJS.WritableStream;
  printer: Printer;
  json: boolean;
  colorLevel: 0 | 1 | 2 | 3;
  width: number;
  /** Asks a person a yes/no question; absent when nobody can answer (stdin is not a terminal). */
  confirm?(question: string): Promise<boolean>;
}

/**
 * Writes a line, waiting while the reader is behind: a pipe takes what it can and node queues the rest in memory, and
 * a loop that never yields queues all of it (`events -n 0 --json | jq` on a large store ran out of a 64 MB heap). A
 * reader that goes away ends the process (cli.ts), so the wait cannot outlive it.
 */
export async function writeLine(io: CommandIO, line: string): Promise<void> {
  if (!io.out.write(line)) await new Promise((resolve) => io.out.once('drain', resolve));
}
