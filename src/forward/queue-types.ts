import type { DeliveryResult, EventLocation, WebhookEvent } from '../core/event.js';
import type { Deliverer } from './deliver.js';

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
  /** Bytes of bodies all targets together hold in memory before further jobs are spilled (IN_MEMORY_BYTES). */
  inMemoryBytes?: number;
  /** Jobs a target holds in memory before further ones are spilled. */
  inMemory?: number;
  /** Queue without sending until start(). */
  paused?: boolean;
  /**
   * Asked right before each attempt: whether this listener still holds what it queued (false after another listener
   * took its claims over while it was paused); then `claimsLost` runs, and the lane picks again.
   */
  mayDeliver?(): boolean;
  claimsLost?(): void;
  /** Whether an unreachable target takes connections again (a TCP connect by default). */
  probe?(target: string): Promise<boolean>;
  /** A spilled event could not be read back from the store, so it cannot be delivered to `target`. */
  onLost?(target: string, at: EventLocation, err: Error): void;
}

/** An event kept in the store instead of in memory while it waits deep in a queue (its pending row keeps it). */
export interface Spill {
  /** Reads the event back; throws if it is gone. */
  load(at: EventLocation): WebhookEvent;
}

export interface Job {
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
  /** Bytes of body this job holds in memory and counts against the queue's budget (0 when spilled). */
  held?: number;
}



