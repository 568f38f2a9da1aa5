import { decodeBody } from '../event.js';
import { type Summary, summarize } from '../format/summary.js';
import { eventRecord } from '../format/json.js';
import { recordLine } from '../format/json-text.js';
import { createHistoryView } from '../format/terminal.js';
import { openHistory, readWhole, shortIds } from './history.js';
import { RunError } from './errors.js';
import type { CommandIO } from './io.js';

export interface EventsOptions {
  storeDir: string;
  /** How many to list; 0 lists them all. */
  limit: number;
  event?: string;
  /** Only events whose summary, id or path contains this text. */
  grep?: string;
}

/** `webhook-listen events`: the newest events first, one line each, as seen live. */
export function listEvents(options: EventsOptions, io: CommandIO): void {
  const store = openHistory(options.storeDir, (w) => io.printer.warn(w));
  try {
    const query = { name: options.event, grep: options.grep };
    const shown = store.list({ ...query, limit: options.limit > 0 ? options.limit : -1 });
    if (shown.length === 0) {
      const what = [options.event && `"${options.event}"`, options.grep && `matching "${options.grep}"`].filter(Boolean).join(' ');
      throw new RunError(`no ${what} events in ${options.storeDir} — see all with: webhook-listen events`);
    }
    const short = shortIds(shown.map((e) => e.id));
    const view = createHistoryView(io);
    for (const row of shown) {
      if (io.json) {
        // The whole record, body included: read only for the events listed.
        const event = readWhole(store, row.id);
        const decoded = decodeBody(event);
        const summary = summarize(event, decoded);
        const stored = JSON.parse(row.summary) as Summary;
        if (stored.signature) summary.signature = stored.signature;
        io.out.write(recordLine({ ...eventRecord(event, summary, decoded), deliveries: row.deliveries }) + '\n');
      } else io.out.write(view.listLine(short.get(row.id)!, row, JSON.parse(row.summary) as Summary, row.deliveries) + '\n');
    }
    if (!io.json && options.limit > 0 && shown.length === options.limit) {
      const total = store.count(query);
      if (total > shown.length) io.printer.info(`${shown.length} of ${total} events shown — more with --limit ${total} (or --limit 0 for all)`);
    }
  } finally {
    store.close();
  }
}
