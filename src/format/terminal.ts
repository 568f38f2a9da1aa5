import { Chalk, type ChalkInstance } from 'chalk';
import type { DecodedBody } from '../core/body.js';
import { type WebhookEvent, shortRef } from '../core/event.js';
import { banner } from './banner.js';
import { NOT_A_TTY_WIDTH, deliveryLine, paintFor, prettyBody } from './lines.js';
import { coalesced } from './output.js';
import type { Printer, ReadyInfo, RelayNotice, TunnelNotice } from './printer.js';
import { type Summary, joinPieces, summaryPieces, summaryText } from './summary.js';
import { fitPieces } from './fit.js';
import { fits, neutralise, truncate } from './width.js';

export interface TerminalOptions {
  /** chalk colour level: 0 none, 1 basic, 2 256, 3 truecolor. */
  colorLevel: 0 | 1 | 2 | 3;
  /**
   * Columns to fit each line into, asked for each line (a terminal's width follows SIGWINCH); 0 when output is not a
   * terminal (lines are then capped, not fitted).
   */
  width: number | (() => number);
  verbose: boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** Shows causes (stack traces) under error lines. */
  debug?: boolean;
  /** stderr is a terminal: transient progress may be animated on it. */
  interactive?: boolean;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A transient status on stderr, redrawn in place; cleared by the next line. */
class Spinner {
  #timer?: NodeJS.Timeout;

  constructor(
    private readonly err: NodeJS.WritableStream,
    private readonly c: ChalkInstance,
  ) {}

  start(message: string): void {
    let frame = 0;
    const draw = (): void => void this.err.write(`\r\x1b[K${this.c.cyan(SPINNER[frame++ % SPINNER.length])} ${this.c.dim(message)}`);
    draw();
    this.#timer = setInterval(draw, 80);
    this.#timer.unref();
  }

  clear(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.err.write('\r\x1b[K');
  }
}

/** --verbose's lines under an event: where it came from, every header, the whole body (bounded). */
function verboseLines(event: WebhookEvent, decoded: DecodedBody, c: ChalkInstance): string {
  const rows = [c.dim(`    id ${event.id}  from ${event.remoteAddress}  ${event.method} ${neutralise(event.url)}`)];
  for (const [k, v] of event.headers) rows.push(`    ${c.dim(neutralise(k) + ':')} ${neutralise(v)}`);
  rows.push('');
  rows.push(
    prettyBody(decoded, event)
      .split('\n')
      .map((l) => '    ' + l)
      .join('\n'),
  );
  return rows.join('\n');
}

function tunnelLines(notice: TunnelNotice, c: ChalkInstance): { stream: 'out' | 'err'; text: string }[] {
  if (notice.state === 'changed') {
    const lines = [{ stream: 'err' as const, text: c.bold.yellow(`! ${notice.message}`) }];
    if (notice.publicUrl) lines.push({ stream: 'err', text: `  ${c.dim('Public URL'.padEnd(12))}${c.bold.green(notice.publicUrl)}` });
    return lines;
  }
  if (notice.state === 'open') return [{ stream: 'out', text: `${c.green('tunnel')}  ${notice.message}` }];
  if (notice.state === 'reconnecting') return [{ stream: 'err', text: c.dim(`tunnel  ${notice.message}`) }];
  return [{ stream: 'err', text: c.yellow(`tunnel  ${notice.message}`) }];
}

export function createTerminalPrinter(options: TerminalOptions): Printer {
  const c = new Chalk({ level: options.colorLevel });
  const columns = (): number => {
    const w = typeof options.width === 'function' ? options.width() : options.width;
    return w > 0 ? w : NOT_A_TTY_WIDTH;
  };
  const paint = paintFor(c);
  const spinner = new Spinner(options.err, c);
  const out = coalesced(options.out, {
    dropped: (n) => c.yellow(`… ${n} ${n === 1 ? 'line' : 'lines'} not shown: nothing read the output for a while (every event is in the store: webhook-listen events)`) + '\n',
  });
  const line = (stream: NodeJS.WritableStream, text: string): void => {
    spinner.clear();
    if (stream === options.out) out.write(text + '\n');
    else {
      // Status lines must not overtake the event lines before them.
      out.flush();
      stream.write(text + '\n');
    }
  };
  return {
    ready: (info: ReadyInfo) => line(options.out, banner(info, c)),
    event(event, summary: Summary, decoded) {
      // The event's number in the store after its time: what `show #12` or `replay #12` takes.
      const ref = event.seq !== undefined ? `#${event.seq}` : undefined;
      const text = summaryText(summary);
      const plain = ref ? `${summary.time}  ${ref}${text.slice(summary.time.length)}` : text;
      const pieces = summaryPieces(summary);
      const width = columns();
      // Without colour, a plain line that fits is printed as it is.
      if (options.colorLevel === 0 && fits(plain, width)) line(options.out, plain);
      else line(options.out, joinPieces(fitPieces(ref ? [pieces[0]!, { role: 'ref', text: ref }, ...pieces.slice(1)] : pieces, width, plain), paint));
      if (options.verbose) line(options.out, verboseLines(event, decoded, c));
    },
    delivery: (result, event) => line(options.out, deliveryLine(result, c, columns(), options.verbose, shortRef(event))),
    ignored(info) {
      const what = info.status === 404 ? 'ignored' : 'refused';
      // A request node could not read has no method or URL to show ('?').
      const request = info.method === '?' && info.url === '?' ? '' : `${info.method} ${neutralise(info.url)}  `;
      line(options.out, c.dim(truncate(`${what}  ${request}${info.status} (${neutralise(info.reason)})`, columns())));
    },
    tunnel(notice: TunnelNotice) {
      for (const l of tunnelLines(notice, c)) line(l.stream === 'out' ? options.out : options.err, l.text);
    },
    relay(notice: RelayNotice) {
      const quiet = notice.state === 'refused' || notice.state === 'duplicate' || notice.state === 'reconnecting';
      const loud = notice.state === 'offline' || notice.state === 'gap' || notice.state === 'unsaved';
      const text = `relay  ${notice.message}`;
      line(notice.state === 'connected' || notice.state === 'back' ? options.out : options.err, quiet ? c.dim(text) : loud ? c.yellow(text) : `${c.green('relay')}  ${notice.message}`);
    },
    progress(message) {
      spinner.clear();
      if (message && options.interactive) spinner.start(message);
    },
    info: (message) => line(options.err, c.dim(message)),
    warn: (message) => line(options.err, c.yellow(`warning: ${message}`)),
    error(message, cause) {
      line(options.err, c.red(`error: ${message}`));
      if (options.debug && cause) line(options.err, c.dim(String((cause as Error).stack ?? cause)));
    },
    flush: () => out.flush(),
  };
}
