import { existsSync } from 'node:fs';
import { type WebhookEvent, refSeq } from '../core/event.js';
import { RunError } from '../core/errors.js';
import { describeEvent } from '../format/describe.js';
import { type EventRow, type StoreHandle, openStore } from '../store/index.js';

/** How long a one-shot command waits for another process's write lock (saying so) before it gives up. */
const LOCK_PATIENCE_MS = 30_000;

/** Opens the store for a history command; an absent, unreadable or empty store is a RunError. */
export function openHistory(dir: string, warn: (message: string) => void): StoreHandle {
  if (!existsSync(dir)) throw new RunError(`no event store at ${dir} yet — run webhook-listen first, or pass --store <dir>`);
  let store: StoreHandle;
  try {
    // Reads never wait for a writer (WAL); a write waits a moment silently, then politely (cancel, retry, replay).
    store = openStore(dir, { keep: Number.MAX_SAFE_INTEGER, describe: describeEvent, warn, busyTimeoutMs: 250, patience: { ms: LOCK_PATIENCE_MS, onWait: warn } });
  } catch (err) {
    throw new RunError((err as Error).message, { cause: err });
  }
  if (store.count() === 0) {
    store.close();
    throw new RunError(`the event store ${dir} has no events yet — send one to webhook-listen first`);
  }
  return store;
}

/** Resolves id prefixes like git does; an unknown or ambiguous prefix is a RunError naming the candidates. */
export function pickEvents(store: StoreHandle, ids: string[]): EventRow[] {
  return ids.map((id) => {
    const found = store.find(id, 4);
    if (found.length === 0)
      throw new RunError(`${refSeq(id) !== undefined ? `no event ${id.startsWith('#') ? id : `#${id}`}` : `no event with an id starting "${id}"`} in this store — list them with: webhook-listen events`);
    if (found.length > 1)
      throw new RunError(
        `"${id}" matches ${found.length > 3 ? 'several' : found.length} events (${found
          .slice(0, 3)
          .map((e) => e.id)
          .join(', ')}${found.length > 3 ? ', …' : ''}) — type more of the id`,
      );
    return found[0]!;
  });
}

/** Reads an event's bytes for showing or sending; one that vanished meanwhile is a RunError. */
export function readWhole(store: StoreHandle, id: string): WebhookEvent {
  const event = store.readEvent(id);
  if (!event) throw new RunError(`event ${id} was deleted from the store meanwhile (pruned by --keep?)`);
  return event;
}

