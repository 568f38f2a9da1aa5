import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs';
import { type DeliveryResult, ID_SHAPE, type WebhookEvent, decodeBody, headerValue } from '../event.js';
import type { EventRow, StoreHandle } from '../store/index.js';
import { type Summary, deliveryStatus, summarize, summaryPieces, summaryText } from '../format/summary.js';
import { headerObject } from '../format/json.js';
import { targetUrl } from '../delivery.js';
import { curlFor, fixtureName } from './shell.js';

/** Everything the inspector serves lives under this prefix, which the webhook listener refuses (404). */
export const PREFIX = '/_webhook-listen';

/** A query parameter that must be a whole number (a count): anything else is as if it were not given (0). */
function wholeParam(value: string | null): number {
  return value !== null && /^\d{1,15}$/.test(value) ? Number(value) : 0;
}
// dist/inspector/page/ (scripts/build.mjs copies it there), whichever file of dist/ this code was bundled into.
const PAGE_DIR = new URL(import.meta.url.slice(0, import.meta.url.lastIndexOf('/dist/')) + '/dist/inspector/page/');
const HISTORY_LIMIT = 500;
const MAX_REPLAY_BODY = 20 * 1024 * 1024;
const STATIC: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

export interface ReplayRequest {
  /** Send to these instead of the event's targets. */
  targets?: string[];
  /** Edited body (text) or bytes (base64); absent means the original bytes. */
  body?: string;
  bodyBase64?: string;
  /** Edited headers; absent means the original ones. */
  headers?: [string, string][];
}

/** What is wrong with a replay request's shape, if anything (a client other than our page may send anything). */
function replayRequestProblem(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'expected a JSON object';
  const { targets, body, bodyBase64, headers } = r as Record<string, unknown>;
  if (targets !== undefined && !(Array.isArray(targets) && targets.every((t) => typeof t === 'string'))) return 'targets must be a list of URLs';
  if (body !== undefined && typeof body !== 'string') return 'body must be text';
  if (bodyBase64 !== undefined && typeof bodyBase64 !== 'string') return 'bodyBase64 must be text';
  if (headers !== undefined && !(Array.isArray(headers) && headers.every((h) => Array.isArray(h) && h.length === 2 && h.every((x) => typeof x === 'string'))))
    return 'headers must be a list of [name, value] pairs';
  return undefined;
}

export interface InspectorOptions {
  port: number;
  /** The user asked for this port: a busy one is an error instead of a step to the next. */
  portExplicit: boolean;
  /** The store the page lists and reads (the listener's own handle: queries are paged and indexed). */
  store: StoreHandle;
  /** Where "replay" sends when the request names no targets and the event had none. */
  defaultTargets: string[];
  /** Sends an event (maybe edited) to targets and records the results; never throws. */
  replay(event: WebhookEvent, targets: string[], edited: boolean): Promise<DeliveryResult[]>;
  /** The URL events are sent to, for "copy as cURL" when there is no forward target. */
  listenUrl?: string;
}

/** The public tunnel as the page's header shows it. */
export interface TunnelStatus {
  state: 'off' | 'opening' | 'open' | 'reconnecting' | 'local-only';
  publicUrl?: string;
  reason?: string;
}

export interface InspectorHandle {
  readonly url: string;
  readonly port: number;
  /** Pushes a new event or delivery to every open page. */
  publishEvent(event: WebhookEvent, summary: Summary): void;
  publishDelivery(result: DeliveryResult): void;
  /** Pushes the tunnel's state (and public URL) to every open page. */
  publishTunnel(status: TunnelStatus): void;
  close(): Promise<void>;
}

type ListedEvent = Pick<WebhookEvent, 'id' | 'receivedAt' | 'name' | 'method' | 'path' | 'size' | 'targets' | 'rejected'>;

/** One row of the list: the summary as pieces for styling, and the delivery status. */
export function listItem(event: ListedEvent, summary: Summary, deliveries: DeliveryResult[]): Record<string, unknown> {
  return {
    id: event.id,
    receivedAt: event.receivedAt,
    name: event.name,
    method: event.method,
    path: event.path,
    size: event.size,
    kind: summary.kind,
    pieces: summaryPieces(summary),
    text: summaryText(summary),
    status: deliveryStatus(event, deliveries),
    deliveries,
    targets: event.targets ?? [],
  };
}

/** What a live-stream client may fall behind by, queued in this process, before it is dropped (see push()). */
const STREAM_BACKLOG_MAX = 8 * 1024 * 1024;
/** Text bodies up to this size come with the detail; larger ones are fetched on demand (`/text`). */
const PREVIEW_CHARS = 64 * 1024;
/** Bodies up to this size can be edited as text before a replay. */
const EDITABLE_MAX = 1024 * 1024;
/** The body's media type, without parameters, lower-cased. */
const mediaType = (event: WebhookEvent): string => (headerValue(event.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
const IMAGE_TYPES = /^image\/(png|jpeg|gif|webp|avif|bmp)$/;

/**
 * The detail pane's data: everything but the body, which comes as a preview (and is fetched whole from `/text` or
 * `/body` only when shown), so a 10 MB event opens as fast as a small one. No parsed JSON: the page parses the text
 * itself, keeping numbers exactly as sent.
 */
function detail(entry: { event: WebhookEvent; deliveries: DeliveryResult[]; signature?: Summary['signature'] }, curlUrl: string | undefined): Record<string, unknown> {
  const { event, deliveries } = entry;
  const decoded = decodeBody(event);
  const summary = summarize(event, decoded);
  if (entry.signature) summary.signature = entry.signature;
  const type = mediaType(event);
  const text = decoded.text;
  const utf8Text = text !== undefined && !decoded.encoding && !decoded.charset;
  const out: Record<string, unknown> = {
    ...listItem(event, summary, deliveries),
    signature: entry.signature ?? null,
    url: event.url,
    query: event.query,
    remoteAddress: event.remoteAddress,
    headers: event.headers,
    headerObject: headerObject(event.headers),
    encoding: decoded.encoding ?? null,
    charset: decoded.charset ?? null,
    rejected: event.rejected ?? null,
    bodySize: event.body.length,
    textSize: text?.length ?? null,
    image: IMAGE_TYPES.test(type) && event.body.length > 0 ? type : null,
    // Edited as text only when the text is the bytes (UTF-8, not encoded) and small enough to edit.
    editable: event.body.length === 0 || (utf8Text && ['json', 'text', 'form', 'invalid-json'].includes(decoded.kind) && event.body.length <= EDITABLE_MAX),
    fixture: fixtureName(event, decoded.kind === 'json' ? 'json' : 'bin'),
  };
  if (text !== undefined) {
    out.bodyText = text.length > PREVIEW_CHARS ? text.slice(0, PREVIEW_CHARS) : text;
    out.textTruncated = text.length > PREVIEW_CHARS;
  }
  if (curlUrl) out.curl = curlFor(event, curlUrl);
  return out;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Serves the inspector on loopback only, refusing foreign Hosts (DNS rebinding) and foreign Origins on writes. */
export async function startInspector(options: InspectorOptions): Promise<InspectorHandle> {
  const clients = new Set<ServerResponse>();
  let tunnel: TunnelStatus = { state: 'off' };
  let port = 0;
  const allowedHosts = (): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = (): Set<string> => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  const findEntry = (id: string): { event: WebhookEvent; deliveries: DeliveryResult[]; signature?: Summary['signature'] } | undefined => {
    const found = options.store.find(id, 2);
    const event = found.length === 1 ? options.store.readEvent(found[0]!.id) : undefined;
    return event ? { event, deliveries: found[0]!.deliveries, signature: (JSON.parse(found[0]!.summary) as Summary).signature } : undefined;
  };
  const rowItem = (row: EventRow): Record<string, unknown> => listItem(row, JSON.parse(row.summary) as Summary, row.deliveries);
  // The URL the event's delivery really used (path and query kept when the target has none), else where it would go.
  const curlUrl = (event: WebhookEvent, deliveries: DeliveryResult[]): string | undefined => {
    const used = deliveries.find((d) => !d.replay)?.url;
    if (used) return used;
    const target = event.targets?.[0] ?? options.defaultTargets[0];
    if (target) return targetUrl(target, event);
    return options.listenUrl ? new URL(event.url, options.listenUrl).toString() : undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!allowedHosts().has(req.headers.host ?? '')) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(`Forbidden: the inspector answers only to Host 127.0.0.1:${port} or localhost:${port}\n`);
      return;
    }
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const headers = { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' };
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);

    if (method === 'GET' && (path === '/' || path === '/index.html' || path.startsWith(PREFIX + '/static/'))) {
      const name = path === '/' ? 'index.html' : path.split('/').pop()!;
      const type = STATIC[name];
      if (!type) return json(res, 404, { error: 'not found' });
      // node:fs's callback form: node:fs/promises loads readline, the REPL history and fs watchers with it (~1 ms).
      const body = await new Promise<Buffer>((resolve, reject) => readFile(new URL(name, PAGE_DIR), (err, data) => (err ? reject(err) : resolve(data))));
      res.writeHead(200, {
        'content-type': type,
        'cache-control': 'no-cache',
        'content-security-policy': "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'",
      });
      res.end(body);
      return;
    }
    if (method === 'GET' && path === PREFIX + '/api/events') {
      // One page from the store's indexes, newest first; `before` pages further back.
      // Whole numbers only: SQLite refuses a LIMIT of 1.5 ("datatype mismatch"), which came back as a 500 blaming the store.
      const limit = Math.min(Math.max(wholeParam(url.searchParams.get('limit')) || HISTORY_LIMIT, 1), HISTORY_LIMIT);
      // An event's id, not a seq: the page pages on from the oldest row it shows, which may have come over the stream.
      const before = url.searchParams.get('before');
      const beforeId = before !== null && ID_SHAPE.test(before) ? before : undefined;
      const name = url.searchParams.get('name') || undefined;
      const grep = url.searchParams.get('q') || undefined;
      const rows = options.store.list({ limit, beforeId, name, grep });
      return json(res, 200, { events: rows.map(rowItem), total: options.store.count({ name, grep }), next: rows.length === limit ? rows.at(-1)!.id : null });
    }
    if (method === 'GET' && path === PREFIX + '/api/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(`: connected\n\nevent: tunnel\ndata: ${JSON.stringify(tunnel)}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    const m = new RegExp(`^${PREFIX}/api/events/([0-9a-z]+)(/raw|/body|/text|/replay|/retry|/cancel)?$`).exec(path);
    if (m) {
      const entry = findEntry(m[1]!);
      if (!entry) return json(res, 404, { error: `no single event with an id starting "${m[1]}"` });
      const { event } = entry;
      if (method === 'GET' && !m[2]) return json(res, 200, detail(entry, curlUrl(event, entry.deliveries)));
      if (method === 'GET' && m[2] === '/raw') {
        // Save as fixture: a file name made only of safe characters, so the quoting cannot be broken out of.
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-disposition': `attachment; filename="${fixtureName(event, decodeBody(event).kind === 'json' ? 'json' : 'bin')}"`,
        });
        res.end(event.body);
        return;
      }
      if (method === 'GET' && m[2] === '/body') {
        // The stored bytes for the hex view and image preview; never run or rendered as a page.
        const type = mediaType(event);
        res.writeHead(200, {
          'content-type': IMAGE_TYPES.test(type) ? type : 'application/octet-stream',
          'content-security-policy': 'sandbox',
          'content-disposition': 'inline',
          'cache-control': 'no-store',
        });
        res.end(event.body);
        return;
      }
      if (method === 'GET' && m[2] === '/text') {
        const text = decodeBody(event).text;
        if (text === undefined) return json(res, 409, { error: 'this body is not text: see it in the hex view' });
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end(text);
        return;
      }
      if (method === 'POST' && m[2] !== '/replay' && m[2] !== '/raw' && m[2]) {
        // The same guard as replay: only the inspector page itself.
        if (!allowedOrigins().has(req.headers.origin ?? '')) return json(res, 403, { error: 'Forbidden: only the inspector page itself may do this' });
        const query = { eventIds: [event.id] };
        const rows = m[2] === '/cancel' ? options.store.cancelPending(query) : options.store.retryPending(query);
        if (rows.length === 0) return json(res, 409, { error: 'nothing of this event is waiting for delivery' });
        return json(res, 200, { count: rows.length });
      }
      if (method === 'POST' && m[2] === '/replay') {
        // A page on another origin must not make the user's browser replay events.
        if (!allowedOrigins().has(req.headers.origin ?? ''))
          return json(res, 403, { error: 'Forbidden: replay is only allowed from the inspector page itself' });
        if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
          return json(res, 415, { error: 'send the replay request as application/json' });
        let request: ReplayRequest = {};
        try {
          const raw = await readBody(req, MAX_REPLAY_BODY);
          if (raw.length) request = JSON.parse(raw.toString('utf8')) as ReplayRequest;
        } catch (err) {
          return json(res, 400, { error: `unreadable replay request: ${(err as Error).message}` });
        }
        const malformed = replayRequestProblem(request);
        if (malformed) return json(res, 400, { error: `unreadable replay request: ${malformed}` });
        const edited = request.body !== undefined || request.bodyBase64 !== undefined || request.headers !== undefined;
        const sent: WebhookEvent = { ...event };
        if (request.bodyBase64 !== undefined) sent.body = Buffer.from(request.bodyBase64, 'base64');
        else if (request.body !== undefined) sent.body = Buffer.from(request.body, 'utf8');
        if (request.headers !== undefined) sent.headers = request.headers;
        const targets = request.targets?.length ? request.targets : event.targets?.length ? event.targets : options.defaultTargets;
        if (!targets.length) return json(res, 409, { error: 'this event has no forward target — start webhook-listen with --forward-to <url>' });
        const results = await options.replay(sent, targets, edited);
        return json(res, 200, { results });
      }
      return json(res, 405, { error: `${method} is not allowed here` });
    }
    if (method === 'GET' && path === PREFIX + '/api/config') return json(res, 200, { targets: options.defaultTargets, listenUrl: options.listenUrl ?? null, tunnel });
    json(res, 404, { error: 'not found' });
  };

  // Not `import { createServer } from 'node:http'`: an ESM import of node:http evaluates every export, and its
  // WebSocket getters load Node's own copy of undici (~20 ms of start-up, nodejs/node#59686).
  const server = process.getBuiltinModule('node:http').createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) json(res, 500, { error: err.message });
      else res.end();
    });
  });
  /**
   * Writes to one live-stream client, or drops it once this much is queued for it in this process: a page or a paused
   * `curl` that stopped reading would otherwise keep every event since in memory. A dropped page reconnects and
   * reloads its list (app.js).
   */
  const push = (c: ServerResponse, text: string): void => {
    if (c.writableLength > STREAM_BACKLOG_MAX) {
      clients.delete(c);
      c.destroy();
      return;
    }
    c.write(text);
  };
  const heartbeat = setInterval(() => {
    for (const c of clients) push(c, ': ping\n\n');
  }, 15_000);
  heartbeat.unref();

  for (let i = 0; ; i++) {
    const want = options.port === 0 ? 0 : options.port + i;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(want, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' || options.portExplicit || options.port === 0 || i >= 19)
        throw new Error(
          code === 'EADDRINUSE'
            ? `inspector port ${want} is already in use — pick another with --inspect-port, or --no-inspect`
            : `cannot start the inspector on 127.0.0.1:${want}: ${(err as Error).message}`,
          { cause: err },
        );
    }
  }
  port = (server.address() as AddressInfo).port;

  // This run's events, so a delivery can be pushed with the event's updated status; bounded.
  const recent = new Map<string, { event: WebhookEvent; deliveries: DeliveryResult[] }>();
  const RECENT_MAX = 1000;
  const broadcast = (type: string, data: unknown): void => {
    const text = `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of clients) push(c, text);
  };
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    publishEvent(event, summary) {
      recent.set(event.id, { event: { ...event, body: Buffer.alloc(0) }, deliveries: [] });
      if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value!);
      if (clients.size) broadcast('event', listItem(event, summary, []));
    },
    publishDelivery(result) {
      const entry = recent.get(result.eventId);
      entry?.deliveries.push(result);
      if (clients.size)
        broadcast('delivery', { result, status: entry ? deliveryStatus(entry.event, entry.deliveries) : undefined });
    },
    publishTunnel(status) {
      tunnel = status;
      if (clients.size) broadcast('tunnel', status);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        for (const c of clients) c.end();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
