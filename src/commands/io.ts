import type { Printer } from '../format/printer.js';

/** What a one-shot command writes to: raw streams for data, a printer for events and results. */
export interface CommandIO {
  out: NodeJS.WritableStream;
  printer: Printer;
  json: boolean;
  colorLevel: 0 | 1 | 2 | 3;
  width: number;
}
