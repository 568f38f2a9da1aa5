import { EventEmitter } from 'node:events';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { TERMINAL_UNSAFE } from './event.js';

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
  /**
   * Takes each socket the tunnel server accepted, as an HTTP server takes a connection (the listener's tunnel
   * entry). The tunnel server writes the public requests into it and reads the answers from it.
   */
  hand(socket: Socket): void;
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

/** One tunnel, as the localtunnel client's `Tunnel` class has it (the events and fields keepTunnelOpen reads). */
interface Tunnel extends EventEmitter {
  url: string;
  clientId?: string;
  closed: boolean;
  tunnelCluster: EventEmitter;
  open(cb: (err?: Error) => void): void;
  close(): void;
}

/** What the server's create answer becomes in the client (`Tunnel#_getInfo`). */
interface TunnelInfo {
  name: string | undefined;
  url: string;
  max_conn: number;
  remote_host: string;
  remote_ip?: string;
  remote_port: number;
}

/** A localtunnel server's answer to the create request (github.com/localtunnel/server, `server.js`). */
interface CreateAnswer {
  id?: unknown;
  ip?: unknown;
  port?: unknown;
  url?: unknown;
  max_conn_count?: unknown;
  message?: unknown;
}

const PROBE_TIMEOUT_MS = 5000;
const CREATE_WARN_MS = 10_000;
/** The create request: retried this long after a failure, as the localtunnel client does; each try bounded. */
const CREATE_RETRY_MS = 1000;
const CREATE_TIMEOUT_MS = 10_000;
const CREATE_REDIRECTS = 5;
const CREATE_ANSWER_MAX = 64 * 1024;
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
    bounded(req, check.timeoutMs ?? 10_000);
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
    const req = request(url, { method: 'GET' });
    bounded(req, PROBE_TIMEOUT_MS);
    req.on('response', (res) => {
      res.resume();
      resolve(null);
    });
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

/** A socket to the server that closed unused this soon after it connected is replaced after this pause, not at once. */
const UNUSED_SOCKET_PAUSE_MS = 1000;

/**
 * The localtunnel protocol's client side, in this process. Control plane: `GET <host>/<name>` (or `/?new`) asks the
 * server for a tunnel and answers `{id, url, port, max_conn_count}`; retried every second while the server fails or
 * cannot be reached, as the localtunnel client (`@n8n/localtunnel`'s `Tunnel#_init`) does, but each try bounded in
 * time, stopped by close(), and a 4xx answer (a refused name) reported instead of retried for ever. Data plane: up to
 * max_conn_count sockets to the server's port, each handed to the listener's HTTP server as it connects (the client
 * library dials the local port for each and pipes the two, converting every chunk to a string on the way; the server
 * closes spare sockets after each answer, so under load each webhook cost a new pair of connections in this process).
 * Not the library itself: its module loads axios, whose fetch probe makes Node load its own copy of undici — 29 MB of
 * RSS and ~65 ms for one GET (BENCHMARKS.md). The events keepTunnelOpen watches keep the library's meaning: `open` and
 * `dead` on `tunnelCluster`, `error` and `close` on the tunnel.
 */
class LocalTunnel extends EventEmitter implements Tunnel {
  url = '';
  clientId?: string;
  closed = false;
  tunnelCluster = new EventEmitter();
  #pending?: { abort(): void };
  #retry?: NodeJS.Timeout;
  /** open()'s callback while the create request is under way: close() answers it. */
  #opening?: (err?: Error) => void;

  constructor(
    private readonly opts: { host: string; subdomain?: string },
    private readonly hand: (socket: Socket) => void,
  ) {
    super();
  }

  open(callback: (err?: Error) => void): void {
    this.#opening = callback;
    const cb = (err?: Error): void => {
      this.#opening = undefined;
      callback(err);
    };
    const first = `${this.opts.host}/${this.opts.subdomain ?? '?new'}`;
    const ask = (uri: string, redirects: number): void => {
      if (this.closed) return;
      this.#pending = getJson(uri, (answer) => {
        this.#pending = undefined;
        if (this.closed) return;
        if ('redirect' in answer)
          return redirects < CREATE_REDIRECTS ? ask(answer.redirect, redirects + 1) : cb(new Error(`the tunnel server redirected more than ${CREATE_REDIRECTS} times`));
        if ('status' in answer && answer.status >= 200 && answer.status < 300) {
          const info = this.#info(answer.status, answer.body);
          if (info instanceof Error) return cb(info);
          this.clientId = info.name;
          this.url = info.url;
          this.#establish(info);
          return cb();
        }
        if ('status' in answer && answer.status >= 400 && answer.status < 500 && answer.status !== 429 && answer.status !== 408) {
          const message = (answer.body as CreateAnswer | undefined)?.message;
          return cb(new Error(`the tunnel server refused the request (${answer.status})${typeof message === 'string' ? `: ${said(message)}` : ''}`));
        }
        this.#retry = setTimeout(() => ask(first, 0), CREATE_RETRY_MS);
      });
    };
    ask(first, 0);
  }

  close(): void {
    this.closed = true;
    this.#pending?.abort();
    if (this.#retry) clearTimeout(this.#retry);
    const opening = this.#opening;
    this.#opening = undefined;
    opening?.(new Error('closed before the server answered'));
    this.emit('close');
  }

  /** The client's `_getInfo`, with the answer checked: a 2xx without a tunnel in it is an error, not a crash later. */
  #info(status: number, body: unknown): TunnelInfo | Error {
    const b = (body ?? {}) as CreateAnswer;
    if (status !== 200) return new Error(typeof b.message === 'string' ? said(b.message) : 'localtunnel server returned an error, please try again');
    const port = Number(b.port);
    if (typeof b.url !== 'string' || !Number.isInteger(port) || port <= 0 || port > 65535)
      return new Error(`${this.opts.host} answered without a tunnel in its answer (is it a localtunnel server?)`);
    // Printed to the terminal and pasted into the platform: printable ASCII only, or it is not used.
    if (!PUBLIC_URL_RE.test(b.url)) return new Error(`${this.opts.host} answered with a public URL that is not one: ${said(b.url)}`);
    let remoteHost = '';
    try {
      remoteHost = new URL(this.opts.host).hostname;
    } catch {
      // Checked by the probe before this; an empty host fails at connect with its own error.
    }
    const info: TunnelInfo = {
      // Kept and asked for again on reconnects (a path on the server): only a name the server's own rule allows.
      name: typeof b.id === 'string' && SUBDOMAIN_RE.test(b.id) ? b.id : undefined,
      url: b.url,
      max_conn: Number(b.max_conn_count) > 0 ? Math.min(Math.floor(Number(b.max_conn_count)), 100) : 1,
      remote_host: remoteHost,
      remote_port: port,
    };
    if (typeof b.ip === 'string' && b.ip) info.remote_ip = b.ip;
    return info;
  }

  #establish(info: TunnelInfo): void {
    const { connect } = process.getBuiltinModule('node:net');
    const cluster = this.tunnelCluster;
    const host = info.remote_ip || info.remote_host;
    const port = info.remote_port;
    const live = new Set<Socket>();
    const open = (): void => {
      if (this.closed) return;
      const remote = connect({ host, port });
      let connectedAt = 0;
      remote.setKeepAlive(true);
      remote.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') this.emit('error', new Error(`connection refused: ${host}:${port} (check your firewall settings)`));
        remote.destroy();
      });
      remote.once('connect', () => {
        connectedAt = Date.now();
        live.add(remote);
        cluster.emit('open', remote);
        this.hand(remote);
      });
      remote.once('close', () => {
        // One that never connected is not replaced (the library's behaviour): keepTunnelOpen's watchdog notices.
        if (!live.delete(remote)) return;
        cluster.emit('dead');
        if (this.closed) return;
        if (remote.bytesRead === 0 && Date.now() - connectedAt < UNUSED_SOCKET_PAUSE_MS) setTimeout(open, UNUSED_SOCKET_PAUSE_MS).unref();
        else open();
      });
    };
    this.once('close', () => {
      for (const socket of live) socket.destroy();
    });
    for (let i = 0; i < info.max_conn; i++) open();
  }
}

/**
 * Ends a request that has not finished within `ms`, answer included, with an ETIMEDOUT error. Not http's `timeout`
 * option, which is the socket's idle time: a server sending a byte now and then would keep it from ever firing (a
 * create request held open so, and the tunnel was never asked for again).
 */
function bounded(req: ClientRequest, ms: number): void {
  const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no complete answer within ${ms / 1000} s`), { code: 'ETIMEDOUT' })), ms);
  req.once('close', () => clearTimeout(timer));
}

const PUBLIC_URL_RE = /^https?:\/\/[\x21-\x7e]{1,2000}$/i;

/** A server's words, fit for one terminal line: control and bidirectional characters shown as `?`, at most 200. */
function said(text: string): string {
  const clean = text.replace(TERMINAL_UNSAFE, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

type CreateResult = { status: number; body: unknown } | { redirect: string } | { failed: string };

/** One GET with a JSON answer (at most 64 KB, within CREATE_TIMEOUT_MS); never throws, answers once. */
function getJson(uri: string, done: (result: CreateResult) => void): { abort(): void } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    queueMicrotask(() => done({ failed: `"${uri}" is not a URL` }));
    return { abort() {} };
  }
  let answered = false;
  const { request } = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
  const req = request(url, { method: 'GET', headers: { accept: 'application/json' } });
  bounded(req, CREATE_TIMEOUT_MS);
  const once = (r: CreateResult): void => {
    if (answered) return;
    answered = true;
    done(r);
  };
  req.on('response', (res) => {
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location) {
      res.resume();
      try {
        return once({ redirect: new URL(location, url).href });
      } catch {
        return once({ failed: `a redirect to "${location}"` });
      }
    }
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      text += d;
      if (text.length > CREATE_ANSWER_MAX) req.destroy();
    });
    res.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      once({ status, body });
    });
    res.on('error', () => once({ failed: 'the answer was cut off' }));
    res.on('close', () => once({ failed: 'the answer was cut off' }));
  });
  req.on('error', (err: NodeJS.ErrnoException) => once({ failed: err.code ?? err.message }));
  req.end();
  return {
    abort() {
      answered = true;
      req.destroy();
    },
  };
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
  /** The tunnel whose create request is under way (closed with the handle). */
  let creating: Tunnel | undefined;
  let url: string | undefined;
  let lastUrl: string | undefined;
  let delay = firstDelay;
  let timer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let subdomain = options.subdomain;
  let nameRetries = 0;
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
    // The create request is retried every second while the server fails: say so after a while, keep waiting.
    const slow = setTimeout(() => options.onState({ state: 'waiting', reason: `${options.host} has not answered the tunnel request yet` }), CREATE_WARN_MS);
    let tunnel: Tunnel;
    try {
      const created = new LocalTunnel({ host: options.host, ...(subdomain ? { subdomain } : {}) }, options.hand);
      creating = created;
      tunnel = await new Promise<Tunnel>((resolve, reject) => created.open((err) => (err ? reject(err) : resolve(created))));
    } catch (err) {
      clearTimeout(slow);
      return schedule(`tunnel request failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(slow);
      creating = undefined;
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
      creating?.close();
    },
  };
}
