import type { DeliveryResult, EventDescription, WebhookEvent } from '../core/event.js';
import { type StoreHandle, StoreError } from '../store/index.js';

/**
 * How long delivery results with no event to share a commit wait for more, and how many make it commit at once: a
 * backlog draining to the app committed once per delivery otherwise (BENCHMARKS.md, the tunnel's drain).
 */
const RESULTS_WAIT_MS = 10;
const RESULTS_WAIT_MAX = 256;
/**
 * Delivery results a failed commit keeps to write again (a lock, a full disk): a result lost means its event is sent
 * again on the next start. Bounded, oldest dropped first.
 */
const UNSAVED_RESULTS_MAX = 10_000;
const UNSAVED_RETRY_MS = 1000;

/** Writes to the store, each failure said once per episode and kind of write, and its end said too. */
export class StoreWrites {
  readonly #failing = new Set<string>();

  constructor(
    readonly store: StoreHandle,
    private readonly say: { info(m: string): void; error(m: string, cause?: unknown): void },
  ) {}

  /** Runs one write; false (said) when it failed, with `what` saying what that means for the user. */
  record(write: () => void, what: string): boolean {
    try {
      write();
      if (this.#failing.delete(what)) this.say.info('the event store takes writes again');
      return true;
    } catch (err) {
      if (!this.#failing.has(what)) this.say.error(`${err instanceof StoreError ? err.message : String(err)} — ${what}`, err);
      this.#failing.add(what);
      return false;
    }
  }
}

/**
 * Group commit: the events read in one turn of the event loop, and the delivery results of that turn, are written in
 * one transaction, before any of those events is answered. Results with no event to share a commit wait up to
 * RESULTS_WAIT_MS for more; an event that comes meanwhile takes them along at once. (A result lost to a crash leaves
 * its delivery pending, so it is sent again on the next start.)
 */
export class GroupCommit {
  #batch: { event: WebhookEvent; description: EventDescription; done: (saved: boolean) => void }[] = [];
  #results: DeliveryResult[] = [];
  #soon = false;
  #later?: NodeJS.Timeout;
  readonly #commitNow = (): void => this.commit();

  constructor(private readonly writes: StoreWrites) {}

  /** Resolves once the event is written (true) or could not be (false); the commit runs at the end of this turn. */
  event(event: WebhookEvent, description: EventDescription): Promise<boolean> {
    return new Promise((done) => {
      this.#scheduleEvent();
      this.#batch.push({ event, description, done });
    });
  }

  /** A delivery result, written with the next commit. */
  result(result: DeliveryResult): void {
    this.#results.push(result);
    if (this.#soon) return;
    if (this.#results.length >= RESULTS_WAIT_MAX) this.#scheduleEvent();
    else this.#later ??= setTimeout(this.#commitNow, RESULTS_WAIT_MS);
  }

  /** Writes what is gathered now (also at shutdown). */
  commit(): void {
    this.#soon = false;
    if (this.#later) clearTimeout(this.#later);
    this.#later = undefined;
    const items = this.#batch;
    const attempts = this.#results;
    this.#batch = [];
    this.#results = [];
    if (items.length === 0 && attempts.length === 0) return;
    const saved = this.writes.record(
      () => this.writes.store.appendEvents(items, attempts),
      items.length ? 'webhooks are answered 503 (the sender will retry) until it is fixed' : 'delivery results are not saved',
    );
    for (const b of items) b.done(saved);
    if (saved || attempts.length === 0) return;
    // The events were answered 503 (their senders send them again); the results are ours to keep trying.
    this.#results = attempts.concat(this.#results).slice(-UNSAVED_RESULTS_MAX);
    (this.#later ??= setTimeout(this.#commitNow, UNSAVED_RETRY_MS)).unref();
  }

  #scheduleEvent(): void {
    if (this.#soon) return;
    this.#soon = true;
    setImmediate(this.#commitNow);
  }
}
