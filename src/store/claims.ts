import type { Connection } from './connection.js';
import type { PendingJob } from './types.js';

/** A lease is taken as surely live only this long before it ends: room for one attempt to begin and be written. */
const LEASE_MARGIN_MS = 2000;

/**
 * Who delivers what is owed. A pending row is claimed by writing an instance id in it; the lease is the instance's
 * (one row in `instances`, renewed by its listener), not the row's: renewing costs one row however long the backlog.
 * So two listeners on one store, or one restarted under the same PID, deliver each pending event once. No liveness
 * check by PID.
 */
export class Claims {
  /** Whether this handle's instance row is in the table (claims are only made under it). */
  #holding = false;
  #probe = { url: '', answer: '' };
  /** Until when, by this process's clock, no other listener can have taken this one's claims (its lease, less a margin). */
  #safeUntil = 0;

  constructor(
    private readonly c: Connection,
    readonly instance: string,
    private readonly leaseMs: number,
  ) {}

  /** Writes (or renews) this instance's row, with what register() said. */
  hold(): void {
    const now = Date.now();
    this.c.s.hold.run(this.instance, this.#probe.url, this.#probe.answer, now + this.leaseMs);
    this.#holding = true;
    this.#safeUntil = now + this.leaseMs - LEASE_MARGIN_MS;
  }

  /**
   * Extends this listener's lease, if it still has one: false when another listener took it for dead meanwhile (it
   * was paused or asleep past its lease) and may have taken its claims over. Never re-creates the row by itself.
   */
  renew(): boolean {
    if (!this.#holding) return true;
    const now = Date.now();
    if (Number(this.c.s.renew.run(now + this.leaseMs, this.instance).changes) === 0) {
      this.#holding = false;
      this.#safeUntil = 0;
      return false;
    }
    this.#safeUntil = now + this.leaseMs - LEASE_MARGIN_MS;
    return true;
  }

  /**
   * Whether this listener may still act on its claims: at once while its lease is surely live by its own clock, else
   * (after a pause, a sleep, a stalled event loop) only once the lease is renewed — which fails when it was taken over.
   */
  stillHeld(): boolean {
    if (!this.#holding || Date.now() < this.#safeUntil) return true;
    return this.renew();
  }

  /**
   * The file was replaced or deleted and a new one opened: this listener's row is written into it again. Its lease
   * was not taken over (nobody else saw the new file yet); reading the missing row as a take-over dropped the jobs
   * in memory, so events that were only there were never delivered.
   */
  reopened(): void {
    if (this.#holding) this.hold();
  }

  /** Holds before the first claim of a handle: new events' pending rows are claimed under it. */
  holdOnce(): void {
    if (!this.#holding) this.hold();
  }

  register(probe: { url: string; answer: string }): void {
    this.#probe = probe;
    this.hold();
  }

  /**
   * Frees a listener's claims and forgets it (this one at shutdown, or one found dead): its rows keep its id, which
   * no live instance has any more. The others are told through the control table (they look every second).
   */
  release(owner: string): void {
    this.c.s.unregister.run(owner);
    this.c.s.control.run('release', owner, null, Date.now());
    if (owner === this.instance) this.#holding = false;
  }

  /**
   * Claims pending deliveries for these targets that nobody holds (or whose lease ran out), oldest first; `own` also
   * those still marked as this listener's (after its claims were lost and its queue emptied).
   */
  claimPending(targets: string[], own = false): PendingJob[] {
    this.hold();
    const marks = targets.map(() => '?').join(',');
    const mine = own ? 'owner = ? OR ' : '';
    // Unowned, or owned by no live instance (this one is live now: its own rows stay as they are). Read row by row
    // and kept as columns, not as one object per row: a restart with 100k owed left V8's heap at 120 MB otherwise.
    const rows = this.c.db
      .prepare(
        `UPDATE pending SET owner = ?
         WHERE target IN (${marks}) AND (${mine}owner IS NULL OR owner NOT IN (SELECT id FROM instances WHERE lease_until >= ?))
         RETURNING event_id, target, attempts, event_seq`,
      )
      .iterate(this.instance, ...targets, ...(own ? [this.instance] : []), Date.now()) as Iterable<{ event_id: string; target: string; attempts: number; event_seq: number }>;
    const ids: string[] = [];
    const owed: string[] = [];
    const tries: number[] = [];
    const seqs: number[] = [];
    for (const r of rows) {
      ids.push(r.event_id);
      owed.push(targets.find((t) => t === r.target) ?? r.target);
      tries.push(r.attempts);
      seqs.push(r.event_seq);
    }
    const order = Array.from(ids.keys()).sort((a, b) => seqs[a]! - seqs[b]!);
    return order.map((i) => ({ eventId: ids[i]!, target: owed[i]!, attempts: tries[i]! }));
  }

  /** Listeners holding live leases on deliveries owed to these targets, with how to ask whether they are alive. */
  holders(targets: string[]): { owner: string; probeUrl?: string; answer?: string }[] {
    const rows = this.c.db
      .prepare(
        `SELECT i.id AS owner, i.probe_url AS probeUrl, i.answer AS answer FROM instances i
         WHERE i.id != ? AND i.lease_until >= ?
           AND EXISTS (SELECT 1 FROM pending p WHERE p.owner = i.id AND p.target IN (${targets.map(() => '?').join(',')}))`,
      )
      .all(this.instance, Date.now(), ...targets) as { owner: string; probeUrl: string | null; answer: string | null }[];
    return rows.map((h) => (h.probeUrl && h.answer ? { owner: h.owner, probeUrl: h.probeUrl, answer: h.answer } : { owner: h.owner }));
  }

  /** Frees the claims of listeners that stopped renewing their lease (killed, or asleep); returns how many. */
  expireLapsed(): number {
    // Read first: no write lock taken every 3 s for nothing.
    if (this.c.s.lapsed.all(this.instance, Date.now()).length === 0) return 0;
    return this.c.tx(() => {
      const gone = this.c.s.lapsed.all(this.instance, Date.now()) as { id: string }[];
      for (const { id } of gone) this.release(id);
      return gone.length;
    });
  }
}
