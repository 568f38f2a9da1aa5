import { createDeliverer } from '../forward/deliver.js';
import { sendAgain } from '../forward/replay.js';
import { RunError } from '../core/errors.js';
import type { EventRow, StoreHandle } from '../store/index.js';
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
  /** Resend without asking, however many (--yes). */
  yes?: boolean;
}

/** Rows read per page for --last; more events than this to resend is asked about first, at a terminal. */
const PAGE = 1000;
const SCREENFUL = 20;

/** The newest `n` events (0: all), oldest first, as little of each as a replay needs, read a page at a time. */
function newest(store: StoreHandle, n: number): Pick<EventRow, 'id' | 'rejected' | 'targets'>[] {
  const want = n > 0 ? n : Number.POSITIVE_INFINITY;
  const out: Pick<EventRow, 'id' | 'rejected' | 'targets'>[] = [];
  let beforeId: string | undefined;
  while (out.length < want) {
    const limit = Math.min(PAGE, want - out.length);
    const page = store.list({ limit, ...(beforeId ? { beforeId } : {}) });
    for (const r of page) out.push(r.rejected ? { id: r.id, rejected: r.rejected, targets: r.targets } : { id: r.id, targets: r.targets });
    if (page.length < limit) break;
    beforeId = page.at(-1)!.id;
  }
  return out.reverse();
}

/** `webhook-listen replay`: sends stored events again, byte for byte; true when every one got a 2xx. */
export async function replayEvents(options: ReplayOptions, io: CommandIO): Promise<boolean> {
  const store = openHistory(options.storeDir, (w) => io.printer.warn(w));
  const deliverer = createDeliverer({ timeoutMs: options.timeoutMs, insecure: options.insecure });
  let allOk = true;
  try {
    // The newest n (0: all), oldest of them first, or the ids as named.
    const rows = options.last !== undefined ? newest(store, options.last) : pickEvents(store, options.ids);
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
    if (jobs.length > SCREENFUL && !options.yes && io.confirm) {
      const where = [...new Set(jobs.flatMap((j) => j.targets))];
      const ok = await io.confirm(`resend ${jobs.length} events to ${where.slice(0, 3).join(', ')}${where.length > 3 ? ', …' : ''}?`);
      if (!ok) throw new RunError(`nothing replayed — pass --yes to resend ${jobs.length} events without being asked`);
    }
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
