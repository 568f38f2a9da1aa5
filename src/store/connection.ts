import { closeSync, existsSync, openSync, renameSync, statSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { SQLITE, StoreError, describeStoreError } from './errors.js';
import { migrate } from './schema.js';
import { OverwriteWatch } from './overwrite.js';
import type { Patience } from './types.js';

/** Events in [?1, ?2) with no delivery owed. */
export const PRUNABLE = 'e.seq >= ?1 AND e.seq < ?2 AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.event_id = e.id)';

/** node:sqlite, loaded when a store is opened, not at start-up. */
const sqlite = (): typeof import('node:sqlite') => process.getBuiltinModule('node:sqlite');

/** WAL pages that make a checkpoint due. */
const CHECKPOINT_PAGES = 500;

/** Connections tried when SQLite refuses to wait (below). */
const OPEN_TRIES = 5;

function openDatabase(file: string, busyMs: number): DatabaseSync {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  // auto_vacuum asks for the write lock even where it changes nothing: on a store that exists, `events` or `pending`
  // would fail while another process holds a write.
  const settings = statSync(file).size === 0 ? 'PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;' : 'PRAGMA journal_mode = WAL;';
  let db: DatabaseSync;
  for (let attempt = 1; ; attempt++) {
    db = new (sqlite().DatabaseSync)(file);
    const started = Date.now();
    try {
      // The busy timeout first: two listeners opening a new store at once must wait for each other, not fail. Then
      // auto_vacuum, before anything is written: switching to WAL writes the file's first page, after which
      // auto_vacuum can no longer change. synchronous=FULL: each commit is on the disk before its events are
      // answered, so a 200 survives a power cut or a filesystem gone read-only, not only a crash of this process
      // (one fsync per commit, and a commit holds a whole turn's events).
      db.exec(`PRAGMA busy_timeout = 5000; ${settings} PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;`);
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
  // Checkpoints are the connection's own (Connection#checkpoint), so that it can tell its writes to the file from
  // another program's.
  db.exec('PRAGMA wal_autocheckpoint = 0;');
  migrate(db);
  // From now on the store's own wait for a lock: a listener's commits wait on the event loop, so not for long.
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyMs))};`);
  return db;
}

export function prepareStatements(d: DatabaseSync) {
  return {
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
    readEvent: d.prepare(
      'SELECT e.*, r.relay AS via_relay, r.channel AS via_channel, r.relay_id AS via_relay_id, r.delivery_id AS via_delivery_id, r.reserialised AS via_reserialised FROM events e LEFT JOIN relay_events r ON r.event_id = e.id WHERE e.id = ?',
    ),
    insertVia: d.prepare('INSERT OR REPLACE INTO relay_events (event_id, relay, channel, relay_id, delivery_id, reserialised, at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    // Each relayed event with an id moves its channel's resume point in the same commit.
    saveRelayId: d.prepare(
      'INSERT INTO relay_channels (channel, relay, last_id, at) VALUES (?, ?, ?, ?) ON CONFLICT (channel) DO UPDATE SET relay = excluded.relay, last_id = excluded.last_id, at = excluded.at',
    ),
    deliveries: d.prepare('SELECT data FROM deliveries WHERE event_id = ? ORDER BY seq'),
    // The instance row, with what register() said: back, probe and all, if another listener took this one for dead
    // meanwhile (asleep).
    hold: d.prepare(
      'INSERT INTO instances (id, probe_url, answer, lease_until) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET probe_url = excluded.probe_url, answer = excluded.answer, lease_until = excluded.lease_until',
    ),
    renew: d.prepare('UPDATE instances SET lease_until = ? WHERE id = ?'),
    lapsed: d.prepare('SELECT id FROM instances WHERE id != ? AND lease_until < ?'),
    unregister: d.prepare('DELETE FROM instances WHERE id = ?'),
    count: d.prepare('SELECT count(*) AS n FROM events'),
    // Two subqueries: SQLite reads min() or max() of a key from the b-tree's edge only when a query asks for one of
    // them; asked for both at once, it scanned the whole table (bodies included) at every prune check.
    bounds: d.prepare('SELECT (SELECT min(seq) FROM events) AS lo, (SELECT max(seq) FROM events) AS hi'),
    // Pruning, set by set: what still has a pending delivery stays, whatever its age.
    anyDelivery: d.prepare('SELECT 1 AS one FROM deliveries LIMIT 1'),
    // Each looks at the events in [from, cut) and asks the pending table's key about each one: its cost follows the
    // events it looks at, never the size of a backlog.
    pruneDeliveries: d.prepare(`DELETE FROM deliveries WHERE event_id IN (SELECT id FROM events e WHERE ${PRUNABLE})`),
    anyRelayed: d.prepare('SELECT 1 AS one FROM relay_events LIMIT 1'),
    pruneRelayed: d.prepare(`DELETE FROM relay_events WHERE event_id IN (SELECT id FROM events e WHERE ${PRUNABLE})`),
    pruneText: d.prepare(`DELETE FROM events_text WHERE seq IN (SELECT seq FROM events e WHERE ${PRUNABLE})`),
    pruneEvents: d.prepare(`DELETE FROM events AS e WHERE ${PRUNABLE}`),
    freePages: d.prepare('PRAGMA freelist_count'),
    pages: d.prepare('PRAGMA page_count'),
    begin: d.prepare('BEGIN IMMEDIATE'),
    commit: d.prepare('COMMIT'),
    control: d.prepare('INSERT INTO control (action, event_id, target, at) VALUES (?, ?, ?, ?)'),
    controlSince: d.prepare('SELECT seq, action, event_id, target FROM control WHERE seq > ? ORDER BY seq'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

const isBusy = (err: unknown): boolean => ((err as { errcode?: number }).errcode ?? 0) % 256 === SQLITE.BUSY;

/**
 * One open database and its prepared statements, shared by the store's modules. `db` and `s` are read through this
 * object every time: a database file replaced by hand is reopened (reopen()) under the same Connection.
 */
export class Connection {
  db: DatabaseSync;
  s: Statements;
  /** The file the connection has open (device and inode), to notice it deleted or replaced. */
  #inode: number;
  #dev: number;
  closed = false;
  /**
   * The first sign of damage SQLite gave (SQLITE_CORRUPT, SQLITE_NOTADB) on any statement, write or check: until the
   * file at the path changes, new events are not written into it (they are answered 503).
   */
  damage?: StoreError;

  /** Notices the file's content written by another program (a copy onto the same inode). */
  readonly overwrite: OverwriteWatch;
  /** Said once, when a write first meets another process's lock and waits for it. */
  #waitSaid = false;

  constructor(
    readonly dir: string,
    readonly file: string,
    /** How long a statement waits for another process's lock before it fails (SQLITE_BUSY). */
    private readonly busyMs = 5000,
    /** A one-shot command's longer wait for a write lock, said to the user when it starts. */
    private readonly patience?: Patience,
  ) {
    this.db = openDatabase(file, busyMs);
    const st = statSync(file);
    this.#inode = st.ino;
    this.#dev = st.dev;
    this.s = prepareStatements(this.db);
    this.overwrite = new OverwriteWatch(file);
  }

  /** What the path names now: this connection's file, another one (replaced by hand), or nothing (deleted). */
  fileState(): 'same' | 'replaced' | 'deleted' {
    try {
      const st = statSync(this.file);
      return st.ino === this.#inode && st.dev === this.#dev ? 'same' : 'replaced';
    } catch {
      return 'deleted';
    }
  }

  /** Runs `work` in one write transaction (BEGIN IMMEDIATE … COMMIT), rolled back when it throws. */
  tx<T>(work: () => T): T {
    this.#begin();
    try {
      const out = work();
      this.s.commit.run();
      this.#checkpoint();
      return out;
    } catch (err) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // SQLite may have rolled back already (disk full does).
      }
      throw err;
    }
  }

  /**
   * Copies the WAL back into the file once it holds 500 pages: on the event loop, right after a commit, as SQLite's
   * own auto-checkpoint would (500 rather than its 1,000 halves each stall, which is what forwarding's p99 is made of:
   * BENCHMARKS.md, the store). Upkeep: the commit is already done, so a failure here is not the commit's.
   */
  #checkpoint(): void {
    if (this.overwrite.walBacklog() < CHECKPOINT_PAGES) return;
    try {
      this.overwrite.ours(() => this.db.exec('PRAGMA wal_checkpoint(PASSIVE)'));
    } catch {
      // Tried again after the next commit.
    }
  }

  #begin(): void {
    try {
      // Prepared once: every event-loop turn with events runs BEGIN and COMMIT, and parsing them each time showed up.
      this.s.begin.run();
      return;
    } catch (err) {
      if (!this.patience || !isBusy(err)) throw err;
    }
    const ms = this.patience.ms;
    const wait = ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
    if (!this.#waitSaid)
      this.patience.onWait(`another process is writing to the event store ${this.dir} — waiting up to ${wait} for it to let go (^C stops)`);
    this.#waitSaid = true;
    this.db.exec(`PRAGMA busy_timeout = ${this.patience.ms};`);
    try {
      this.s.begin.run();
    } catch (err) {
      if (!isBusy(err)) throw err;
      throw new StoreError(
        `the event store ${this.dir} stayed locked by another process for ${wait} (a sqlite3 shell or a backup holding a write) — find it with \`fuser ${this.file}\`, let it finish, then run this again`,
        'busy',
        { cause: err },
      );
    } finally {
      this.db.exec(`PRAGMA busy_timeout = ${this.busyMs};`);
    }
  }

  /** Runs `work`, turning any failure into a StoreError a person can act on. */
  guard<T>(work: () => T): T {
    if (this.closed) throw new StoreError('the event store is closed');
    try {
      return work();
    } catch (err) {
      const described = describeStoreError(err, this.dir);
      if (described.kind === 'corrupt') this.damage ??= described;
      throw described;
    }
  }

  /**
   * Opens the file at the same path again (it was deleted or replaced). The WAL beside it belongs to the old file:
   * opened with another database, SQLite would replay its pages onto it and damage it, so it is moved aside first.
   */
  reopen(): void {
    try {
      this.db.close();
    } catch {
      // It is being replaced anyway.
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    for (const suffix of ['-wal', '-shm'])
      try {
        renameSync(this.file + suffix, `${this.file}${suffix}.stale-${stamp}`);
      } catch {
        // Not there (deleted with the file, or checkpointed away on close).
      }
    this.damage = undefined;
    this.overwrite.reset();
    try {
      this.db = openDatabase(this.file, this.busyMs);
      const st = statSync(this.file);
      this.#inode = st.ino;
      this.#dev = st.dev;
      this.s = prepareStatements(this.db);
    } catch (err) {
      throw describeStoreError(err, this.dir);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.overwrite.reset();
    try {
      this.db.close();
    } catch {
      // Nothing more can be done at shutdown.
    }
  }
}
