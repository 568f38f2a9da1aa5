import { type DeliveryResult, type WebhookEvent, fromStored } from '../event.js';
import { type StoreHandle, openStore } from '../store.js';
import { type Deliverer, createDeliverer } from '../delivery.js';
import type { Printer } from '../format/printer.js';
import { lastEntries, loadHistory, pickEvents } from './history.js';
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
  const contents = loadHistory(options.storeDir, (w) => io.printer.warn(w));
  const entries = options.last !== undefined ? lastEntries(contents, options.last) : pickEvents(contents, options.ids);
  if (entries.length === 0) throw new RunError('name the events to replay: an id (or prefix), or --last [n]');
  const jobs: { event: WebhookEvent; targets: string[] }[] = entries.map((entry) => {
    const targets = options.to.length ? options.to : (entry.event.targets ?? []);
    if (targets.length === 0)
      throw new RunError(`event ${entry.event.id} was not forwarded anywhere when it arrived — pass --to <url>`);
    return { event: fromStored(entry.event), targets };
  });
  const store = openStore(options.storeDir, { keep: Number.MAX_SAFE_INTEGER, lazy: true });
  const deliverer = createDeliverer({ timeoutMs: options.timeoutMs });
  let allOk = true;
  try {
    for (const { event, targets } of jobs) {
      const results = await sendAgain(event, targets, false, { deliverer, store, printer: io.printer });
      if (results.some((r) => r.status === undefined || r.status >= 400)) allOk = false;
    }
  } finally {
    store.close();
    await deliverer.close();
  }
  return allOk;
}
