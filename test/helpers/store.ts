import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every line of every segment of an event store, as written (torn or not). */
export function storeLines(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ndjson'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter(Boolean);
}

/** Every record of a store, parsed: events (`t: 'event'`) and delivery attempts (`t: 'delivery'`). */
export const storeRecords = (dir: string): Record<string, any>[] => storeLines(dir).map((l) => JSON.parse(l));

/** A small newMessage-like body numbered `n`, to check order and completeness. */
export const numberedEvent = (n: number): Buffer =>
  Buffer.from(JSON.stringify({ event: 'newMessage', seq: n, message: { content: `m${n}` } }));
