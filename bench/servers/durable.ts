// The fair peer (issue 28): what a careful engineer writes by hand for exactly webhook-listen's promise — every event in
// a crash-safe, queryable store before its 200, one line printed, forwarded in order with a record of every attempt.
// node:http; node:sqlite with one table, WAL, synchronous=FULL (as webhook-listen since issue 25), a group commit per
// event-loop turn, no answer before its commit. With a target (`durable.js <port> <target URL>`): one in-order lane
// through undici's Pool.dispatch, a delivery row per attempt written in the next group commit, 1,000 waiting events
// in memory and the rest read back by seq.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Pool } from 'undici';

const db = new DatabaseSync(join(mkdtempSync(join(tmpdir(), 'wl-durable-')), 'events.db'));
db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
  CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, method TEXT NOT NULL, url TEXT NOT NULL, headers TEXT NOT NULL, name TEXT, body BLOB NOT NULL);
  CREATE TABLE deliveries (seq INTEGER PRIMARY KEY, event_seq INTEGER NOT NULL, status INTEGER, error TEXT, at TEXT NOT NULL);
  CREATE TABLE cursor (id INTEGER PRIMARY KEY CHECK (id = 1), delivered INTEGER NOT NULL);
  INSERT INTO cursor VALUES (1, 0);`);
const insertEvent = db.prepare('INSERT INTO events (at, method, url, headers, name, body) VALUES (?, ?, ?, ?, ?, ?)');
const insertDelivery = db.prepare('INSERT INTO deliveries (event_seq, status, error, at) VALUES (?, ?, ?, ?)');
const moveCursor = db.prepare('UPDATE cursor SET delivered = ? WHERE id = 1');
const readBack = db.prepare('SELECT seq, method, url, headers, body FROM events WHERE seq > ? ORDER BY seq LIMIT 1000');
const begin = db.prepare('BEGIN');
const commit = db.prepare('COMMIT');

interface Pending {
  seq?: number;
  at: string;
  method: string;
  url: string;
  headers: string;
  name: string | null;
  body: Buffer;
  res: ServerResponse;
}
interface Attempt {
  seq: number;
  status: number | null;
  error: string | null;
  at: string;
}

let batch: Pending[] = [];
let attempts: Attempt[] = [];
let scheduled = false;

/** One transaction a turn: the turn's events, and the attempts made since the last one; then the answers. */
function flush(): void {
  scheduled = false;
  const events = batch;
  const done = attempts;
  batch = [];
  attempts = [];
  begin.run();
  for (const e of events) e.seq = Number(insertEvent.run(e.at, e.method, e.url, e.headers, e.name, e.body).lastInsertRowid);
  for (const a of done) insertDelivery.run(a.seq, a.status, a.error, a.at);
  if (done.length) moveCursor.run(done.at(-1)!.seq);
  commit.run();
  for (const e of events) {
    process.stdout.write(`${e.at.slice(11, 19)}  ${e.name ?? '?'}  ${e.method} ${e.url}  ${e.body.length} B\n`);
    e.res.writeHead(200, { 'content-type': 'application/json' });
    e.res.end('{"ok":true}');
    lane?.push(e.seq!, e);
  }
}

const schedule = (): void => {
  if (scheduled) return;
  scheduled = true;
  setImmediate(flush);
};

/** In order, one at a time; past 1,000 waiting, only the seq is kept and the event is read back. */
class Lane {
  readonly #pool: Pool;
  readonly #waiting: { seq: number; e?: Pick<Pending, 'method' | 'url' | 'headers' | 'body'> }[] = [];
  #busy = false;

  constructor(private readonly target: URL) {
    this.#pool = new Pool(target.origin, { connections: 1, pipelining: 1 });
  }

  push(seq: number, e: Pending): void {
    this.#waiting.push(this.#waiting.length < 1000 ? { seq, e } : { seq });
    this.#next();
  }

  #next(): void {
    if (this.#busy) return;
    const job = this.#waiting.shift();
    if (!job) return;
    const e = job.e ?? this.#readBack(job.seq);
    this.#busy = true;
    const chunks: Buffer[] = [];
    let status = 0;
    this.#pool.dispatch(
      { origin: this.target.origin, path: this.target.pathname, method: e.method as 'POST', headers: JSON.parse(e.headers) as string[], body: e.body },
      {
        onConnect() {},
        onHeaders: (s: number) => ((status = s), true),
        onData: (c: Buffer) => (chunks.push(c), true),
        onComplete: () => this.#settle(job.seq, status, null),
        onError: (err: Error) => this.#settle(job.seq, null, err.message),
      } as never,
    );
  }

  #readBack(seq: number): Pick<Pending, 'method' | 'url' | 'headers' | 'body'> {
    const row = readBack.get(seq - 1) as { method: string; url: string; headers: string; body: Uint8Array };
    return { method: row.method, url: row.url, headers: row.headers, body: Buffer.from(row.body) };
  }

  #settle(seq: number, status: number | null, error: string | null): void {
    attempts.push({ seq, status, error, at: new Date().toISOString() });
    schedule();
    this.#busy = false;
    this.#next();
  }
}

const target = process.argv[3];
const lane = target ? new Lane(new URL(target)) : undefined;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    let name: string | null = null;
    try {
      const v = JSON.parse(body.toString('utf8')) as { event?: unknown };
      name = typeof v.event === 'string' ? v.event : null;
    } catch {
      // Not JSON: kept all the same.
    }
    const headers: string[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i]!.toLowerCase();
      if (k !== 'host' && k !== 'connection' && k !== 'content-length' && k !== 'transfer-encoding') headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    }
    batch.push({ at: new Date().toISOString(), method: req.method ?? 'POST', url: req.url ?? '/', headers: JSON.stringify(headers), name, body, res });
    schedule();
  });
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
