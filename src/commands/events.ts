import { decodeBody } from '../core/body.js';
import { type Summary, summarize } from '../format/summary.js';
import { eventRecord } from '../format/json.js';
import { recordLine } from '../format/json-text.js';
import { createHistoryView } from '../format/history-view.js';
import type { EventRow } from '../store/index.js';
import { openHistory, readWhole } from './history.js';
import { RunError } from '../core/errors.js';
import { type CommandIO, writeLine } from './io.js';

export interface EventsOptions {
  storeDir: string;
  /** How many to list; 0 lists them all. */
  limit: number;
  event?: string;
  /** Only events whose summary, id or path contains this text. */
  grep?: string;
}

/** Rows read from the store at a time: `events -n 0` held every row at once (~1.8 KB each, 90 MB at 50,000). */
const PAGE = 1000;

/** `webhook-listen events`: the newest events first, one line each, as seen live. */
export async function listEvents(options: EventsOptions, io: CommandIO): Promise<void> {
  const store = openHistory(options.storeDir, (w) => io.printer.warn(w));
  try {
    const query = { name: options.event, grep: options.grep };
    const wanted = options.limit > 0 ? options.limit : Infinity;
    const read = (beforeId: string | undefined, left: number): EventRow[] => (left > 0 ? store.list({ ...query, limit: Math.min(PAGE, left), beforeId }) : []);
    let page = read(undefined, wanted);
    if (page.length === 0) {
      const what = [options.event && `"${options.event}"`, options.grep && `matching "${options.grep}"`].filter(Boolean).join(' ');
      throw new RunError(`no ${what} events in ${options.storeDir} — see all with: webhook-listen events`);
    }
    const view = createHistoryView(io);
    let shown = 0;
    while (page.length > 0) {
      shown += page.length;
      const next = page.length === PAGE ? read(page.at(-1)!.id, wanted - shown) : [];
      // `#1234`, as the live lines and `pending` show it and `show`/`replay` take it; aligned on the widest.
      const refWidth = `#${Math.max(...page.map((e) => e.seq))}`.length;
      for (const row of page) {
        if (io.json) {
          // The whole record, body included: read only for the events listed.
          const event = readWhole(store, row.id);
          const decoded = decodeBody(event);
          const summary = summarize(event, decoded);
          const stored = JSON.parse(row.summary) as Summary;
          if (stored.signature) summary.signature = stored.signature;
          await writeLine(io, recordLine({ ...eventRecord(event, summary, decoded), deliveries: row.deliveries }) + '\n');
        } else await writeLine(io, view.listLine(`#${row.seq}`.padEnd(refWidth), row, JSON.parse(row.summary) as Summary, row.deliveries) + '\n');
      }
      page = next;
    }
    if (!io.json && options.limit > 0 && shown === options.limit) {
      const total = store.count(query);
      if (total > shown) io.printer.info(`${shown} of ${total} events shown — more with --limit ${total} (or --limit 0 for all)`);
    }
  } finally {
    store.close();
  }
}
