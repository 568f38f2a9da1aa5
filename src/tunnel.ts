import type localtunnelType from '@n8n/localtunnel';

export const DEFAULT_TUNNEL_HOST = 'https://localtunnel.me';

/** localtunnel's rule for names it will hand out. */
export const SUBDOMAIN_RE = /^(?:[a-z0-9][a-z0-9-]{4,63}[a-z0-9]|[a-z0-9]{4,63})$/;

export type TunnelState =
  | { state: 'open'; url: string; previousUrl?: string; subdomainTaken?: string }
  /** `recreate`: the tunnel seemed open but the public URL stopped reaching the listener; a new one is on its way. */
  | { state: 'down'; reason: string; retryInMs: number; recreate?: boolean }
  | { state: 'waiting'; reason: string };

/** An end-to-end check: GET `path` on the public URL must answer exactly `answer` (see the listener's liveness). */
export interface LivenessCheck {
  path: string;
  answer: string;
  everyMs: number;
  timeoutMs?: number;
}

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
  check?: LivenessCheck;
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
/** A timer tick this much later than planned means the machine slept: check the tunnel at once. */
const WAKE_GAP_MS = 15_000;
const TICK_MS = 5000;
/** When the name asked for comes back taken, ask again this often (the server frees it 1 s after our old tunnel). */
const NAME_RETRIES = 2;
const NAME_RETRY_MS = 2000;

/**
 * Asks the public URL for the listener's liveness path; resolves null when the listener answered, else why not.
 * A public host that does not resolve (`<id>.localhost`, `<id>.127.0.0.1` from a self-hosted server) is reached at
 * the tunnel server's own address, with the public Host kept for routing.
 */
export function checkPublicUrl(publicUrl: string, tunnelHost: string, check: LivenessCheck): Promise<string | null> {
  return new Promise((resolve) => {
    // Not new URL(): a server addressed by IP hands out `http://<id>.127.0.0.1:P`, which WHATWG URLs reject.
    const m = /^(https?):\/\/([^/:]+)(?::(\d+))?/i.exec(publicUrl);
    if (!m) return resolve(`the public URL ${publicUrl} cannot be checked`);
    const secure = m[1]!.toLowerCase() === 'https';
    const hostname = m[2]!;
    let base = '';
    try {
      base = new URL(tunnelHost).hostname;
    } catch {
      // Only the fallback address is lost.
    }
    const { lookup } = process.getBuiltinModule('node:dns');
    const { request } = process.getBuiltinModule(secure ? 'node:https' : 'node:http');
    const req = request({
      host: hostname,
      port: m[3] ? Number(m[3]) : secure ? 443 : 80,
      path: check.path,
      method: 'GET',
      headers: { host: m[3] ? `${hostname}:${m[3]}` : hostname, 'bypass-tunnel-reminder': '1', 'user-agent': 'webhook-listen liveness' },
      timeout: check.timeoutMs ?? 10_000,
      agent: false,
      lookup: ((name: string, opts: object, cb: (...args: unknown[]) => void) =>
        lookup(base && name.endsWith('.' + base) ? base : name, opts, cb)) as never,
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 1024) body += d;
      });
      res.on('end', () => {
        if (res.statusCode === 200 && body === check.answer) resolve(null);
        else if (res.statusCode === 404) resolve('the tunnel server no longer knows this tunnel (404)');
        else resolve(`the public URL answered ${res.statusCode}${res.statusCode === 200 ? ' from something else than this listener' : ''}`);
      });
      res.on('error', () => resolve('the answer through the public URL was cut off'));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ETIMEDOUT' ? `no answer through the public URL within ${(check.timeoutMs ?? 10_000) / 1000} s` : `the public URL is unreachable (${err.code ?? err.message})`),
    );
    req.end();
  });
}

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
  let nameRetries = 0;
  let localtunnel: typeof localtunnelType | undefined;
  let checking = false;
  let lastCheck = Date.now();
  let lastTick = Date.now();

  const schedule = (reason: string, recreate = false): void => {
    if (closed || timer) return;
    options.onState(recreate ? { state: 'down', reason, retryInMs: delay, recreate } : { state: 'down', reason, retryInMs: delay });
    timer = setTimeout(() => {
      timer = undefined;
      void attempt();
    }, delay);
    delay = Math.min(delay * 2, maxDelay);
  };

  const drop = (tunnel: Tunnel, reason: string, recreate = false): void => {
    if (tunnel !== current) return;
    current = undefined;
    url = undefined;
    if (watchdog) clearInterval(watchdog);
    tunnel.close();
    schedule(reason, recreate);
  };

  const checkNow = async (): Promise<void> => {
    const tunnel = current;
    if (!options.check || !tunnel || checking) return;
    checking = true;
    lastCheck = Date.now();
    const failed = await checkPublicUrl(tunnel.url, options.host, options.check);
    checking = false;
    if (failed) drop(tunnel, failed, true);
  };
  // One timer for both: the periodic check, and a check right after the machine wakes from sleep.
  const ticker = options.check
    ? setInterval(() => {
        const now = Date.now();
        const slept = now - lastTick > WAKE_GAP_MS;
        lastTick = now;
        if (slept || now - lastCheck >= options.check!.everyMs) void checkNow();
      }, Math.min(TICK_MS, options.check.everyMs))
    : undefined;
  ticker?.unref();

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
    if (subdomain && tunnel.clientId && tunnel.clientId !== subdomain && nameRetries < NAME_RETRIES) {
      // Our own previous tunnel may still hold the name for a second after it closed: ask again before giving up.
      nameRetries++;
      tunnel.close();
      timer = setTimeout(() => {
        timer = undefined;
        void attempt();
      }, NAME_RETRY_MS);
      return;
    }
    nameRetries = 0;
    lastCheck = Date.now();
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
      if (ticker) clearInterval(ticker);
      current?.close();
      current = undefined;
    },
  };
}
