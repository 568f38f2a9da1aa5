import type { DeliveryQueue } from '../forward/queue.js';
import type { Printer } from '../format/printer.js';
import type { ControlRequest, PendingJob } from '../store/index.js';
import type { StoreWrites } from './group-commit.js';

/** How often requests from other terminals (cancel, retry) are read and the database file is checked. */
const KEEPER_MS = 1000;
/** Leases are renewed every this many keeper ticks (they last 10 s). */
const RENEW_EVERY = 3;

/**
 * What a listener does for the store while it runs, once a second: renews its lease well within its 10 s, takes over
 * deliveries another listener gave back (or died holding), acts on `cancel` and `retry` from other terminals, and
 * notices the database file deleted or replaced by hand.
 */
export class Keeper {
  #controlSeen = 0;
  #ticks = 0;
  #reclaiming = false;
  #timer?: NodeJS.Timeout;

  constructor(
    private readonly writes: StoreWrites,
    private readonly queue: DeliveryQueue,
    private readonly printer: Printer,
    private readonly claimable: { resume: boolean; targets: string[] },
  ) {
    writes.record(() => (this.#controlSeen = writes.store.controlHead()), 'cancel and retry from other terminals are not seen');
  }

  /** Queues the deliveries owed to our targets that nobody holds; returns how many. */
  claim(): number {
    if (!this.claimable.resume || this.claimable.targets.length === 0) return 0;
    return this.#queueClaimed((targets) => this.writes.store.claimPending(targets));
  }

  /** Claims with `take` (said when the store fails) and queues what it got; returns how many. */
  #queueClaimed(take: (targets: string[]) => PendingJob[]): number {
    let jobs: PendingJob[] = [];
    this.writes.record(() => (jobs = take(this.claimable.targets)), 'pending deliveries cannot be resumed');
    for (const j of jobs) this.queue.enqueue(undefined, j.target, j.attempts, { id: j.eventId });
    return jobs.length;
  }

  /**
   * This listener was paused past its lease (a laptop asleep, SIGSTOP) and another may have taken its claims over:
   * what it queued is dropped and it claims again only what nobody live holds, so nothing is delivered twice.
   */
  claimsLost(): void {
    if (this.#reclaiming) return;
    this.#reclaiming = true;
    try {
      this.queue.clear();
      this.printer.warn('this listener was paused past its lease, and another one may have taken over its deliveries: it dropped its queue and takes back only what nobody holds');
      this.#queueClaimed((targets) => this.writes.store.reclaim(targets));
    } finally {
      this.#reclaiming = false;
    }
  }

  start(): { close(): void } {
    this.#timer = setInterval(() => this.#tick(), KEEPER_MS);
    this.#timer.unref();
    return { close: () => clearInterval(this.#timer) };
  }

  #tick(): void {
    const { store } = this.writes;
    // Claims are looked for only when some were given back (a listener stopped, or was found dead): the look reads
    // every owed delivery.
    let released = false;
    // The lease is renewed (and found lost, if it was) at most once a tick.
    let renewed = false;
    if (++this.#ticks % RENEW_EVERY === 0) {
      renewed = true;
      if (!this.#stillHeld()) this.claimsLost();
      this.writes.record(() => (released = store.expireLapsed() > 0), 'deliveries of a listener that stopped cannot be taken over');
    }
    if (this.#act()) released = true;
    // A release may be this listener's own, written by another that took it for dead while it was paused: claiming
    // (which renews the lease) must not come before finding that out.
    if (released && !renewed && !this.#stillHeld()) {
      this.claimsLost();
      released = false;
    }
    const taken = released ? this.claim() : 0;
    if (taken) this.printer.info(`took over ${taken} pending ${taken === 1 ? 'delivery' : 'deliveries'} whose listener stopped`);
    try {
      const replaced = store.checkFile();
      if (replaced) this.printer.warn(replaced);
    } catch (err) {
      this.printer.error((err as Error).message, err);
    }
  }

  /** Renews the lease; false when another listener took this one's claims over (a write that fails is said). */
  #stillHeld(): boolean {
    let held = true;
    this.writes.record(() => (held = this.writes.store.renewLeases()), 'leases on pending deliveries cannot be renewed');
    return held;
  }

  /** `webhook-listen cancel` and `retry` (or the inspector) in another process; true when claims were given back. */
  #act(): boolean {
    let requests: ControlRequest[] = [];
    this.writes.record(() => (requests = this.writes.store.controlSince(this.#controlSeen)), 'cancel and retry from other terminals are not seen');
    let released = false;
    for (const r of requests) {
      this.#controlSeen = r.seq;
      const to = `${r.eventId.slice(0, 12)} → ${r.target ?? 'every target'}`;
      if (r.action === 'release') released = true;
      if (r.action === 'cancel' && this.queue.cancel(r.eventId, r.target)) this.printer.info(`cancelled: ${to}`);
      if (r.action === 'retry' && this.queue.retryNow(r.eventId, r.target)) this.printer.info(`retrying now: ${to}`);
    }
    return released;
  }
}
