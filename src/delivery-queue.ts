import type { DeliveryResult, EventLocation, WebhookEvent } from './event.js';
import type { Deliverer } from './delivery.js';

/**
 * Whether another attempt could succeed: no answer, or a 5xx/429. 4xx is the app's final word, and so is 508: a
 * webhook-listen down the line saw its own event come back (a forward loop), which no retry mends.
 */
export function isRetryable(result: DeliveryResult): boolean {
  if (result.error) return result.error !== 'INVALID';
  const s = result.status ?? 0;
  return (s >= 500 && s !== 508) || s === 429 || s === 408;
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
  /**
   * Queues `event` for `target`; `at` (which stored event it is) lets a deep queue keep it in the store. With no
   * `event`, it is read back from `at` when its turn comes.
   */
  enqueue(event: WebhookEvent | undefined, target: string, previousAttempts?: number, at?: EventLocation): void;
  /** Starts sending (a queue made `paused` holds its jobs until then). */
  start(): void;
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
  let paused = options.paused === true;

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
  const done = (lane: Lane): void => {
    lane.jobs.shift();
  };

  const work = async (lane: Lane, target: string): Promise<void> => {
    while (lane.jobs.length > 0 && !closed) {
      const job = lane.jobs.peek()!;
      if (!job.event) {
        try {
          job.event = options.spill!.load(job.at!);
        } catch (err) {
          // The store lost it (deleted or damaged by hand): nothing left to deliver, but never silently.
          options.onLost?.(target, job.at!, err as Error);
          done(lane);
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
      done(lane);
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
      if (at && options.spill && (!event || lane.jobs.length >= inMemory)) lane.jobs.push({ at, attempts: previousAttempts });
      else if (event) lane.jobs.push({ event, attempts: previousAttempts });
      else return;
      if (!paused) lane.worker ??= work(lane, target);
    },
    start() {
      if (!paused) return;
      paused = false;
      for (const [target, lane] of lanes) lane.worker ??= work(lane, target);
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
