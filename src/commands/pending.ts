import type { PendingRow, StoreHandle } from '../store/index.js';
import type { Summary } from '../format/summary.js';
import { createHistoryView } from '../format/history-view.js';
import { openHistory, pickEvents } from './history.js';
import { RunError } from '../core/errors.js';
import { type CommandIO, writeLine } from './io.js';

export interface PendingOptions {
  storeDir: string;
  /** Event ids (or prefixes); none means every owed delivery (with `all` for cancel). */
  ids: string[];
  all?: boolean;
  target?: string;
}

type PendingQuery = { eventIds?: string[]; target?: string };

function rowsFor(options: PendingOptions, io: CommandIO, act: 'list' | 'cancel' | 'retry'): { store: StoreHandle; query: PendingQuery } {
  const store = openHistory(options.storeDir, (w) => io.printer.warn(w));
  const eventIds = options.ids.length ? pickEvents(store, options.ids).map((r) => r.id) : undefined;
  if (act === 'cancel' && !eventIds && !options.all) {
    store.close();
    throw new RunError('name the events to give up on (ids or prefixes), or pass --all');
  }
  return { store, query: { eventIds, target: options.target } };
}

/** Owed deliveries listed a page at a time: 200,000 of them held at once took ~0.8 GB. */
const PAGE = 1000;

async function print(rows: PendingRow[], io: CommandIO, verb: string): Promise<void> {
  const view = createHistoryView(io);
  for (const r of rows) {
    if (io.json) await writeLine(io, JSON.stringify({ type: 'pending', ...r, summary: undefined, eventSeq: undefined, action: verb }) + '\n');
    else await writeLine(io, view.pendingLine(r, JSON.parse(r.summary) as Summary) + '\n');
  }
}

/** `webhook-listen pending`: deliveries still owed, per target, with attempts, next try and last error. */
export async function listPending(options: PendingOptions, io: CommandIO): Promise<void> {
  const { store, query } = rowsFor(options, io, 'list');
  try {
    let rows = store.listPending({ ...query, limit: PAGE });
    if (rows.length === 0) {
      io.printer.info('nothing is waiting: every delivery has succeeded or given up');
      return;
    }
    while (rows.length > 0) {
      await print(rows, io, 'pending');
      const last = rows.at(-1)!;
      rows = rows.length < PAGE ? [] : store.listPending({ ...query, after: { eventSeq: last.eventSeq, target: last.target }, limit: PAGE });
    }
  } finally {
    store.close();
  }
}

/** Runs `act` on the deliveries the options name and prints them; none is a RunError. */
async function actOn(options: PendingOptions, io: CommandIO, verb: 'cancel' | 'retry', act: (store: StoreHandle, q: PendingQuery) => PendingRow[]): Promise<PendingRow[]> {
  const { store, query } = rowsFor(options, io, verb);
  try {
    const rows = act(store, query);
    if (rows.length === 0) throw new RunError('no waiting delivery matches — see them with: webhook-listen pending');
    await print(rows, io, verb === 'cancel' ? 'cancelled' : 'retry');
    return rows;
  } finally {
    store.close();
  }
}

/** `webhook-listen cancel`: gives up on owed deliveries; a running listener drops them within a second. */
export async function cancelPending(options: PendingOptions, io: CommandIO): Promise<void> {
  const rows = await actOn(options, io, 'cancel', (store, q) => store.cancelPending(q));
  if (!io.json) io.printer.info(`cancelled ${rows.length} ${rows.length === 1 ? 'delivery' : 'deliveries'}`);
}

/** `webhook-listen retry`: asks the listener holding these deliveries to try them now. */
export async function retryPending(options: PendingOptions, io: CommandIO): Promise<void> {
  const rows = await actOn(options, io, 'retry', (store, q) => store.retryPending(q));
  const idle = rows.filter((r) => !r.held).length;
  if (!io.json)
    io.printer.info(
      idle === rows.length
        ? 'no running webhook-listen holds these: the next one started with this store and target delivers them'
        : `asked the running listener to try ${rows.length - idle} now`,
    );
}
