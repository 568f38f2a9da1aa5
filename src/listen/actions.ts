import type { Printer } from '../format/printer.js';
import type { Deliverer } from '../forward/deliver.js';
import { sendAgain } from '../forward/replay.js';
import type { InspectorHandle } from '../inspector/server.js';
import type { StoreHandle } from '../store/index.js';

/** What a key pressed while listening can reach: the store, the deliverer, the inspector. */
export interface ActionParts {
  store: StoreHandle;
  deliverer: Deliverer;
  targets: string[];
  printer: Printer;
  inspector?: InspectorHandle;
}

/** Sends the newest stored event again to its targets (or the --forward-to ones); the result lines say how it went. */
export async function replayLast(a: ActionParts): Promise<void> {
  const newest = a.store.list({ limit: 1 })[0];
  const event = newest && a.store.readEvent(newest.id);
  if (!event) return a.printer.info('no event yet to replay');
  const targets = event.targets.length ? event.targets : a.targets;
  if (targets.length === 0) return a.printer.info(`nothing to replay ${event.id.slice(0, 12)} to: start with --forward-to your app`);
  a.printer.info(`replaying ${event.id.slice(0, 12)}${event.name ? ` (${event.name})` : ''} to ${targets.join(', ')}`);
  await sendAgain(event, targets, false, {
    deliverer: a.deliverer,
    record: (r) => a.store.appendDelivery(r),
    onResult: (r, e) => {
      a.printer.delivery(r, e);
      a.inspector?.publishDelivery(r);
    },
    warn: (m) => a.printer.warn(m),
  });
}
