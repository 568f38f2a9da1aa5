import type { DeliveryResult, WebhookEvent } from '../core/event.js';
import { Fifo } from './fifo.js';
import { canConnect } from './reach.js';
import type { Job, QueueOptions } from './queue-types.js';
import { isOutage, isRetryable, rejectionDelay } from './retry-policy.js';

type Pick = { job: Job; retry: boolean } | { waitMs: number } | undefined;

/** How often an unreachable target is probed (a TCP connect) while events wait for it. */
export const PROBE_EVERY_MS = 1000;

/**
 * The deliveries owed to one target, and the one worker that sends them. An outage (no answer) holds the whole line
 * in order until the app is back; an event the app rejects (5xx/429) retries on its own backoff while later ones
 * keep flowing, unless `strictOrder`.
 */
export class Lane {
  readonly jobs = new Fifo<Job>();
  /** Events the app rejected (5xx/429), each waiting for its own next try; oldest due first. */
  #retrying: Job[] = [];
  /** Set while the target is unreachable: it is probed every PROBE_EVERY_MS until it takes connections again. */
  #outage = false;
  #worker?: Promise<void>;
  #timer?: NodeJS.Timeout;
  #wake?: () => void;
  #inFlight?: Job;
  /** Asleep only until a rejected event is due: a new event must wake it, it need not wait. */
  #idleUntilDue = false;
  #stopped = false;

  constructor(
    readonly target: string,
    private readonly options: QueueOptions,
    /** Told when the worker has nothing left, and when a job leaves the lane (its body no longer held here). */
    private readonly hooks: { idle(): void; released(job: Job): void },
  ) {}

  get size(): number {
    return this.jobs.length + this.#retrying.length;
  }

  add(job: Job): void {
    this.jobs.push(job);
    if (this.#idleUntilDue) this.#wake?.();
  }

  run(): void {
    if (!this.#stopped) this.#worker ??= this.#work();
  }

  /** No new attempts; resolves when the one in flight (if any) is done. */
  stop(): Promise<void> | undefined {
    this.#stopped = true;
    this.#wake?.();
    return this.#worker;
  }

  /** Drops every job; the one in flight finishes, unreported (it is another listener's now). */
  clear(): void {
    if (this.#inFlight) this.#inFlight.cancelled = true;
    for (const job of this.jobs.drain()) this.hooks.released(job);
    for (const job of this.#retrying) this.hooks.released(job);
    this.#retrying = [];
    this.#wake?.();
  }

  cancel(eventId: string): boolean {
    const mine = (j: Job): boolean => {
      if (j.id !== eventId) return false;
      this.hooks.released(j);
      return true;
    };
    let found = false;
    if (this.#inFlight && mine(this.#inFlight)) {
      this.#inFlight.cancelled = true;
      found = true;
    }
    const before = this.#retrying.length;
    this.#retrying = this.#retrying.filter((j) => !mine(j));
    if (this.jobs.remove(mine) > 0 || this.#retrying.length < before) found = true;
    this.#wake?.();
    return found;
  }

  retryNow(eventId: string): boolean {
    let found = false;
    const waiting = this.#retrying.find((j) => j.id === eventId);
    if (waiting) {
      waiting.dueAt = 0;
      this.#retrying.sort((a, b) => a.dueAt! - b.dueAt!);
      found = true;
    }
    if (this.jobs.find((j) => j.id === eventId)) found = true;
    if (found) {
      this.#wake?.();
      this.run();
    }
    return found;
  }

  async #work(): Promise<void> {
    while (!this.#stopped) {
      const pick = this.#next();
      if (!pick) break;
      if ('waitMs' in pick) {
        this.#idleUntilDue = true;
        await this.#wait(pick.waitMs);
        this.#idleUntilDue = false;
        continue;
      }
      // Another listener may have taken this one's claims while it was paused: never deliver what it now holds.
      if (this.options.mayDeliver && !this.options.mayDeliver()) {
        this.options.claimsLost?.();
        continue;
      }
      const event = this.#load(pick.job);
      if (!event) {
        this.#settle(pick.job, pick.retry);
        continue;
      }
      this.#inFlight = pick.job;
      const { result } = await this.options.deliverer.deliver(event, this.target, pick.job.attempts + 1);
      this.#inFlight = undefined;
      if (pick.job.cancelled) continue;
      await this.#after(pick.job, pick.retry, event, result);
    }
    this.#worker = undefined;
    this.hooks.idle();
  }

  /** What an attempt's result does to its job and to the line: wait out an outage, retry later, or settle. */
  async #after(job: Job, retry: boolean, event: WebhookEvent, result: DeliveryResult): Promise<void> {
    const o = this.options;
    job.attempts++;
    if (isOutage(result)) {
      // The app is not there: everything for it waits, in order, without using up this event's retries. Said once,
      // when it goes down; then a cheap probe every second, so the line moves within a second of the app's return.
      if (!this.#outage) o.onResult({ ...result, final: false, retryInMs: PROBE_EVERY_MS }, event);
      this.#outage = true;
      await this.#waitUntilReachable();
      return;
    }
    if (this.#outage) {
      this.#outage = false;
      o.onBack?.(this.target, this.size);
    }
    if (!isRetryable(result) || job.rejections >= o.retries) {
      o.onResult(result, event);
      this.#settle(job, retry);
      return;
    }
    job.rejections++;
    const delay = rejectionDelay(result, job.rejections, o.firstDelayMs, o.maxDelayMs);
    o.onResult({ ...result, final: false, retryInMs: delay }, event);
    if (this.#stopped) return;
    if (o.strictOrder) return this.#wait(delay);
    // Only this event waits; the line moves on.
    this.#settle(job, retry);
    job.dueAt = Date.now() + delay;
    this.#retrying.splice(this.#dueIndex(job.dueAt), 0, job);
  }

  /** Where a job due at `dueAt` goes in the retry list (kept in due order): a binary search, after equal ones. */
  #dueIndex(dueAt: number): number {
    let lo = 0;
    let hi = this.#retrying.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#retrying[mid]!.dueAt! <= dueAt) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The next job to try: a rejected one whose time has come (it is older), else the head of the line. */
  #next(): Pick {
    const due = this.#retrying[0];
    const now = Date.now();
    if (due && due.dueAt! <= now) return { job: due, retry: true };
    const head = this.jobs.peek();
    if (head) return { job: head, retry: false };
    if (due) return { waitMs: due.dueAt! - now };
    return undefined;
  }

  #settle(job: Job, retry: boolean): void {
    const at = retry ? this.#retrying.indexOf(job) : -1;
    if (at !== -1) this.#retrying.splice(at, 1);
    else if (this.jobs.peek() === job) this.jobs.shift();
    this.hooks.released(job);
  }

  #load(job: Job): WebhookEvent | undefined {
    if (job.event) return job.event;
    try {
      return (job.event = this.options.spill!.load(job.at!));
    } catch (err) {
      // The store lost it (deleted or damaged by hand): nothing left to deliver, but never silently.
      this.options.onLost?.(this.target, job.at!, err as Error);
      return undefined;
    }
  }

  /** Probes the target every PROBE_EVERY_MS until it takes a connection (or the lane stops or is woken). */
  async #waitUntilReachable(): Promise<void> {
    const probe = this.options.probe ?? canConnect;
    for (;;) {
      if (this.#stopped) return;
      let woken = false;
      await this.#wait(PROBE_EVERY_MS, () => (woken = true));
      if (this.#stopped || woken || (await probe(this.target))) return;
    }
  }

  #wait(ms: number, onWake?: () => void): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#timer = setTimeout(resolve, ms);
      this.#wake = () => {
        onWake?.();
        resolve();
      };
    }).then(() => {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#wake = undefined;
    });
  }
}
