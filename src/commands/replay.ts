import type { DeliveryResult, WebhookEvent } from '../event.js';
import type { StoreHandle } from '../store/index.js';
import { type Deliverer, createDeliverer } from '../delivery.js';
import type { Printer } from '../format/printer.js';
import { openHistory, pickEvents, readWhole } from './history.js';
import { RunError } from './errors.js';
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

export const REPLAY_HEADER: [string, string] = ['Webhook-Listen-Replay', '1'];

export interface ReplayDeps {
  deliverer: Deliverer;
  store: StoreHandle;
  printer: Printer;
  /** Also told about each result (the inspector's live view). */
  onResult?(result: DeliveryResult): void;
}

/** Sends one stored (maybe edited) event to each target once, marked as a replay; records and prints each result. */
export async function sendAgain(event: WebhookEvent, targets: string[], edited: boolean, deps: ReplayDeps): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = [];
  for (const target of targets) {
    const { result } = await deps.deliverer.deliver(event, target, 1, { extraHeaders: [REPLAY_HEADER], replay: true });
    if (edited) result.edited = true;
    try {
      deps.store.appendDelivery(result);
    } catch (err) {
      deps.printer.warn(`${(err as Error).message} — the replay result is not saved`);
    }
    deps.printer.delivery(result, event);
    deps.onResult?.(result);
    results.push(result);
  }
  return results;
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
      const results = await sendAgain(readWhole(store, id), targets, false, { deliverer, store, printer: io.printer });
      if (results.some((r) => r.status === undefined || r.status >= 300)) allOk = false;
    }
  } finally {
    store.close();
    await deliverer.close();
  }
  return allOk;
}
