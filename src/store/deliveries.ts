import type { DeliveryResult } from '../core/event.js';
import { deliveryColumn } from './codec.js';
import type { Connection } from './connection.js';

/** Records an attempt; a final one (not a replay) settles the pending delivery, another one updates it. */
export function insertDelivery(c: Connection, result: DeliveryResult): void {
  c.s.insertDelivery.run(result.eventId, result.target, result.final ? 1 : 0, result.replay ? 1 : 0, result.status ?? null, deliveryColumn.encode(result));
  if (result.replay) return;
  if (result.final) c.s.settle.run(result.eventId, result.target);
  else
    c.s.attempted.run(
      result.attempt,
      result.retryInMs !== undefined ? Date.now() + result.retryInMs : null,
      result.error ?? (result.status !== undefined ? String(result.status) : null),
      result.eventId,
      result.target,
    );
}
