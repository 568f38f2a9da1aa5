import type { Printer } from '../format/printer.js';
import type { TunnelStatus } from '../inspector/server.js';
import type { TunnelHandle, TunnelOptions, TunnelState } from '../tunnel.js';
import type { ListenOptions } from './listen.js';

/** How often the public URL is checked end to end, unless the options say otherwise. */
const TUNNEL_CHECK_MS = 30_000;

export interface TunnelHooks {
  /** Shows the banner with this public URL (or as offline, without one); false when it was already shown. */
  announce(publicUrl: string | undefined): boolean;
  status(status: TunnelStatus): void;
}

/** Opens the public tunnel and turns what happens to it into lines, records, --on-url runs and inspector status. */
export async function openTunnel(
  options: ListenOptions,
  wanted: Exclude<ListenOptions['tunnel'], false>,
  entry: { hand: TunnelOptions['hand']; liveness: { path: string; answer: string } },
  printer: Printer,
  hooks: TunnelHooks,
): Promise<TunnelHandle> {
  const tunnelHost = wanted.host;
  const publicUrl = (url: string): string => url + (options.path ?? '');
  const runHook = (url: string): void => {
    if (!options.onUrl) return;
    printer.info(`running --on-url for ${url}`);
    void import('../on-url.js').then(({ runOnUrl }) =>
      runOnUrl(options.onUrl!, url, options.env, {
        output: (line) => printer.info(`on-url │ ${line}`),
        failed: (message) => printer.warn(message),
      }),
    );
  };
  const { rememberedSubdomain } = await import('../tunnel-name.js');
  const subdomain = wanted.subdomain ?? rememberedSubdomain(options.storeDir, wanted.newUrl === true);
  let everOpen = false;
  let lastDown = '';
  const onState = (s: TunnelState): void => {
    if (s.state === 'open') {
      const url = publicUrl(s.url);
      hooks.status({ state: 'open', publicUrl: url });
      if (s.subdomainTaken)
        printer.warn(`the subdomain "${s.subdomainTaken}" is taken on ${tunnelHost} (by another tunnel); got ${s.url} instead`);
      if (hooks.announce(url)) {
        // The banner says it.
      } else if (s.previousUrl) {
        printer.tunnel({
          state: 'changed',
          publicUrl: url,
          previousUrl: publicUrl(s.previousUrl),
          message: `the public URL CHANGED to ${url} — update the webhook URL on the platform (it still points at ${publicUrl(s.previousUrl)})`,
        });
      } else printer.tunnel({ state: 'open', publicUrl: url, message: `${everOpen ? 'reconnected' : 'open'}: ${url}` });
      if (!everOpen || s.previousUrl) runHook(url);
      everOpen = true;
      lastDown = '';
    } else if (s.state === 'down') {
      hooks.status({ state: everOpen ? 'reconnecting' : 'local-only', reason: s.reason });
      const wait = `${Math.round(s.retryInMs / 1000)} s`;
      if (hooks.announce(undefined))
        printer.tunnel({ state: 'offline', message: `cannot open a tunnel: ${s.reason} — listening locally only, retrying in the background` });
      else if (s.recreate)
        printer.tunnel({
          state: 'reconnecting',
          message: `the public URL stopped reaching this listener (${s.reason}) — re-creating the tunnel with the same subdomain`,
        });
      else if (s.reason !== lastDown)
        printer.tunnel({
          state: everOpen ? 'down' : 'offline',
          message: `${everOpen ? 'tunnel lost' : 'still no tunnel'}: ${s.reason} — retrying in ${wait}; the listener keeps running locally`,
        });
      lastDown = s.reason;
    } else printer.info(`tunnel: ${s.reason}`);
  };
  printer.progress(`opening a tunnel through ${tunnelHost}…`);
  hooks.status({ state: 'opening' });
  const { keepTunnelOpen } = await import('../tunnel.js');
  return keepTunnelOpen({
    host: tunnelHost,
    hand: entry.hand,
    subdomain,
    onState,
    check: { ...entry.liveness, everyMs: wanted.checkMs ?? TUNNEL_CHECK_MS },
  });
}
