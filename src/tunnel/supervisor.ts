import { checkPublicUrl, probe } from './check.js';
import { LocalTunnel } from './protocol.js';
import type { Tunnel, TunnelHandle, TunnelOptions, TunnelState } from './types.js';

export { checkPublicUrl } from './check.js';
export type { LivenessCheck, TunnelHandle, TunnelOptions, TunnelState } from './types.js';

const CREATE_WARN_MS = 10_000;
/** With every socket to the server gone for this long, the tunnel is dead even if the client says nothing. */
const NO_SOCKETS_MS = 5000;
/** A timer tick this much later than planned means the machine slept: check the tunnel at once. */
const WAKE_GAP_MS = 15_000;
const TICK_MS = 5000;
/** When the name asked for comes back taken, ask again this often (the server frees it 1 s after our old tunnel). */
const NAME_RETRIES = 2;
const NAME_RETRY_MS = 2000;
/** While the server cannot be reached, it is asked this often whether it is back, whatever the backoff says. */
const WATCH_MS = 1000;

/**
 * Keeps a localtunnel tunnel open to the local listener: opens it, notices when it dies (the client goes quiet after
 * its server is lost, the public URL stops reaching the listener, the machine slept), and opens a new one with
 * backoff, asking for the same subdomain. Never throws; everything it sees is reported through onState.
 */
class TunnelSupervisor implements TunnelHandle {
  #closed = false;
  #current?: Tunnel;
  /** The tunnel whose create request is under way (closed with the handle). */
  #creating?: Tunnel;
  #url?: string;
  #lastUrl?: string;
  #delay: number;
  #timer?: NodeJS.Timeout;
  #watchdog?: NodeJS.Timeout;
  readonly #ticker?: NodeJS.Timeout;
  #subdomain?: string;
  #nameRetries = 0;
  #checking = false;
  #lastCheck = Date.now();
  #lastTick = Date.now();

  constructor(private readonly options: TunnelOptions) {
    this.#delay = options.firstDelayMs ?? 1000;
    this.#subdomain = options.subdomain;
    const check = options.check;
    // One timer for both: the periodic check, and a check right after the machine wakes from sleep.
    if (check) {
      this.#ticker = setInterval(() => {
        const now = Date.now();
        const slept = now - this.#lastTick > WAKE_GAP_MS;
        this.#lastTick = now;
        if (slept || now - this.#lastCheck >= check.everyMs) void this.#checkNow();
      }, Math.min(TICK_MS, check.everyMs));
      this.#ticker.unref();
    }
    void this.#attempt();
  }

  get url(): string | undefined {
    return this.#url;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#watchdog) clearInterval(this.#watchdog);
    if (this.#ticker) clearInterval(this.#ticker);
    this.#current?.close();
    this.#current = undefined;
    this.#creating?.close();
  }

  /** Says the tunnel is down and tries again after the backoff; `watch`: sooner, as soon as the server answers. */
  #schedule(reason: string, recreate = false, watch = false): void {
    if (this.#closed || this.#timer) return;
    const delay = this.#delay;
    this.options.onState(recreate ? { state: 'down', reason, retryInMs: delay, recreate } : { state: 'down', reason, retryInMs: delay });
    this.#retryAfter(delay, watch);
    this.#delay = Math.min(delay * 2, this.options.maxDelayMs ?? 30_000);
  }

  #retryAfter(ms: number, watch = false): void {
    if (this.#closed || this.#timer) return;
    const until = Date.now() + ms;
    const tick = (): void => {
      this.#timer = undefined;
      if (this.#closed) return;
      if (!watch || Date.now() >= until) return void this.#attempt();
      void probe(this.options.host).then((down) => {
        if (this.#closed || this.#timer) return;
        if (!down) return void this.#attempt();
        this.#timer = setTimeout(tick, Math.max(0, Math.min(WATCH_MS, until - Date.now())));
      });
    };
    this.#timer = setTimeout(tick, watch ? Math.min(WATCH_MS, ms) : ms);
  }

  #drop(tunnel: Tunnel, reason: string, recreate = false): void {
    if (tunnel !== this.#current) return;
    this.#current = undefined;
    this.#url = undefined;
    if (this.#watchdog) clearInterval(this.#watchdog);
    tunnel.close();
    this.#schedule(reason, recreate);
  }

  async #checkNow(): Promise<void> {
    const tunnel = this.#current;
    if (!this.options.check || !tunnel || this.#checking) return;
    this.#checking = true;
    this.#lastCheck = Date.now();
    const failed = await checkPublicUrl(tunnel.url, this.options.host, this.options.check);
    this.#checking = false;
    if (failed) this.#drop(tunnel, failed, true);
  }

  #watch(tunnel: Tunnel): void {
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
    this.#watchdog = setInterval(() => {
      if (zeroSince !== undefined && Date.now() - zeroSince > NO_SOCKETS_MS) this.#drop(tunnel, 'lost every connection to the tunnel server');
    }, 1000);
    this.#watchdog.unref();
  }

  /** One try: is the server there, then ask it for a tunnel. */
  async #attempt(): Promise<void> {
    if (this.#closed) return;
    const unreachable = await probe(this.options.host);
    if (this.#closed) return;
    // The server is down: back within a second of it, not at the end of a backoff grown while it was away.
    if (unreachable) return this.#schedule(unreachable, false, true);
    // The create request is retried every second while the server fails: say so after a while, keep waiting.
    const slow = setTimeout(() => this.options.onState({ state: 'waiting', reason: `${this.options.host} has not answered the tunnel request yet` }), CREATE_WARN_MS);
    let tunnel: Tunnel;
    try {
      const created = new LocalTunnel({ host: this.options.host, ...(this.#subdomain ? { subdomain: this.#subdomain } : {}) }, this.options.hand);
      this.#creating = created;
      tunnel = await new Promise<Tunnel>((resolve, reject) => created.open((err) => (err ? reject(err) : resolve(created))));
    } catch (err) {
      return this.#schedule(`tunnel request failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(slow);
      this.#creating = undefined;
    }
    // Errors can arrive after close(); an unheard 'error' would kill the process.
    tunnel.on('error', (err: Error) => this.#drop(tunnel, err.message));
    if (this.#closed) return tunnel.close();
    const wanted = this.#subdomain;
    if (wanted && tunnel.clientId && tunnel.clientId !== wanted && this.#nameRetries < NAME_RETRIES) {
      // Our own previous tunnel may still hold the name for a second after it closed: ask again before giving up.
      this.#nameRetries++;
      tunnel.close();
      return this.#retryAfter(NAME_RETRY_MS);
    }
    this.#opened(tunnel, wanted);
  }

  #opened(tunnel: Tunnel, wanted: string | undefined): void {
    this.#nameRetries = 0;
    this.#lastCheck = Date.now();
    this.#current = tunnel;
    this.#url = tunnel.url;
    this.#delay = this.options.firstDelayMs ?? 1000;
    this.#watch(tunnel);
    const state: TunnelState = { state: 'open', url: tunnel.url };
    if (this.#lastUrl && this.#lastUrl !== tunnel.url) state.previousUrl = this.#lastUrl;
    if (wanted && tunnel.clientId && tunnel.clientId !== wanted) state.subdomainTaken = wanted;
    // Ask for the same name on every reconnect so the URL pasted into the platform keeps working.
    this.#subdomain = this.options.subdomain ?? tunnel.clientId;
    this.#lastUrl = tunnel.url;
    this.options.onState(state);
  }
}

export function keepTunnelOpen(options: TunnelOptions): TunnelHandle {
  return new TunnelSupervisor(options);
}
