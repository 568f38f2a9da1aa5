import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type WebhookEvent, decodeBody, detectEventName, isoTime, newEventId, pairHeaders, splitTarget } from './event.js';

/** What the listener sends back to the webhook's sender. */
export interface Answer {
  status: number;
  headers?: Record<string, string> | [string, string][];
  body?: string | Buffer;
}

export interface ListenerOptions {
  port: number;
  host: string;
  /** Only this path is accepted; other paths get 404 and are reported through onIgnored. */
  path?: string;
  maxBody: number;
  /** Called for every accepted request, including refused ones (`event.rejected`); its answer is sent back. */
  onEvent(event: WebhookEvent): Promise<Answer> | Answer;
  /** Requests turned away without becoming events: another path (404), a browser page (403), oversized headers (431). */
  onIgnored?(info: IgnoredRequest): void;
  /**
   * Requests on the listener's own port must name it by a loopback name with its port (127.0.0.1:P, localhost:P,
   * [::1]:P), so a page in a local browser cannot reach it through DNS rebinding. Off when the user binds a
   * non-loopback address. The tunnel's entry takes the public Host.
   */
  checkHost?: boolean;
  /** Internal failures that could not become an answer. */
  onError?(err: Error): void;
  /**
   * Also make the tunnel's entry: a second HTTP server, listening on no port, that takes the sockets the tunnel
   * client opens to the tunnel server (`tunnelSocket`). It serves the same requests without node's header and
   * keep-alive timeouts: the tunnel server's pooled sockets wait silently for hours, a 408 on one of them would be
   * handed to the next webhook, and only the tunnel server closes them; a body that trickles in is cut off instead.
   */
  tunnelEntry?: boolean;
  /**
   * GET `path` answers `answer`: a request sent to the public URL proves the tunnel reaches this listener, and one
   * from another webhook-listen on the same store proves this one is alive. Never an event.
   */
  liveness?: { path: string; answer: string };
}

export interface ListenerHandle {
  readonly url: string;
  readonly port: number;
  /** Takes a socket to the tunnel server as a connection to the tunnel entry, when one was asked for. */
  readonly tunnelSocket: ((socket: Socket) => void) | undefined;
  close(): Promise<void>;
}

/** A body through the tunnel must arrive within this long, plus TUNNEL_BODY_BYTES_PER_MS for its declared size. */
export const TUNNEL_BODY_MS = 10_000;
const TUNNEL_BODY_BYTES_PER_MS = 256;

export interface IgnoredRequest {
  method: string;
  url: string;
  remoteAddress: string;
  status: number;
  reason: string;
}

/**
 * A browser's request from another site: webhook senders send neither Sec-Fetch-Site nor an Origin, a page does. The
 * answer is why, or undefined for a request to accept.
 */
function crossSite(req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return `a browser request from another site (Sec-Fetch-Site: ${site})`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  let host = '';
  try {
    host = new URL(origin).host;
  } catch {
    // "null" (sandboxed pages, file:) or garbage: not this listener's page either.
  }
  return host && host === req.headers.host ? undefined : `a browser request from another site (Origin: ${origin.slice(0, 100)})`;
}

/** Paths no webhook may use: the inspector's namespace is never served on the listener. */
const RESERVED = '/_webhook-listen';

export class ListenError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ListenError';
  }
}

function matchesPath(want: string, path: string): boolean {
  const trim = (p: string): string => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);
  return trim(want) === trim(path);
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.headersSent || res.destroyed) return;
  const body = answer.body ?? '';
  const headers = answer.headers ?? { 'content-type': 'text/plain; charset=utf-8' };
  if (!Array.isArray(headers)) {
    // Our own answers: known-valid headers, written with the status line in one call.
    res.writeHead(answer.status, headers);
    res.end(body);
    return;
  }
  res.statusCode = answer.status;
  // An app's answer relayed (--passthrough): a header node refuses is dropped, not the answer.
  for (const [k, v] of headers) {
    try {
      res.appendHeader(k, v);
    } catch {
      // A header node refuses to send (invalid characters) is dropped rather than failing the answer.
    }
  }
  res.end(body);
}

function makeEvent(req: IncomingMessage, body: Buffer, size: number): WebhookEvent {
  const url = req.url ?? '/';
  const headers = pairHeaders(req.rawHeaders);
  const { path, query } = splitTarget(url);
  const name = detectEventName(headers, decodeBody({ headers, body }));
  return {
    id: newEventId(),
    receivedAt: isoTime(Date.now()),
    method: req.method ?? 'GET',
    url,
    path,
    query,
    headers,
    body,
    size,
    remoteAddress: req.socket.remoteAddress ?? '',
    name,
    targets: [],
  };
}

/** Starts the webhook listener. Rejects with a ListenError (code EADDRINUSE…) when the port can't be bound. */
export function startListener(options: ListenerOptions): Promise<ListenerHandle> {
  const sockets = new Set<import('node:net').Socket>();
  // Filled in once the port is known.
  const hosts = new Set<string>();

  const handle = (req: IncomingMessage, res: ServerResponse, viaTunnel: boolean): void => {
    const url = req.url ?? '/';
    const { path } = splitTarget(url);
    const remoteAddress = req.socket.remoteAddress ?? '';
    if (options.liveness && path === options.liveness.path && req.method === 'GET') {
      req.resume();
      send(res, { status: 200, headers: { 'content-type': 'text/plain', 'cache-control': 'no-store' }, body: options.liveness.answer });
      return;
    }
    const turnAway = (status: number, reason: string, body: string): void => {
      req.resume();
      options.onIgnored?.({ method: req.method ?? 'GET', url, remoteAddress, status, reason });
      res.shouldKeepAlive = false;
      send(res, { status, body });
    };
    if (!viaTunnel && options.checkHost && !hosts.has((req.headers.host ?? '').toLowerCase()))
      return turnAway(403, `Host ${(req.headers.host ?? '(none)').slice(0, 100)} is not this listener`, `Forbidden: this listener answers to Host ${[...hosts][0]} (or its public URL)\n`);
    const browser = crossSite(req);
    if (browser) return turnAway(403, browser, 'Forbidden: webhooks are not sent by web pages in a browser\n');
    if (path === RESERVED || path.startsWith(RESERVED + '/') || (options.path && !matchesPath(options.path, path)))
      return turnAway(404, 'not the --path', `Not found: this listener accepts webhooks on ${options.path ?? '/'}\n`);

    const chunks: Buffer[] = [];
    let received = 0;
    let tooLarge = false;
    let finished = false;
    let deadline: NodeJS.Timeout | undefined;
    const declared = Number(req.headers['content-length']);
    const finish = (rejected?: WebhookEvent['rejected']): void => {
      if (finished) return;
      finished = true;
      if (deadline) clearTimeout(deadline);
      const body = tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks, received);
      const event = makeEvent(req, body, Number.isFinite(declared) && declared > received ? declared : received);
      if (rejected) event.rejected = rejected;
      // No promise hops of our own: onEvent's answer is sent as soon as it settles; nothing here can throw past it.
      const reply = (answer: Answer): void => {
        try {
          send(res, answer);
        } catch (err) {
          options.onError?.(err as Error);
          res.destroy();
        }
      };
      const failed = (err: Error): void => {
        options.onError?.(err);
        reply({ status: 500, body: `webhook-listen could not record this request: ${err.message}\n` });
      };
      try {
        const answer = options.onEvent(event);
        if (answer instanceof Promise) answer.then(reply, failed);
        else reply(answer);
      } catch (err) {
        failed(err as Error);
      }
    };

    if (Number.isFinite(declared) && declared > options.maxBody) tooLarge = true;
    req.on('data', (chunk: Buffer) => {
      // Counted even once it is too large (the size it reached is recorded), kept only while it is not.
      received += chunk.length;
      if (tooLarge) return;
      if (received > options.maxBody) {
        tooLarge = true;
        chunks.length = 0;
      } else chunks.push(chunk);
    });
    req.on('end', () => finish(tooLarge ? 'too-large' : undefined));
    req.on('aborted', () => {
      // The sender gave up half-way: keep what arrived (or, past --max-body, the size it reached) so nothing
      // disappears silently.
      finish(tooLarge ? 'too-large' : 'aborted');
    });
    req.on('error', () => {
      // Reset connections surface as 'aborted' above; nothing else to do.
    });
    if (viaTunnel) {
      // The tunnel has ten sockets: a body that trickles in must not hold one for long. What arrived is recorded.
      const allowed = TUNNEL_BODY_MS + (Number.isFinite(declared) ? Math.min(declared, options.maxBody) / TUNNEL_BODY_BYTES_PER_MS : 0);
      deadline = setTimeout(() => {
        if (req.complete) return;
        res.shouldKeepAlive = false;
        finish('too-slow');
        res.once('finish', () => req.socket.destroy());
      }, allowed);
      deadline.unref();
    }
  };

  const serve = (viaTunnel: boolean): Server => {
    // Not `import { createServer } from 'node:http'`: an ESM import of node:http evaluates every export, and its
    // WebSocket getters load Node's own copy of undici (~20 ms of start-up, nodejs/node#59686).
    const server = process.getBuiltinModule('node:http').createServer(
      viaTunnel
        ? // Only sockets to the tunnel server come here: they wait silently for hours, the tunnel server writes each
          // request's headers in one piece and closes the sockets it does not need. Bodies have their own deadline.
          { requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: 0, maxHeaderSize: 64 * 1024 }
        : {
            requestTimeout: 60_000,
            headersTimeout: 20_000,
            // node checks the two timeouts above only this often (30 s by default), which lets slowloris linger.
            connectionsCheckingInterval: 2_000,
            keepAliveTimeout: 5_000,
            maxHeaderSize: 64 * 1024,
          },
      (req, res) => handle(req, res, viaTunnel),
    );
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    // Every header kept (node drops those past 2,000 lines silently); the bound is maxHeaderSize, 64 KB, then 431.
    server.maxHeadersCount = 0;
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
      // Said, never silent: a sender whose requests node cannot read would otherwise look as if it sent nothing. Unless
      // its headers were read: that request is an event, whose own line says how its body ended (node's parser keeps
      // the request it is reading on the socket; should that change, such a request is said twice, not never).
      const reading = (socket as { parser?: { incoming?: { complete?: boolean } | null } }).parser?.incoming;
      if (!reading || reading.complete) {
        const raw = (err as { rawPacket?: Buffer }).rawPacket;
        const [method, url] = requestLineOf(raw);
        options.onIgnored?.({ method, url, remoteAddress: (socket as import('node:net').Socket).remoteAddress ?? '', status, reason: unreadable(err.code, raw) });
      }
      // end() alone only half-closes: a client that keeps dribbling would hold the socket open.
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => socket.destroy());
    });
    return server;
  };
  const server = serve(false);
  const entry = options.tunnelEntry ? serve(true) : undefined;

  return new Promise((resolve, reject) => {
    const onListenError = (err: NodeJS.ErrnoException): void => {
      const code = err.code ?? 'ERROR';
      const where = `${options.host}:${options.port}`;
      const message =
        code === 'EADDRINUSE'
          ? `port ${options.port} is already in use on ${options.host} — stop what is using it or pick another with --port`
          : code === 'EACCES'
            ? `not allowed to listen on ${where} (EACCES) — pick a port above 1023 with --port`
            : code === 'EADDRNOTAVAIL'
              ? `${options.host} is not an address of this machine — use --host 127.0.0.1 or 0.0.0.0`
              : `cannot listen on ${where}: ${err.message}`;
      reject(new ListenError(message, code, { cause: err }));
    };
    server.once('error', onListenError);
    server.listen(options.port, options.host, () => {
      server.off('error', onListenError);
      server.on('error', (err) => options.onError?.(err));
      const port = (server.address() as AddressInfo).port;
      for (const name of ['127.0.0.1', 'localhost', '[::1]']) hosts.add(`${name}:${port}`);
      entry?.on('error', (err) => options.onError?.(err));
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      const shownHost = host === '0.0.0.0' || host === '[::]' ? 'localhost' : host;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${shownHost}:${port}${options.path ?? ''}`,
        port,
        tunnelSocket: entry
          ? (socket) => {
              // A server's own connections get these from its listening socket; this one has none.
              socket.setNoDelay(true);
              entry.emit('connection', socket);
            }
          : undefined,
        close() {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
            entry?.closeIdleConnections();
            // In-flight requests get a moment to finish, then their sockets go too.
            setTimeout(() => {
              for (const s of sockets) s.destroy();
            }, 1000).unref();
          });
          return closing;
        },
      });
    });
  });
}

/** The method and target of a request node could not read, when its first line says them; `?` otherwise. */
function requestLineOf(raw: Buffer | undefined): [string, string] {
  const m = raw && /^([A-Z]{1,20}) (\S{1,2000}) HTTP\//.exec(raw.subarray(0, 2100).toString('latin1'));
  return m ? [m[1]!, m[2]!] : ['?', '?'];
}

/** Why node's HTTP parser refused a request, in words (with its code for a search). */
function unreadable(code: string | undefined, raw: Buffer | undefined): string {
  if (code === 'HPE_HEADER_OVERFLOW') return 'headers over 64 KB — refused before they could be read';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'the request did not arrive in time — refused before it could be read';
  if (raw?.[0] === 0x16) return 'a TLS handshake: the sender used https:// for this http:// listener — the https URL is the tunnel’s public one';
  if (raw?.subarray(0, 3).toString('latin1') === 'PRI') return 'an HTTP/2 request: this listener reads HTTP/1.1';
  const what: Record<string, string> = {
    HPE_INVALID_HEADER_TOKEN: 'a header holds a character HTTP does not allow',
    HPE_INVALID_METHOD: 'not an HTTP request',
    HPE_INVALID_URL: 'its URL holds a character HTTP does not allow',
    HPE_INVALID_VERSION: 'not HTTP/1.x',
    HPE_UNEXPECTED_CONTENT_LENGTH: 'both Content-Length and Transfer-Encoding',
    HPE_INVALID_CONTENT_LENGTH: 'a Content-Length that is not one',
    HPE_INVALID_TRANSFER_ENCODING: 'a Transfer-Encoding HTTP does not allow, or one with a Content-Length',
    HPE_INVALID_CHUNK_SIZE: 'a malformed chunked body',
    HPE_LF_EXPECTED: 'lines not ended by CRLF',
    HPE_CR_EXPECTED: 'lines not ended by CRLF',
    HPE_INVALID_EOF_STATE: 'the sender closed its side before the request was complete',
  };
  return `could not be read as HTTP: ${(code && what[code]) ?? 'malformed'} (${code ?? 'unknown'})`;
}
