import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { DeliveryResult, WebhookEvent } from '../event.js';
import { migrate } from './schema.js';
import { importLegacySegments } from './legacy.js';

/*
 * The event store: one SQLite database (WAL) in the store folder, through node:sqlite. Events keep their exact bytes
 * as a BLOB and their raw headers in order; every delivery attempt is a row; a delivery still owed is a `pending`
 * row that a listener claims by writing its instance id in it. The lease is the instance's (one row in `instances`,
 * whose expiry the listener renews), not the pending row's: renewing costs one row however long the backlog (a lease
 * per row rewrote every owed delivery every 3 s: 200k of them held the loop for 0.2 s). So two listeners on one store,
 * or one restarted under the same PID, deliver each pending event exactly once. No liveness check by PID.
 */

export const DB_FILE = 'events.db';

export class StoreError extends Error {
  constructor(
    message: string,
    readonly kind: 'full' | 'readonly' | 'io' | 'corrupt' | 'busy' | 'other' = 'other',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** What the caller knows how to say about an event: its summary (opaque JSON) and the text search looks in. */
export interface EventDescription {
  summary: string;
  text: string;
}

/** One stored event without its body: what a list shows. */
export interface EventRow {
  seq: number;
  id: string;
  receivedAt: string;
  name: string | null;
  method: string;
  path: string;
  size: number;
  rejected?: WebhookEvent['rejected'];
  targets: string[];
  /** The caller's summary, as it gave it (JSON). */
  summary: string;
  deliveries: DeliveryResult[];
}

export interface ListQuery {
  limit: number;
  /** Only events older than the one with this id (paging; nothing when that event is gone). */
  beforeId?: string;
  name?: string;
  /** Text the event's summary, id, name or path contains (case-insensitive). */
  grep?: string;
}

/** A delivery still owed, as `webhook-listen pending` lists it. */
export interface PendingRow {
  eventId: string;
  target: string;
  attempts: number;
  /** When the holder tries next (ms since epoch), when it said. */
  nextAt?: number;
  lastError?: string;
  /** Whether a running listener holds it now. */
  held: boolean;
  summary: string;
}

export interface ControlRequest {
  seq: number;
  /** `release`: a listener gave its claims back (stopped, or found dead); `eventId` is its instance id. */
  action: 'cancel' | 'retry' | 'release';
  eventId: string;
  target?: string;
}

/** A delivery still owed to a target, claimed by this store handle. */
export interface PendingJob {
  eventId: string;
  target: string;
  attempts: number;
}

export interface StoreOptions {
  /** Keep at least this many newest events; older ones whose deliveries are all final are deleted. */
  keep: number;
  /** How long a claim on a pending delivery lasts unless renewed. */
  leaseMs?: number;
  /** Describes events imported from a 0.1.0 store. */
  describe(event: WebhookEvent): EventDescription;
  warn?(message: string): void;
}

export interface StoreHandle {
  readonly dir: string;
  readonly file: string;
  /**
   * Writes the events (and a pending row per target, claimed by this handle), then the delivery attempts (as
   * appendDelivery), in one transaction.
   */
  appendEvents(items: { event: WebhookEvent; description: EventDescription }[], results?: DeliveryResult[]): void;
  /** Records an attempt; a final one (not a replay) settles the pending delivery. */
  appendDelivery(result: DeliveryResult): void;
  readEvent(id: string): WebhookEvent | undefined;
  deliveries(id: string): DeliveryResult[];
  /** Newest first. */
  list(query: ListQuery): EventRow[];
  count(query?: Omit<ListQuery, 'limit' | 'beforeId'>): number;
  /** By id prefix, like git: an exact id wins; at most `max` rows. */
  find(prefix: string, max?: number): EventRow[];
  /** Claims pending deliveries for these targets that nobody holds (or whose lease ran out), oldest first. */
  claimPending(targets: string[]): PendingJob[];
  /** Says how another process can tell this listener is alive: GET `url` answers `answer`. */
  register(probe: { url: string; answer: string }): void;
  /** Listeners holding live leases on deliveries owed to these targets, with how to ask whether they are alive. */
  holders(targets: string[]): { owner: string; probeUrl?: string; answer?: string }[];
  /** Frees the claims of a listener found dead, so they can be claimed at once. */
  expire(owner: string): void;
  /**
   * Frees the claims of the listeners that stopped renewing their lease (killed, or asleep); returns how many there
   * were. Each, like a listener that stops, leaves a `release` request for the others.
   */
  expireLapsed(): number;
  /** Deliveries still owed, oldest first (optionally for some events or one target). */
  listPending(query?: { eventIds?: string[]; target?: string }): PendingRow[];
  /**
   * Gives up on owed deliveries (of these events, or all; to one target, or all): each gets a final `CANCELLED`
   * attempt, and a running listener is told. Returns what was cancelled.
   */
  cancelPending(query: { eventIds?: string[]; target?: string }): PendingRow[];
  /** Asks the listener holding these owed deliveries to try them now. Returns the rows it concerns. */
  retryPending(query: { eventIds?: string[]; target?: string }): PendingRow[];
  /** Requests newer than `after` (a seq), for the listener to act on. */
  controlSince(after: number): ControlRequest[];
  /** The newest request's seq (where a listener starts reading). */
  controlHead(): number;
  /** Extends this handle's leases; call well within leaseMs. */
  renewLeases(): void;
  /** Gives this handle's claims back (at shutdown), so the next start resumes them at once. */
  releaseLeases(): void;
  /** Deletes events beyond --keep whose deliveries are all final, and gives the space back; returns how many. */
  prune(): number;
  /** Notices the database file deleted or replaced by hand, and opens a fresh one; returns what to tell the user. */
  checkFile(): string | undefined;
  close(): void;
}

const SQLITE = { BUSY: 5, READONLY: 8, IOERR: 10, CORRUPT: 11, FULL: 13, CANTOPEN: 14, NOTADB: 26 };

/** A SQLite or file error as one line a person can act on. */
export function describeStoreError(err: unknown, dir: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as NodeJS.ErrnoException & { errcode?: number; errstr?: string };
  const primary = typeof e.errcode === 'number' ? e.errcode & 0xff : undefined;
  const code = e.code;
  if (primary === SQLITE.FULL || code === 'ENOSPC')
    return new StoreError(`the disk holding the event store ${dir} is full (ENOSPC) — free some space or pass --store <dir>`, 'full', { cause: err });
  if (code === 'ENOTDIR' || code === 'EEXIST')
    return new StoreError(`the event store ${dir} cannot be a folder there (${code}: a file is in the way) — pass --store <dir>`, 'readonly', { cause: err });
  if (primary === SQLITE.READONLY || primary === SQLITE.CANTOPEN || code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return new StoreError(
      `the event store ${dir} is not writable (${code?.startsWith('E') ? code : (e.errstr ?? 'read-only')}) — fix its permissions or pass --store <dir>`,
      'readonly',
      { cause: err },
    );
  if (primary === SQLITE.CORRUPT || primary === SQLITE.NOTADB)
    return new StoreError(
      `the event store ${join(dir, DB_FILE)} is damaged (${e.message}) — move it aside and start again; \`sqlite3 ${DB_FILE} .recover\` can save what is readable`,
      'corrupt',
      { cause: err },
    );
  if (primary === SQLITE.BUSY)
    return new StoreError(`the event store ${dir} stayed locked by another process for 5 s — try again`, 'busy', { cause: err });
  if (primary === SQLITE.IOERR)
    return new StoreError(`cannot write the event store ${dir} (I/O error: ${e.message}) — check the disk, or pass --store <dir>`, 'io', { cause: err });
  return new StoreError(`the event store ${dir}: ${e.message ?? String(err)} — pass --store <dir> to use another folder`, 'other', { cause: err });
}

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
/**
 * How often the store is pruned, in events. Every 100 held the loop for less at a time, but took the tunnel bench
 * from 0.74× to 0.60× of the plain client's throughput when each prune still read every pending row (before the
 * NOT EXISTS form below; not measured again since).
 */
const PRUNE_EVERY = 500;
/**
 * A prune looks at the events that became old since the last one, and at this many of the older ones kept because a
 * delivery was owed (they may be settled now, here or by another process), going round them prune after prune: a
 * look at all of them at once held the loop 0.4 s with 200k owed (BENCHMARKS.md).
 */
const OWED_LOOK = 2000;
/** Events in [?1, ?2) with no delivery owed. */
const PRUNABLE = 'e.seq >= ?1 AND e.seq < ?2 AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.event_id = e.id)';
/** Free pages are given back to the file system once they are this share of the file (else new events reuse them). */
const VACUUM_FREE_SHARE = 0.25;
/** Pages moved per vacuum step, so that one step stays short. */
const VACUUM_STEP = 2000;

/** node:sqlite, loaded when a store is opened, not at start-up. */
const sqlite = (): typeof import('node:sqlite') => process.getBuiltinModule('node:sqlite');

/** Event ids per look-up of their deliveries (a list's page is 20 to 500; `events -n 0` is every event). */
const DELIVERY_LOOKUP_IDS = 500;

/** Connections tried when SQLite refuses to wait (below). */
const OPEN_TRIES = 5;

function openDatabase(file: string): DatabaseSync {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  let db: DatabaseSync;
  for (let attempt = 1; ; attempt++) {
    db = new (sqlite().DatabaseSync)(file);
    const started = Date.now();
    try {
      // The busy timeout first: two listeners opening a new store at once must wait for each other, not fail. Then
      // auto_vacuum, before anything is written: switching to WAL writes the file's first page, after which
      // auto_vacuum can no longer change (it stayed off, and pruning never gave space back, until this order).
      db.exec('PRAGMA busy_timeout = 5000; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;');
      break;
    } catch (err) {
      db.close();
      // Two listeners turning a new file into a WAL database at the same moment: each holds a shared lock and asks
      // for the exclusive one, and SQLite answers one of them SQLITE_BUSY at once rather than let both wait for ever
      // (the busy timeout does not apply). The other converts the file; a new connection finds a WAL database. A
      // lock held past the busy timeout is not retried: that is another process really holding the store.
      const code = (err as { errcode?: number }).errcode;
      const atOnce = Date.now() - started < 1000;
      if (code === undefined || (code & 0xff) !== SQLITE.BUSY || !atOnce || attempt >= OPEN_TRIES) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 * attempt);
    }
  }
  // A checkpoint (WAL pages copied into the file, then both flushed to disk) runs inside a commit, on the event loop.
  // 500 pages rather than SQLite's 1,000: stalls of ~1.7 ms twice as often instead of 3–4 ms. The forwarding bench's
  // p99 at 1,000 req/s is made of these: +8.1 ms at 1,000, +4.5 ms at 500, +4.2 ms at 250; flat-out throughput pays
  // 2 %, 7 %, 11 % (BENCHMARKS.md).
  db.exec('PRAGMA wal_autocheckpoint = 500;');
  migrate(db);
  return db;
}

/** Opens (creating if needed) the store in `dir`; throws a StoreError a person can act on. */
export function openStore(dir: string, options: StoreOptions): StoreHandle {
  const file = join(dir, DB_FILE);
  const leaseMs = options.leaseMs ?? 10_000;
  const instance = `${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let db: DatabaseSync;
  let inode = 0;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if ((statSync(dir).mode & 0o077) !== 0)
      options.warn?.(`the event store ${dir} can be read by other users of this machine (events carry auth headers and customers' messages) — chmod 700 it`);
    db = openDatabase(file);
    inode = statSync(file).ino;
  } catch (err) {
    throw describeStoreError(err, dir);
  }

  let s: ReturnType<typeof prepare>;
  const prepare = (d: DatabaseSync) => ({
    insertEvent: d.prepare(
      `INSERT INTO events (id, received_at, method, url, path, query, headers, size, body_size, remote_address, name, targets, rejected, summary, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertText: d.prepare('INSERT INTO events_text (seq, text) VALUES (?, ?)'),
    // pending.lease_until is no longer read: the owner's lease is in instances.
    insertPending: d.prepare('INSERT OR IGNORE INTO pending (event_id, target, event_seq, attempts, owner) VALUES (?, ?, ?, 0, ?)'),
    insertDelivery: d.prepare('INSERT INTO deliveries (event_id, target, final, replay, status, data) VALUES (?, ?, ?, ?, ?, ?)'),
    settle: d.prepare('DELETE FROM pending WHERE event_id = ? AND target = ?'),
    attempted: d.prepare('UPDATE pending SET attempts = ?, next_at = ?, last_error = ? WHERE event_id = ? AND target = ?'),
    readEvent: d.prepare('SELECT * FROM events WHERE id = ?'),
    deliveries: d.prepare('SELECT data FROM deliveries WHERE event_id = ? ORDER BY seq'),
    // The instance row, with what register() said: back, probe and all, if another listener took this one for dead
    // meanwhile (asleep).
    hold: d.prepare(
      'INSERT INTO instances (id, probe_url, answer, lease_until) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET probe_url = excluded.probe_url, answer = excluded.answer, lease_until = excluded.lease_until',
    ),
    lapsed: d.prepare('SELECT id FROM instances WHERE id != ? AND lease_until < ?'),
    unregister: d.prepare('DELETE FROM instances WHERE id = ?'),
    count: d.prepare('SELECT count(*) AS n FROM events'),
    // Two subqueries: SQLite reads min() or max() of a key from the b-tree's edge only when a query asks for one of
    // them; asked for both at once, it scanned the whole table (bodies included) at every prune check.
    bounds: d.prepare('SELECT (SELECT min(seq) FROM events) AS lo, (SELECT max(seq) FROM events) AS hi'),
    // Pruning, set by set: what still has a pending delivery stays, whatever its age.
    anyDelivery: d.prepare('SELECT 1 AS one FROM deliveries LIMIT 1'),
    // Each looks at the events in [from, cut) and asks the pending table's key about each one: its cost follows the
    // events it looks at, never the size of a backlog (`seq NOT IN (SELECT event_seq FROM pending)` read every pending
    // row at every prune: 200k owed deliveries held the loop for 0.2 s, BENCHMARKS.md).
    pruneDeliveries: d.prepare(`DELETE FROM deliveries WHERE event_id IN (SELECT id FROM events e WHERE ${PRUNABLE})`),
    pruneText: d.prepare(`DELETE FROM events_text WHERE seq IN (SELECT seq FROM events e WHERE ${PRUNABLE})`),
    pruneEvents: d.prepare(`DELETE FROM events AS e WHERE ${PRUNABLE}`),
    freePages: d.prepare('PRAGMA freelist_count'),
    pages: d.prepare('PRAGMA page_count'),
    begin: d.prepare('BEGIN IMMEDIATE'),
    commit: d.prepare('COMMIT'),
    control: d.prepare('INSERT INTO control (action, event_id, target, at) VALUES (?, ?, ?, ?)'),
    controlSince: d.prepare('SELECT seq, action, event_id, target FROM control WHERE seq > ? ORDER BY seq'),
  });
  s = prepare(db);
  let sinceUnprune = 0;
  let closed = false;

  const tx = <T>(work: () => T): T => {
    // Prepared once: every event-loop turn with events runs these two, and parsing them each time showed up.
    s.begin.run();
    try {
      const out = work();
      s.commit.run();
      return out;
    } catch (err) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // SQLite may have rolled back already (disk full does).
      }
      throw err;
    }
  };
  const guard = <T>(work: () => T): T => {
    if (closed) throw new StoreError('the event store is closed');
    try {
      return work();
    } catch (err) {
      throw describeStoreError(err, dir);
    }
  };

  const toRow = (r: EventRowRaw, deliveries: DeliveryResult[]): EventRow => {
    const row: EventRow = {
      seq: r.seq,
      id: r.id,
      receivedAt: r.received_at,
      name: r.name,
      method: r.method,
      path: r.path,
      size: r.size,
      targets: JSON.parse(r.targets) as string[],
      summary: r.summary,
      deliveries,
    };
    if (r.rejected) row.rejected = r.rejected as WebhookEvent['rejected'];
    return row;
  };
  const withDeliveries = (raws: EventRowRaw[]): EventRow[] => {
    const byId = new Map<string, DeliveryResult[]>();
    // In pieces: one `?` per event went past SQLite's limit of 32,766 variables, and `events -n 0` on a larger store
    // failed with "too many SQL variables". An event's deliveries are all in its piece, in order.
    for (let from = 0; from < raws.length; from += DELIVERY_LOOKUP_IDS) {
      const ids = raws.slice(from, from + DELIVERY_LOOKUP_IDS).map((r) => r.id);
      const found = db
        .prepare(`SELECT event_id, data FROM deliveries WHERE event_id IN (${ids.map(() => '?').join(',')}) ORDER BY seq`)
        .all(...ids) as { event_id: string; data: string }[];
      for (const d of found) {
        const list = byId.get(d.event_id) ?? [];
        list.push(JSON.parse(d.data) as DeliveryResult);
        byId.set(d.event_id, list);
      }
    }
    return raws.map((r) => toRow(r, byId.get(r.id) ?? []));
  };
  const where = (q: Omit<ListQuery, 'limit'>): { sql: string; args: (string | number)[] } => {
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
    if (q.grep) {
      // A scan of the small text table (a few MB at 100,000 events), never of the bodies.
      parts.push(`seq IN (SELECT seq FROM events_text WHERE text LIKE ? ESCAPE '\\')`);
      args.push(`%${q.grep.replace(/[\\%_]/g, (c) => '\\' + c)}%`);
    }
    return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', args };
  };

  /**
   * Deletes what is past --keep; inside a transaction. Events are only ever added at the new end and pruned from the
   * old one, so the newest `keep` are the seqs above max - keep: two index look-ups instead of counting rows. Below
   * `looked`, every event has been looked at by an earlier prune of this handle: only those owed a delivery remain,
   * and `owedFrom` is where the next look at them starts. `all` looks at every old event at once (an explicit prune).
   */
  let looked = 0;
  let owedFrom = 0;
  const pruneRange = (from: number, to: number, deliveries: boolean): number => {
    if (from >= to) return 0;
    if (deliveries) s.pruneDeliveries.run(from, to);
    s.pruneText.run(from, to);
    return Number(s.pruneEvents.run(from, to).changes);
  };
  const pruneRows = (all: boolean): number => {
    if (options.keep <= 0) return 0;
    const { lo, hi } = s.bounds.get() as { lo: number | null; hi: number | null };
    if (lo === null || hi === null || hi - lo + 1 <= options.keep) return 0;
    const cut = hi - options.keep + 1;
    const fresh = Math.max(lo, looked);
    looked = Math.max(looked, cut);
    // Without forwarding there are no deliveries: not worth finding the old events' ids for (a third of a prune).
    const deliveries = s.anyDelivery.get() !== undefined;
    let gone = pruneRange(fresh, cut, deliveries);
    const start = all ? lo : Math.max(lo, owedFrom);
    const end = all ? fresh : Math.min(fresh, start + OWED_LOOK);
    gone += pruneRange(start, end, deliveries);
    owedFrom = end >= fresh ? lo : end;
    return gone;
  };
  /**
   * Freed pages are reused by the events that follow; they go back to the file system only when many are free (a
   * lower --keep, a burst that went): moving pages on every prune doubled what each prune wrote.
   */
  const giveSpaceBack = (): void => {
    const free = (s.freePages.get() as { freelist_count: number }).freelist_count;
    const pages = (s.pages.get() as { page_count: number }).page_count;
    if (free > pages * VACUUM_FREE_SHARE) db.exec(`PRAGMA incremental_vacuum(${VACUUM_STEP})`);
  };
  const prune = (): number =>
    guard(() => {
      const gone = tx(() => pruneRows(true));
      if (gone > 0) giveSpaceBack();
      return gone;
    });

  try {
    const imported = importLegacySegments(dir, (events, deliveries) =>
      tx(() => {
        // Pending rows for every target, settled by the final deliveries that follow: what is left was owed.
        for (const event of events) insertEvent(event, options.describe(event), false);
        for (const d of deliveries) insertDelivery(d);
      }),
    );
    if (imported) options.warn?.(imported);
  } catch (err) {
    options.warn?.(`could not import the 0.1.0 store files in ${dir}: ${(err as Error).message}`);
  }

  /** Whether this handle's instance row is in the table (claims are only made under it), and what register() said. */
  let holding = false;
  let probe = { url: '', answer: '' };
  function hold(): void {
    s.hold.run(instance, probe.url, probe.answer, Date.now() + leaseMs);
    holding = true;
  }
  /**
   * Frees a listener's claims and forgets it (this one at shutdown, or one found dead): its rows keep its id, which
   * no live instance has any more. The others are told through the control table (they look every second).
   */
  function release(owner: string): void {
    s.unregister.run(owner);
    s.control.run('release', owner, null, Date.now());
    if (owner === instance) holding = false;
  }
  function unclaim(owner: string): void {
    guard(() => tx(() => release(owner)));
  }

  function pendingWhere(query: { eventIds?: string[]; target?: string }): PendingRow[] {
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
    const rows = db
      .prepare(
        `SELECT p.event_id, p.target, p.attempts, p.next_at, p.last_error, i.lease_until AS held_until, e.summary
         FROM pending p JOIN events e ON e.id = p.event_id LEFT JOIN instances i ON i.id = p.owner
         ${parts.length ? 'WHERE ' + parts.join(' AND ') : ''} ORDER BY p.event_seq`,
      )
      .all(...args) as {
      event_id: string;
      target: string;
      attempts: number;
      next_at: number | null;
      last_error: string | null;
      held_until: number | null;
      summary: string;
    }[];
    const now = Date.now();
    return rows.map((r) => {
      const row: PendingRow = { eventId: r.event_id, target: r.target, attempts: r.attempts, held: r.held_until !== null && r.held_until >= now, summary: r.summary };
      if (r.next_at !== null) row.nextAt = r.next_at;
      if (r.last_error !== null) row.lastError = r.last_error;
      return row;
    });
  }

  function insertEvent(event: WebhookEvent, description: EventDescription, claim: boolean): void {
    const { lastInsertRowid } = s.insertEvent.run(
      event.id,
      event.receivedAt,
      event.method,
      event.url,
      event.path,
      event.query,
      JSON.stringify(event.headers),
      event.size,
      event.body.length,
      event.remoteAddress,
      event.name,
      event.targets.length === 0 ? '[]' : JSON.stringify(event.targets),
      event.rejected ?? null,
      description.summary,
      event.body,
    );
    s.insertText.run(lastInsertRowid, description.text);
    if (claim && !holding && event.targets.length > 0) hold();
    for (const target of event.targets) s.insertPending.run(event.id, target, lastInsertRowid, claim ? instance : null);
  }
  function insertDelivery(result: DeliveryResult): void {
    s.insertDelivery.run(result.eventId, result.target, result.final ? 1 : 0, result.replay ? 1 : 0, result.status ?? null, JSON.stringify(result));
    if (result.replay) return;
    if (result.final) s.settle.run(result.eventId, result.target);
    else
      s.attempted.run(
        result.attempt,
        result.retryInMs !== undefined ? Date.now() + result.retryInMs : null,
        result.error ?? (result.status !== undefined ? String(result.status) : null),
        result.eventId,
        result.target,
      );
  }

  return {
    dir,
    file,
    appendEvents(items, results = []) {
      sinceUnprune += items.length;
      const due = items.length > 0 && sinceUnprune >= Math.min(PRUNE_EVERY, Math.max(10, Math.ceil(options.keep / 10)));
      let pruned = 0;
      guard(() =>
        tx(() => {
          for (const { event, description } of items) insertEvent(event, description, true);
          for (const result of results) insertDelivery(result);
          if (!due) return;
          // In the same commit (a commit of its own costs as much as the events'), under a savepoint: a prune that
          // fails is undone alone and said, the events stay written.
          sinceUnprune = 0;
          db.exec('SAVEPOINT prune');
          try {
            pruned = pruneRows(false);
            db.exec('RELEASE prune');
          } catch (err) {
            db.exec('ROLLBACK TO prune; RELEASE prune');
            options.warn?.(`could not prune the event store: ${(err as Error).message}`);
          }
        }),
      );
      if (pruned > 0) {
        try {
          giveSpaceBack();
        } catch (err) {
          options.warn?.(`could not give the event store's free space back: ${(err as Error).message}`);
        }
      }
    },
    appendDelivery(result) {
      guard(() => tx(() => insertDelivery(result)));
    },
    readEvent(id) {
      return guard(() => {
        const r = s.readEvent.get(id) as (EventRowRaw & { url: string; query: string; headers: string; body: Uint8Array; remote_address: string }) | undefined;
        if (!r) return undefined;
        const event: WebhookEvent = {
          id: r.id,
          receivedAt: r.received_at,
          method: r.method,
          url: r.url,
          path: r.path,
          query: r.query,
          headers: JSON.parse(r.headers) as [string, string][],
          body: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength),
          size: r.size,
          remoteAddress: r.remote_address,
          name: r.name,
          targets: JSON.parse(r.targets) as string[],
        };
        if (r.rejected) event.rejected = r.rejected as WebhookEvent['rejected'];
        return event;
      });
    },
    deliveries(id) {
      return guard(() => (s.deliveries.all(id) as { data: string }[]).map((d) => JSON.parse(d.data) as DeliveryResult));
    },
    list(query) {
      return guard(() => {
        const w = where(query);
        const raws = db.prepare(`SELECT ${ROW_COLUMNS} FROM events ${w.sql} ORDER BY seq DESC LIMIT ?`).all(...w.args, query.limit) as unknown as EventRowRaw[];
        return withDeliveries(raws);
      });
    },
    count(query = {}) {
      return guard(() => {
        if (!query.name && !query.grep) return (s.count.get() as { n: number }).n;
        const w = where(query);
        return (db.prepare(`SELECT count(*) AS n FROM events ${w.sql}`).get(...w.args) as { n: number }).n;
      });
    },
    find(prefix, max = 5) {
      return guard(() => {
        const p = prefix.toLowerCase();
        const exact = db.prepare(`SELECT ${ROW_COLUMNS} FROM events WHERE id = ?`).all(p) as unknown as EventRowRaw[];
        if (exact.length) return withDeliveries(exact);
        // '{' sorts right after 'z': every id with this prefix lies in [p, p + '{').
        const raws = db.prepare(`SELECT ${ROW_COLUMNS} FROM events WHERE id >= ? AND id < ? ORDER BY id LIMIT ?`).all(p, p + '{', max) as unknown as EventRowRaw[];
        return withDeliveries(raws);
      });
    },
    claimPending(targets) {
      if (targets.length === 0) return [];
      return guard(() =>
        tx(() => {
          hold();
          const marks = targets.map(() => '?').join(',');
          // Unowned, or owned by no live instance (this one is live now: its own rows stay as they are). Read row by
          // row and kept as columns, not as one object per row (then copied twice to sort): a restart with 100k owed
          // left V8's heap at 120 MB for 20 MB of jobs.
          const rows = db
            .prepare(
              `UPDATE pending SET owner = ?
               WHERE target IN (${marks}) AND (owner IS NULL OR owner NOT IN (SELECT id FROM instances WHERE lease_until >= ?))
               RETURNING event_id, target, attempts, event_seq`,
            )
            .iterate(instance, ...targets, Date.now()) as Iterable<{ event_id: string; target: string; attempts: number; event_seq: number }>;
          const ids: string[] = [];
          const owed: string[] = [];
          const tries: number[] = [];
          const seqs: number[] = [];
          for (const r of rows) {
            ids.push(r.event_id);
            owed.push(targets.find((t) => t === r.target) ?? r.target);
            tries.push(r.attempts);
            seqs.push(r.event_seq);
          }
          const order = Array.from(ids.keys()).sort((a, b) => seqs[a]! - seqs[b]!);
          return order.map((i) => ({ eventId: ids[i]!, target: owed[i]!, attempts: tries[i]! }));
        }),
      );
    },
    register(how) {
      probe = how;
      guard(hold);
    },
    holders(targets) {
      if (targets.length === 0) return [];
      return guard(() =>
        (
          db
            .prepare(
              `SELECT i.id AS owner, i.probe_url AS probeUrl, i.answer AS answer FROM instances i
               WHERE i.id != ? AND i.lease_until >= ?
                 AND EXISTS (SELECT 1 FROM pending p WHERE p.owner = i.id AND p.target IN (${targets.map(() => '?').join(',')}))`,
            )
            .all(instance, Date.now(), ...targets) as { owner: string; probeUrl: string | null; answer: string | null }[]
        ).map((h) => (h.probeUrl && h.answer ? { owner: h.owner, probeUrl: h.probeUrl, answer: h.answer } : { owner: h.owner })),
      );
    },
    expire: unclaim,
    expireLapsed() {
      return guard(() => {
        // Read first: no write lock taken every 3 s for nothing.
        if (s.lapsed.all(instance, Date.now()).length === 0) return 0;
        return tx(() => {
          const gone = s.lapsed.all(instance, Date.now()) as { id: string }[];
          for (const { id } of gone) release(id);
          return gone.length;
        });
      });
    },
    listPending(query = {}) {
      return guard(() => pendingWhere(query));
    },
    cancelPending(query) {
      return guard(() =>
        tx(() => {
          const rows = pendingWhere(query);
          const now = new Date().toISOString();
          for (const r of rows) {
            insertDelivery({
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
            s.control.run('cancel', r.eventId, r.target, Date.now());
          }
          return rows;
        }),
      );
    },
    retryPending(query) {
      return guard(() =>
        tx(() => {
          const rows = pendingWhere(query);
          for (const r of rows) s.control.run('retry', r.eventId, r.target, Date.now());
          return rows;
        }),
      );
    },
    controlSince(after) {
      return guard(
        () =>
          (s.controlSince.all(after) as { seq: number; action: string; event_id: string; target: string | null }[]).map((r) => ({
            seq: r.seq,
            action: r.action as ControlRequest['action'],
            eventId: r.event_id,
            ...(r.target ? { target: r.target } : {}),
          })),
      );
    },
    controlHead() {
      return guard(() => (db.prepare('SELECT coalesce(max(seq), 0) AS n FROM control').get() as { n: number }).n);
    },
    renewLeases() {
      guard(hold);
    },
    releaseLeases() {
      unclaim(instance);
    },
    prune,
    checkFile() {
      if (closed) return undefined;
      let now: number | undefined;
      try {
        now = statSync(file).ino;
      } catch {
        now = undefined;
      }
      if (now === inode) return undefined;
      try {
        db.close();
      } catch {
        // It is being replaced anyway.
      }
      try {
        db = openDatabase(file);
        inode = statSync(file).ino;
        s = prepare(db);
      } catch (err) {
        throw describeStoreError(err, dir);
      }
      return `the event store ${file} was ${now === undefined ? 'deleted' : 'replaced'} while webhook-listen ran — it writes to a new one from now on; events stored before are gone with the old file`;
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        db.close();
      } catch {
        // Nothing more can be done at shutdown.
      }
    },
  };
}
