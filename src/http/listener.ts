import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { splitTarget } from '../core/event.js';
import { requestLineOf, unreadable } from './client-errors.js';
import { RESERVED, crossSite, matchesPath } from './guards.js';
import { HeadDeadline } from './head-deadline.js';
import { IncomingWebhook, send } from './request.js';
import { ListenError, type ListenerHandle, type ListenerOptions } from './types.js';

export { ListenError } from './types.js';
export type { Answer, IgnoredRequest, ListenerHandle, ListenerOptions } from './types.js';
export { TUNNEL_BODY_MS } from './request.js';

/**
 * The tunnel entry's server options. Only sockets to the tunnel server come there: they wait silently for hours, the
 * tunnel server writes each request's headers in one piece and closes the sockets it does not need. Bodies have their
 * own deadline.
 */
const TUNNEL_SERVER = { requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: 0, maxHeaderSize: 64 * 1024 };

/** The local port's: bounded waits for a request, checked often enough that slowloris cannot linger. */
function localServer(headersTimeout = 20_000): object {
  return {
    requestTimeout: Math.max(60_000, headersTimeout),
    headersTimeout,
    // node checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: Math.min(2_000, Math.max(100, headersTimeout / 4)),
    keepAliveTimeout: 5_000,
    maxHeaderSize: 64 * 1024,
  };
}

/** The webhook listener: the local port and, when asked for, the tunnel's entry (a server with no port). */
class Listener {
  readonly #sockets = new Set<Socket>();
  /** The Host values the local port answers to; filled in once the port is known. */
  readonly #hosts = new Set<string>();
  readonly server: Server;
  readonly entry: Server | undefined;
  /** A tunnel request whose first bytes came must have its head within the local port's header timeout too. */
  readonly deadline: HeadDeadline | undefined;
  #closing?: Promise<void>;

  constructor(private readonly options: ListenerOptions) {
    this.server = this.#serve(false);
    this.entry = options.tunnelEntry ? this.#serve(true) : undefined;
    const timeout = Object.assign(new Error('request head timed out'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    this.deadline = this.entry ? new HeadDeadline(options.headersTimeoutMs ?? 20_000, (s) => this.#clientError(timeout, s)) : undefined;
  }

  /** Routes one request: the liveness path, the guards, then a webhook. */
  #handle(req: IncomingMessage, res: ServerResponse, viaTunnel: boolean): void {
    const o = this.options;
    const url = req.url ?? '/';
    const { path } = splitTarget(url);
    if (o.liveness && path === o.liveness.path && req.method === 'GET') {
      req.resume();
      send(res, { status: 200, headers: { 'content-type': 'text/plain', 'cache-control': 'no-store' }, body: o.liveness.answer });
      return;
    }
    const turnAway = (status: number, reason: string, body: string): void => {
      req.resume();
      o.onIgnored?.({ method: req.method ?? 'GET', url, remoteAddress: req.socket.remoteAddress ?? '', status, reason });
      res.shouldKeepAlive = false;
      send(res, { status, body });
    };
    if (!viaTunnel && o.checkHost && !this.#hosts.has((req.headers.host ?? '').toLowerCase()))
      return turnAway(403, `Host ${(req.headers.host ?? '(none)').slice(0, 100)} is not this listener`, `Forbidden: this listener answers to Host ${[...this.#hosts][0]} (or its public URL)\n`);
    const browser = crossSite(req);
    if (browser) return turnAway(403, browser, 'Forbidden: webhooks are not sent by web pages in a browser\n');
    const upgrade = req.headers.upgrade;
    if (upgrade !== undefined) {
      // An upgraded connection would hold its socket (through the tunnel, one of ten) for as long as the sender likes.
      res.once('finish', () => req.socket.destroy());
      return turnAway(400, `an Upgrade request (${upgrade.slice(0, 40)}): webhooks are plain HTTP`, 'Bad Request: this listener takes webhooks, not upgraded connections\n');
    }
    if (path === RESERVED || path.startsWith(RESERVED + '/') || (o.path && !matchesPath(o.path, path)))
      return turnAway(404, 'not the --path', `Not found: this listener accepts webhooks on ${o.path ?? '/'}\n`);
    new IncomingWebhook(req, res, o).read(viaTunnel);
  }

  #serve(viaTunnel: boolean): Server {
    // Not `import { createServer } from 'node:http'`: an ESM import of node:http evaluates every export, and its
    // WebSocket getters load Node's own copy of undici (nodejs/node#59686).
    const server = process.getBuiltinModule('node:http').createServer(viaTunnel ? TUNNEL_SERVER : localServer(this.options.headersTimeoutMs), (req, res) => {
      if (viaTunnel) {
        this.deadline?.busy(req.socket);
        res.once('close', () => this.deadline?.idle(req.socket));
      }
      this.#handle(req, res, viaTunnel);
    });
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    // Every header kept (node drops those past 2,000 lines silently); the bound is maxHeaderSize, 64 KB, then 431.
    server.maxHeadersCount = 0;
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.#clientError(err, socket));
    return server;
  }

  /** A request node could not read: answered with a status, and said, never silent. */
  #clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (!socket.writable) return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
    // Unless its headers were read: that request is an event, whose own line says how its body ended (node's parser
    // keeps the request it is reading on the socket; should that change, such a request is said twice, not never).
    const reading = (socket as { parser?: { incoming?: { complete?: boolean } | null } }).parser?.incoming;
    if (!reading || reading.complete) {
      const raw = (err as { rawPacket?: Buffer }).rawPacket;
      const [method, url] = requestLineOf(raw);
      this.options.onIgnored?.({ method, url, remoteAddress: socket.remoteAddress ?? '', status, reason: unreadable(err.code, raw) });
    }
    // end() alone only half-closes: a client that keeps dribbling would hold the socket open.
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => socket.destroy());
  }

  /** Binds the local port; rejects with a ListenError (code EADDRINUSE…) a person can act on. */
  bind(): Promise<number> {
    const { host, port } = this.options;
    return new Promise((resolve, reject) => {
      const onListenError = (err: NodeJS.ErrnoException): void => reject(listenError(err, host, port));
      this.server.once('error', onListenError);
      this.server.listen(port, host, () => {
        this.server.off('error', onListenError);
        this.server.on('error', (e) => this.options.onError?.(e));
        this.entry?.on('error', (e) => this.options.onError?.(e));
        const bound = (this.server.address() as AddressInfo).port;
        for (const name of ['127.0.0.1', 'localhost', '[::1]']) this.#hosts.add(`${name}:${bound}`);
        resolve(bound);
      });
    });
  }

  close(): Promise<void> {
    this.deadline?.close();
    this.#closing ??= new Promise<void>((done) => {
      this.server.close(() => done());
      this.server.closeIdleConnections();
      this.entry?.closeIdleConnections();
      // In-flight requests get a moment to finish, then their sockets go too.
      setTimeout(() => {
        for (const s of this.#sockets) s.destroy();
      }, 1000).unref();
    });
    return this.#closing;
  }
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): ListenError {
  const code = err.code ?? 'ERROR';
  const where = `${host}:${port}`;
  const message =
    code === 'EADDRINUSE'
      ? `port ${port} is already in use on ${host} — stop what is using it or pick another with --port`
      : code === 'EACCES'
        ? `not allowed to listen on ${where} (EACCES) — pick a port above 1023 with --port`
        : code === 'EADDRNOTAVAIL'
          ? `${host} is not an address of this machine — use --host 127.0.0.1 or 0.0.0.0`
          : `cannot listen on ${where}: ${err.message}`;
  return new ListenError(message, code, { cause: err });
}

/** Starts the webhook listener. Rejects with a ListenError (code EADDRINUSE…) when the port can't be bound. */
export async function startListener(options: ListenerOptions): Promise<ListenerHandle> {
  const listener = new Listener(options);
  const port = await listener.bind();
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const shownHost = host === '0.0.0.0' || host === '[::]' ? 'localhost' : host;
  const entry = listener.entry;
  return {
    url: `http://${shownHost}:${port}${options.path ?? ''}`,
    port,
    tunnelSocket: entry
      ? (socket) => {
          // A server's own connections get these from its listening socket; this one has none.
          socket.setNoDelay(true);
          listener.deadline?.watch(socket);
          entry.emit('connection', socket);
        }
      : undefined,
    close: () => listener.close(),
  };
}
