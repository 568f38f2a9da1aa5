import type { ClientRequest, IncomingMessage } from 'node:http';
import { type DecodedBody, decodeBody } from '../core/body.js';
import type { WebhookEvent } from '../core/event.js';
import { isoTime, newEventId } from '../core/ids.js';
import { detectEventName } from '../core/naming.js';
import { type Channel, streamUrl } from './channel.js';
import { type RelayKind, type Relayed, readRelayMessage } from './message.js';
import { type SseMessage, SseParser } from './sse.js';

/** What happens to the subscription, for the lines and the inspector. */
export type RelayState =
  | { state: 'connected'; kind: RelayKind; resumedFrom?: string }
  | { state: 'down'; reason: string; everConnected: boolean }
  | { state: 'gap'; detail: string }
  | { state: 'refused'; reason: string }
  | { state: 'duplicate'; relayId?: string; deliveryId?: string }
  | { state: 'unsaved'; kind: RelayKind };

export interface RelaySourceOptions {
  channel: Channel;
  maxBody: number;
  /** No byte for this long and the stream is taken for dead (smee.io pings every 30 s). */
  stallMs: number;
  /** The last relay id stored for the channel (gosmee with Redis): the first subscription resumes after it. */
  lastId?: string;
  /** Ids of the channel's events stored lately (relay ids and provider delivery ids), so a redelivery is stored once. */
  seen: { relayIds: string[]; deliveryIds: string[] };
  /** The pipeline: resolves with the answer a sender would get (200 when kept). */
  accept(event: WebhookEvent, decoded: DecodedBody): Promise<{ status: number }>;
  onState(state: RelayState): void;
}

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 5_000;
/** Ids remembered for dedupe: a day of a busy channel. */
const SEEN_MAX = 20_000;
/** Events handed to the pipeline and not yet kept, before the stream is paused. */
const IN_FLIGHT_MAX = 256;

/** Subscribes to a relay channel and turns each message into an event for the pipeline; reconnects for ever. */
export class RelaySource {
  #kind?: RelayKind;
  #lastId?: string;
  #req?: ClientRequest;
  #timer?: NodeJS.Timeout;
  #stall?: NodeJS.Timeout;
  #backoff = BACKOFF_FIRST_MS;
  #everConnected = false;
  /** This connection said it is subscribed (gosmee says so twice: connected, then ready). */
  #live = false;
  #closed = false;
  readonly #seen = new Map<string, true>();
  /** Events of this stream in order: the resume point moves only past kept ones. */
  #chain: Promise<void> = Promise.resolve();
  #inFlight = 0;

  constructor(private readonly o: RelaySourceOptions) {
    this.#kind = o.channel.kind;
    this.#lastId = o.lastId;
    for (const id of [...o.seen.relayIds, ...o.seen.deliveryIds].reverse()) this.#remember(id);
  }

  start(): { close(): void } {
    this.#connect();
    return { close: () => this.close() };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#stall);
    this.#req?.destroy();
  }

  #connect(kind: RelayKind = this.#kind ?? 'smee'): void {
    if (this.#closed) return;
    this.#live = false;
    const url = new URL(streamUrl(this.o.channel, kind));
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
    if (this.#lastId && kind === 'gosmee') headers['last-event-id'] = this.#lastId;
    const { request } = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
    const req = request(url, { method: 'GET', headers });
    this.#req = req;
    this.#watchStall(req);
    req.on('response', (res) => this.#response(req, res, kind));
    req.on('error', (err: NodeJS.ErrnoException) => this.#drop(req, err.code ?? err.message));
    req.end();
  }

  #response(req: ClientRequest, res: IncomingMessage, kind: RelayKind): void {
    const type = String(res.headers['content-type'] ?? '');
    if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
      res.resume();
      // A gosmee server answers its channel's own URL with a page: its stream is under /events/.
      if (!this.#kind && kind === 'smee' && res.statusCode === 200) {
        this.#kind = 'gosmee';
        req.destroy();
        return this.#connect('gosmee');
      }
      return this.#drop(req, `HTTP ${res.statusCode}${type && !type.startsWith('text/event-stream') ? ` (${type.split(';')[0]}, not an event stream)` : ''}`);
    }
    const parser = new SseParser(Math.ceil(this.o.maxBody / 3) * 4 + 64 * 1024);
    res.on('data', (chunk: Buffer) => {
      this.#watchStall(req);
      for (const item of parser.push(chunk)) {
        if ('message' in item) this.#message(item.message, kind, res);
        else if ('tooLong' in item) this.o.onState({ state: 'refused', reason: `a message of ${item.tooLong} bytes, over --max-body` });
      }
    });
    res.on('error', () => this.#drop(req, 'the stream was cut'));
    res.on('end', () => this.#drop(req, 'the server ended the stream'));
    res.on('close', () => this.#drop(req, 'the stream was cut'));
  }

  #message(m: SseMessage, kind: RelayKind, res: IncomingMessage): void {
    const item = readRelayMessage(m, this.o.maxBody);
    if (item.kind === 'control') {
      if (item.what === 'connected' || item.what === 'ready') this.#connected(item.what === 'connected' ? 'gosmee' : kind);
      return;
    }
    if (item.kind === 'gap') return this.o.onState({ state: 'gap', detail: item.detail });
    if (item.kind === 'refused') return this.o.onState({ state: 'refused', reason: item.reason });
    // smee.io numbers messages from 0 on every connection: only a gosmee id names an event.
    const relayId = kind === 'gosmee' && m.id ? m.id : undefined;
    const dupe = (relayId && this.#seen.has(`r:${relayId}`)) || (item.webhook.deliveryId && this.#seen.has(item.webhook.deliveryId));
    if (dupe) {
      if (relayId) this.#lastId = relayId;
      return this.o.onState({ state: 'duplicate', ...(relayId ? { relayId } : {}), ...(item.webhook.deliveryId ? { deliveryId: item.webhook.deliveryId } : {}) });
    }
    if (relayId) this.#remember(`r:${relayId}`);
    if (item.webhook.deliveryId) this.#remember(item.webhook.deliveryId);
    this.#hand(item.webhook, kind, relayId, res);
  }

  /** In order: the next event waits for the one before (the resume point must not pass an unkept one). */
  #hand(w: Relayed, kind: RelayKind, relayId: string | undefined, res: IncomingMessage): void {
    const { event, decoded } = this.#event(w, kind, relayId);
    if (++this.#inFlight >= IN_FLIGHT_MAX) res.pause();
    this.#chain = this.#chain.then(async () => {
      const answer = await this.o.accept(event, decoded).catch(() => ({ status: 503 }));
      if (--this.#inFlight < IN_FLIGHT_MAX / 2 && res.isPaused()) res.resume();
      if (answer.status === 200) {
        if (relayId) this.#lastId = relayId;
        return;
      }
      if (answer.status !== 503) return;
      // Not kept: forget it, so the server's redelivery is taken; a gosmee server resends from the last kept id.
      if (relayId) this.#seen.delete(`r:${relayId}`);
      if (w.deliveryId) this.#seen.delete(w.deliveryId);
      this.o.onState({ state: 'unsaved', kind });
      if (kind === 'gosmee' && this.#req) this.#req.destroy();
    });
  }

  #event(w: Relayed, kind: RelayKind, relayId: string | undefined): { event: WebhookEvent; decoded: DecodedBody } {
    const decoded = decodeBody({ headers: w.headers, body: w.body });
    const event: WebhookEvent = {
      id: newEventId(),
      receivedAt: isoTime(Date.now()),
      method: 'POST',
      url: w.query ? `/?${w.query}` : '/',
      path: '/',
      query: w.query,
      headers: w.headers,
      body: w.body,
      size: w.body.length,
      remoteAddress: new URL(this.o.channel.url).host,
      name: detectEventName(w.headers, decoded),
      targets: [],
      via: { relay: kind, channel: this.o.channel.url, reserialised: w.reserialised },
    };
    if (relayId) event.via!.relayId = relayId;
    if (w.deliveryId) event.via!.deliveryId = w.deliveryId;
    return { event, decoded };
  }

  #connected(kind: RelayKind): void {
    if (this.#live) return;
    this.#live = true;
    this.#kind = kind;
    this.#backoff = BACKOFF_FIRST_MS;
    this.#everConnected = true;
    this.o.onState({ state: 'connected', kind, ...(this.#lastId && kind === 'gosmee' ? { resumedFrom: this.#lastId } : {}) });
  }

  #remember(key: string): void {
    this.#seen.set(key, true);
    if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.keys().next().value!);
  }

  /** No byte within stallMs: the connection is dead even if its socket looks open (a sleeping laptop, a proxy). */
  #watchStall(req: ClientRequest): void {
    clearTimeout(this.#stall);
    this.#stall = setTimeout(() => this.#drop(req, `no data for ${Math.round(this.o.stallMs / 1000)} s`), this.o.stallMs);
    this.#stall.unref();
  }

  #drop(req: ClientRequest, reason: string): void {
    if (req !== this.#req || this.#closed) return;
    this.#req = undefined;
    clearTimeout(this.#stall);
    req.destroy();
    this.o.onState({ state: 'down', reason, everConnected: this.#everConnected });
    const wait = this.#backoff;
    this.#backoff = Math.min(BACKOFF_MAX_MS, this.#backoff * 2);
    this.#timer = setTimeout(() => this.#connect(), wait);
    this.#timer.unref();
  }
}
