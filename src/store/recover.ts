import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { DeliveryResult, WebhookEvent } from '../core/event.js';
import { deliveryColumn } from './codec.js';
import { DB_FILE } from './errors.js';
import { type StoredRow, rowToEvent } from './events.js';

/** Rows read per query; a query that fails is read again one row at a time, to skip only the damaged ones. */
const CHUNK = 500;

const sqlite = (): typeof import('node:sqlite') => process.getBuiltinModule('node:sqlite');

/** What `PRAGMA integrity_check` finds in the store: empty when it is sound (or there is no store yet). */
export function checkStoreFile(dir: string): string[] {
  const file = join(dir, DB_FILE);
  if (!existsSync(file)) return [];
  let db: DatabaseSync | undefined;
  try {
    db = new (sqlite().DatabaseSync)(file, { readOnly: true });
    const rows = db.prepare('PRAGMA integrity_check(100)').all() as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((p) => p !== 'ok');
    return problems;
  } catch (err) {
    return [(err as Error).message];
  } finally {
    db?.close();
  }
}

/** Moves the store's file (and its WAL) aside, to `events.db.damaged-<time>`; returns that path. */
export function moveAside(dir: string): string {
  const file = join(dir, DB_FILE);
  const aside = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
  return aside;
}

/**
 * Reads a table of a damaged database by its integer key, `seq`, in chunks; a chunk that fails is read row by row, so
 * that only the rows on damaged pages are lost. Each readable row goes to `take`; returns how many could not be read.
 */
function salvageTable<Row>(db: DatabaseSync, table: string, take: (rows: Row[]) => void): number {
  let top: number;
  try {
    top = (db.prepare(`SELECT max(seq) AS hi FROM ${table}`).get() as { hi: number | null }).hi ?? 0;
  } catch {
    // The key's own pages are damaged: look as far as the file could hold one row a page, and then some.
    top = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count * 16;
  }
  const chunk = db.prepare(`SELECT * FROM ${table} WHERE seq >= ? AND seq < ? ORDER BY seq`);
  const one = db.prepare(`SELECT * FROM ${table} WHERE seq = ?`);
  let lost = 0;
  for (let from = 1; from <= top; from += CHUNK) {
    try {
      take(chunk.all(from, from + CHUNK) as Row[]);
      continue;
    } catch {
      // Below, one by one.
    }
    const rows: Row[] = [];
    for (let seq = from; seq < from + CHUNK && seq <= top; seq++) {
      try {
        const row = one.get(seq) as Row | undefined;
        if (row) rows.push(row);
      } catch {
        lost++;
      }
    }
    take(rows);
  }
  return lost;
}

export interface Salvage {
  events: number;
  deliveries: number;
  /** Rows that could not be read (each is an event or a delivery attempt). */
  unreadable: number;
}

/**
 * Reads every readable event, then every readable delivery attempt, of the damaged database at `from`, handing them
 * in batches to `restore` (events first: what is owed is rebuilt from them, settled by the final deliveries).
 */
export function salvage(from: string, restore: (events: WebhookEvent[], deliveries: DeliveryResult[]) => void): Salvage {
  const out: Salvage = { events: 0, deliveries: 0, unreadable: 0 };
  let db: DatabaseSync;
  try {
    db = new (sqlite().DatabaseSync)(from, { readOnly: true });
  } catch {
    return { ...out, unreadable: 1 };
  }
  try {
    out.unreadable += salvageTable<StoredRow>(db, 'events', (rows) => {
      restore(rows.map(rowToEvent), []);
      out.events += rows.length;
    });
    out.unreadable += salvageTable<{ data: string }>(db, 'deliveries', (rows) => {
      const results = rows.map((r) => deliveryColumn.decode(r.data)).filter((d) => d.eventId !== '');
      restore([], results);
      out.deliveries += results.length;
    });
  } catch {
    out.unreadable++;
  } finally {
    db.close();
  }
  return out;
}
