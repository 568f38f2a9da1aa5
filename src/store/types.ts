import type { DeliveryResult, EventDescription, WebhookEvent } from '../core/event.js';

export type { EventDescription } from '../core/event.js';

/** One stored event without its body: what a list shows. */
export interface EventRow {
  seq: number;
  id: string;
  receivedAt: string;
  name: string | null;
  method: string;
  path: string;
  size: number;
  rejected?: WebhookEvent['rejected'];
  targets: string[];
  /** The caller's summary, as it gave it (JSON). */
  summary: string;
  deliveries: DeliveryResult[];
}

export interface ListQuery {
  limit: number;
  /** Only events older than the one with this id (paging; nothing when that event is gone). */
  beforeId?: string;
  name?: string;
  /** Text the event's summary, id, name or path contains (case-insensitive). */
  grep?: string;
}

/** A delivery still owed, as `webhook-listen pending` lists it. */
export interface PendingRow {
  eventId: string;
  target: string;
  attempts: number;
  /** When the holder tries next (ms since epoch), when it said. */
  nextAt?: number;
  lastError?: string;
  /** Whether a running listener holds it now. */
  held: boolean;
  summary: string;
  /** Where it stands in the list (its event's seq): where the next page starts. */
  eventSeq: number;
}

/** Which owed deliveries: of some events, to one target; a page of `limit` after a row (`after`). */
export interface PendingQuery {
  eventIds?: string[];
  target?: string;
  after?: { eventSeq: number; target: string };
  limit?: number;
}

export interface ControlRequest {
  seq: number;
  /** `release`: a listener gave its claims back (stopped, or found dead); `eventId` is its instance id. */
  action: 'cancel' | 'retry' | 'release';
  eventId: string;
  target?: string;
}

/** A delivery still owed to a target, claimed by this store handle. */
export interface PendingJob {
  eventId: string;
  target: string;
  attempts: number;
}

/** What a relay's channel has stored lately: to store a redelivery once (by the relay's id or the provider's). */
export interface RelaySeen {
  relayIds: string[];
  deliveryIds: string[];
}

/** How long a one-shot command waits for another process's write lock, and how it tells the user it is waiting. */
export interface Patience {
  ms: number;
  onWait(message: string): void;
}

export interface StoreOptions {
  /** Keep at least this many newest events; older ones whose deliveries are all final are deleted. */
  keep: number;
  /** How long a claim on a pending delivery lasts unless renewed. */
  leaseMs?: number;
  /** How long a write waits for another process's lock before it fails (5 s unless set; a listener sets it short). */
  busyTimeoutMs?: number;
  /** A one-shot command's: wait this long for another process's write lock, saying so (the listener never waits). */
  patience?: Patience;
  /** Describes events imported from a 0.1.0 store. */
  describe(event: WebhookEvent): EventDescription;
  warn?(message: string): void;
}

export interface StoreHandle {
  readonly dir: string;
  readonly file: string;
  /**
   * Writes the events (and a pending row per target, claimed by this handle), then the delivery attempts (as
   * appendDelivery), in one transaction.
   */
  appendEvents(items: { event: WebhookEvent; description: EventDescription }[], results?: DeliveryResult[]): void;
  /** Records an attempt; a final one (not a replay) settles the pending delivery. */
  appendDelivery(result: DeliveryResult): void;
  readEvent(id: string): WebhookEvent | undefined;
  /** The last relay id stored for a relay channel (gosmee with Redis), to resume from. */
  relayLastId(channel: string): string | undefined;
  /** The relay and provider ids of a channel's events stored since `sinceMs` (newest first, at most `max`). */
  relaySeen(channel: string, sinceMs: number, max: number): RelaySeen;
  /** Keeps a relay channel as the one a bare `--relay` uses. */
  keepRelayChannel(channel: string, relay: string): void;
  keptRelayChannel(): { channel: string; relay: string } | undefined;
  deliveries(id: string): DeliveryResult[];
  /** Newest first. */
  list(query: ListQuery): EventRow[];
  count(query?: Omit<ListQuery, 'limit' | 'beforeId'>): number;
  /** By id prefix, like git: an exact id wins; at most `max` rows. */
  find(prefix: string, max?: number): EventRow[];
  /** Claims pending deliveries for these targets that nobody holds (or whose lease ran out), oldest first. */
  claimPending(targets: string[]): PendingJob[];
  /** Says how another process can tell this listener is alive: GET `url` answers `answer`. */
  register(probe: { url: string; answer: string }): void;
  /** Listeners holding live leases on deliveries owed to these targets, with how to ask whether they are alive. */
  holders(targets: string[]): { owner: string; probeUrl?: string; answer?: string }[];
  /** Frees the claims of a listener found dead, so they can be claimed at once. */
  expire(owner: string): void;
  /**
   * Frees the claims of the listeners that stopped renewing their lease (killed, or asleep); returns how many there
   * were. Each, like a listener that stops, leaves a `release` request for the others.
   */
  expireLapsed(): number;
  /** Deliveries still owed, oldest first (optionally for some events or one target). */
  listPending(query?: PendingQuery): PendingRow[];
  /** How many deliveries are owed to these targets (by any listener). */
  countPending(targets: string[]): number;
  /**
   * Gives up on owed deliveries (of these events, or all; to one target, or all): each gets a final `CANCELLED`
   * attempt, and a running listener is told. Returns what was cancelled.
   */
  cancelPending(query: { eventIds?: string[]; target?: string }): PendingRow[];
  /** Asks the listener holding these owed deliveries to try them now. Returns the rows it concerns. */
  retryPending(query: { eventIds?: string[]; target?: string }): PendingRow[];
  /** Requests newer than `after` (a seq), for the listener to act on. */
  controlSince(after: number): ControlRequest[];
  /** The newest request's seq (where a listener starts reading). */
  controlHead(): number;
  /** Extends this handle's lease (call well within leaseMs); false when another listener took its claims over. */
  renewLeases(): boolean;
  /**
   * Whether this handle may still deliver what it claimed: true at once while its lease is surely live; after a gap
   * (a pause, a sleep) it renews first, and answers false when another listener took its claims over meanwhile.
   */
  claimsHeld(): boolean;
  /** After claims were lost (claimsHeld false, queue emptied): claims again what nobody live holds, own rows included. */
  reclaim(targets: string[]): PendingJob[];
  /** Gives this handle's claims back (at shutdown), so the next start resumes them at once. */
  releaseLeases(): void;
  /**
   * Writes events read from another store (a damaged one being recovered), with a pending row for each of their
   * targets, then delivery attempts, whose final ones settle those rows: what is left is what was owed.
   */
  restore(events: WebhookEvent[], deliveries: DeliveryResult[]): void;
  /** Deletes events beyond --keep whose deliveries are all final, and gives the space back; returns how many. */
  prune(): number;
  /** Notices the database file deleted or replaced by hand, and opens a fresh one; returns what to tell the user. */
  checkFile(): string | undefined;
  close(): void;
}
