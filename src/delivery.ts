import type { Agent } from 'undici';
import { type DeliveryResult, type WebhookEvent, headerValue } from './event.js';
import type { EventLocation } from './store.js';

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

/** The headers sent to the app: the sender's, minus hop-by-hop ones, plus forwarding and id headers (flat list). */
export function forwardHeaders(event: WebhookEvent, extra: [string, string][] = []): string[] {
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
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    if (lower === 'x-forwarded-for' || lower === 'x-forwarded-host' || lower === 'x-forwarded-proto') {
      seen.add(lower);
      if (lower === 'x-forwarded-for' && event.remoteAddress) {
        out.push(k, `${v}, ${event.remoteAddress}`);
        continue;
      }
    }
    if (lower === 'webhook-listen-event-id') continue;
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

function describeError(err: unknown, url: string, timeoutMs: number): { error: string; message: string } {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.cause?.code ?? e.code ?? e.name ?? 'ERROR';
  let where = url;
  try {
    where = new URL(url).host;
  } catch {
    // keep the raw text
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT')
    return { error: 'TIMEOUT', message: `could not connect to ${where} within ${Math.min(timeoutMs, 10_000) / 1000}s — is the host right and up?` };
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
}

// undici takes ~120 ms to import: loaded on first use (or warmed by warm()), never on the start-up path.
let undiciModule: Promise<typeof import('undici')> | undefined;
let undiciLoaded: typeof import('undici') | undefined;
const loadUndici = (): Promise<typeof import('undici')> =>
  (undiciModule ??= import('undici').then((m) => (undiciLoaded = m)));

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
      agent ??= new Agent({ keepAliveTimeout: 4_000, connections: 16, connect: { timeout: Math.min(options.timeoutMs, 10_000) } });
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
          headers: forwardHeaders(event, opts.extraHeaders),
          body: hasBody || event.body.length > 0 ? event.body : undefined,
          dispatcher: agent,
          // undici's own timers, not AbortSignal.timeout(): on Node 20 that one halved forwarding throughput
          // (3,100 vs 5,700 req/s, 32 in flight, bench notes in BENCHMARKS.md). Connecting is bounded by the agent.
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
        });
        const body = Buffer.from(await res.body.arrayBuffer());
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
          at: new Date().toISOString(),
        };
        return opts.keepResponse ? { result, response: { status: res.statusCode, headers, body } } : { result };
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
            at: new Date().toISOString(),
          },
        };
      }
    },
    close() {
      closing ??= agent ? agent.close().catch(() => undefined) : Promise.resolve();
      return closing;
    },
  };
}

/** Whether another attempt could succeed: no answer, or a 5xx/429. 4xx is the app's final word. */
export function isRetryable(result: DeliveryResult): boolean {
  if (result.error) return result.error !== 'INVALID';
  const s = result.status ?? 0;
  return s >= 500 || s === 429 || s === 408;
}

export interface QueueOptions {
  deliverer: Deliverer;
  /** Attempts after the first one. */
  retries: number;
  firstDelayMs: number;
  maxDelayMs: number;
  onResult(result: DeliveryResult, event: WebhookEvent): void;
  /** Where jobs deep in a queue keep their event instead of memory (the store). */
  spill?: Spill;
  /** Jobs a target holds in memory before further ones are spilled. */
  inMemory?: number;
}

/** An event kept on disk instead of in memory while it waits deep in a queue. */
export interface Spill {
  /** Keeps what `at` points to readable until `release(at)`. */
  hold(at: EventLocation): void;
  /** Reads the event back; throws if it is gone. */
  load(at: EventLocation): WebhookEvent;
  release(at: EventLocation): void;
}

interface Job {
  /** Absent while the job is spilled: read back from `at` when its turn comes. */
  event?: WebhookEvent;
  at?: EventLocation;
  attempts: number;
}

/** A FIFO with O(1) shift however long it gets (Array#shift copies large arrays). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): void {
    this.items[this.head++] = undefined as T;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

interface Lane {
  jobs: Fifo<Job>;
  /** The lane's worker while it runs. */
  worker?: Promise<void>;
  timer?: NodeJS.Timeout;
  wake?: () => void;
}

export interface DeliveryQueue {
  /** Queues `event` for `target`; `at` (where the store holds it) lets a deep queue keep it on disk. */
  enqueue(event: WebhookEvent, target: string, previousAttempts?: number, at?: EventLocation): void;
  /** Jobs not yet finished, over all targets. */
  pending(): number;
  /** Resolves once every job has finished, or after `ms`. */
  idle(ms: number): Promise<void>;
  /**
   * Stops new attempts and waits up to `ms` for those in flight; jobs still waiting stay pending
   * in the store for the next run. Idempotent.
   */
  close(ms: number): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** One ordered queue per target: event N+1 goes to a target only after event N succeeded or gave up there. */
export function createDeliveryQueue(options: QueueOptions): DeliveryQueue {
  const lanes = new Map<string, Lane>();
  const idleWaiters = new Set<() => void>();
  const inMemory = options.inMemory ?? 1000;
  let closed = false;

  const count = (): number => {
    let n = 0;
    for (const l of lanes.values()) n += l.jobs.length;
    return n;
  };
  const checkIdle = (): void => {
    if (count() > 0) return;
    for (const w of idleWaiters) w();
    idleWaiters.clear();
  };
  const done = (lane: Lane, job: Job): void => {
    if (job.at) options.spill?.release(job.at);
    lane.jobs.shift();
  };

  const work = async (lane: Lane, target: string): Promise<void> => {
    while (lane.jobs.length > 0 && !closed) {
      const job = lane.jobs.peek()!;
      if (!job.event) {
        try {
          job.event = options.spill!.load(job.at!);
        } catch {
          // The store lost it (deleted by hand): nothing left to deliver.
          done(lane, job);
          continue;
        }
      }
      const event = job.event;
      job.attempts++;
      const { result } = await options.deliverer.deliver(event, target, job.attempts);
      if (isRetryable(result) && job.attempts <= options.retries) {
        result.final = false;
        if (closed) {
          options.onResult(result, event);
          break;
        }
        const delay = Math.min(options.firstDelayMs * 2 ** (job.attempts - 1), options.maxDelayMs);
        result.retryInMs = delay;
        options.onResult(result, event);
        await new Promise<void>((resolve) => {
          lane.timer = setTimeout(resolve, delay);
          lane.wake = resolve;
        });
        lane.timer = undefined;
        lane.wake = undefined;
        continue;
      }
      options.onResult(result, event);
      done(lane, job);
    }
    lane.worker = undefined;
    checkIdle();
  };

  return {
    enqueue(event, target, previousAttempts = 0, at) {
      if (closed) return;
      let lane = lanes.get(target);
      if (!lane) {
        lane = { jobs: new Fifo() };
        lanes.set(target, lane);
      }
      // A burst faster than the app must not grow memory with every body: deep in the queue, keep only where it is.
      if (at && options.spill && lane.jobs.length >= inMemory) {
        options.spill.hold(at);
        lane.jobs.push({ at, attempts: previousAttempts });
      } else lane.jobs.push({ event, attempts: previousAttempts });
      lane.worker ??= work(lane, target);
    },
    pending: count,
    idle(ms) {
      if (count() === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          idleWaiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, ms);
        idleWaiters.add(done);
      });
    },
    async close(ms) {
      closed = true;
      for (const lane of lanes.values()) {
        if (lane.timer) clearTimeout(lane.timer);
        lane.wake?.();
      }
      const workers = [...lanes.values()].map((l) => l.worker).filter(Boolean);
      await Promise.race([Promise.all(workers), sleep(ms)]);
      for (const w of idleWaiters) w();
      idleWaiters.clear();
    },
  };
}
