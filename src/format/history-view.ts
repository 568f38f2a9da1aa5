import { Chalk } from 'chalk';
import type { DecodedBody } from '../core/body.js';
import type { DeliveryResult, WebhookEvent } from '../core/event.js';
import { formatSize } from '../core/size.js';
import { NOT_A_TTY_WIDTH, deliveryLine, paintFor, prettyBody } from './lines.js';
import { type Summary, deliveryStatus, formatClock, joinPieces, summaryPieces } from './summary.js';
import { fitLine, fitPieces } from './fit.js';
import { displayWidth, neutralise } from './width.js';

export interface ViewOptions {
  colorLevel: 0 | 1 | 2 | 3;
  width: number;
}

/** Renders stored history: `events` lines and `show` pages. */
/** Where a relayed event came from, and whether its bytes are the sender's. */
function viaText(v: NonNullable<WebhookEvent['via']>): string {
  const server = v.relay === 'gosmee' ? 'gosmee' : 'smee.io';
  const bytes = v.reserialised ? 'body re-serialised by the relay: not the bytes the sender signed' : 'the exact bytes';
  return `${server} channel ${neutralise(v.channel)}${v.relayId ? ` (relay id ${neutralise(v.relayId)})` : ''} — ${bytes}`;
}

/** Columns a list line keeps for the summary before its status or target is cut. */
const SUMMARY_ROOM = 30;

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
      const fixed = displayWidth(`${shortId}  ${day} `);
      // The summary keeps at least SUMMARY_ROOM columns: a long status is cut first.
      const tail = fitLine([{ text: '→', paint: c.dim }, { text: status, paint: tone, min: 12, sep: ' ' }], Math.max(14, width - fixed - 2 - SUMMARY_ROOM));
      const pieces = fitPieces(summaryPieces(summary), Math.max(10, width - fixed - 2 - tail.width));
      return `${c.yellow(shortId)}  ${c.dim(day)} ${joinPieces(pieces, paint)}  ${tail.line}`;
    },
    pendingLine(r: { eventId: string; eventSeq: number; target: string; attempts: number; nextAt?: number; lastError?: string; held: boolean }, summary: Summary): string {
      const next = r.nextAt ? `next try ${formatClock(new Date(r.nextAt).toISOString())}` : r.held ? 'waiting its turn' : 'no listener holds it';
      const info = `${r.attempts} ${r.attempts === 1 ? 'attempt' : 'attempts'}${r.lastError ? `, last ${r.lastError}` : ''}, ${next}`;
      const head = fitLine(
        [
          { text: `#${r.eventSeq}`, paint: c.yellow },
          { text: '→', paint: c.dim },
          { text: r.target, min: 16, sep: ' ' },
          { text: info, paint: c.dim, min: 14 },
        ],
        Math.max(30, width - 2 - SUMMARY_ROOM),
      );
      const pieces = fitPieces(summaryPieces(summary), Math.max(10, width - head.width - 2));
      return `${head.line}  ${joinPieces(pieces, paint)}`;
    },
    detail(event: WebhookEvent, summary: Summary, decoded: DecodedBody, deliveries: DeliveryResult[], withHeaders: boolean): string {
      const rows = [
        joinPieces(fitPieces(summaryPieces(summary), width), paint),
        `${c.dim('id')}        ${event.seq !== undefined ? `${c.yellow(`#${event.seq}`)}  ` : ''}${event.id}`,
        `${c.dim('received')}  ${event.receivedAt} from ${event.remoteAddress || 'unknown'}`,
        ...(event.via ? [`${c.dim('via')}       ${viaText(event.via)}`] : []),
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
