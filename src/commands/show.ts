import { decodeBody } from '../core/body.js';
import { type Summary, summarize } from '../format/summary.js';
import { eventRecord } from '../format/json.js';
import { recordLine } from '../format/json-text.js';
import { createHistoryView } from '../format/history-view.js';
import { openHistory, pickEvents, readWhole } from './history.js';
import type { CommandIO } from './io.js';

export interface ShowOptions {
  storeDir: string;
  id: string;
  /** The exact bytes received; with `headers`, the whole HTTP request as received. */
  raw: boolean;
  headers: boolean;
}

/** `webhook-listen show <id>`: one event as received. */
export function showEvent(options: ShowOptions, io: CommandIO): void {
  const store = openHistory(options.storeDir, (w) => io.printer.warn(w));
  try {
    const [row] = pickEvents(store, [options.id]);
    const event = readWhole(store, row!.id);
    if (options.raw) {
      if (options.headers) {
        const head = [`${event.method} ${event.url} HTTP/1.1`, ...event.headers.map(([k, v]) => `${k}: ${v}`)].join('\r\n');
        io.out.write(head + '\r\n\r\n');
      }
      io.out.write(event.body);
      return;
    }
    const decoded = decodeBody(event);
    const summary = summarize(event, decoded);
    // The signature was checked when it arrived, with the secrets of that run: as recorded then.
    const stored = JSON.parse(row!.summary) as Summary;
    if (stored.signature) summary.signature = stored.signature;
    if (io.json) {
      io.out.write(recordLine({ ...eventRecord(event, summary, decoded), deliveries: row!.deliveries }) + '\n');
      return;
    }
    io.out.write(createHistoryView(io).detail(event, summary, decoded, row!.deliveries, options.headers) + '\n');
  } finally {
    store.close();
  }
}
