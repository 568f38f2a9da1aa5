import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs';
import { decodeBody } from '../core/body.js';
import type { DeliveryResult, WebhookEvent } from '../core/event.js';
import { ID_SHAPE } from '../core/ids.js';
import { targetUrl } from '../core/targets.js';
import type { Summary } from '../format/summary.js';
import type { EventRow } from '../store/index.js';
import { IMAGE_TYPES, detail, json, listItem, mediaType, readBody, replayRequestProblem, wholeParam } from './api.js';
import type { LiveStream } from './live.js';
import { fixtureName } from './shell.js';
import type { InspectorOptions, ReplayRequest } from './types.js';

/** Everything the inspector serves lives under this prefix, which the webhook listener refuses (404). */
export const PREFIX = '/_webhook-listen';
// dist/inspector/page/ (scripts/build.mjs copies it there), whichever file of dist/ this code was bundled into.
const PAGE_DIR = new URL(import.meta.url.slice(0, import.meta.url.lastIndexOf('/dist/')) + '/dist/inspector/page/');
const HISTORY_LIMIT = 500;
const MAX_REPLAY_BODY = 20 * 1024 * 1024;
const STATIC: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'detail.js': 'text/javascript; charset=utf-8',
  'empty.js': 'text/javascript; charset=utf-8',
};
const EVENT_PATH = new RegExp(`^${PREFIX}/api/events/([0-9a-z]+)(/raw|/body|/text|/replay|/retry|/cancel)?$`);

type Entry = { event: WebhookEvent; deliveries: DeliveryResult[]; signature?: Summary['signature'] };

/** What a route sees: the request, its URL, and the inspector's parts. */
interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  options: InspectorOptions;
  live: LiveStream;
  /** The Origins the page itself sends (writes from anywhere else are refused). */
  origins: Set<string>;
}

/** One request, routed: the page's files, the list, the live stream, one event (and what can be done to it). */
export async function route(c: Ctx): Promise<void> {
  const path = c.url.pathname;
  const method = c.req.method ?? 'GET';
  if (method === 'GET' && (path === '/' || path === '/index.html' || path.startsWith(PREFIX + '/static/'))) return servePage(c, path);
  if (method === 'GET' && path === PREFIX + '/api/events') return listEvents(c);
  if (method === 'GET' && path === PREFIX + '/api/stream') return c.live.subscribe(c.res, (done) => c.req.on('close', done));
  if (method === 'GET' && path === PREFIX + '/api/config')
    return json(c.res, 200, { targets: c.options.defaultTargets, listenUrl: c.options.listenUrl ?? null, tunnel: c.live.tunnel });
  const m = EVENT_PATH.exec(path);
  if (!m) return json(c.res, 404, { error: 'not found' });
  const entry = findEntry(c.options, m[1]!);
  if (!entry) return json(c.res, 404, { error: `no single event with an id starting "${m[1]}"` });
  const action = m[2] ?? '';
  if (method === 'GET' && action === '') return json(c.res, 200, detail(entry, curlUrl(c.options, entry.event, entry.deliveries)));
  if (method === 'GET' && (action === '/raw' || action === '/body' || action === '/text')) return serveBody(c, entry.event, action);
  if (method === 'POST' && (action === '/retry' || action === '/cancel')) return control(c, entry.event, action);
  if (method === 'POST' && action === '/replay') return replay(c, entry.event);
  json(c.res, 405, { error: `${method} is not allowed here` });
}

async function servePage(c: Ctx, path: string): Promise<void> {
  const name = path === '/' ? 'index.html' : path.split('/').pop()!;
  const type = STATIC[name];
  if (!type) return json(c.res, 404, { error: 'not found' });
  // node:fs's callback form: node:fs/promises loads readline, the REPL history and fs watchers with it.
  const body = await new Promise<Buffer>((resolve, reject) => readFile(new URL(name, PAGE_DIR), (err, data) => (err ? reject(err) : resolve(data))));
  c.res.writeHead(200, {
    'content-type': type,
    'cache-control': 'no-cache',
    'content-security-policy': "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'",
  });
  c.res.end(body);
}

/** One page from the store's indexes, newest first; `before` (an event id) pages further back. */
function listEvents(c: Ctx): void {
  const q = c.url.searchParams;
  // Whole numbers only: SQLite refuses a LIMIT of 1.5 ("datatype mismatch"), which came back as a 500 blaming the store.
  const limit = Math.min(Math.max(wholeParam(q.get('limit')) || HISTORY_LIMIT, 1), HISTORY_LIMIT);
  // An event's id, not a seq: the page pages on from the oldest row it shows, which may have come over the stream.
  const before = q.get('before');
  const beforeId = before !== null && ID_SHAPE.test(before) ? before : undefined;
  const name = q.get('name') || undefined;
  const grep = q.get('q') || undefined;
  const rows = c.options.store.list({ limit, beforeId, name, grep });
  const rowItem = (row: EventRow): Record<string, unknown> => listItem(row, JSON.parse(row.summary) as Summary, row.deliveries);
  json(c.res, 200, { events: rows.map(rowItem), total: c.options.store.count({ name, grep }), next: rows.length === limit ? rows.at(-1)!.id : null });
}

function findEntry(options: InspectorOptions, id: string): Entry | undefined {
  const found = options.store.find(id, 2);
  const event = found.length === 1 ? options.store.readEvent(found[0]!.id) : undefined;
  return event ? { event, deliveries: found[0]!.deliveries, signature: (JSON.parse(found[0]!.summary) as Summary).signature } : undefined;
}

/** The URL the event's delivery really used (path and query kept when the target has none), else where it would go. */
function curlUrl(options: InspectorOptions, event: WebhookEvent, deliveries: DeliveryResult[]): string | undefined {
  const used = deliveries.find((d) => !d.replay)?.url;
  if (used) return used;
  const target = event.targets?.[0] ?? options.defaultTargets[0];
  if (target) return targetUrl(target, event);
  return options.listenUrl ? new URL(event.url, options.listenUrl).toString() : undefined;
}

/** The stored bytes: as a fixture to save, for the hex view and image preview, or as text. Never run as a page. */
function serveBody(c: Ctx, event: WebhookEvent, action: string): void {
  const { res } = c;
  if (action === '/raw') {
    // A file name made only of safe characters, so the quoting cannot be broken out of.
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${fixtureName(event, decodeBody(event).kind === 'json' ? 'json' : 'bin')}"`,
    });
  } else if (action === '/body') {
    const type = mediaType(event);
    res.writeHead(200, {
      'content-type': IMAGE_TYPES.test(type) ? type : 'application/octet-stream',
      'content-security-policy': 'sandbox',
      'content-disposition': 'inline',
      'cache-control': 'no-store',
    });
  } else {
    const text = decodeBody(event).text;
    if (text === undefined) return json(res, 409, { error: 'this body is not text: see it in the hex view' });
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    return void res.end(text);
  }
  res.end(event.body);
}

/** Retry now or cancel what is owed for this event: only from the inspector page itself. */
function control(c: Ctx, event: WebhookEvent, action: string): void {
  if (!c.origins.has(c.req.headers.origin ?? '')) return json(c.res, 403, { error: 'Forbidden: only the inspector page itself may do this' });
  const query = { eventIds: [event.id] };
  const rows = action === '/cancel' ? c.options.store.cancelPending(query) : c.options.store.retryPending(query);
  if (rows.length === 0) return json(c.res, 409, { error: 'nothing of this event is waiting for delivery' });
  json(c.res, 200, { count: rows.length });
}

async function replay(c: Ctx, event: WebhookEvent): Promise<void> {
  // A page on another origin must not make the user's browser replay events.
  if (!c.origins.has(c.req.headers.origin ?? '')) return json(c.res, 403, { error: 'Forbidden: replay is only allowed from the inspector page itself' });
  if (!(c.req.headers['content-type'] ?? '').startsWith('application/json')) return json(c.res, 415, { error: 'send the replay request as application/json' });
  let request: ReplayRequest = {};
  try {
    const raw = await readBody(c.req, MAX_REPLAY_BODY);
    if (raw.length) request = JSON.parse(raw.toString('utf8')) as ReplayRequest;
  } catch (err) {
    return json(c.res, 400, { error: `unreadable replay request: ${(err as Error).message}` });
  }
  const malformed = replayRequestProblem(request);
  if (malformed) return json(c.res, 400, { error: `unreadable replay request: ${malformed}` });
  const edited = request.body !== undefined || request.bodyBase64 !== undefined || request.headers !== undefined;
  const sent: WebhookEvent = { ...event };
  if (request.bodyBase64 !== undefined) sent.body = Buffer.from(request.bodyBase64, 'base64');
  else if (request.body !== undefined) sent.body = Buffer.from(request.body, 'utf8');
  if (request.headers !== undefined) sent.headers = request.headers;
  const targets = request.targets?.length ? request.targets : event.targets?.length ? event.targets : c.options.defaultTargets;
  if (!targets.length) return json(c.res, 409, { error: 'this event has no forward target — start webhook-listen with --forward-to <url>' });
  json(c.res, 200, { results: await c.options.replay(sent, targets, edited) });
}
