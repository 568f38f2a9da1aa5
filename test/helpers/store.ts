import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** Reads a store's database as the tests see it: the rows as they were committed. */
export function query<T>(dir: string, sql: string): T[] {
  const file = join(dir, 'events.db');
  if (!existsSync(file)) return [];
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

interface EventRowRaw {
  id: string;
  received_at: string;
  method: string;
  url: string;
  path: string;
  query: string;
  headers: string;
  body: Uint8Array;
  size: number;
  remote_address: string;
  name: string | null;
  targets: string;
  rejected: string | null;
}

/**
 * Every record of a store in the order written: events (`t: 'event'`, body as `bodyBase64`) then delivery attempts
 * (`t: 'delivery'`), each as the tool committed it.
 */
export function storeRecords(dir: string): Record<string, any>[] {
  const events = query<EventRowRaw>(dir, 'SELECT * FROM events ORDER BY seq').map((r) => ({
    t: 'event',
    id: r.id,
    receivedAt: r.received_at,
    method: r.method,
    url: r.url,
    path: r.path,
    query: r.query,
    headers: JSON.parse(r.headers),
    size: r.size,
    remoteAddress: r.remote_address,
    name: r.name,
    targets: JSON.parse(r.targets),
    ...(r.rejected ? { rejected: r.rejected } : {}),
    bodyBase64: Buffer.from(r.body).toString('base64'),
  }));
  const deliveries = query<{ data: string }>(dir, 'SELECT data FROM deliveries ORDER BY seq').map((d) => ({ t: 'delivery', ...JSON.parse(d.data) }));
  return [...events, ...deliveries];
}

/** Pending deliveries (owed, not settled) in a store. */
export const pendingRows = (dir: string): { event_id: string; target: string; attempts: number; owner: string | null }[] =>
  query(dir, 'SELECT event_id, target, attempts, owner FROM pending');

/** A small newMessage-like body numbered `n`, to check order and completeness. */
export const numberedEvent = (n: number): Buffer =>
  Buffer.from(JSON.stringify({ event: 'newMessage', seq: n, message: { content: `m${n}` } }));
