import { Chalk, type ChalkInstance } from 'chalk';
import { type DecodedBody, type DeliveryResult, RESPONSE_KEEP, TERMINAL_UNSAFE, type WebhookEvent } from '../event.js';
import type { Printer, ReadyInfo, TunnelNotice } from './printer.js';
import { coalesced } from './output.js';
import { prettyJson } from './json-text.js';
import { type Piece, type Summary, deliveryStatus, formatClock, formatSize, joinPieces, summaryPieces, summaryText } from './summary.js';

/**
 * Makes text from a payload safe to print: escape sequences, other control characters and
 * bidirectional overrides become visible symbols, so a webhook can't repaint or hide the terminal.
 */
export function neutralise(text: string, keepNewlines = false): string {
  return text.replace(TERMINAL_UNSAFE, (ch) => {
    const code = ch.charCodeAt(0);
    if (ch === '\n') return keepNewlines ? '\n' : '⏎';
    if (ch === '\t') return keepNewlines ? '\t' : ' ';
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return '␡';
    return '�';
  });
}

function charWidth(cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
    return 2;
  return 1;
}

export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += charWidth(ch.codePointAt(0)!);
  return w;
}

/** Cuts text to at most `width` columns, ending with an ellipsis when cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (displayWidth(text) <= width) return text;
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = charWidth(ch.codePointAt(0)!);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return out + '…';
}

export interface TerminalOptions {
  /** chalk colour level: 0 none, 1 basic, 2 256, 3 truecolor. */
  colorLevel: 0 | 1 | 2 | 3;
  /** Columns to fit each line into; 0 when output is not a terminal (lines are then capped, not fitted). */
  width: number;
  verbose: boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** Shows causes (stack traces) under error lines. */
  debug?: boolean;
  /** stderr is a terminal: transient progress may be animated on it. */
  interactive?: boolean;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

const NOT_A_TTY_WIDTH = 200;
const VERBOSE_BODY_LIMIT = 64 * 1024;

function paintFor(c: ChalkInstance): (p: Piece) => string {
  return (p) => {
    switch (p.role) {
      case 'time':
        return c.dim(p.text);
      case 'name':
        return c.bold.cyan(p.text);
      case 'channel':
        return c.magenta(p.text);
      case 'sender':
        return c.bold(p.text);
      case 'agent':
        return c.bold.blue(p.text);
      case 'context':
      case 'kind':
        return c.dim(p.text);
      case 'note':
        return c.yellow(p.text);
      case 'sig-ok':
        return c.green(p.text);
      case 'sig-bad':
        return c.red(p.text);
      default:
        return p.text;
    }
  };
}

/** Fits the summary into the width by shortening the content or preview first, then the line. */
/** Nothing to neutralise and every character one column wide: the line's width is its length. */
const PLAIN = /^[^\u0000-\u001f\u007f-\u009f\u0300-\u036f\u1100-\uffff]*$/;
const fits = (line: string, width: number): boolean => line.length <= width && PLAIN.test(line);

export function fitPieces(pieces: readonly Piece[], width: number, joined = joinPieces(pieces)): readonly Piece[] {
  // The common line (plain text that fits) is returned as it is: no copies, no walk over its characters.
  if (fits(joined, width)) return pieces;
  const safe = pieces.map((p) => ({ ...p, text: neutralise(p.text) }));
  const total = displayWidth(joinPieces(safe));
  if (total <= width) return safe;
  const flexible = safe.findIndex((p) => p.role === 'content' || p.role === 'preview');
  if (flexible !== -1) {
    const p = safe[flexible]!;
    const room = displayWidth(p.text) - (total - width);
    if (room >= 12) {
      safe[flexible] = { ...p, text: truncate(p.text, room) };
      return safe;
    }
    if (room >= 2) safe[flexible] = { ...p, text: truncate(p.text, 12) };
  }
  // Still too wide: drop pieces from the end, keeping at least time and name.
  while (safe.length > 2 && displayWidth(joinPieces(safe)) > width) safe.pop();
  return safe.map((p) => ({ ...p, text: truncate(p.text, width) }));
}

export function prettyBody(decoded: DecodedBody, event: WebhookEvent): string {
  if (decoded.kind === 'empty') return '(empty body)';
  if (decoded.kind === 'binary') {
    const head = event.body.subarray(0, 64).toString('hex').replace(/(..)/g, '$1 ').trim();
    return `(${formatSize(event.body.length)} binary${decoded.decodeError ? `, ${decoded.decodeError}` : ''}) ${head}${event.body.length > 64 ? ' …' : ''}`;
  }
  let text = decoded.text ?? '';
  if (decoded.kind === 'json') {
    // From the text, not the parsed value: linear at any depth, numbers as sent, and it stops at the limit.
    const pretty = prettyJson(text, VERBOSE_BODY_LIMIT);
    return neutralise(pretty.text + (pretty.cut ? `\n… (${formatSize(event.body.length)} in all)` : ''), true);
  }
  if (decoded.kind === 'form') text = JSON.stringify(decoded.value, null, 2);
  if (text.length > VERBOSE_BODY_LIMIT) text = `${text.slice(0, VERBOSE_BODY_LIMIT)}\n… (${formatSize(text.length - VERBOSE_BODY_LIMIT)} more)`;
  return neutralise(text, true);
}

/** The first line of what the app answered, for a glance: neutralised, cut to `width`. */
function answerLine(r: DeliveryResult, width: number): string | undefined {
  const body = r.response?.body;
  if (body === undefined) return r.response?.bodyBase64 ? `(binary answer, ${formatSize(r.response.size)})` : undefined;
  const first = body.split('\n').find((l) => l.trim()) ?? '';
  return first ? truncate(neutralise(first.trim()), Math.max(20, width - 6)) : undefined;
}

/** One delivery attempt: its outcome, the event it is for, and for a 4xx/5xx the first line of the app's answer. */
export function deliveryLine(r: DeliveryResult, c: ChalkInstance, width = NOT_A_TTY_WIDTH, verbose = false): string {
  const arrow = c.dim('  ↳');
  const ev = c.dim(`ev ${r.eventId.slice(0, 12)}`);
  const lines: string[] = [];
  if (r.retryInMs !== undefined && !r.final) {
    const why = r.error ?? String(r.status);
    const secs = r.retryInMs >= 1000 ? `${Math.round(r.retryInMs / 1000)} s` : `${r.retryInMs} ms`;
    // The hint is said once, on the first failure; later retries only count.
    const hint = r.message && r.attempt === 1 ? c.dim(`  ${r.message}`) : '';
    lines.push(`${arrow} ${c.yellow(`retry ${r.attempt} in ${secs}`)} ${c.dim(`(${why})`)}  ${ev}${hint}`);
  } else {
    const status = r.status
      ? (r.status < 300 ? c.green : r.status < 400 ? c.cyan : r.status < 500 ? c.yellow : c.red)(String(r.status))
      : c.red(r.error ?? 'ERROR');
    const tail = [
      r.replay ? c.dim('replay') : '',
      r.status ? c.dim(`${r.durationMs} ms`) : '',
      r.attempt > 1 ? c.dim(`(after ${r.attempt} attempts)`) : '',
      ev,
      r.message ? (r.status ? c.cyan(r.message) : c.red(r.message)) : '',
      !r.final ? c.yellow('left pending') : '',
    ].filter(Boolean);
    lines.push(`${arrow} ${status}  ${r.method} ${neutralise(r.url)}  ${tail.join('  ')}`.trimEnd());
  }
  if (r.status !== undefined && r.status >= 400) {
    const answer = answerLine(r, width);
    if (answer) lines.push(`    ${c.dim('│')} ${answer}`);
  }
  if (verbose && r.response) {
    for (const [k, v] of r.response.headers) lines.push(`    ${c.dim(neutralise(k) + ':')} ${neutralise(v)}`);
    if (r.response.body) lines.push(...neutralise(r.response.body.slice(0, VERBOSE_BODY_LIMIT), true).split('\n').map((l) => `    ${l}`));
    if (r.response.truncated) lines.push(c.dim(`    … ${formatSize(r.response.size)} in all, the first ${formatSize(RESPONSE_KEEP)} kept`));
  }
  return lines.join('\n');
}

export function createTerminalPrinter(options: TerminalOptions): Printer {
  const c = new Chalk({ level: options.colorLevel });
  const width = options.width > 0 ? options.width : NOT_A_TTY_WIDTH;
  const paint = paintFor(c);
  let spinner: NodeJS.Timeout | undefined;
  const clearSpinner = (): void => {
    if (!spinner) return;
    clearInterval(spinner);
    spinner = undefined;
    options.err.write('\r\x1b[K');
  };
  const out = coalesced(options.out, {
    dropped: (n) => c.yellow(`… ${n} ${n === 1 ? 'line' : 'lines'} not shown: nothing read the output for a while (every event is in the store: webhook-listen events)`) + '\n',
  });
  const line = (stream: NodeJS.WritableStream, text: string): void => {
    clearSpinner();
    if (stream === options.out) out.write(text + '\n');
    else {
      // Status lines must not overtake the event lines before them.
      out.flush();
      stream.write(text + '\n');
    }
  };
  return {
    ready(info: ReadyInfo) {
      line(options.out, banner(info, c));
    },
    event(event, summary: Summary, decoded) {
      const plain = summaryText(summary);
      // Without colour, a plain line that fits is the summary's own text.
      line(options.out, options.colorLevel === 0 && fits(plain, width) ? plain : joinPieces(fitPieces(summaryPieces(summary), width, plain), paint));
      if (options.verbose) {
        const rows = [c.dim(`    id ${event.id}  from ${event.remoteAddress}  ${event.method} ${neutralise(event.url)}`)];
        for (const [k, v] of event.headers) rows.push(`    ${c.dim(neutralise(k) + ':')} ${neutralise(v)}`);
        rows.push('');
        rows.push(
          prettyBody(decoded, event)
            .split('\n')
            .map((l) => '    ' + l)
            .join('\n'),
        );
        line(options.out, rows.join('\n'));
      }
    },
    delivery(result) {
      line(options.out, deliveryLine(result, c, width, options.verbose));
    },
    ignored(info) {
      const what = info.status === 404 ? 'ignored' : 'refused';
      // A request node could not read has no method or URL to show ('?').
      const request = info.method === '?' && info.url === '?' ? '' : `${info.method} ${neutralise(info.url)}  `;
      line(options.out, c.dim(truncate(`${what}  ${request}${info.status} (${neutralise(info.reason)})`, width)));
    },
    tunnel(notice: TunnelNotice) {
      if (notice.state === 'changed') {
        line(options.err, c.bold.yellow(`! ${notice.message}`));
        if (notice.publicUrl) line(options.err, `  ${c.dim('Public URL'.padEnd(12))}${c.bold.green(notice.publicUrl)}`);
      } else if (notice.state === 'open') line(options.out, `${c.green('tunnel')}  ${notice.message}`);
      else if (notice.state === 'reconnecting') line(options.err, c.dim(`tunnel  ${notice.message}`));
      else line(options.err, c.yellow(`tunnel  ${notice.message}`));
    },
    progress(message) {
      clearSpinner();
      if (!message || !options.interactive) return;
      let frame = 0;
      const draw = (): void => {
        options.err.write(`\r\x1b[K${c.cyan(SPINNER[frame++ % SPINNER.length])} ${c.dim(message)}`);
      };
      draw();
      spinner = setInterval(draw, 80);
      spinner.unref();
    },
    info(message) {
      line(options.err, c.dim(message));
    },
    warn(message) {
      line(options.err, c.yellow(`warning: ${message}`));
    },
    error(message, cause) {
      line(options.err, c.red(`error: ${message}`));
      if (options.debug && cause) line(options.err, c.dim(String((cause as Error).stack ?? cause)));
    },
    flush() {
      out.flush();
    },
  };
}

/** The lines shown once the listener is up: where it listens, the public URL and where to paste it, and so on. */
export function banner(info: ReadyInfo, c: ChalkInstance = new Chalk({ level: 0 })): string {
  const label = (s: string): string => c.dim(s.padEnd(12));
  const rows = [c.bold(`webhook-listen ${info.version}`)];
  rows.push(`  ${label('Listening')}${info.listenUrl}${info.portNote ? c.yellow(`  (${info.portNote})`) : ''}`);
  if (info.publicUrl) {
    rows.push(`  ${label('Public URL')}${c.bold.green(info.publicUrl)}`);
    rows.push(`  ${label('')}${c.dim("paste it as the webhook URL on the platform's Settings page, or on a channel")}`);
  } else if (info.tunnel === 'opening') rows.push(`  ${label('Public URL')}${c.dim('opening a tunnel…')}`);
  else if (info.tunnel === 'offline') rows.push(`  ${label('Public URL')}${c.yellow('none yet — local only, retrying in the background')}`);
  else rows.push(`  ${label('Public URL')}${c.dim('none (--no-tunnel): only this machine can reach the listener')}`);
  if (info.targets.length === 0) rows.push(`  ${label('Forwarding')}${c.dim('nowhere (add --forward-to http://localhost:3000/…)')}`);
  for (const [i, t] of info.targets.entries()) {
    const only = info.routes?.[t];
    rows.push(`  ${label(i === 0 ? 'Forwarding' : '')}→ ${t}${only ? c.dim(`  (only ${only.join(', ')})`) : ''}${i === 0 && info.passthrough ? c.dim('  (passthrough: the sender gets its answer)') : ''}`);
  }
  if (info.events?.length) rows.push(`  ${label('Events')}${info.events.join(', ')} ${c.dim('(others are stored, not shown or forwarded)')}`);
  if (info.inspectorUrl) rows.push(`  ${label('Inspector')}${info.inspectorUrl}`);
  rows.push(`  ${label('Store')}${info.store}`);
  rows.push(c.dim('Waiting for events… (Ctrl-C to stop)'));
  return rows.join('\n');
}

export interface ViewOptions {
  colorLevel: 0 | 1 | 2 | 3;
  width: number;
}

/** Renders stored history: `events` lines and `show` pages. */
export function createHistoryView(options: ViewOptions) {
  const c = new Chalk({ level: options.colorLevel });
  const width = options.width > 0 ? options.width : NOT_A_TTY_WIDTH;
  const paint = paintFor(c);
  const tone = (status: string): string =>
    /^[23]\d\d$/.test(status) ? c.green(status) : /^pending/.test(status) || status === 'filtered' ? c.yellow(status) : c.red(status);
  return {
    listLine(shortId: string, event: Pick<WebhookEvent, 'receivedAt' | 'targets' | 'rejected'>, summary: Summary, deliveries: DeliveryResult[]): string {
      const day = event.receivedAt.slice(0, 10);
      const status = deliveryStatus(event, deliveries);
      const fixed = `${shortId}  ${day} `;
      const tail = `  → ${status}`;
      const room = width - displayWidth(fixed) - displayWidth(tail);
      const pieces = fitPieces(summaryPieces(summary), Math.max(20, room));
      return `${c.yellow(shortId)}  ${c.dim(day)} ${joinPieces(pieces, paint)}  ${c.dim('→')} ${tone(status)}`;
    },
    pendingLine(r: { eventId: string; target: string; attempts: number; nextAt?: number; lastError?: string; held: boolean }, summary: Summary): string {
      const next = r.nextAt ? `next try ${formatClock(new Date(r.nextAt).toISOString())}` : r.held ? 'waiting its turn' : 'no listener holds it';
      const head = `${r.eventId.slice(0, 12)}  → ${r.target}  ${r.attempts} ${r.attempts === 1 ? 'attempt' : 'attempts'}${r.lastError ? `, last ${r.lastError}` : ''}, ${next}  `;
      const pieces = fitPieces(summaryPieces(summary), Math.max(20, width - displayWidth(head)));
      return `${c.yellow(r.eventId.slice(0, 12))}  ${c.dim('→')} ${r.target}  ${c.dim(`${r.attempts} ${r.attempts === 1 ? 'attempt' : 'attempts'}${r.lastError ? `, last ${r.lastError}` : ''}, ${next}`)}  ${joinPieces(pieces, paint)}`;
    },
    detail(event: WebhookEvent, summary: Summary, decoded: DecodedBody, deliveries: DeliveryResult[], withHeaders: boolean): string {
      const rows = [
        joinPieces(fitPieces(summaryPieces(summary), width), paint),
        `${c.dim('id')}        ${event.id}`,
        `${c.dim('received')}  ${event.receivedAt} from ${event.remoteAddress || 'unknown'}`,
        `${c.dim('request')}   ${event.method} ${neutralise(event.url)}  ${c.dim(`${formatSize(event.size)}, ${summary.kind}${decoded.encoding ? ` (${decoded.encoding})` : ''}`)}`,
      ];
      if (withHeaders) {
        rows.push('');
        for (const [k, v] of event.headers) rows.push(`${c.dim(neutralise(k) + ':')} ${neutralise(v)}`);
      }
      rows.push('', prettyBody(decoded, event));
      if (deliveries.length) {
        rows.push('', c.dim('deliveries'));
        // Each attempt with what the app answered (the start of the body; all of it with --headers).
        for (const d of deliveries) rows.push(deliveryLine(d, c, width, withHeaders));
      }
      return rows.join('\n');
    },
  };
}
