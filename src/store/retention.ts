import type { Connection } from './connection.js';

/** How often the store is pruned, in events (BENCHMARKS.md: a prune every 100 cost the tunnel bench 0.74× → 0.60×). */
const PRUNE_EVERY = 500;
/**
 * A prune looks at the events that became old since the last one, and at this many of the older ones kept because a
 * delivery was owed, going round them prune after prune: all at once held the loop 0.4 s with 200k owed.
 */
const OWED_LOOK = 2000;
/** Free pages are given back to the file system once they are this share of the file (else new events reuse them). */
const VACUUM_FREE_SHARE = 0.25;
/** Pages moved per vacuum step, so that one step stays short. */
const VACUUM_STEP = 2000;

/**
 * Deletes what is past --keep, oldest first, never an event a delivery is still owed for. Events are only ever added
 * at the new end and pruned from the old one, so the newest `keep` are the seqs above max - keep: two index look-ups
 * instead of counting rows. Below `looked`, every event has been looked at by an earlier prune of this handle: only
 * those owed a delivery remain, and `owedFrom` is where the next look at them starts.
 */
export class Retention {
  #looked = 0;
  #owedFrom = 0;
  #sincePrune = 0;

  constructor(
    private readonly c: Connection,
    private readonly keep: number,
  ) {}

  /** Counts `added` new events; true when a prune is due with them. */
  due(added: number): boolean {
    this.#sincePrune += added;
    if (added === 0 || this.#sincePrune < Math.min(PRUNE_EVERY, Math.max(10, Math.ceil(this.keep / 10)))) return false;
    this.#sincePrune = 0;
    return true;
  }

  /** Inside a transaction: deletes what is old; `all` looks at every old event at once (an explicit prune). */
  pruneRows(all: boolean): number {
    if (this.keep <= 0) return 0;
    const { lo, hi } = this.c.s.bounds.get() as { lo: number | null; hi: number | null };
    if (lo === null || hi === null || hi - lo + 1 <= this.keep) return 0;
    const cut = hi - this.keep + 1;
    const fresh = Math.max(lo, this.#looked);
    this.#looked = Math.max(this.#looked, cut);
    // Without forwarding there are no deliveries: not worth finding the old events' ids for (a third of a prune).
    const deliveries = this.c.s.anyDelivery.get() !== undefined;
    let gone = this.#pruneRange(fresh, cut, deliveries);
    const start = all ? lo : Math.max(lo, this.#owedFrom);
    const end = all ? fresh : Math.min(fresh, start + OWED_LOOK);
    gone += this.#pruneRange(start, end, deliveries);
    this.#owedFrom = end >= fresh ? lo : end;
    return gone;
  }

  /** Inside the caller's transaction, under a savepoint: a prune that fails is undone alone and said. */
  pruneInside(warn: (message: string) => void): number {
    this.c.db.exec('SAVEPOINT prune');
    try {
      const gone = this.pruneRows(false);
      this.c.db.exec('RELEASE prune');
      return gone;
    } catch (err) {
      this.c.db.exec('ROLLBACK TO prune; RELEASE prune');
      warn(`could not prune the event store: ${(err as Error).message}`);
      return 0;
    }
  }

  /**
   * Freed pages are reused by the events that follow; they go back to the file system only when many are free (a
   * lower --keep, a burst that went): moving pages on every prune doubled what each prune wrote.
   */
  giveSpaceBack(): void {
    const free = (this.c.s.freePages.get() as { freelist_count: number }).freelist_count;
    const pages = (this.c.s.pages.get() as { page_count: number }).page_count;
    if (free > pages * VACUUM_FREE_SHARE) this.c.db.exec(`PRAGMA incremental_vacuum(${VACUUM_STEP})`);
  }

  #pruneRange(from: number, to: number, deliveries: boolean): number {
    if (from >= to) return 0;
    if (deliveries) this.c.s.pruneDeliveries.run(from, to);
    if (this.c.s.anyRelayed.get()) this.c.s.pruneRelayed.run(from, to);
    this.c.s.pruneText.run(from, to);
    return Number(this.c.s.pruneEvents.run(from, to).changes);
  }
}
