import type { Connection } from './connection.js';
import type { PendingJob } from './types.js';

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

  constructor(
    private readonly c: Connection,
    readonly instance: string,
    private readonly leaseMs: number,
  ) {}

  /** Writes (or renews) this instance's row, with what register() said. */
  hold(): void {
    this.c.s.hold.run(this.instance, this.#probe.url, this.#probe.answer, Date.now() + this.leaseMs);
    this.#holding = true;
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

  /** Claims pending deliveries for these targets that nobody holds (or whose lease ran out), oldest first. */
  claimPending(targets: string[]): PendingJob[] {
    this.hold();
    const marks = targets.map(() => '?').join(',');
    // Unowned, or owned by no live instance (this one is live now: its own rows stay as they are). Read row by row
    // and kept as columns, not as one object per row: a restart with 100k owed left V8's heap at 120 MB otherwise.
    const rows = this.c.db
      .prepare(
        `UPDATE pending SET owner = ?
         WHERE target IN (${marks}) AND (owner IS NULL OR owner NOT IN (SELECT id FROM instances WHERE lease_until >= ?))
         RETURNING event_id, target, attempts, event_seq`,
      )
      .iterate(this.instance, ...targets, Date.now()) as Iterable<{ event_id: string; target: string; attempts: number; event_seq: number }>;
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
