import type { ServerResponse } from 'node:http';
import type { DeliveryResult, WebhookEvent } from '../core/event.js';
import { type Summary, deliveryStatus } from '../format/summary.js';
import { listItem } from './api.js';
import type { TunnelStatus } from './types.js';

/** What a live-stream client may fall behind by, queued in this process, before it is dropped (see push()). */
const STREAM_BACKLOG_MAX = 8 * 1024 * 1024;
/** This run's events kept to push a delivery with its event's updated status; bounded. */
const RECENT_MAX = 1000;

/** The pages' live stream (server-sent events): new events, deliveries and the tunnel's state. */
export class LiveStream {
  readonly #clients = new Set<ServerResponse>();
  readonly #recent = new Map<string, { event: WebhookEvent; deliveries: DeliveryResult[] }>();
  readonly #heartbeat: NodeJS.Timeout;
  tunnel: TunnelStatus = { state: 'off' };

  constructor() {
    this.#heartbeat = setInterval(() => {
      for (const c of this.#clients) this.#push(c, ': ping\n\n');
    }, 15_000);
    this.#heartbeat.unref();
  }

  /** A page subscribes: it gets the tunnel's state at once, then everything new. */
  subscribe(res: ServerResponse, closed: (done: () => void) => void): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`: connected\n\nevent: tunnel\ndata: ${JSON.stringify(this.tunnel)}\n\n`);
    this.#clients.add(res);
    closed(() => this.#clients.delete(res));
  }

  event(event: WebhookEvent, summary: Summary): void {
    this.#recent.set(event.id, { event: { ...event, body: Buffer.alloc(0) }, deliveries: [] });
    if (this.#recent.size > RECENT_MAX) this.#recent.delete(this.#recent.keys().next().value!);
    if (this.#clients.size) this.#broadcast('event', listItem(event, summary, []));
  }

  delivery(result: DeliveryResult): void {
    const entry = this.#recent.get(result.eventId);
    entry?.deliveries.push(result);
    if (this.#clients.size) this.#broadcast('delivery', { result, status: entry ? deliveryStatus(entry.event, entry.deliveries) : undefined });
  }

  tunnelState(status: TunnelStatus): void {
    this.tunnel = status;
    if (this.#clients.size) this.#broadcast('tunnel', status);
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const c of this.#clients) c.end();
  }

  #broadcast(type: string, data: unknown): void {
    const text = `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of this.#clients) this.#push(c, text);
  }

  /**
   * Writes to one client, or drops it once this much is queued for it in this process: a page or a paused `curl`
   * that stopped reading would otherwise keep every event since in memory. A dropped page reconnects and reloads.
   */
  #push(c: ServerResponse, text: string): void {
    if (c.writableLength > STREAM_BACKLOG_MAX) {
      this.#clients.delete(c);
      c.destroy();
      return;
    }
    c.write(text);
  }
}
