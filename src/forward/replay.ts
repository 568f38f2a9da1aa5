import type { DeliveryResult, WebhookEvent } from '../core/event.js';
import type { Deliverer } from './deliver.js';

export const REPLAY_HEADER: [string, string] = ['Webhook-Listen-Replay', '1'];

export interface ReplayDeps {
  deliverer: Deliverer;
  /** Where each result is kept (the store); a failure to keep it is said, not thrown. */
  record(result: DeliveryResult): void;
  /** Told about each result once it is kept (the printer, the inspector's live view). */
  onResult(result: DeliveryResult, event: WebhookEvent): void;
  warn(message: string): void;
}

/** Sends one stored (maybe edited) event to each target once, marked as a replay; records and reports each result. */
export async function sendAgain(event: WebhookEvent, targets: string[], edited: boolean, deps: ReplayDeps): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = [];
  for (const target of targets) {
    const { result } = await deps.deliverer.deliver(event, target, 1, { extraHeaders: [REPLAY_HEADER], replay: true });
    if (edited) {
      result.edited = true;
      result.sent = { headers: event.headers, bodyBase64: event.body.toString('base64') };
    }
    try {
      deps.record(result);
    } catch (err) {
      deps.warn(`${(err as Error).message} — the replay result is not saved`);
    }
    deps.onResult(result, event);
    results.push(result);
  }
  return results;
}
