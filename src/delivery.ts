import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { Agent } from 'undici';
import { type AppResponse, type DeliveryResult, RESPONSE_KEEP, type WebhookEvent, headerValue, isoTime } from './event.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
  'content-length',
]);

/** Per target: its origin when the incoming path is kept, null when the target is used as given. */
const origins = new Map<string, string | null>();

/** The full URL for one event: a target without a path keeps the incoming path and query. */
export function targetUrl(target: string, event: Pick<WebhookEvent, 'url'>): string {
  let origin = origins.get(target);
  if (origin === undefined) {
    const u = new URL(target);
    const hasPath = u.pathname !== '/' || /^[a-z][a-z0-9+.-]*:\/\/[^/]+\/./i.test(target) || target.includes('?');
    origin = hasPath ? null : u.origin;
    if (origins.size < 100) origins.set(target, origin);
  }
  if (origin === null) return target;
  return `${origin}${event.url.startsWith('/') ? event.url : '/' + event.url}`;
}

/**
 * The headers sent to the app: the sender's, minus hop-by-hop ones, plus forwarding and id headers, then `extra`
 * (which replaces a header of the same name: --header, or the replay mark). A flat list.
 */
export function forwardHeaders(event: WebhookEvent, extra: [string, string][] = []): string[] {
  const replaced = new Set(extra.map(([k]) => k.toLowerCase()));
  const named = new Set(
    (headerValue(event.headers, 'connection') ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [k, v] of event.headers) {
    const lower = k.toLowerCase();
    // A sender cannot pass its request off as a replay: that mark is ours to add.
    if (HOP_BY_HOP.has(lower) || named.has(lower) || replaced.has(lower) || lower === 'webhook-listen-replay') continue;
    if (lower === 'x-forwarded-for' || lower === 'x-forwarded-host' || lower === 'x-forwarded-proto') {
      seen.add(lower);
      if (lower === 'x-forwarded-for' && event.remoteAddress) {
        out.push(k, `${v}, ${event.remoteAddress}`);
        continue;
      }
    }
    if (lower === 'webhook-listen-event-id') {
      // An event id from a webhook-listen up the line: kept as a hop, so a listener that sees its own id comes back
      // (A → B → A) knows it is a loop.
      out.push('Webhook-Listen-Via', v);
      continue;
    }
    out.push(k, v);
  }
  if (!seen.has('x-forwarded-for') && event.remoteAddress) out.push('X-Forwarded-For', event.remoteAddress);
  const host = headerValue(event.headers, 'host');
  if (!seen.has('x-forwarded-host') && host) out.push('X-Forwarded-Host', host);
  if (!seen.has('x-forwarded-proto')) out.push('X-Forwarded-Proto', 'http');
  out.push('Webhook-Listen-Event-Id', event.id);
  for (const [k, v] of extra) out.push(k, v);
  return out;
}

export interface ForwardResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

export interface Forwarded {
  result: DeliveryResult;
  response?: ForwardResponse;
}

/** Our own code for an answer that came but did not end within --forward-timeout (see readAnswer). */
const ANSWER_TIMEOUT = 'WL_ANSWER_TIMEOUT';
/** Connecting is bounded by --forward-timeout too, but never waits longer than 10 s for a TCP connection. */
const connectTimeoutMs = (timeoutMs: number): number => Math.min(timeoutMs, 10_000);

function describeError(err: unknown, url: string, timeoutMs: number): { error: string; message: string } {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.cause?.code ?? e.code ?? e.name ?? 'ERROR';
  let where = url;
  try {
    where = new URL(url).host;
  } catch {
    // keep the raw text
  }
  if (TLS_CODES.has(code))
    return { error: 'TLS', message: `${where} has a certificate this machine does not trust (${code}) — for a local self-signed one, add --insecure` };
  if (code === 'UND_ERR_CONNECT_TIMEOUT')
    return { error: 'TIMEOUT', message: `could not connect to ${where} within ${connectTimeoutMs(timeoutMs) / 1000}s — is the host right and up?` };
  if (code === ANSWER_TIMEOUT)
    return { error: 'INCOMPLETE', message: `the answer from ${where} did not finish within ${timeoutMs / 1000}s — is the target a streaming endpoint? (raise --forward-timeout)` };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return { error: 'TIMEOUT', message: `no answer from ${where} within ${timeoutMs / 1000}s — is your app stuck? (raise --forward-timeout)` };
  switch (code) {
    case 'ECONNREFUSED':
      return { error: code, message: `nothing is listening on ${where} — is your app running?` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { error: code, message: `cannot resolve ${where} — check the --forward-to URL` };
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return { error: 'ECONNRESET', message: `${where} closed the connection before answering` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { error: code, message: `${where} is unreachable from this machine` };
    default:
      return { error: code, message: `forwarding to ${where} failed: ${e.message}` };
  }
}

export interface DelivererOptions {
  timeoutMs: number;
  /** Accept a self-signed or otherwise unverifiable certificate on https targets (--insecure). */
  insecure?: boolean;
  /** Added to (or replacing) the headers of every forwarded request (--header), never stored. */
  headers?: [string, string][];
}

/** Certificate errors: retrying cannot help, --insecure can. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_NOT_YET_VALID',
]);

/**
 * Reads the app's answer, keeping the first RESPONSE_KEEP bytes and counting the rest. With 'data' events rather
 * than `for await`: an async iterator per delivery cost more than reading the usual few bytes.
 */
function readAnswer(body: Readable, keepAll: boolean, withinMs: number): Promise<{ kept: Buffer; size: number }> {
  return new Promise((resolve, reject) => {
    // The rest of --forward-timeout for the whole answer: undici's bodyTimeout is the time between two chunks, which an
    // answer that never ends (a streaming endpoint given as the target) resets for ever, holding every later delivery.
    const deadline = setTimeout(() => body.destroy(Object.assign(new Error('the answer did not finish in time'), { code: ANSWER_TIMEOUT })), Math.max(0, withinMs));
    const chunks: Buffer[] = [];
    let size = 0;
    let kept = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (keepAll || kept < RESPONSE_KEEP) {
        const part = keepAll ? chunk : chunk.subarray(0, RESPONSE_KEEP - kept);
        chunks.push(part);
        kept += part.length;
      }
    });
    let ended = false;
    body.once('end', () => {
      ended = true;
      clearTimeout(deadline);
      resolve({ kept: Buffer.concat(chunks, kept), size });
    });
    body.once('error', reject);
    // Destroyed without an error: what `for await` would have thrown.
    body.once('close', () => {
      clearTimeout(deadline);
      if (!ended) reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
  });
}

/** The part of an answer kept with the delivery: text when it is UTF-8, else base64. */
export function appResponse(headers: [string, string][], kept: Buffer, size: number): AppResponse {
  const body = kept.subarray(0, RESPONSE_KEEP);
  const { isUtf8 } = process.getBuiltinModule('node:buffer');
  const out: AppResponse = { headers, size };
  if (body.length > 0) {
    if (isUtf8(body)) out.body = body.toString('utf8');
    else out.bodyBase64 = body.toString('base64');
  }
  if (size > body.length) out.truncated = true;
  return out;
}

/** The parts of undici a delivery uses. */
interface HttpClient {
  Agent: typeof import('undici').Agent;
  errors: typeof import('undici').errors;
  request: typeof import('undici').request;
}

/**
 * undici's index loads everything it has (fetch, WebSocket, EventSource, caches, mocks), and its cookie code reads
 * `globalThis.Headers`, which makes Node load its own bundled copy of undici as well: 14 MB of RSS and ~45 ms of the
 * first delivery's wait, for code a delivery never runs. So the four files a delivery needs are required alone
 * (undici has no `exports` map, so these paths can be required). Should a later undici move them, the index is loaded
 * instead: slower, same behaviour. `request` is undici's own top-level wrapper, for an absolute URL and a dispatcher.
 */
export async function loadHttpClient(): Promise<HttpClient & { slim: boolean }> {
  try {
    const load = createRequire(import.meta.url);
    const Agent = load('undici/lib/dispatcher/agent.js') as HttpClient['Agent'];
    const errors = load('undici/lib/core/errors.js') as HttpClient['errors'];
    const { parseURL } = load('undici/lib/core/util.js') as { parseURL(url: string): URL };
    const dispatch = load('undici/lib/api/api-request.js') as (this: unknown, opts: object) => ReturnType<HttpClient['request']>;
    if (typeof Agent !== 'function' || typeof errors.InvalidArgumentError !== 'function' || typeof parseURL !== 'function' || typeof dispatch !== 'function')
      throw new Error('undici changed its layout');
    const request = ((url: string, opts: { dispatcher: unknown; method: string }) => {
      const u = parseURL(url);
      return dispatch.call(opts.dispatcher, { ...opts, origin: u.origin, path: u.search ? `${u.pathname}${u.search}` : u.pathname });
    }) as unknown as HttpClient['request'];
    return { Agent, errors, request, slim: true };
  } catch {
    const { Agent, errors, request } = await import('undici');
    return { Agent, errors, request, slim: false };
  }
}

// Loaded on first use (or warmed by warm()), never on the start-up path.
let undiciModule: Promise<HttpClient> | undefined;
let undiciLoaded: HttpClient | undefined;
const loadUndici = (): Promise<HttpClient> => (undiciModule ??= loadHttpClient().then((m) => (undiciLoaded = m)));

export interface Deliverer {
  /** Sends one event to one target once; never throws. */
  deliver(
    event: WebhookEvent,
    target: string,
    attempt: number,
    opts?: { extraHeaders?: [string, string][]; replay?: boolean; keepResponse?: boolean },
  ): Promise<Forwarded>;
  /** Loads the HTTP client ahead of the first delivery, off the start-up path. */
  warm(): void;
  close(): Promise<void>;
}

export function createDeliverer(options: DelivererOptions): Deliverer {
  let agent: Agent | undefined;
  let closing: Promise<void> | undefined;
  return {
    warm() {
      void loadUndici().catch(() => undefined);
    },
    async deliver(event, target, attempt, opts = {}) {
      // No await once loaded, so the request is dispatched before deliver() returns (passthrough overlaps on it).
      const { Agent, errors, request } = undiciLoaded ?? (await loadUndici());
      agent ??= new Agent({
        keepAliveTimeout: 4_000,
        connections: 16,
        connect: { timeout: connectTimeoutMs(options.timeoutMs), ...(options.insecure ? { rejectUnauthorized: false } : {}) },
      });
      const started = performance.now();
      let url = target;
      const base = {
        eventId: event.id,
        target,
        method: event.method,
        attempt,
        ...(opts.replay ? { replay: true } : {}),
      };
      try {
        url = targetUrl(target, event);
        const hasBody = event.method !== 'GET' && event.method !== 'HEAD';
        const res = await request(url, {
          method: event.method as 'POST',
          headers: forwardHeaders(event, [...(options.headers ?? []), ...(opts.extraHeaders ?? [])]),
          body: hasBody || event.body.length > 0 ? event.body : undefined,
          dispatcher: agent,
          // undici's own timers, not AbortSignal.timeout(): on Node 20 that one halved forwarding throughput
          // (3,100 vs 5,700 req/s, 32 in flight, bench notes in BENCHMARKS.md). Connecting is bounded by the agent.
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
        });
        const { kept, size } = await readAnswer(res.body, opts.keepResponse === true, options.timeoutMs - (performance.now() - started));
        const headers: [string, string][] = [];
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) headers.push([k, one]);
        }
        const result: DeliveryResult = {
          ...base,
          url,
          final: true,
          status: res.statusCode,
          durationMs: Math.round(performance.now() - started),
          at: isoTime(Date.now()),
          response: appResponse(headers, kept, size),
        };
        if (res.statusCode >= 300 && res.statusCode < 400) {
          const location = headers.find(([k]) => k === 'location')?.[1];
          result.message = `the app redirected${location ? ` to ${location}` : ''} — webhooks are not followed through redirects; forward to ${location ? 'that URL' : 'the final URL'} instead`;
        }
        return opts.keepResponse ? { result, response: { status: res.statusCode, headers, body: kept } } : { result };
      } catch (err) {
        const { error, message } =
          err instanceof errors.InvalidArgumentError
            ? { error: 'INVALID', message: `cannot forward this request: ${err.message}` }
            : describeError(err, url, options.timeoutMs);
        return {
          result: {
            ...base,
            url,
            final: true,
            error,
            message,
            durationMs: Math.round(performance.now() - started),
            at: isoTime(Date.now()),
          },
        };
      }
    },
    close() {
      // destroy(), not close(): close() waits for requests in flight, up to --forward-timeout (30 s by default).
      closing ??= agent ? agent.destroy().catch(() => undefined) : Promise.resolve();
      return closing;
    },
  };
}
