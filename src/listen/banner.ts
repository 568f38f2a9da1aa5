import type { Printer, ReadyInfo } from '../format/printer.js';
import type { Deliverer } from '../forward/deliver.js';
import type { ListenerHandle } from '../http/listener.js';
import type { InspectorHandle } from '../inspector/server.js';
import type { CleanupStack } from './cleanup.js';
import { sizeHeapForALongRun } from './heap.js';
import type { ListenOptions } from './options.js';
import { openTunnel } from './tunnel-lines.js';

/** How long the banner waits for the tunnel before it shows without a public URL. */
const TUNNEL_BANNER_WAIT_MS = 8000;

/** The ready lines, shown once: with the public URL as soon as the tunnel opens, or without it after a wait. */
export class Banner {
  #shown = false;
  #markShown: () => void = () => {};
  readonly #whenShown = new Promise<void>((resolve) => (this.#markShown = resolve));

  constructor(
    private readonly options: ListenOptions,
    private readonly ready: ReadyInfo,
    private readonly printer: Printer,
    private readonly deliverer: Deliverer,
  ) {}

  /** Opens the tunnel (when asked for), waits for it a little, and shows the banner. */
  async show(listener: ListenerHandle, liveness: { path: string; answer: string }, inspector: InspectorHandle | undefined, cleanup: CleanupStack): Promise<void> {
    const { options } = this;
    if (options.tunnel && listener.tunnelSocket) {
      const tunnel = await openTunnel(options, options.tunnel, { hand: listener.tunnelSocket, liveness }, this.printer, {
        announce: (publicUrl) => this.#announceTunnel(publicUrl),
        status: (status) => inspector?.publishTunnel(status),
      });
      cleanup.push('tunnel', () => tunnel.close());
      if (!options.stopping?.aborted) await this.#waitForTunnel();
    }
    this.#announce();
  }

  /** The tunnel's first word: the banner shows with it, unless it was already shown (then false). */
  #announceTunnel(publicUrl: string | undefined): boolean {
    if (this.#shown) return false;
    if (publicUrl) {
      this.ready.publicUrl = publicUrl;
      this.ready.tunnel = 'open';
    } else this.ready.tunnel = 'offline';
    this.#announce();
    if (publicUrl && this.options.targets.length > 0) setTimeout(() => this.deliverer.warm(), 0).unref();
    return true;
  }

  #waitForTunnel(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const stopping = this.options.stopping;
    return Promise.race([
      this.#whenShown,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, TUNNEL_BANNER_WAIT_MS).unref())),
      new Promise<void>((resolve) => stopping?.addEventListener('abort', () => resolve(), { once: true })),
    ]).finally(() => clearTimeout(timer));
  }

  #announce(): void {
    if (this.#shown) return;
    this.#shown = true;
    this.#markShown();
    this.printer.progress(null);
    this.printer.ready(this.ready);
    setImmediate(sizeHeapForALongRun);
  }
}
