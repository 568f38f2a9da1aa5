import type { DeliveryResult, EventLocation, WebhookEvent } from './event.js';
import type { Deliverer } from './delivery.js';

/**
 * No HTTP answer at all: the app is down or unreachable, which holds every event for that target, in order. An answer
 * that began but did not end within --forward-timeout (INCOMPLETE) is the app's answer to this event, not an outage.
 */
export function isOutage(result: DeliveryResult): boolean {
  const e = result.error;
  return e !== undefined && e !== 'INVALID' && e !== 'TLS' && e !== 'CANCELLED' && e !== 'INCOMPLETE';
}

/**
 * Whether the app's answer asks for another try: 5xx, 429, 408, or an answer that did not finish in time. Anything
 * else it answered is its final word (4xx, a redirect), and so is 508: a webhook-listen down the line saw its own event
 * come back (a forward loop).
 */
export function isRetryable(result: DeliveryResult): boolean {
  if (result.error) return result.error === 'INCOMPLETE' || isOutage(result);
  const s = result.status ?? 0;
  return (s >= 500 && s !== 508) || s === 429 || s === 408;
}

export interface QueueOptions {
  deliverer: Deliverer;
  /** Attempts after the first one, for an event the app answers 5xx/429 (an outage does not use them up). */
  retries: number;
  firstDelayMs: number;
  maxDelayMs: number;
  /**
   * Event N+1 goes to a target only after event N succeeded or gave up, even when the app answered N with a 5xx.
   * Without it, only an outage (no answer) holds the line; a rejected event retries on its own.
   */
  strictOrder?: boolean;
  onResult(result: DeliveryResult, event: WebhookEvent): void;
  /** A target that was unreachable answers again; `waiting` events flow to it now. */
  onBack?(target: string, waiting: number): void;
  /** Where jobs deep in a queue keep their event instead of memory (the store). */
  spill?: Spill;
  /** Jobs a target holds in memory before further ones are spilled. */
  inMemory?: number;
  /** Queue without sending until start(). */
  paused?: boolean;
  /** A spilled event could not be read back from the store, so it cannot be delivered to `target`. */
  onLost?(target: string, at: EventLocation, err: Error): void;
}

/** An event kept in the store instead of in memory while it waits deep in a queue (its pending row keeps it). */
export interface Spill {
  /** Reads the event back; throws if it is gone. */
  load(at: EventLocation): WebhookEvent;
}

interface Job {
  id: string;
  /** Absent while the job is spilled: read back from `at` when its turn comes. */
  event?: WebhookEvent;
  at?: EventLocation;
  /** Attempts so far, for numbering them (resumed jobs start from the store's count). */
  attempts: number;
  /** Times the app answered with a retryable status: what --retries bounds (an outage does not count). */
  rejections: number;
  /** When a job the app rejected may be tried again (ms since epoch). */
  dueAt?: number;
  cancelled?: boolean;
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
  /** Removes matching items (O(n): for cancels, not the hot path); returns how many. */
  remove(match: (item: T) => boolean): number {
    const before = this.length;
    this.items = this.items.slice(this.head).filter((i) => !match(i));
    this.head = 0;
    return before - this.items.length;
  }
  find(match: (item: T) => boolean): T | undefined {
    for (let i = this.head; i < this.items.length; i++) if (match(this.items[i]!)) return this.items[i];
    return undefined;
  }
}

interface Lane {
  jobs: Fifo<Job>;
  /** Events the app rejected (5xx/429), each waiting for its own next try; oldest due first. */
  retrying: Job[];
  /** Set while the target is unreachable. */
  outage?: { delay: number };
  worker?: Promise<void>;
  timer?: NodeJS.Timeout;
  wake?: () => void;
  inFlight?: Job;
  /** Asleep only until a rejected event is due: a new event must wake it, it need not wait. */
  idleUntilDue?: boolean;
}

export interface DeliveryQueue {
  /**
   * Queues `event` for `target`; `at` (which stored event it is) lets a deep queue keep it in the store. With no
   * `event`, it is read back from `at` when its turn comes.
   */
  enqueue(event: WebhookEvent | undefined, target: string, previousAttempts?: number, at?: EventLocation): void;
  /** Starts sending (a queue made `paused` holds its jobs until then). */
  start(): void;
  /** Drops waiting deliveries of this event (to one target, or all); true when one was found. */
  cancel(eventId: string, target?: string): boolean;
  /** Tries waiting deliveries of this event now (to one target, or all); true when one was found. */
  retryNow(eventId: string, target?: string): boolean;
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

/** Seconds or an HTTP date in a Retry-After header, as milliseconds from now; undefined when absent or odd. */
export function retryAfterMs(result: DeliveryResult, now = Date.now()): number | undefined {
  const value = result.response?.headers.find(([k]) => k.toLowerCase() === 'retry-after')?.[1]?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * One queue per target. An outage (no answer) holds the whole line in order until the app is back; an event the app
 * rejects (5xx/429) retries on its own backoff while later ones keep flowing, unless `strictOrder`.
 */
export function createDeliveryQueue(options: QueueOptions): DeliveryQueue {
  const lanes = new Map<string, Lane>();
  const idleWaiters = new Set<() => void>();
  const inMemory = options.inMemory ?? 1000;
  let closed = false;
  let paused = options.paused === true;

  const laneSize = (l: Lane): number => l.jobs.length + l.retrying.length;
  const count = (): number => {
    let n = 0;
    for (const l of lanes.values()) n += laneSize(l);
    return n;
  };
  const checkIdle = (): void => {
    if (count() > 0) return;
    for (const w of idleWaiters) w();
    idleWaiters.clear();
  };
  const backoff = (attempts: number): number => Math.min(options.firstDelayMs * 2 ** (attempts - 1), options.maxDelayMs);
  const wait = (lane: Lane, ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      lane.timer = setTimeout(resolve, ms);
      lane.wake = resolve;
    }).then(() => {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = undefined;
      lane.wake = undefined;
    });

  /** The next job to try: a rejected one whose time has come (it is older), else the head of the line. */
  const next = (lane: Lane): { job: Job; retry: boolean } | { waitMs: number } | undefined => {
    const due = lane.retrying[0];
    const now = Date.now();
    if (due && due.dueAt! <= now) return { job: due, retry: true };
    const head = lane.jobs.peek();
    if (head) return { job: head, retry: false };
    if (due) return { waitMs: due.dueAt! - now };
    return undefined;
  };
  const settle = (lane: Lane, job: Job, retry: boolean): void => {
    if (retry) lane.retrying.splice(lane.retrying.indexOf(job), 1);
    else if (lane.jobs.peek() === job) lane.jobs.shift();
  };
  const load = (job: Job, target: string): WebhookEvent | undefined => {
    if (job.event) return job.event;
    try {
      return (job.event = options.spill!.load(job.at!));
    } catch (err) {
      // The store lost it (deleted or damaged by hand): nothing left to deliver, but never silently.
      options.onLost?.(target, job.at!, err as Error);
      return undefined;
    }
  };

  const work = async (lane: Lane, target: string): Promise<void> => {
    while (!closed) {
      const pick = next(lane);
      if (!pick) break;
      if ('waitMs' in pick) {
        lane.idleUntilDue = true;
        await wait(lane, pick.waitMs);
        lane.idleUntilDue = false;
        continue;
      }
      const { job, retry } = pick;
      const event = load(job, target);
      if (!event) {
        settle(lane, job, retry);
        continue;
      }
      lane.inFlight = job;
      const { result } = await options.deliverer.deliver(event, target, job.attempts + 1);
      lane.inFlight = undefined;
      if (job.cancelled) continue;
      if (isOutage(result)) {
        // The app is not there: everything for it waits, in order, without using up this event's retries.
        const delay = lane.outage ? Math.min(lane.outage.delay * 2, options.maxDelayMs) : options.firstDelayMs;
        lane.outage = { delay };
        job.attempts++;
        result.final = false;
        result.retryInMs = delay;
        options.onResult(result, event);
        if (closed) break;
        await wait(lane, delay);
        continue;
      }
      if (lane.outage) {
        lane.outage = undefined;
        options.onBack?.(target, laneSize(lane));
      }
      job.attempts++;
      if (isRetryable(result) && job.rejections < options.retries) {
        job.rejections++;
        const delay = Math.max(retryAfterMs(result) ?? 0, backoff(job.rejections));
        result.final = false;
        result.retryInMs = delay;
        options.onResult(result, event);
        if (closed) break;
        if (options.strictOrder) {
          await wait(lane, delay);
          continue;
        }
        // Only this event waits; the line moves on.
        settle(lane, job, retry);
        job.dueAt = Date.now() + delay;
        const at = lane.retrying.findIndex((j) => j.dueAt! > job.dueAt!);
        lane.retrying.splice(at === -1 ? lane.retrying.length : at, 0, job);
        continue;
      }
      options.onResult(result, event);
      settle(lane, job, retry);
    }
    lane.worker = undefined;
    checkIdle();
  };
  const run = (lane: Lane, target: string): void => {
    if (!paused && !closed) lane.worker ??= work(lane, target);
  };
  const lanesFor = (target?: string): [string, Lane][] => [...lanes].filter(([t]) => !target || t === target);

  return {
    enqueue(event, target, previousAttempts = 0, at) {
      if (closed) return;
      let lane = lanes.get(target);
      if (!lane) {
        lane = { jobs: new Fifo(), retrying: [] };
        lanes.set(target, lane);
      }
      const id = event?.id ?? at?.id;
      if (!id) return;
      // A burst faster than the app must not grow memory with every body: deep in the queue, keep only its id.
      if (at && options.spill && (!event || lane.jobs.length >= inMemory)) lane.jobs.push({ id, at, attempts: previousAttempts, rejections: 0 });
      else if (event) lane.jobs.push({ id, event, attempts: previousAttempts, rejections: 0 });
      if (lane.idleUntilDue) lane.wake?.();
      run(lane, target);
    },
    start() {
      if (!paused) return;
      paused = false;
      for (const [target, lane] of lanes) run(lane, target);
    },
    cancel(eventId, target) {
      let found = false;
      for (const [, lane] of lanesFor(target)) {
        const mine = (j: Job): boolean => j.id === eventId;
        if (lane.inFlight && mine(lane.inFlight)) {
          lane.inFlight.cancelled = true;
          found = true;
        }
        const before = lane.retrying.length;
        lane.retrying = lane.retrying.filter((j) => !mine(j));
        if (lane.jobs.remove(mine) > 0 || lane.retrying.length < before) found = true;
        lane.wake?.();
      }
      checkIdle();
      return found;
    },
    retryNow(eventId, target) {
      let found = false;
      for (const [t, lane] of lanesFor(target)) {
        const waiting = lane.retrying.find((j) => j.id === eventId);
        if (waiting) {
          waiting.dueAt = 0;
          lane.retrying.sort((a, b) => a.dueAt! - b.dueAt!);
          found = true;
        }
        if (lane.jobs.find((j) => j.id === eventId)) found = true;
        if (found) {
          lane.wake?.();
          run(lane, t);
        }
      }
      return found;
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
      for (const lane of lanes.values()) lane.wake?.();
      const workers = [...lanes.values()].map((l) => l.worker).filter(Boolean);
      await Promise.race([Promise.all(workers), sleep(ms)]);
      for (const w of idleWaiters) w();
      idleWaiters.clear();
    },
  };
}
