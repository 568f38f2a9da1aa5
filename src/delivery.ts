import { createRequire } from 'node:module';
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

/** What one attempt got back: the app's status, its headers (names in lower case, in the order sent) and its answer. */
interface Answer {
  status: number;
  headers: [string, string][];
  /** The first RESPONSE_KEEP bytes, or all of them when asked to keep the whole answer (passthrough). */
  kept: Buffer;
  /** The whole answer's length. */
  size: number;
}

interface SendOptions {
  method: string;
  headers: string[];
  body: Buffer | undefined;
  keepAll: boolean;
  /** The whole attempt: the headers within it (undici's headersTimeout), then the body within what is left. */
  timeoutMs: number;
}

/** The parts of undici a delivery uses. */
interface HttpClient {
  Agent: typeof import('undici').Agent;
  errors: typeof import('undici').errors;
  /** The request's origin and path, or undici's InvalidArgumentError for a URL it cannot send to. */
  parseURL(url: string): URL;
}

/**
 * One request through undici's dispatcher, with a handler of our own rather than undici's `request()`: that one
 * wraps every answer in a Readable stream and an async resource, and turns it into promises we then read back as
 * events — under callgrind, most of what a forwarded event cost on top of a stored one (BENCHMARKS.md). Rejects with
 * undici's error, or one whose code is ANSWER_TIMEOUT when the answer came but did not end in time.
 */
function send(client: HttpClient, agent: Agent, url: string, o: SendOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const u = client.parseURL(url);
    let abort: ((err: Error) => void) | undefined;
    let deadline: NodeJS.Timeout | undefined;
    let status = 0;
    let headers: [string, string][] | undefined;
    const chunks: Buffer[] = [];
    let kept = 0;
    let size = 0;
    let done = false;
    const finish = (err: Error | undefined): void => {
      if (done) return;
      done = true;
      if (deadline) clearTimeout(deadline);
      if (err) reject(err);
      else if (headers) resolve({ status, headers, kept: Buffer.concat(chunks, kept), size });
      else reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    const handler = {
      onConnect(abortIt: (err: Error) => void): void {
        abort = abortIt;
      },
      onHeaders(statusCode: number, raw: Buffer[]): boolean {
        if (statusCode < 200) return true; // 1xx: the answer is still to come
        status = statusCode;
        headers = [];
        for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!.toString('latin1').toLowerCase(), raw[i + 1]!.toString('latin1')]);
        // The rest of --forward-timeout for the body: undici's bodyTimeout is the time between two chunks, which an
        // answer that never ends (a streaming endpoint given as the target) resets for ever, holding every later delivery.
        const rest = Math.max(0, o.timeoutMs - (performance.now() - started));
        deadline = setTimeout(() => {
          const err = Object.assign(new Error('the answer did not finish in time'), { code: ANSWER_TIMEOUT });
          abort?.(err);
          finish(err);
        }, rest);
        return true;
      },
      onData(chunk: Buffer): boolean {
        size += chunk.length;
        if (o.keepAll || kept < RESPONSE_KEEP) {
          const part = o.keepAll ? chunk : chunk.subarray(0, RESPONSE_KEEP - kept);
          chunks.push(part);
          kept += part.length;
        }
        return true;
      },
      onComplete(): void {
        finish(undefined);
      },
      onError(err: Error): void {
        finish(err);
      },
    };
    agent.dispatch(
      {
        origin: u.origin,
        path: u.search ? `${u.pathname}${u.search}` : u.pathname,
        method: o.method as 'POST',
        headers: o.headers,
        body: o.body,
        // undici's own timers, not AbortSignal.timeout(): on Node 20 that one halved forwarding throughput
        // (3,100 vs 5,700 req/s, 32 in flight, bench notes in BENCHMARKS.md). Connecting is bounded by the agent.
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
      },
      handler as unknown as Parameters<Agent['dispatch']>[1],
    );
  });
}

/**
 * undici's index loads everything it has (fetch, WebSocket, EventSource, caches, mocks), and its cookie code reads
 * `globalThis.Headers`, which makes Node load its own bundled copy of undici as well: 14 MB of RSS and ~45 ms of the
 * first delivery's wait, for code a delivery never runs. So the three files a delivery needs are required alone
 * (undici has no `exports` map, so these paths can be required). Should a later undici move them, the index is loaded
 * instead: slower, same behaviour.
 */
export async function loadHttpClient(): Promise<HttpClient & { slim: boolean }> {
  try {
    const load = createRequire(import.meta.url);
    const Agent = load('undici/lib/dispatcher/agent.js') as HttpClient['Agent'];
    const errors = load('undici/lib/core/errors.js') as HttpClient['errors'];
    const { parseURL } = load('undici/lib/core/util.js') as { parseURL(url: string): URL };
    if (typeof Agent !== 'function' || typeof Agent.prototype.dispatch !== 'function' || typeof errors.InvalidArgumentError !== 'function' || typeof parseURL !== 'function')
      throw new Error('undici changed its layout');
    return { Agent, errors, parseURL, slim: true };
  } catch {
    const { Agent, errors } = await import('undici');
    const parseURL = (url: string): URL => {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new errors.InvalidArgumentError('Invalid URL protocol: the URL must start with `http:` or `https:`.');
      return u;
    };
    return { Agent, errors, parseURL, slim: false };
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
      const client = undiciLoaded ?? (await loadUndici());
      const { Agent, errors } = client;
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
        const res = await send(client, agent, url, {
          method: event.method,
          headers: forwardHeaders(event, [...(options.headers ?? []), ...(opts.extraHeaders ?? [])]),
          body: hasBody || event.body.length > 0 ? event.body : undefined,
          keepAll: opts.keepResponse === true,
          timeoutMs: options.timeoutMs,
        });
        const { headers, kept, size } = res;
        const result: DeliveryResult = {
          ...base,
          url,
          final: true,
          status: res.status,
          durationMs: Math.round(performance.now() - started),
          at: isoTime(Date.now()),
          response: appResponse(headers, kept, size),
        };
        if (res.status >= 300 && res.status < 400) {
          const location = headers.find(([k]) => k === 'location')?.[1];
          result.message = `the app redirected${location ? ` to ${location}` : ''} — webhooks are not followed through redirects; forward to ${location ? 'that URL' : 'the final URL'} instead`;
        }
        return opts.keepResponse ? { result, response: { status: res.status, headers, body: kept } } : { result };
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
