import type { Printer } from '../format/printer.js';
import type { TunnelStatus } from '../inspector/server.js';
import type { TunnelHandle, TunnelOptions, TunnelState } from '../tunnel/supervisor.js';
import type { ListenOptions } from './options.js';

/** How often the public URL is checked end to end, unless the options say otherwise. */
const TUNNEL_CHECK_MS = 30_000;

export interface TunnelHooks {
  /** Shows the banner with this public URL (or as offline, without one); false when it was already shown. */
  announce(publicUrl: string | undefined): boolean;
  status(status: TunnelStatus): void;
}

/** Turns what happens to the tunnel into lines, records, --on-url runs and inspector status. */
class TunnelLines {
  #everOpen = false;
  #lastDown = '';

  constructor(
    private readonly options: ListenOptions,
    private readonly tunnelHost: string,
    private readonly printer: Printer,
    private readonly hooks: TunnelHooks,
  ) {}

  readonly onState = (s: TunnelState): void => {
    if (s.state === 'open') this.#open(s);
    else if (s.state === 'down') this.#down(s);
    else this.printer.info(`tunnel: ${s.reason}`);
  };

  #publicUrl(url: string): string {
    return url + (this.options.path ?? '');
  }

  #open(s: Extract<TunnelState, { state: 'open' }>): void {
    const url = this.#publicUrl(s.url);
    this.hooks.status({ state: 'open', publicUrl: url });
    if (s.subdomainTaken) this.printer.warn(`the subdomain "${s.subdomainTaken}" is taken on ${this.tunnelHost} (by another tunnel); got ${s.url} instead`);
    if (this.hooks.announce(url)) {
      // The banner says it.
    } else if (s.previousUrl) {
      const previousUrl = this.#publicUrl(s.previousUrl);
      const message = `the public URL CHANGED to ${url} — update the webhook URL on the platform (it still points at ${previousUrl})`;
      this.printer.tunnel({ state: 'changed', publicUrl: url, previousUrl, message });
    } else this.printer.tunnel({ state: 'open', publicUrl: url, message: `${this.#everOpen ? 'reconnected' : 'open'}: ${url}` });
    if (!this.#everOpen || s.previousUrl) this.#runHook(url);
    this.#everOpen = true;
    this.#lastDown = '';
  }

  #down(s: Extract<TunnelState, { state: 'down' }>): void {
    const everOpen = this.#everOpen;
    this.hooks.status({ state: everOpen ? 'reconnecting' : 'local-only', reason: s.reason });
    if (this.hooks.announce(undefined))
      this.printer.tunnel({ state: 'offline', message: `cannot open a tunnel: ${s.reason} — listening locally only, retrying in the background` });
    else if (s.recreate)
      this.printer.tunnel({ state: 'reconnecting', message: `the public URL stopped reaching this listener (${s.reason}) — re-creating the tunnel with the same subdomain` });
    else if (s.reason !== this.#lastDown) {
      const message = `${everOpen ? 'tunnel lost' : 'still no tunnel'}: ${s.reason} — retrying in ${Math.round(s.retryInMs / 1000)} s; the listener keeps running locally`;
      this.printer.tunnel({ state: everOpen ? 'down' : 'offline', message });
    }
    this.#lastDown = s.reason;
  }

  #runHook(url: string): void {
    const command = this.options.onUrl;
    if (!command) return;
    this.printer.info(`running --on-url for ${url}`);
    import('./on-url.js')
      .then(({ runOnUrl }) =>
        runOnUrl(command, url, this.options.env, {
          output: (line) => this.printer.info(`on-url │ ${line}`),
          failed: (message) => this.printer.warn(message),
        }),
      )
      .catch((err: Error) => this.printer.warn(`--on-url could not run: ${err.message}`));
  }
}

/** Opens the public tunnel; what happens to it is said by TunnelLines. */
export async function openTunnel(
  options: ListenOptions,
  wanted: Exclude<ListenOptions['tunnel'], false>,
  entry: { hand: TunnelOptions['hand']; liveness: { path: string; answer: string } },
  printer: Printer,
  hooks: TunnelHooks,
): Promise<TunnelHandle> {
  const { rememberedSubdomain } = await import('../tunnel/name.js');
  const subdomain = wanted.subdomain ?? rememberedSubdomain(options.storeDir, wanted.newUrl === true);
  const lines = new TunnelLines(options, wanted.host, printer, hooks);
  printer.progress(`opening a tunnel through ${wanted.host}…`);
  hooks.status({ state: 'opening' });
  const { keepTunnelOpen } = await import('../tunnel/supervisor.js');
  return keepTunnelOpen({
    host: wanted.host,
    hand: entry.hand,
    subdomain,
    onState: lines.onState,
    check: { ...entry.liveness, everyMs: wanted.checkMs ?? TUNNEL_CHECK_MS },
  });
}
