import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DeliveryResult, EventDescription, WebhookEvent } from '../core/event.js';
import { Claims } from './claims.js';
import { Connection } from './connection.js';
import { cancelPending, controlHead, controlSince, pendingWhere, retryPending } from './control.js';
import { insertDelivery } from './deliveries.js';
import { DB_FILE, StoreError, describeStoreError } from './errors.js';
import { keepRelayChannel, keptRelayChannel, lastRelayId, relaySeen } from './relay.js';
import { countEvents, deliveriesOf, findEvents, insertEvent, listEvents, readEvent } from './events.js';
import { importLegacySegments } from './legacy.js';
import { Retention } from './retention.js';
import type { StoreHandle, StoreOptions } from './types.js';

export { DB_FILE, StoreError, describeStoreError } from './errors.js';
export { checkStoreFile, moveAside, salvage } from './recover.js';
export type * from './types.js';

/*
 * The event store: one SQLite database (WAL) in the store folder, through node:sqlite. Events keep their exact bytes
 * as a BLOB and their raw headers in order; every delivery attempt is a row; a delivery still owed is a `pending`
 * row that a listener claims (claims.ts).
 */
class Store implements StoreHandle {
  readonly file: string;
  readonly #c: Connection;
  readonly #claims: Claims;
  readonly #retention: Retention;

  constructor(
    readonly dir: string,
    private readonly options: StoreOptions,
  ) {
    this.file = join(dir, DB_FILE);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if ((statSync(dir).mode & 0o077) !== 0)
        options.warn?.(`the event store ${dir} can be read by other users of this machine (events carry auth headers and customers' messages) — chmod 700 it`);
      this.#c = new Connection(dir, this.file, options.busyTimeoutMs, options.patience);
    } catch (err) {
      throw describeStoreError(err, dir);
    }
    const instance = `${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    this.#claims = new Claims(this.#c, instance, options.leaseMs ?? 10_000);
    this.#retention = new Retention(this.#c, options.keep);
    this.#importLegacy();
  }

  appendEvents(items: { event: WebhookEvent; description: EventDescription }[], results: DeliveryResult[] = []): void {
    // A store known to be damaged takes no new event, even where its pages still read: a 200 must mean kept. A file
    // replaced at the path (a recovered one) is taken up again.
    // Looked for here too (a few times a second), not only at the keeper's look: the commit's failure says it.
    if (items.length > 0 && this.#c.overwrite.due()) this.#overwritten();
    if (this.#c.damage && items.length > 0) {
      const replaced = this.#lostFile();
      throw replaced ? new StoreError(`${replaced} (the events of that moment were not kept)`, 'io') : this.#c.damage;
    }
    const due = this.#retention.due(items.length);
    let pruned = 0;
    const warn = (m: string): void => this.options.warn?.(m);
    this.#c.guard(() =>
      this.#c.tx(() => {
        for (const { event, description } of items) this.#insert(event, description, true);
        for (const result of results) insertDelivery(this.#c, result);
        // In the same commit (a commit of its own costs as much as the events').
        if (due) pruned = this.#retention.pruneInside(warn);
      }),
    );
    // Written into a file the path no longer names (deleted or replaced by hand) is not kept: the events are answered
    // 503 (their senders send them again) and the next commit goes to a new file.
    const lost = this.#lostFile();
    if (lost) throw new StoreError(`${lost} (the events of that moment were not kept)`, 'io');
    if (pruned === 0) return;
    try {
      this.#retention.giveSpaceBack();
    } catch (err) {
      warn(`could not give the event store's free space back: ${(err as Error).message}`);
    }
  }

  appendDelivery(result: DeliveryResult): void {
    this.#c.guard(() => this.#c.tx(() => insertDelivery(this.#c, result)));
  }
  readEvent(id: string) {
    return this.#c.guard(() => readEvent(this.#c, id));
  }
  relayLastId(channel: string) {
    return this.#c.guard(() => lastRelayId(this.#c, channel));
  }
  relaySeen(channel: string, sinceMs: number, max: number) {
    return this.#c.guard(() => relaySeen(this.#c, channel, sinceMs, max));
  }
  keepRelayChannel(channel: string, relay: string) {
    this.#c.guard(() => this.#c.tx(() => keepRelayChannel(this.#c, channel, relay)));
  }
  keptRelayChannel() {
    return this.#c.guard(() => keptRelayChannel(this.#c));
  }
  deliveries(id: string) {
    return this.#c.guard(() => deliveriesOf(this.#c, id));
  }
  list(query: Parameters<StoreHandle['list']>[0]) {
    return this.#c.guard(() => listEvents(this.#c, query));
  }
  count(query: Parameters<StoreHandle['count']>[0] = {}) {
    return this.#c.guard(() => countEvents(this.#c, query));
  }
  find(prefix: string, max = 5) {
    return this.#c.guard(() => findEvents(this.#c, prefix, max));
  }
  claimPending(targets: string[]) {
    if (targets.length === 0) return [];
    return this.#c.guard(() => this.#c.tx(() => this.#claims.claimPending(targets)));
  }
  register(probe: { url: string; answer: string }): void {
    this.#c.guard(() => this.#claims.register(probe));
  }
  holders(targets: string[]) {
    if (targets.length === 0) return [];
    return this.#c.guard(() => this.#claims.holders(targets));
  }
  expire(owner: string): void {
    this.#c.guard(() => this.#c.tx(() => this.#claims.release(owner)));
  }
  expireLapsed(): number {
    return this.#c.guard(() => this.#claims.expireLapsed());
  }
  countPending(targets: string[]): number {
    if (targets.length === 0) return 0;
    const sql = `SELECT count(*) AS n FROM pending WHERE target IN (${targets.map(() => '?').join(',')})`;
    return this.#c.guard(() => (this.#c.db.prepare(sql).get(...targets) as { n: number }).n);
  }
  listPending(query: Parameters<StoreHandle['listPending']>[0] = {}) {
    return this.#c.guard(() => pendingWhere(this.#c, query));
  }
  cancelPending(query: Parameters<StoreHandle['cancelPending']>[0]) {
    return this.#c.guard(() => cancelPending(this.#c, query));
  }
  retryPending(query: Parameters<StoreHandle['retryPending']>[0]) {
    return this.#c.guard(() => retryPending(this.#c, query));
  }
  controlSince(after: number) {
    return this.#c.guard(() => controlSince(this.#c, after));
  }
  controlHead(): number {
    return this.#c.guard(() => controlHead(this.#c));
  }
  renewLeases(): boolean {
    return this.#c.guard(() => this.#claims.renew());
  }
  claimsHeld(): boolean {
    return this.#c.guard(() => this.#claims.stillHeld());
  }
  reclaim(targets: string[]) {
    if (targets.length === 0) return [];
    return this.#c.guard(() => this.#c.tx(() => this.#claims.claimPending(targets, true)));
  }
  releaseLeases(): void {
    this.expire(this.#claims.instance);
  }

  restore(events: WebhookEvent[], deliveries: DeliveryResult[]): void {
    this.#c.guard(() =>
      this.#c.tx(() => {
        for (const event of events) this.#insert(event, this.options.describe(event), false);
        for (const d of deliveries) insertDelivery(this.#c, d);
      }),
    );
  }

  prune(): number {
    return this.#c.guard(() => {
      const gone = this.#c.tx(() => this.#retention.pruneRows(true));
      if (gone > 0) this.#retention.giveSpaceBack();
      return gone;
    });
  }

  checkFile(): string | undefined {
    if (this.#c.closed) return undefined;
    return this.#lostFile() ?? this.#overwritten();
  }

  /** The file's content written by another program (a copy onto it): damaged from now on; says so once. */
  #overwritten(): string | undefined {
    if (this.#c.damage || !this.#c.overwrite.check()) return undefined;
    this.#c.damage = new StoreError(
      `the event store ${this.file} was overwritten by another program while webhook-listen had it open (a copy onto it?) — new events are answered 503 until it is repaired: stop webhook-listen and run \`webhook-listen store recover --store ${this.dir}\` (it keeps what is readable, events since the copy included)`,
      'corrupt',
    );
    return this.#c.damage.message;
  }

  /** The file deleted or replaced by hand: reopened at its path; says what happened, or undefined when nothing did. */
  #lostFile(): string | undefined {
    const state = this.#c.fileState();
    if (state === 'same') return undefined;
    this.#c.reopen();
    try {
      this.#claims.reopened();
    } catch {
      // The next commit says what is wrong with the new file.
    }
    return `the event store ${this.file} was ${state} while webhook-listen ran — it writes to a new one from now on; events stored before are gone with the old file`;
  }

  close(): void {
    this.#c.close();
  }

  /** One event, its search text, and a pending row per target (claimed by this handle when `claim`). */
  #insert(event: WebhookEvent, description: EventDescription, claim: boolean): void {
    const seq = insertEvent(this.#c, event, description);
    event.seq = Number(seq);
    if (claim && event.targets.length > 0) this.#claims.holdOnce();
    for (const target of event.targets) this.#c.s.insertPending.run(event.id, target, seq, claim ? this.#claims.instance : null);
  }

  #importLegacy(): void {
    try {
      const imported = importLegacySegments(this.dir, (events, deliveries) =>
        this.#c.tx(() => {
          // Pending rows for every target, settled by the final deliveries that follow: what is left was owed.
          for (const event of events) this.#insert(event, this.options.describe(event), false);
          for (const d of deliveries) insertDelivery(this.#c, d);
        }),
      );
      if (imported) this.options.warn?.(imported);
    } catch (err) {
      this.options.warn?.(`could not import the 0.1.0 store files in ${this.dir}: ${(err as Error).message}`);
    }
  }
}

/** Opens (creating if needed) the store in `dir`; throws a StoreError a person can act on. */
export function openStore(dir: string, options: StoreOptions): StoreHandle {
  return new Store(dir, options);
}
