import type { Connection } from './connection.js';
import { insertDelivery } from './deliveries.js';
import type { ControlRequest, PendingQuery, PendingRow } from './types.js';

/** Deliveries still owed, oldest first (optionally for some events or one target). */
export function pendingWhere(c: Connection, query: PendingQuery): PendingRow[] {
  const parts: string[] = [];
  const args: (string | number)[] = [];
  if (query.eventIds?.length) {
    parts.push(`p.event_id IN (${query.eventIds.map(() => '?').join(',')})`);
    args.push(...query.eventIds);
  }
  if (query.target) {
    parts.push('p.target = ?');
    args.push(query.target);
  }
  if (query.after) {
    parts.push('(p.event_seq, p.target) > (?, ?)');
    args.push(query.after.eventSeq, query.after.target);
  }
  const page = query.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(query.limit))}` : '';
  const rows = c.db
    .prepare(
      `SELECT p.event_id, p.target, p.event_seq, p.attempts, p.next_at, p.last_error, i.lease_until AS held_until, e.summary
       FROM pending p JOIN events e ON e.id = p.event_id LEFT JOIN instances i ON i.id = p.owner
       ${parts.length ? 'WHERE ' + parts.join(' AND ') : ''} ORDER BY p.event_seq, p.target${page}`,
    )
    .all(...args) as {
    event_id: string;
    target: string;
    event_seq: number;
    attempts: number;
    next_at: number | null;
    last_error: string | null;
    held_until: number | null;
    summary: string;
  }[];
  const now = Date.now();
  return rows.map((r) => {
    const row: PendingRow = {
      eventId: r.event_id,
      target: r.target,
      attempts: r.attempts,
      held: r.held_until !== null && r.held_until >= now,
      summary: r.summary,
      eventSeq: r.event_seq,
    };
    if (r.next_at !== null) row.nextAt = r.next_at;
    if (r.last_error !== null) row.lastError = r.last_error;
    return row;
  });
}

/** Gives up on owed deliveries: each gets a final `CANCELLED` attempt, and a running listener is told. */
export function cancelPending(c: Connection, query: PendingQuery): PendingRow[] {
  return c.tx(() => {
    const rows = pendingWhere(c, query);
    const now = new Date().toISOString();
    for (const r of rows) {
      insertDelivery(c, {
        eventId: r.eventId,
        target: r.target,
        url: r.target,
        method: '',
        attempt: r.attempts,
        final: true,
        error: 'CANCELLED',
        message: 'given up with webhook-listen cancel',
        durationMs: 0,
        at: now,
      });
      c.s.control.run('cancel', r.eventId, r.target, Date.now());
    }
    return rows;
  });
}

/** Asks the listener holding these owed deliveries to try them now. */
export function retryPending(c: Connection, query: PendingQuery): PendingRow[] {
  return c.tx(() => {
    const rows = pendingWhere(c, query);
    for (const r of rows) c.s.control.run('retry', r.eventId, r.target, Date.now());
    return rows;
  });
}

/** Requests newer than `after` (a seq), for the listener to act on. */
export function controlSince(c: Connection, after: number): ControlRequest[] {
  return (c.s.controlSince.all(after) as { seq: number; action: string; event_id: string; target: string | null }[]).map((r) => ({
    seq: r.seq,
    action: r.action as ControlRequest['action'],
    eventId: r.event_id,
    ...(r.target ? { target: r.target } : {}),
  }));
}

export function controlHead(c: Connection): number {
  return (c.db.prepare('SELECT coalesce(max(seq), 0) AS n FROM control').get() as { n: number }).n;
}
