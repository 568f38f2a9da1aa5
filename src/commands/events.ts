import { decodeBody, fromStored } from '../event.js';
import { shortIds } from '../store.js';
import { summarize } from '../format/summary.js';
import { eventRecord } from '../format/json.js';
import { createHistoryView } from '../format/terminal.js';
import { loadHistory } from './history.js';
import { RunError } from './errors.js';
import type { CommandIO } from './io.js';

export interface EventsOptions {
  storeDir: string;
  limit: number;
  event?: string;
}

/** `webhook-listen events`: the newest events first, one line each, as seen live. */
export function listEvents(options: EventsOptions, io: CommandIO): void {
  const contents = loadHistory(options.storeDir, (w) => io.printer.warn(w));
  const short = shortIds(contents.entries.map((e) => e.event.id));
  const matching = contents.entries.filter((e) => !options.event || e.event.name === options.event);
  if (matching.length === 0) throw new RunError(`no "${options.event}" events in ${options.storeDir} — see all with: webhook-listen events`);
  const shown = matching.slice(-options.limit).reverse();
  const view = createHistoryView(io);
  for (const entry of shown) {
    const event = fromStored(entry.event);
    const decoded = decodeBody(event);
    const summary = summarize(event, decoded);
    if (io.json) {
      io.out.write(JSON.stringify({ ...eventRecord(event, summary, decoded), deliveries: entry.deliveries }) + '\n');
    } else io.out.write(view.listLine(short.get(event.id)!, event, summary, entry.deliveries) + '\n');
  }
  if (!io.json && matching.length > shown.length)
    io.printer.info(`${shown.length} of ${matching.length} events shown — more with --limit ${matching.length}`);
}
