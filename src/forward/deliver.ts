import { type AppResponse, type DeliveryResult, RESPONSE_KEEP, type WebhookEvent } from '../core/event.js';
import { isoTime } from '../core/ids.js';
import { targetUrl } from '../core/targets.js';
import { withoutPartialUtf8 } from '../core/text.js';
import { connectTimeoutMs, describeError } from './errors.js';
import { forwardHeaders } from './headers.js';
import { type Answer, type HttpClient, loadHttpClient, send } from './http-client.js';
import { Pools } from './pools.js';

export interface ForwardResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

export interface Forwarded {
  result: DeliveryResult;
  response?: ForwardResponse;
}

export interface DelivererOptions {
  timeoutMs: number;
  /** Accept a self-signed or otherwise unverifiable certificate on https targets (--insecure). */
  insecure?: boolean;
  /** Added to (or replacing) the headers of every forwarded request (--header), never stored. */
  headers?: [string, string][];
}

/** The part of an answer kept with the delivery: text when it is UTF-8, else base64. */
export function appResponse(headers: [string, string][], kept: Buffer, size: number): AppResponse {
  const body = kept.subarray(0, RESPONSE_KEEP);
  const { isUtf8 } = process.getBuiltinModule('node:buffer');
  const out: AppResponse = { headers, size };
  // Cut at the limit, a text answer may end inside a character: still text, less that character's first bytes.
  const text = size > body.length ? withoutPartialUtf8(body) : body;
  if (body.length > 0) {
    if (isUtf8(text)) out.body = text.toString('utf8');
    else out.bodyBase64 = body.toString('base64');
  }
  if (size > body.length) out.truncated = true;
  return out;
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

type Base = Pick<DeliveryResult, 'eventId' | 'target' | 'method' | 'attempt' | 'replay'>;

/** The result of an attempt the app answered. */
function answered(base: Base, url: string, res: Answer, started: number): DeliveryResult {
  const result: DeliveryResult = {
    ...base,
    url,
    final: true,
    status: res.status,
    durationMs: Math.round(performance.now() - started),
    at: isoTime(Date.now()),
    response: appResponse(res.headers, res.kept, res.size),
  };
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.find(([k]) => k === 'location')?.[1];
    result.message = `the app redirected${location ? ` to ${location}` : ''} — webhooks are not followed through redirects; forward to ${location ? 'that URL' : 'the final URL'} instead`;
  }
  return result;
}

/** The result of an attempt that got no answer. */
function failed(base: Base, url: string, err: unknown, client: HttpClient, timeoutMs: number, started: number): DeliveryResult {
  const { error, message } =
    err instanceof client.errors.InvalidArgumentError
      ? { error: 'INVALID', message: `cannot forward this request: ${err.message}` }
      : describeError(err, url, timeoutMs);
  return { ...base, url, final: true, error, message, durationMs: Math.round(performance.now() - started), at: isoTime(Date.now()) };
}

export function createDeliverer(options: DelivererOptions): Deliverer {
  let agent: Pools | undefined;
  let closing: Promise<void> | undefined;
  return {
    warm() {
      void loadUndici().catch(() => undefined);
    },
    async deliver(event, target, attempt, opts = {}) {
      // No await once loaded, so the request is dispatched before deliver() returns (passthrough overlaps on it).
      const client = undiciLoaded ?? (await loadUndici());
      agent ??= new Pools(
        (origin) =>
          new client.Pool(origin, {
            keepAliveTimeout: 4_000,
            connections: 16,
            connect: { timeout: connectTimeoutMs(options.timeoutMs), ...(options.insecure ? { rejectUnauthorized: false } : {}) },
          }),
      );
      const started = performance.now();
      const base: Base = { eventId: event.id, target, method: event.method, attempt, ...(opts.replay ? { replay: true } : {}) };
      let url = target;
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
        const result = answered(base, url, res, started);
        return opts.keepResponse ? { result, response: { status: res.status, headers: res.headers, body: res.kept } } : { result };
      } catch (err) {
        return { result: failed(base, url, err, client, options.timeoutMs, started) };
      }
    },
    close() {
      // destroy(), not close(): close() waits for requests in flight, up to --forward-timeout (30 s by default).
      closing ??= agent ? agent.destroy() : Promise.resolve();
      return closing;
    },
  };
}
