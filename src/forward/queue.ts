import type { EventLocation, WebhookEvent } from '../core/event.js';
import { Lane } from './lane.js';
import type { QueueOptions } from './queue-types.js';

export type { Job, QueueOptions, Spill } from './queue-types.js';

/**
 * The bodies that waiting events may keep in memory, over all targets; past it a new job keeps only its event's place
 * in the store. By bytes, not only by count: 1,000 waiting events of 9.9 MB each were 3.2 GB of RSS.
 */
export const IN_MEMORY_BYTES = 8_000_000;

/** One queue per target (a Lane); this class routes to them and answers for all of them. */
export class DeliveryQueue {
  readonly #lanes = new Map<string, Lane>();
  /** Bytes of the bodies that queued jobs hold in memory. */
  #heldBytes = 0;
  readonly #idleWaiters = new Set<() => void>();
  #closed = false;
  #paused: boolean;

  constructor(private readonly options: QueueOptions) {
    this.#paused = options.paused === true;
  }

  /**
   * Queues `event` for `target`; `at` (which stored event it is) lets a deep queue keep it in the store. With no
   * `event`, it is read back from `at` when its turn comes.
   */
  enqueue(event: WebhookEvent | undefined, target: string, previousAttempts = 0, at?: EventLocation): void {
    if (this.#closed) return;
    let lane = this.#lanes.get(target);
    if (!lane) {
      lane = new Lane(target, this.options, {
        idle: () => this.#checkIdle(),
        released: (job) => {
          if (job.held) this.#heldBytes -= job.held;
          job.held = 0;
        },
      });
      this.#lanes.set(target, lane);
    }
    const id = event?.id ?? at?.id;
    if (!id) return;
    // A burst faster than the app must not grow memory with every body: deep in the queue, keep only its id.
    const budget = this.options.inMemoryBytes ?? IN_MEMORY_BYTES;
    const deep = !event || lane.jobs.length >= (this.options.inMemory ?? 1000) || this.#heldBytes + event.body.length > budget;
    if (at && this.options.spill && deep) lane.add({ id, at, attempts: previousAttempts, rejections: 0 });
    else if (event) {
      this.#heldBytes += event.body.length;
      lane.add({ id, event, attempts: previousAttempts, rejections: 0, held: event.body.length });
    }
    if (!this.#paused) lane.run();
  }

  /** Starts sending (a queue made `paused` holds its jobs until then). */
  start(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const lane of this.#lanes.values()) lane.run();
  }

  /** Drops waiting deliveries of this event (to one target, or all); true when one was found. */
  cancel(eventId: string, target?: string): boolean {
    let found = false;
    for (const lane of this.#lanesFor(target)) if (lane.cancel(eventId)) found = true;
    this.#checkIdle();
    return found;
  }

  /** Tries waiting deliveries of this event now (to one target, or all); true when one was found. */
  retryNow(eventId: string, target?: string): boolean {
    let found = false;
    for (const lane of this.#lanesFor(target)) if (lane.retryNow(eventId)) found = true;
    return found;
  }

  /** Drops every waiting job of every target (claims lost: what to deliver is claimed again). */
  clear(): void {
    for (const lane of this.#lanes.values()) lane.clear();
  }

  /** Jobs not yet finished, over all targets. */
  pending(): number {
    let n = 0;
    for (const l of this.#lanes.values()) n += l.size;
    return n;
  }

  /** Resolves once every job has finished, or after `ms`. */
  idle(ms: number): Promise<void> {
    if (this.pending() === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.#idleWaiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.#idleWaiters.add(done);
    });
  }

  /**
   * Stops new attempts and waits up to `ms` for those in flight; jobs still waiting stay pending in the store for
   * the next run. Idempotent.
   */
  async close(ms: number): Promise<void> {
    this.#closed = true;
    const workers = [...this.#lanes.values()].map((l) => l.stop()).filter((w) => w !== undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(workers), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms).unref()))]);
    clearTimeout(timer);
    for (const w of this.#idleWaiters) w();
    this.#idleWaiters.clear();
  }

  #lanesFor(target?: string): Lane[] {
    if (target === undefined) return [...this.#lanes.values()];
    const lane = this.#lanes.get(target);
    return lane ? [lane] : [];
  }

  #checkIdle(): void {
    if (this.pending() > 0) return;
    for (const w of this.#idleWaiters) w();
    this.#idleWaiters.clear();
  }
}
