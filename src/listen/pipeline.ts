import type { DecodedBody } from '../core/body.js';
import type { DeliveryResult, WebhookEvent } from '../core/event.js';
import { NOT_RELAYED_BACK } from '../core/headers.js';
import { RecentIds } from '../core/ids.js';
import { nameMatches } from '../core/naming.js';
import { verifySignature } from '../core/signature.js';
import { describeEvent } from '../format/describe.js';
import type { Printer } from '../format/printer.js';
import { type Summary, summarize } from '../format/summary.js';
import type { Deliverer } from '../forward/deliver.js';
import type { DeliveryQueue } from '../forward/queue.js';
import type { Answer } from '../http/listener.js';
import type { InspectorHandle } from '../inspector/server.js';
import type { GroupCommit } from './group-commit.js';
import type { ListenOptions } from './options.js';

/** After this many events, a name given to --events that never came is pointed out, once. */
const EVENTS_HINT_AFTER = 100;
/** Ids this process gave out, to know its own events when they come back (a forward loop); bounded. */
const OWN_IDS_MAX = 50_000;
/** Ids looked up per request, over all its headers: a longer chain of hops than this is not a webhook's. */
const LOOP_IDS_MAX = 32;

/** What the sender gets for an event that is recorded but refused. */
const REFUSED: Partial<Record<NonNullable<WebhookEvent['rejected']>, (o: ListenOptions) => Answer>> = {
  'too-large': (o) => ({ status: 413, body: `Payload too large: this listener takes bodies up to ${o.maxBody} bytes (raise --max-body)\n` }),
  'too-slow': () => ({ status: 408, body: 'Request timeout: the body arrived too slowly through the tunnel; send it again\n' }),
  loop: () => ({
    status: 508,
    body: 'Loop detected: this request carries an event id this webhook-listen gave out, so a --forward-to leads back to it; it was recorded, not forwarded\n',
  }),
};

/** Never 200 for an event that is not kept: the sender will send it again. */
const UNSAVED: Answer = {
  status: 503,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' },
  body: 'webhook-listen could not store this event (see its terminal); send it again in a few seconds\n',
};

/** A failed check on a body a relay re-serialised says why: those bytes were never signed. */
function explained<T extends { valid: boolean; reason?: string } | null | undefined>(event: WebhookEvent, signature: T): T {
  if (!signature || signature.valid || !event.via?.reserialised) return signature;
  return { ...signature, reason: `${signature.reason ?? 'mismatch'} — the relay (smee) passed a re-serialised body, not the signed bytes; a gosmee server keeps them` };
}

function ok(event: WebhookEvent): Answer {
  // Ids are Crockford base-32: nothing to escape.
  return { status: 200, headers: { 'content-type': 'application/json' }, body: `{"ok":true,"id":"${event.id}"}\n` };
}

/** Counts for the line at stop. */
export interface Stats {
  received: number;
  filtered: number;
  delivered: number;
  failed: number;
}

export interface PipelineParts {
  commit: GroupCommit;
  queue: DeliveryQueue;
  deliverer: Deliverer;
  printer: Printer;
}

/**
 * One event's way, whatever source it came from: classified (loop? filtered? which targets? signature?), stored
 * before anything else, shown, forwarded through the queue, and answered. A source calls `accept`.
 */
export class Pipeline {
  readonly stats: Stats = { received: 0, filtered: 0, delivered: 0, failed: 0 };
  /** Set once the inspector is up: live events and deliveries go to it too. */
  inspector?: InspectorHandle;
  readonly #ownIds = new RecentIds(OWN_IDS_MAX);
  readonly #wanted?: Set<string>;
  readonly #seenNames = new Set<string>();
  readonly #routes: Map<string, Set<string>>;
  readonly #verify?: { secrets: NonNullable<ListenOptions['secrets']>; signatureHeader?: string };

  constructor(
    private readonly options: ListenOptions,
    private readonly parts: PipelineParts,
  ) {
    // Names are matched case-insensitively; `check_run` also matches `check_run.created`.
    if (options.events?.length) this.#wanted = new Set(options.events.map((n) => n.toLowerCase()));
    // Targets bound to event names take only those; the others take every event.
    this.#routes = new Map([...(options.routes ?? [])].map(([t, names]) => [t, new Set(names.map((n) => n.toLowerCase()))]));
    if (options.secrets?.length || options.signatureHeader) this.#verify = { secrets: options.secrets ?? [], signatureHeader: options.signatureHeader };
  }

  /** A source's event: answered once it is kept (503 when it could not be), or with the app's answer (--passthrough). */
  readonly accept = async (event: WebhookEvent, decoded: DecodedBody): Promise<Answer> => {
    const forward = this.#classify(event);
    // Checked at arrival and kept in the summary; it never changes what is stored, answered or forwarded.
    const signature = this.#verify && explained(event, verifySignature(event, this.#verify));
    const summary = summarize(event, decoded, signature || undefined);
    const description = describeEvent(event, summary);
    const first = this.options.targets[0];
    if (forward && this.options.passthrough && first && event.targets.includes(first)) return this.#passthrough(event, summary, decoded, description, first);
    // Recorded before anything answers the sender: a crash after the 200 cannot lose it.
    const saved = await this.parts.commit.event(event, description);
    this.#show(event, summary, decoded);
    if (!saved) return UNSAVED;
    const refused = event.rejected && REFUSED[event.rejected];
    if (refused) return refused(this.options);
    if (forward) for (const t of event.targets) this.parts.queue.enqueue(event, t, 0, { id: event.id });
    return ok(event);
  };

  /** A delivery's result: counted, kept with the next commit, shown. */
  readonly result = (result: DeliveryResult, event: WebhookEvent): void => {
    this.inspector?.publishDelivery(result);
    if (result.final) {
      if (result.status !== undefined && result.status < 300) this.stats.delivered++;
      else this.stats.failed++;
    }
    this.parts.commit.result(result);
    this.parts.printer.delivery(result, event);
  };

  /** Sets `rejected` (a loop, filtered) and the targets; true when the event is to be forwarded. */
  #classify(event: WebhookEvent): boolean {
    this.stats.received++;
    this.#ownIds.add(event.id);
    if (!event.rejected && this.#cameBack(event)) event.rejected = 'loop';
    if (!event.rejected && !this.#isWanted(event.name)) event.rejected = 'filtered';
    if (this.#wanted && this.stats.received === EVENTS_HINT_AFTER) this.#hintNames();
    const forward = !event.rejected;
    event.targets = forward ? this.options.targets.filter((t) => !this.#routes.has(t) || nameMatches(this.#routes.get(t)!, event.name)) : [];
    return forward;
  }

  /** The app starts on the request while the event is recorded and printed; the answer waits for both. */
  async #passthrough(event: WebhookEvent, summary: Summary, decoded: DecodedBody, description: ReturnType<typeof describeEvent>, first: string): Promise<Answer> {
    const forwarded = this.parts.deliverer.deliver(event, first, 1, { keepResponse: true });
    const saved = await this.parts.commit.event(event, description);
    this.#show(event, summary, decoded);
    if (!saved) return UNSAVED;
    for (const t of event.targets) if (t !== first) this.parts.queue.enqueue(event, t, 0, { id: event.id });
    const { result, response } = await forwarded;
    this.result(result, event);
    if (!response)
      return {
        status: 502,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: `webhook-listen ${result.error === 'INCOMPLETE' ? 'got no complete answer from' : 'could not reach'} ${first}: ${result.message ?? result.error}\n`,
      };
    return { status: response.status, headers: response.headers.filter(([k]) => !NOT_RELAYED_BACK.has(k.toLowerCase())), body: response.body };
  }

  #show(event: WebhookEvent, summary: Summary, decoded: DecodedBody): void {
    if (event.rejected === 'filtered') {
      this.stats.filtered++;
      return;
    }
    this.parts.printer.event(event, summary, decoded);
    this.inspector?.publishEvent(event, summary);
  }

  /** The event carries an id this listener gave out, as the forwarded event's id or an earlier hop of it. */
  #cameBack(event: WebhookEvent): boolean {
    let left = LOOP_IDS_MAX;
    for (const [k, v] of event.headers) {
      const lower = k.length === 23 || k.length === 18 ? k.toLowerCase() : '';
      if (lower === 'webhook-listen-event-id' || lower === 'webhook-listen-via')
        for (const id of v.split(',', left)) {
          if (this.#ownIds.has(id.trim())) return true;
          if (--left === 0) return false;
        }
    }
    return false;
  }

  #isWanted(name: string | null): boolean {
    if (!this.#wanted) return true;
    if (name && this.stats.received <= EVENTS_HINT_AFTER) this.#seenNames.add(name.toLowerCase());
    return nameMatches(this.#wanted, name);
  }

  #hintNames(): void {
    const seen = [...this.#seenNames];
    const never = this.options.events!.filter((n) => !seen.some((s) => nameMatches(new Set([n.toLowerCase()]), s)));
    if (never.length)
      this.parts.printer.info(`--events ${never.join(', ')}: no such event in the first ${EVENTS_HINT_AFTER}; names seen: ${seen.slice(0, 8).join(', ') || 'none'}`);
  }
}
