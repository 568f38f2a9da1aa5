import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';
import { RESPONSE_KEEP } from '../core/event.js';
import { ANSWER_TIMEOUT } from './errors.js';

/** What one attempt got back: the app's status, its headers (names in lower case) and its answer. */
export interface Answer {
  status: number;
  headers: [string, string][];
  /** The first RESPONSE_KEEP bytes, or all of them when asked to keep the whole answer (passthrough). */
  kept: Buffer;
  /** The whole answer's length. */
  size: number;
}

export interface SendOptions {
  method: string;
  headers: string[];
  body: Buffer | undefined;
  keepAll: boolean;
  /** The whole attempt: the headers within it (undici's headersTimeout), then the body within what is left. */
  timeoutMs: number;
}

/** The parts of undici a delivery uses. */
export interface HttpClient {
  Pool: typeof import('undici').Pool;
  errors: typeof import('undici').errors;
  /** The request's origin and path, or undici's InvalidArgumentError for a URL it cannot send to. */
  parseURL(url: string): URL;
}

/** Header pairs from undici's parsed headers: a repeated header (two Set-Cookie) comes as a list. */
function headerPairs(headers: Record<string, string | string[] | undefined>): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (Array.isArray(v)) for (const one of v) pairs.push([k, one]);
    else if (v !== undefined) pairs.push([k, v]);
  }
  return pairs;
}

/** Collects one answer for send(): its headers, the part of its body kept, and a deadline for the whole of it. */
class AnswerCollector implements Dispatcher.DispatchHandler {
  readonly #started = performance.now();
  #controller?: Dispatcher.DispatchController;
  #deadline?: NodeJS.Timeout;
  #status = 0;
  #headers?: [string, string][];
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #size = 0;
  #done = false;

  constructor(
    private readonly o: SendOptions,
    private readonly resolve: (answer: Answer) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // 1xx: the answer is still to come
    this.#status = statusCode;
    this.#headers = headerPairs(headers);
    // The rest of --forward-timeout for the body: undici's bodyTimeout is the time between two chunks, which an
    // answer that never ends (a streaming endpoint given as the target) resets for ever, holding every later delivery.
    const rest = Math.max(0, this.o.timeoutMs - (performance.now() - this.#started));
    this.#deadline = setTimeout(() => {
      const err = Object.assign(new Error('the answer did not finish in time'), { code: ANSWER_TIMEOUT });
      this.#controller?.abort(err);
      this.#finish(err);
    }, rest);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#size += chunk.length;
    if (!this.o.keepAll && this.#kept >= RESPONSE_KEEP) return;
    const part = this.o.keepAll ? chunk : chunk.subarray(0, RESPONSE_KEEP - this.#kept);
    this.#chunks.push(part);
    this.#kept += part.length;
  }

  onResponseEnd(): void {
    this.#finish(undefined);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.#finish(err);
  }

  #finish(err: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#deadline) clearTimeout(this.#deadline);
    if (err) this.reject(err);
    else if (this.#headers) this.resolve({ status: this.#status, headers: this.#headers, kept: Buffer.concat(this.#chunks, this.#kept), size: this.#size });
    else this.reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  }
}

/**
 * One request through undici's dispatcher, with a handler of our own rather than undici's `request()`: that one
 * wraps every answer in a Readable stream and an async resource (BENCHMARKS.md, forwarding). Rejects with undici's
 * error, or one whose code is ANSWER_TIMEOUT when the answer came but did not end in time.
 */
export function send(client: HttpClient, agent: Pick<Dispatcher, 'dispatch'>, url: string, o: SendOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = client.parseURL(url);
    agent.dispatch(
      {
        origin: u.origin,
        path: u.search ? `${u.pathname}${u.search}` : u.pathname,
        method: o.method as Dispatcher.HttpMethod,
        headers: o.headers,
        body: o.body,
        // undici's own timers; connecting is bounded by the agent.
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
      },
      new AnswerCollector(o, resolve, reject),
    );
  });
}

/**
 * undici's index loads everything it has (fetch, WebSocket, EventSource, caches, mocks) and makes Node load its own
 * bundled copy as well: 14 MB of RSS and ~45 ms of the first delivery's wait, for code a delivery never runs. So the
 * three files a delivery needs are required alone — which is why package.json pins undici to one exact version: these
 * paths are not its public API. Should they move all the same, the index is loaded instead (same behaviour).
 */
export async function loadHttpClient(): Promise<HttpClient & { slim: boolean }> {
  try {
    const load = createRequire(import.meta.url);
    const Pool = load('undici/lib/dispatcher/pool.js') as HttpClient['Pool'];
    const errors = load('undici/lib/core/errors.js') as HttpClient['errors'];
    const { parseURL } = load('undici/lib/core/util.js') as { parseURL(url: string): URL };
    if (typeof Pool !== 'function' || typeof Pool.prototype.dispatch !== 'function' || typeof errors.InvalidArgumentError !== 'function' || typeof parseURL !== 'function')
      throw new Error('undici changed its layout');
    return { Pool, errors, parseURL, slim: true };
  } catch {
    const { Pool, errors } = await import('undici');
    const parseURL = (url: string): URL => {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new errors.InvalidArgumentError('Invalid URL protocol: the URL must start with `http:` or `https:`.');
      return u;
    };
    return { Pool, errors, parseURL, slim: false };
  }
}
