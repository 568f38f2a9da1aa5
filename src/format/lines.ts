import type { ChalkInstance } from 'chalk';
import type { DecodedBody } from '../core/body.js';
import { type DeliveryResult, RESPONSE_KEEP, type WebhookEvent } from '../core/event.js';
import { formatSize } from '../core/size.js';
import { prettyJson } from './json-text.js';
import type { Piece } from './summary.js';
import { type Part, fitParts } from './fit.js';
import { neutralise, truncate } from './width.js';

/* The pieces of a terminal line, painted: shared by the live printer and the history views. */

export const NOT_A_TTY_WIDTH = 200;
export const VERBOSE_BODY_LIMIT = 64 * 1024;

export function paintFor(c: ChalkInstance): (p: Piece) => string {
  return (p) => {
    switch (p.role) {
      case 'time':
        return c.dim(p.text);
      case 'ref':
        return c.yellow(p.text);
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
export function deliveryLine(r: DeliveryResult, c: ChalkInstance, width = NOT_A_TTY_WIDTH, verbose = false, ref = r.eventId.slice(0, 12)): string {
  const lines: string[] = [];
  const ev: Part = { text: `ev ${ref}`, paint: c.dim };
  if (r.retryInMs !== undefined && !r.final) {
    const why = r.error ?? String(r.status);
    const secs = r.retryInMs >= 1000 ? `${Math.round(r.retryInMs / 1000)} s` : `${r.retryInMs} ms`;
    // The hint is said once, on the first failure; later retries only count.
    const hint: Part = { text: r.message && r.attempt === 1 ? r.message : '', paint: c.dim, min: 20, drop: 1 };
    lines.push(fitParts([{ text: '  ↳', paint: c.dim }, { text: `retry ${r.attempt} in ${secs}`, paint: c.yellow, sep: ' ' }, { text: `(${why})`, paint: c.dim, sep: ' ' }, ev, hint], width));
  } else {
    const status: Part = r.status
      ? { text: String(r.status), paint: r.status < 300 ? c.green : r.status < 400 ? c.cyan : r.status < 500 ? c.yellow : c.red, sep: ' ' }
      : { text: r.error ?? 'ERROR', paint: c.red, sep: ' ' };
    lines.push(
      fitParts(
        [
          { text: '  ↳', paint: c.dim },
          status,
          { text: `${r.method} ${r.url}`, min: 16 },
          { text: r.replay ? 'replay' : '', paint: c.dim },
          { text: r.status ? `${r.durationMs} ms` : '', paint: c.dim, drop: 2 },
          { text: r.attempt > 1 ? `(after ${r.attempt} attempts)` : '', paint: c.dim, drop: 3 },
          ev,
          { text: r.message ?? '', paint: r.status ? c.cyan : c.red, min: 20, drop: 1 },
          { text: !r.final ? 'left pending' : '', paint: c.yellow },
        ],
        width,
      ),
    );
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
