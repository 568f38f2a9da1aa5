import type { DecodedBody } from '../core/body.js';
import type { WebhookEvent } from '../core/event.js';
import type { Printer } from '../format/printer.js';
import type { Channel } from '../relay/channel.js';
import type { RelayKind } from '../relay/message.js';
import { type RelayState, RelaySource } from '../relay/source.js';
import type { StoreHandle } from '../store/index.js';

/** How long ago a stored event still counts for dedupe: relays redeliver within minutes, providers within a day. */
const SEEN_FOR_MS = 24 * 3600_000;
const SEEN_MAX = 20_000;
/** No byte from the relay for this long: the stream is dead (smee.io and gosmee ping every 30 s). */
export const RELAY_STALL_MS = 75_000;

const serverName = (kind: RelayKind): string => (kind === 'gosmee' ? 'gosmee' : 'smee.io');

/** Turns what happens to the relay subscription into lines (one when it drops, one when it is back). */
class RelayLines {
  #everConnected = false;
  #down = false;
  #offlineSaid = false;
  #reserialisedSaid = false;

  constructor(
    private readonly channel: Channel,
    private readonly printer: Printer,
  ) {}

  readonly onState = (s: RelayState): void => {
    const p = this.printer;
    switch (s.state) {
      case 'connected':
        return this.#connected(s.kind, s.resumedFrom);
      case 'down':
        if (!s.everConnected) {
          if (!this.#offlineSaid) p.relay({ state: 'offline', message: `cannot subscribe to ${this.channel.url} (${s.reason}) — retrying in the background` });
          this.#offlineSaid = true;
        } else if (!this.#down) p.relay({ state: 'reconnecting', message: `the stream dropped (${s.reason}) — reconnecting` });
        this.#down = true;
        return;
      case 'gap':
        return p.relay({ state: 'gap', message: `the relay no longer has every event since the last one stored (${s.detail}) — events of that time may be lost` });
      case 'refused':
        return p.relay({ state: 'refused', message: `a message refused, nothing stored: ${s.reason}` });
      case 'duplicate':
        return p.relay({ state: 'duplicate', message: `a redelivery of an event already stored (${s.deliveryId ?? `relay id ${s.relayId}`}), skipped` });
      case 'unsaved':
        return p.relay({
          state: 'unsaved',
          message:
            s.kind === 'gosmee'
              ? 'an event could not be stored — subscribing again to get it once more from the gosmee server'
              : 'an event could not be stored, and smee.io cannot send it again — ask the sender to redeliver it',
        });
    }
  };

  #connected(kind: RelayKind, resumedFrom?: string): void {
    const name = serverName(kind);
    if (!this.#everConnected) {
      const resume = resumedFrom ? `, resuming after ${resumedFrom}` : kind === 'smee' ? ' (smee.io keeps nothing: what was sent before now is not sent again)' : '';
      this.printer.relay({ state: 'connected', message: `connected to ${this.channel.url} (${name})${resume}` });
    } else if (this.#down) {
      const lost = kind === 'smee' ? ' — events sent to smee.io while it was down are lost (it keeps nothing)' : resumedFrom ? `, resumed after ${resumedFrom}` : '';
      this.printer.relay({ state: 'back', message: `back on ${this.channel.url}${lost}` });
    }
    this.#everConnected = true;
    this.#down = false;
  }

  /** The first event whose body the relay re-serialised says once what that means. */
  noteReserialised(event: WebhookEvent): void {
    if (this.#reserialisedSaid || !event.via?.reserialised) return;
    this.#reserialisedSaid = true;
    this.printer.warn(
      `${this.channel.url} passes each body as parsed JSON (smee.io's format): the bytes your app gets are re-serialised, so signatures over the body cannot hold through it — a gosmee server keeps the exact bytes`,
    );
  }
}

export interface RelayParts {
  store: StoreHandle;
  accept(event: WebhookEvent, decoded: DecodedBody): Promise<{ status: number }>;
}

/** Subscribes to the relay channel: each message goes through the same pipeline as a request to the listener. */
export function startRelay(relay: { channel: Channel; stallMs?: number }, maxBody: number, parts: RelayParts, printer: Printer): { close(): void } {
  const { channel } = relay;
  let lastId: string | undefined;
  let seen = { relayIds: [] as string[], deliveryIds: [] as string[] };
  try {
    lastId = parts.store.relayLastId(channel.url);
    seen = parts.store.relaySeen(channel.url, Date.now() - SEEN_FOR_MS, SEEN_MAX);
  } catch (err) {
    printer.warn(`cannot read where the relay channel left off (${(err as Error).message}): events already stored may be stored again`);
  }
  const lines = new RelayLines(channel, printer);
  const source = new RelaySource({
    channel,
    maxBody,
    stallMs: relay.stallMs ?? RELAY_STALL_MS,
    ...(lastId ? { lastId } : {}),
    seen,
    accept: (event, decoded) => {
      lines.noteReserialised(event);
      return parts.accept(event, decoded);
    },
    onState: lines.onState,
  });
  return source.start();
}
