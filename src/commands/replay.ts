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

/** `webhook-listen replay`: sends stored events again, byte for byte; true when every one got a 2xx/3xx. */
export async function replayEvents(options: ReplayOptions, io: CommandIO): Promise<boolean> {
  const store = openHistory(options.storeDir, (w) => io.printer.warn(w));
  const deliverer = createDeliverer({ timeoutMs: options.timeoutMs });
  let allOk = true;
  try {
    // The newest n, oldest of them first, or the ids as named.
    const rows = options.last !== undefined ? store.list({ limit: options.last }).reverse() : pickEvents(store, options.ids);
    if (rows.length === 0) throw new RunError('name the events to replay: an id (or prefix), or --last [n]');
    const jobs = rows.map((row) => {
      const targets = options.to.length ? options.to : row.targets;
      if (targets.length === 0) throw new RunError(`event ${row.id} was not forwarded anywhere when it arrived — pass --to <url>`);
      return { id: row.id, targets };
    });
    for (const { id, targets } of jobs) {
      const results = await sendAgain(readWhole(store, id), targets, false, { deliverer, store, printer: io.printer });
      if (results.some((r) => r.status === undefined || r.status >= 400)) allOk = false;
    }
  } finally {
    store.close();
    await deliverer.close();
  }
  return allOk;
}
