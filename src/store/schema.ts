import type { DatabaseSync } from 'node:sqlite';

/**
 * Forward-only migrations: MIGRATIONS[i] takes a database at user_version i to i + 1. Never edit one that has
 * shipped; add the next.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,
    headers TEXT NOT NULL,
    size INTEGER NOT NULL,
    body_size INTEGER NOT NULL,
    remote_address TEXT NOT NULL,
    name TEXT,
    targets TEXT NOT NULL,
    rejected TEXT,
    summary TEXT NOT NULL,
    -- Last: a row's other columns are read without walking the body's overflow pages.
    body BLOB NOT NULL
  );
  CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    target TEXT NOT NULL,
    final INTEGER NOT NULL,
    replay INTEGER NOT NULL,
    status INTEGER,
    data TEXT NOT NULL
  );
  CREATE INDEX deliveries_by_event ON deliveries (event_id, seq);
  CREATE TABLE pending (
    event_id TEXT NOT NULL,
    target TEXT NOT NULL,
    event_seq INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER,
    last_error TEXT,
    PRIMARY KEY (event_id, target)
  ) WITHOUT ROWID;
  CREATE INDEX pending_by_target ON pending (target, event_seq);
  -- What search looks in, apart from the events so a search scans a few MB rather than every body. (An FTS5
  -- trigram index made each event cost 50 µs more to store: BENCHMARKS.md.)
  CREATE TABLE events_text (seq INTEGER PRIMARY KEY, text TEXT NOT NULL);
  -- Requests from other processes (webhook-listen cancel / retry, the inspector) for whichever listener holds the
  -- delivery; each listener reads the rows newer than the last it saw, about once a second.
  CREATE TABLE control (seq INTEGER PRIMARY KEY, action TEXT NOT NULL, event_id TEXT NOT NULL, target TEXT, at INTEGER NOT NULL);
  CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    probe_url TEXT NOT NULL,
    answer TEXT NOT NULL,
    lease_until INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 1 → 2: pending_by_target cost two page writes per forwarded event (its row in, then out: 19 → 17 pwrite calls
  // an event) for queries that now run only when a listener stops or starts, and read every owed row anyway.
  // pending.lease_until stays, no longer read (the lease is the owner's, in instances).
  `
  DROP INDEX IF EXISTS pending_by_target;
  `,
  // 2 → 3: events that came through a webhook relay (--relay): which channel, the relay's and the provider's ids (a
  // redelivery after a reconnect is stored once), and whether the body was re-serialised. A table of its own: a
  // column added to events would come after the body. And each channel's resume point (the last relay id stored).
  `
  CREATE TABLE relay_events (
    event_id TEXT PRIMARY KEY,
    relay TEXT NOT NULL,
    channel TEXT NOT NULL,
    relay_id TEXT,
    delivery_id TEXT,
    reserialised INTEGER NOT NULL,
    at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX relay_events_by_at ON relay_events (at);
  CREATE TABLE relay_channels (channel TEXT PRIMARY KEY, relay TEXT NOT NULL, last_id TEXT, at INTEGER NOT NULL) WITHOUT ROWID;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION; a newer database than this code knows is refused. */
export function migrate(db: DatabaseSync): void {
  const version = (): number => (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (version() === SCHEMA_VERSION) return;
  // Shrinkable from the start: takes effect only before the file's first page is written (openDatabase sets it before
  // switching to WAL, which writes that page; here for a database opened some other way).
  db.exec('PRAGMA auto_vacuum = INCREMENTAL');
  for (;;) {
    // The version is read again under the write lock: another process may have migrated meanwhile.
    db.exec('BEGIN IMMEDIATE');
    try {
      const v = version();
      if (v > SCHEMA_VERSION)
        throw new Error(`it was written by a newer webhook-listen (schema ${v}, this one knows ${SCHEMA_VERSION}) — upgrade webhook-listen`);
      if (v === SCHEMA_VERSION) {
        db.exec('COMMIT');
        return;
      }
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
}
