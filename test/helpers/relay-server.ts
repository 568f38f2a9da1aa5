import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

/*
 * A test peer that speaks the two webhook relays' wire formats on 127.0.0.1, as their servers do (read from
 * github.com/probot/smee.io lib/server.js and github.com/chmouel/gosmee gosmee/server.go; ../shared/FIELD-NOTES.md).
 * Not a product feature.
 *
 * smee.io (`kind: 'smee'`):
 * - `GET /new` answers 307 to a new channel; `GET /<channel>` streams only when Accept is exactly text/event-stream
 *   (anything else gets the HTML page). First `id: 0` / `event: ready` / `data: {}`; `event: ping` every `pingMs`
 *   (30 s there); each webhook `id: N` / `data: <JSON>` with every request header lower-cased (host and
 *   content-length included), `body` (the *parsed* JSON), `query` and `timestamp`. Ids count from 0 on each
 *   connection; nothing is kept for a channel nobody listens to.
 * - `POST /<channel>` takes JSON only and keeps only the parsed value (what re-serialises it).
 * gosmee (`kind: 'gosmee'`):
 * - `GET /new` answers the new channel's URL as text; `GET /<channel>` is an HTML page; the stream is
 *   `GET /events/<channel>`: `data: {"message":"connected"}`, `data: {"message":"ready"}`, then each webhook as
 *   `data: <JSON>` with headers lower-cased (first value), `timestamp` (ms, a string) and `bodyB` (the exact bytes,
 *   base64); `: keepalive` comments every `pingMs`.
 * - With `redis: true` (Redis Streams there): every event has an `id:` (`<ms>-<n>`) and is kept (the newest
 *   `keep`); a `Last-Event-ID` resumes after it, and one older than the oldest kept gets a `gosmee-gap` event first.
 * - `POST /<channel>` needs a Content-Type containing application/json and a JSON body (else 400); answers 202.
 * Knobs for hostile cases: `drop()` cuts every stream, `stall()` stops writing to the open streams (sockets kept),
 * `raw(text)` writes bytes into every stream, `replayLast(n)` sends the last n again (a redelivery).
 */

export interface RelayServerOptions {
  kind: 'smee' | 'gosmee';
  redis?: boolean;
  pingMs?: number;
  /** Events kept per channel with redis (for resume). */
  keep?: number;
  port?: number;
}

interface Kept {
  id: string;
  data: string;
}

export interface RelayServer {
  readonly url: string;
  readonly port: number;
  /** Open streams now. */
  subscribers(): number;
  /** Last-Event-ID headers the streams were asked with, in order. */
  readonly resumedFrom: (string | undefined)[];
  channelUrl(name?: string): string;
  drop(): void;
  stall(): void;
  raw(text: string): void;
  replayLast(n: number): void;
  stop(): Promise<void>;
}

interface Stream {
  res: ServerResponse;
  channel: string;
  count: number;
  ping: NodeJS.Timeout;
}

export async function startRelayServer(o: RelayServerOptions): Promise<RelayServer> {
  const streams = new Set<Stream>();
  const kept = new Map<string, Kept[]>();
  const resumedFrom: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  let seq = 0;
  const stalled = new Set<ServerResponse>();
  let base = '';

  const write = (s: Stream, text: string): void => {
    if (!stalled.has(s.res)) s.res.write(text);
  };
  const frame = (data: string, id?: string, event?: string): string =>
    `${id !== undefined ? `id: ${id}\n` : ''}${event ? `event: ${event}\n` : ''}data: ${data}\n\n`;
  const publish = (channel: string, data: string): string | undefined => {
    const id = o.redis ? `${Date.now()}-${seq++}` : undefined;
    if (id) {
      const list = kept.get(channel) ?? [];
      list.push({ id, data });
      if (list.length > (o.keep ?? 10_000)) list.shift();
      kept.set(channel, list);
    }
    for (const s of streams) if (s.channel === channel) write(s, o.kind === 'smee' ? frame(data, String(s.count++)) : frame(data, id));
    return id;
  };

  const subscribe = (req: IncomingMessage, res: ServerResponse, channel: string): void => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const s: Stream = { res, channel, count: 0, ping: setInterval(() => write(s, o.kind === 'smee' ? frame('{}', String(s.count++), 'ping') : ': keepalive\n\n'), o.pingMs ?? 30_000) };
    streams.add(s);
    res.on('close', () => {
      clearInterval(s.ping);
      streams.delete(s);
    });
    if (o.kind === 'smee') return void write(s, frame('{}', String(s.count++), 'ready'));
    const last = req.headers['last-event-id'] as string | undefined;
    resumedFrom.push(last);
    write(s, frame('{"message":"connected"}'));
    write(s, frame('{"message":"ready"}'));
    if (!o.redis || !last) return;
    const list = kept.get(channel) ?? [];
    const at = list.findIndex((k) => k.id === last);
    if (at === -1 && list.length > 0) {
      write(s, frame(JSON.stringify({ error: 'missed_history', requested_id: last, oldest_id: list[0]!.id }), undefined, 'gosmee-gap'));
      for (const k of list) write(s, frame(k.data, k.id));
    } else for (const k of list.slice(at + 1)) write(s, frame(k.data, k.id));
  };

  const post = (req: IncomingMessage, res: ServerResponse, channel: string, body: Buffer): void => {
    const type = String(req.headers['content-type'] ?? '');
    let parsed: unknown;
    try {
      if (!type.includes('application/json')) throw new Error('type');
      parsed = JSON.parse(body.toString());
    } catch {
      res.writeHead(o.kind === 'smee' ? 415 : 400).end('bad request');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v[0]! : String(v);
    if (o.kind === 'smee') {
      publish(channel, JSON.stringify({ ...headers, body: parsed, query: Object.fromEntries(new URL(req.url!, 'http://x').searchParams), timestamp: Date.now() }));
      res.writeHead(200).end('ok');
    } else {
      const id = publish(channel, JSON.stringify({ ...headers, timestamp: String(Date.now()), bodyB: body.toString('base64') }));
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 202, channel, ...(id ? { id } : {}) }));
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/new') {
      const url = `${base}/${randomBytes(12).toString('base64url')}`;
      if (o.kind === 'smee') res.writeHead(307, { location: url }).end();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(`${url}\n`);
      return;
    }
    const events = /^\/events\/([A-Za-z0-9_-]+)$/.exec(path);
    const plain = /^\/([A-Za-z0-9_-]+)$/.exec(path);
    if (req.method === 'GET' && o.kind === 'gosmee' && events) return subscribe(req, res, events[1]!);
    if (req.method === 'GET' && o.kind === 'smee' && plain && req.headers.accept === 'text/event-stream') return subscribe(req, res, plain[1]!);
    if (req.method === 'GET' && plain) return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>a channel page</html>');
    if (req.method === 'POST' && plain) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => post(req, res, plain[1]!, Buffer.concat(chunks)));
      return;
    }
    res.writeHead(404).end();
  };

  const server: Server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    port,
    subscribers: () => streams.size,
    resumedFrom,
    channelUrl: (name = 'test-channel') => `${base}/${name}`,
    drop() {
      for (const s of streams) s.res.destroy();
    },
    stall() {
      for (const s of streams) stalled.add(s.res);
    },
    raw(text) {
      for (const s of streams) s.res.write(text);
    },
    replayLast(n) {
      for (const [channel, list] of kept) for (const k of list.slice(-n)) for (const s of streams) if (s.channel === channel) s.res.write(frame(k.data, k.id));
    },
    async stop() {
      for (const s of streams) s.res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
