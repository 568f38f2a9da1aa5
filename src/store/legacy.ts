import { readFileSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { type DeliveryResult, type WebhookEvent, fromStored, type StoredEvent } from '../core/event.js';

/** A 0.1.0 store: `<segment-id>-<pid>.ndjson` files of `{"t":"event",…}` and `{"t":"delivery",…}` lines. */
const SEGMENT_RE = /^[0-9a-z]{26}-\d+\.ndjson$/;

/**
 * Imports a 0.1.0 NDJSON store found in `dir`, once: `write` gets every readable event and delivery (in one
 * transaction), then each file is renamed `*.imported` and left in place. Returns a line for the user, or undefined
 * when there was nothing to import.
 */
export function importLegacySegments(dir: string, write: (events: WebhookEvent[], deliveries: DeliveryResult[]) => void): string | undefined {
  const files = readdirSync(dir)
    .filter((n) => SEGMENT_RE.test(n))
    .sort();
  if (files.length === 0) return undefined;
  const events = new Map<string, WebhookEvent>();
  const deliveries: DeliveryResult[] = [];
  let skipped = 0;
  for (const name of files) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const { t, ...record } = JSON.parse(line) as { t: string } & Record<string, unknown>;
        if (t === 'event') {
          const event = fromStored(record as unknown as StoredEvent);
          event.targets ??= [];
          events.set(event.id, event);
        } else if (t === 'delivery') deliveries.push(record as unknown as DeliveryResult);
      } catch {
        skipped++;
      }
    }
  }
  const ordered = [...events.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  write(
    ordered,
    deliveries.filter((d) => events.has(d.eventId)),
  );
  for (const name of files) renameSync(join(dir, name), join(dir, `${name}.imported`));
  return `imported ${ordered.length} events from the 0.1.0 store files in ${dir} (kept as *.ndjson.imported)${skipped ? `; ${skipped} unreadable lines skipped` : ''}`;
}
