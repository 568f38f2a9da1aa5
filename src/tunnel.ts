import type localtunnelType from '@n8n/localtunnel';

export const DEFAULT_TUNNEL_HOST = 'https://localtunnel.me';

/** localtunnel's rule for names it will hand out. */
export const SUBDOMAIN_RE = /^(?:[a-z0-9][a-z0-9-]{4,63}[a-z0-9]|[a-z0-9]{4,63})$/;

export type TunnelState =
  | { state: 'open'; url: string; previousUrl?: string; subdomainTaken?: string }
  | { state: 'down'; reason: string; retryInMs: number }
  | { state: 'waiting'; reason: string };

export interface TunnelOptions {
  host: string;
  localPort: number;
  /**
   * Where the client connects to reach the listener. Leave unset for loopback: the client then dials
   * `localhost` and leaves Host alone; setting it makes the client rewrite Host on the first request of
   * each socket only, so the app would see two different Hosts.
   */
  localHost?: string;
  subdomain?: string;
  onState(state: TunnelState): void;
  /** First wait before reconnecting; doubles up to maxDelayMs. */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

export interface TunnelHandle {
  /** The public URL, once a tunnel is open. */
  readonly url: string | undefined;
  close(): void;
}

type Tunnel = localtunnelType.Tunnel & { clientId?: string };

const PROBE_TIMEOUT_MS = 5000;
const CREATE_WARN_MS = 10_000;
/** With every socket to the server gone for this long, the tunnel is dead even if the client says nothing. */
const NO_SOCKETS_MS = 5000;

/** Any HTTP answer from the tunnel server means it is up; resolves with a reason when it is not. */
function probe(host: string): Promise<string | null> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL('/api/status', host);
    } catch {
      resolve(`"${host}" is not a URL`);
      return;
    }
    // node:https (and TLS) loaded here, when a tunnel is wanted, not at start-up.
    const { request } = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
    const req = request(url, { method: 'GET', timeout: PROBE_TIMEOUT_MS });
    req.on('response', (res) => {
      res.resume();
      resolve(null);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const where = url.host;
      const reason =
        err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
          ? `cannot resolve ${url.hostname} (offline?)`
          : err.code === 'ECONNREFUSED'
            ? `${where} refused the connection (tunnel server down?)`
            : `${where}: ${err.code ?? err.message}`;
      resolve(reason);
    });
    req.end();
  });
}

/**
 * Keeps a localtunnel tunnel open to the local listener: opens it, notices when it dies
 * (the client goes quiet after its server is lost), and opens a new one with backoff, asking for
 * the same subdomain. Never throws; everything it sees is reported through onState.
 */
export function keepTunnelOpen(options: TunnelOptions): TunnelHandle {
  const firstDelay = options.firstDelayMs ?? 1000;
  const maxDelay = options.maxDelayMs ?? 30_000;
  let closed = false;
  let current: Tunnel | undefined;
  let url: string | undefined;
  let lastUrl: string | undefined;
  let delay = firstDelay;
  let timer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let subdomain = options.subdomain;
  let localtunnel: typeof localtunnelType | undefined;

  const schedule = (reason: string): void => {
    if (closed || timer) return;
    options.onState({ state: 'down', reason, retryInMs: delay });
    timer = setTimeout(() => {
      timer = undefined;
      void attempt();
    }, delay);
    delay = Math.min(delay * 2, maxDelay);
  };

  const drop = (tunnel: Tunnel, reason: string): void => {
    if (tunnel !== current) return;
    current = undefined;
    url = undefined;
    if (watchdog) clearInterval(watchdog);
    tunnel.close();
    schedule(reason);
  };

  const watch = (tunnel: Tunnel): void => {
    let sockets = 0;
    let zeroSince: number | undefined = Date.now();
    tunnel.tunnelCluster.on('open', () => {
      sockets++;
      zeroSince = undefined;
    });
    tunnel.tunnelCluster.on('dead', () => {
      sockets = Math.max(0, sockets - 1);
      if (sockets === 0) zeroSince ??= Date.now();
    });
    watchdog = setInterval(() => {
      if (zeroSince !== undefined && Date.now() - zeroSince > NO_SOCKETS_MS) drop(tunnel, 'lost every connection to the tunnel server');
    }, 1000);
    watchdog.unref();
  };

  const attempt = async (): Promise<void> => {
    if (closed) return;
    const unreachable = await probe(options.host);
    if (closed) return;
    if (unreachable) return schedule(unreachable);
    localtunnel ??= (await import('@n8n/localtunnel')).default;
    // The client retries its create request every second forever and cannot be cancelled: say so, keep waiting.
    const slow = setTimeout(() => options.onState({ state: 'waiting', reason: `${options.host} has not answered the tunnel request yet` }), CREATE_WARN_MS);
    let tunnel: Tunnel;
    try {
      const config = { port: options.localPort, host: options.host, subdomain, ...(options.localHost ? { local_host: options.localHost } : {}) };
      tunnel = (await localtunnel(config)) as Tunnel;
    } catch (err) {
      clearTimeout(slow);
      return schedule(`tunnel request failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(slow);
    }
    // Errors can arrive after close(); an unheard 'error' would kill the process.
    tunnel.on('error', (err: Error) => drop(tunnel, err.message));
    if (closed) {
      tunnel.close();
      return;
    }
    current = tunnel;
    url = tunnel.url;
    delay = firstDelay;
    watch(tunnel);
    const state: TunnelState = { state: 'open', url: tunnel.url };
    if (lastUrl && lastUrl !== tunnel.url) state.previousUrl = lastUrl;
    if (subdomain && tunnel.clientId && tunnel.clientId !== subdomain) state.subdomainTaken = subdomain;
    // Ask for the same name on every reconnect so the URL pasted into the platform keeps working.
    subdomain = options.subdomain ?? tunnel.clientId;
    lastUrl = tunnel.url;
    options.onState(state);
  };

  void attempt();
  return {
    get url() {
      return url;
    },
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      if (watchdog) clearInterval(watchdog);
      current?.close();
      current = undefined;
    },
  };
}
