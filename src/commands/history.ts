import { existsSync } from 'node:fs';
import { type StoreContents, type StoredEntry, findByPrefix, readStore } from '../store.js';
import { RunError } from './errors.js';

/** Reads the store for a history command: warnings go to `warn`; an absent, unreadable or empty store is a RunError. */
export function loadHistory(dir: string, warn: (message: string) => void): StoreContents {
  if (!existsSync(dir)) throw new RunError(`no event store at ${dir} yet — run webhook-listen first, or pass --store <dir>`);
  let contents: StoreContents;
  try {
    contents = readStore(dir);
  } catch (err) {
    throw new RunError((err as Error).message, { cause: err });
  }
  for (const w of contents.warnings) warn(w);
  if (contents.entries.length === 0) throw new RunError(`the event store ${dir} has no events yet — send one to webhook-listen first`);
  return contents;
}

/** Resolves id prefixes like git does; an unknown or ambiguous prefix is a RunError naming the candidates. */
export function pickEvents(contents: StoreContents, ids: string[]): StoredEntry[] {
  return ids.map((id) => {
    const found = findByPrefix(contents.entries, id);
    if (found.length === 0) throw new RunError(`no event with an id starting "${id}" — list them with: webhook-listen events`);
    if (found.length > 1)
      throw new RunError(
        `"${id}" matches ${found.length} events (${found
          .slice(0, 3)
          .map((e) => e.event.id)
          .join(', ')}${found.length > 3 ? ', …' : ''}) — type more of the id`,
      );
    return found[0]!;
  });
}

/** The newest `n` entries, newest last. */
export function lastEntries(contents: StoreContents, n: number): StoredEntry[] {
  return contents.entries.slice(-n);
}
