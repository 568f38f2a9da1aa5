import { type DeliveryResult, type EventDescription, type WebhookEvent, refSeq } from '../core/event.js';
import { searchKey } from '../core/search.js';
import { deliveryColumn, headersColumn, targetsColumn } from './codec.js';
import type { Connection } from './connection.js';
import { saveRelayId } from './relay.js';
import type { EventRow, ListQuery } from './types.js';

interface EventRowRaw {
  seq: number;
  id: string;
  received_at: string;
  name: string | null;
  method: string;
  path: string;
  size: number;
  rejected: string | null;
  targets: string;
  summary: string;
}

const ROW_COLUMNS = 'seq, id, received_at, name, method, path, size, rejected, targets, summary';
/** Event ids per look-up of their deliveries (a list's page is 20 to 500; `events -n 0` is every event). */
const DELIVERY_LOOKUP_IDS = 500;

/** Writes one event and its search text; returns its seq. */
export function insertEvent(c: Connection, event: WebhookEvent, description: EventDescription): number | bigint {
  const { lastInsertRowid } = c.s.insertEvent.run(
    event.id,
    event.receivedAt,
    event.method,
    event.url,
    event.path,
    event.query,
    headersColumn.encode(event.headers),
    event.size,
    event.body.length,
    event.remoteAddress,
    event.name,
    targetsColumn.encode(event.targets),
    event.rejected ?? null,
    description.summary,
    event.body,
  );
  c.s.insertText.run(lastInsertRowid, description.text);
  const v = event.via;
  if (v) {
    c.s.insertVia.run(event.id, v.relay, v.channel, v.relayId ?? null, v.deliveryId ?? null, v.reserialised ? 1 : 0, Date.now());
    // The resume point moves in the event's own commit: it never passes an event that was not kept.
    if (v.relayId) saveRelayId(c, v.channel, v.relay, v.relayId);
  }
  return lastInsertRowid;
}

export type StoredRow = EventRowRaw & {
  url: string;
  query: string;
  headers: string;
  body: Uint8Array;
  remote_address: string;
  /** From relay_events, when the event came through a relay (read by readEvent only). */
  via_relay?: string | null;
  via_channel?: string | null;
  via_relay_id?: string | null;
  via_delivery_id?: string | null;
  via_reserialised?: number | null;
};

export function readEvent(c: Connection, id: string): WebhookEvent | undefined {
  const r = c.s.readEvent.get(id) as StoredRow | undefined;
  return r ? rowToEvent(r) : undefined;
}

/** An `events` row (every column) as the event it stores. */
export function rowToEvent(r: StoredRow): WebhookEvent {
  const event: WebhookEvent = {
    id: r.id,
    receivedAt: r.received_at,
    method: r.method,
    url: r.url,
    path: r.path,
    query: r.query,
    headers: headersColumn.decode(r.headers),
    body: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength),
    size: r.size,
    remoteAddress: r.remote_address,
    name: r.name,
    targets: targetsColumn.decode(r.targets),
    seq: r.seq,
  };
  if (r.rejected) event.rejected = r.rejected as WebhookEvent['rejected'];
  if (r.via_relay && r.via_channel) {
    event.via = { relay: r.via_relay === 'gosmee' ? 'gosmee' : 'smee', channel: r.via_channel, reserialised: r.via_reserialised === 1 };
    if (r.via_relay_id) event.via.relayId = r.via_relay_id;
    if (r.via_delivery_id) event.via.deliveryId = r.via_delivery_id;
  }
  return event;
}

export function deliveriesOf(c: Connection, id: string): DeliveryResult[] {
  return (c.s.deliveries.all(id) as { data: string }[]).map((d) => deliveryColumn.decode(d.data));
}

/** Newest first. */
export function listEvents(c: Connection, query: ListQuery): EventRow[] {
  const w = where(query);
  const raws = c.db.prepare(`SELECT ${ROW_COLUMNS} FROM events ${w.sql} ORDER BY seq DESC LIMIT ?`).all(...w.args, query.limit) as unknown as EventRowRaw[];
  return withDeliveries(c, raws);
}

export function countEvents(c: Connection, query: Omit<ListQuery, 'limit' | 'beforeId'>): number {
  if (!query.name && !query.grep) return (c.s.count.get() as { n: number }).n;
  const w = where(query);
  return (c.db.prepare(`SELECT count(*) AS n FROM events ${w.sql}`).get(...w.args) as { n: number }).n;
}

/** By id prefix, like git: an exact id wins; at most `max` rows. */
export function findEvents(c: Connection, prefix: string, max: number): EventRow[] {
  const seq = refSeq(prefix);
  if (seq !== undefined) return withDeliveries(c, c.db.prepare(`SELECT ${ROW_COLUMNS} FROM events WHERE seq = ?`).all(seq) as unknown as EventRowRaw[]);
  const p = prefix.toLowerCase();
  const exact = c.db.prepare(`SELECT ${ROW_COLUMNS} FROM events WHERE id = ?`).all(p) as unknown as EventRowRaw[];
  if (exact.length) return withDeliveries(c, exact);
  // '{' sorts right after 'z': every id with this prefix lies in [p, p + '{').
  const raws = c.db.prepare(`SELECT ${ROW_COLUMNS} FROM events WHERE id >= ? AND id < ? ORDER BY id LIMIT ?`).all(p, p + '{', max) as unknown as EventRowRaw[];
  return withDeliveries(c, raws);
}

function toRow(r: EventRowRaw, deliveries: DeliveryResult[]): EventRow {
  const row: EventRow = {
    seq: r.seq,
    id: r.id,
    receivedAt: r.received_at,
    name: r.name,
    method: r.method,
    path: r.path,
    size: r.size,
    targets: targetsColumn.decode(r.targets),
    summary: r.summary,
    deliveries,
  };
  if (r.rejected) row.rejected = r.rejected as WebhookEvent['rejected'];
  return row;
}

function withDeliveries(c: Connection, raws: EventRowRaw[]): EventRow[] {
  const byId = new Map<string, DeliveryResult[]>();
  // In pieces: one `?` per event went past SQLite's limit of 32,766 variables. An event's deliveries are all in its
  // piece, in order.
  for (let from = 0; from < raws.length; from += DELIVERY_LOOKUP_IDS) {
    const ids = raws.slice(from, from + DELIVERY_LOOKUP_IDS).map((r) => r.id);
    const found = c.db
      .prepare(`SELECT event_id, data FROM deliveries WHERE event_id IN (${ids.map(() => '?').join(',')}) ORDER BY seq`)
      .all(...ids) as { event_id: string; data: string }[];
    for (const d of found) {
      const list = byId.get(d.event_id) ?? [];
      list.push(deliveryColumn.decode(d.data));
      byId.set(d.event_id, list);
    }
  }
  return raws.map((r) => toRow(r, byId.get(r.id) ?? []));
}

function where(q: Omit<ListQuery, 'limit'>): { sql: string; args: (string | number)[] } {
  const parts: string[] = [];
  const args: (string | number)[] = [];
  if (q.beforeId !== undefined) {
    parts.push('seq < (SELECT seq FROM events WHERE id = ?)');
    args.push(q.beforeId);
  }
  if (q.name) {
    parts.push('name = ?');
    args.push(q.name);
  }
  const key = q.grep ? searchKey(q.grep) : '';
  if (key) {
    // A scan of the small text table (a few MB at 100,000 events), never of the bodies.
    parts.push(`seq IN (SELECT seq FROM events_text WHERE text LIKE ? ESCAPE '\\')`);
    args.push(`%${key.replace(/[\\%_]/g, (ch) => '\\' + ch)}%`);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', args };
}
