import type { Connection } from './connection.js';
import type { RelaySeen } from './types.js';

/** The last relay id stored for a channel: where a new subscription resumes. */
export function lastRelayId(c: Connection, channel: string): string | undefined {
  const row = c.db.prepare('SELECT last_id FROM relay_channels WHERE channel = ?').get(channel) as { last_id: string | null } | undefined;
  return row?.last_id ?? undefined;
}

export function saveRelayId(c: Connection, channel: string, relay: string, id: string): void {
  c.s.saveRelayId.run(channel, relay, id, Date.now());
}

/** The ids of the channel's events stored since `sinceMs` (at most `max` of each, newest first). */
export function relaySeen(c: Connection, channel: string, sinceMs: number, max: number): RelaySeen {
  const rows = c.db
    .prepare('SELECT relay_id, delivery_id FROM relay_events WHERE at >= ? AND channel = ? ORDER BY at DESC LIMIT ?')
    .all(sinceMs, channel, max) as { relay_id: string | null; delivery_id: string | null }[];
  return {
    relayIds: rows.flatMap((r) => (r.relay_id ? [r.relay_id] : [])),
    deliveryIds: rows.flatMap((r) => (r.delivery_id ? [r.delivery_id] : [])),
  };
}

/** Keeps a channel as the one a bare `--relay` uses (the newest kept or used). */
export function keepRelayChannel(c: Connection, channel: string, relay: string): void {
  c.db
    .prepare('INSERT INTO relay_channels (channel, relay, last_id, at) VALUES (?, ?, NULL, ?) ON CONFLICT (channel) DO UPDATE SET relay = excluded.relay, at = excluded.at')
    .run(channel, relay, Date.now());
}

/** The channel kept or used last, if any. */
export function keptRelayChannel(c: Connection): { channel: string; relay: string } | undefined {
  return c.db.prepare('SELECT channel, relay FROM relay_channels ORDER BY at DESC LIMIT 1').get() as { channel: string; relay: string } | undefined;
}
