import { createDeliverer } from '../forward/deliver.js';
import { sendAgain } from '../forward/replay.js';
import { RunError } from '../core/errors.js';
import { openHistory, pickEvents, readWhole } from './history.js';
import type { CommandIO } from './io.js';

export interface ReplayOptions {
  storeDir: string;
  ids: string[];
  /** Replay the newest n events instead of ids. */
  last?: number;
  to: string[];
  timeoutMs: number;
  insecure?: boolean;
}

/** `webhook-listen replay`: sends stored events again, byte for byte; true when every one got a 2xx. */
export async function replayEvents(options: ReplayOptions, io: CommandIO): Promise<boolean> {
  const store = openHistory(options.storeDir, (w) => io.printer.warn(w));
  const deliverer = createDeliverer({ timeoutMs: options.timeoutMs, insecure: options.insecure });
  let allOk = true;
  try {
    // The newest n (0: all), oldest of them first, or the ids as named.
    const rows = options.last !== undefined ? store.list({ limit: options.last > 0 ? options.last : -1 }).reverse() : pickEvents(store, options.ids);
    const jobs: { id: string; targets: string[] }[] = [];
    for (const row of rows) {
      // A body refused for its size was never kept: there is nothing to send again.
      if (row.rejected === 'too-large') {
        io.printer.warn(`event ${row.id} was refused with 413 (over --max-body), so its body was not kept — not replayed`);
        allOk = false;
        continue;
      }
      const targets = options.to.length ? options.to : row.targets;
      if (targets.length === 0) {
        io.printer.warn(`event ${row.id} was not forwarded anywhere when it arrived${row.rejected ? ` (${row.rejected})` : ''} — not replayed; pass --to <url> to send it`);
        allOk = false;
        continue;
      }
      jobs.push({ id: row.id, targets });
    }
    if (jobs.length === 0) throw new RunError('nothing to replay: name events that were forwarded, or pass --to <url>');
    for (const { id, targets } of jobs) {
      const results = await sendAgain(readWhole(store, id), targets, false, { deliverer, record: (r) => store.appendDelivery(r), onResult: (r, e) => io.printer.delivery(r, e), warn: (m) => io.printer.warn(m) });
      if (results.some((r) => r.status === undefined || r.status >= 300)) allOk = false;
    }
  } finally {
    store.close();
    await deliverer.close();
  }
  return allOk;
}
