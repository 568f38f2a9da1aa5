import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

/*
 * A test peer that speaks the localtunnel server protocol on 127.0.0.1, like github.com/localtunnel/server:
 * GET /?new or /<name> creates a tunnel and answers {id, port, max_conn_count, url}; the client then opens
 * up to max_conn_count TCP sockets to `port`; a public request whose Host subdomain names the tunnel is
 * written into one of those sockets and the response read back. Not a product feature.
 *
 * What it mirrors of the real server (lib/TunnelAgent.js, lib/ClientManager.js, server.js), where it matters:
 * - the client pool: an http.Agent (keepAlive, maxFreeSockets 1) whose createConnection hands out the client's idle
 *   sockets in order and queues a request while none is free, for ever (no 503, no timeout); at most 10 sockets,
 *   more are destroyed;
 * - idle sockets: nothing reads them while they wait in the pool, so bytes the client sends unasked (a 408 from a
 *   listener's header timeout) stay buffered and are read as the response of the next request handed that socket;
 * - a taken name silently gets a random id; an unknown subdomain gets 404; no Host gets 400; a tunnel whose sockets
 *   are all gone is removed a second later.
 * - upgrades (server.js `upgrade`, Client.js `handleUpgrade`): the request line and raw headers are written into a
 *   client socket taken from the pool, and the two sockets are piped to each other until one closes: that tunnel
 *   socket leaves the pool for as long as the public connection stays open;
 * `streamRaw(id, bytes)` is not the real server: it stands for a tunnel server that passes bytes on as they come.
 * `forget(id)` does what a server does after it lost a client (a restart behind a load balancer, a cleanup): it
 * answers 404 for the id while the client's sockets stay connected, so only an end-to-end check can notice.
 */

const NAME_RE = /^(?:[a-z0-9][a-z0-9-]{4,63}[a-z0-9]|[a-z0-9]{4,63})$/;
const MAX_SOCKETS = 10;

/** Hands the client's sockets to node's http client, one request at a time per socket. */
class TunnelAgent extends Agent {
  private readonly idle: Socket[] = [];
  private readonly waiting: ((err: Error | null, socket?: Socket) => void)[] = [];
  private readonly tcp: TcpServer;
  readonly ready: Promise<number>;
  connected = 0;
  onEmpty: () => void = () => {};

  constructor() {
    super({ keepAlive: true, maxFreeSockets: 1 });
    // node's Agent calls createConnection(options, callback); ours hands out a waiting client socket.
    (this as unknown as { createConnection: unknown }).createConnection = (_o: unknown, cb: (err: Error | null, s?: Socket) => void) =>
      this.takeSocket(cb);
    this.tcp = createTcpServer((socket) => this.accept(socket));
    this.ready = new Promise((resolve) => this.tcp.listen(0, '127.0.0.1', () => resolve((this.tcp.address() as AddressInfo).port)));
  }

  private accept(socket: Socket): void {
    if (this.connected >= MAX_SOCKETS) {
      socket.destroy();
      return;
    }
    this.connected++;
    socket.once('close', () => {
      this.connected--;
      const i = this.idle.indexOf(socket);
      if (i !== -1) this.idle.splice(i, 1);
      if (this.connected === 0) this.onEmpty();
    });
    socket.on('error', () => socket.destroy());
    const next = this.waiting.shift();
    if (next) next(null, socket);
    else this.idle.push(socket);
  }

  takeSocket(cb: (err: Error | null, socket?: Socket) => void): undefined {
    const socket = this.idle.shift();
    if (socket) cb(null, socket);
    else this.waiting.push(cb);
    return undefined;
  }

  destroy(): void {
    this.tcp.close();
    for (const s of this.idle.splice(0)) s.destroy();
    for (const cb of this.waiting.splice(0)) cb(new Error('tunnel closed'));
    super.destroy();
  }
}

export interface LtServerOptions {
  port?: number;
  /** Ignore requested names and hand out random ids (to see a URL change on reconnect). */
  randomIds?: boolean;
}

export interface LtServer {
  readonly port: number;
  readonly url: string;
  /** Ids handed out so far, in order. */
  readonly created: string[];
  tunnelSockets(id: string): number;
  /** Drops the tunnel from the routing table, leaving its sockets open: requests for it get 404 from now on. */
  forget(id: string): void;
  /**
   * Writes raw bytes into one of the tunnel's sockets, as a server that streams what its sender sends (no parser in
   * between) would; resolves with that socket once taken (it waits for a free one, like a request).
   */
  streamRaw(id: string, bytes: string): Promise<Socket>;
  /** Stops everything (the public port and every tunnel socket). */
  stop(): Promise<void>;
}

export async function startLtServer(options: LtServerOptions = {}): Promise<LtServer> {
  const tunnels = new Map<string, TunnelAgent>();
  const created: string[] = [];
  const clientSockets = new Set<Socket>();
  const forgotten = new Set<TunnelAgent>();

  const newTunnel = async (req: IncomingMessage, res: ServerResponse, asked?: string): Promise<void> => {
    let id = asked && !options.randomIds && !tunnels.has(asked) ? asked : randomBytes(5).toString('hex');
    while (tunnels.has(id)) id = randomBytes(5).toString('hex');
    const agent = new TunnelAgent();
    tunnels.set(id, agent);
    created.push(id);
    const port = await agent.ready;
    const remove = (): void => {
      if (tunnels.get(id) === agent) tunnels.delete(id);
      agent.destroy();
    };
    // Like the real server: a tunnel with no sockets is removed a second after creation or after its last socket.
    let grace = setTimeout(() => agent.connected === 0 && remove(), 1000);
    agent.onEmpty = () => {
      clearTimeout(grace);
      grace = setTimeout(() => agent.connected === 0 && remove(), 1000);
    };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id, port, max_conn_count: MAX_SOCKETS, url: `http://${id}.${req.headers.host}` }));
  };

  const proxy = (agent: TunnelAgent, req: IncomingMessage, res: ServerResponse): void => {
    const upstream = request({ agent, method: req.method, path: req.url, headers: req.headers });
    upstream.on('response', (up) => {
      res.writeHead(up.statusCode ?? 502, up.rawHeaders);
      up.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const host = req.headers.host;
    if (!host) {
      res.writeHead(400);
      res.end('Host header is required');
      return;
    }
    const hostname = host.replace(/:\d+$/, '');
    const labels = hostname.split('.');
    const isIp = /^\d+\.\d+\.\d+\.\d+$/.test(hostname);
    const sub = !isIp && labels.length > 1 ? labels[0] : undefined;
    if (sub) {
      const agent = tunnels.get(sub);
      if (!agent) {
        res.writeHead(404);
        res.end('404');
        return;
      }
      proxy(agent, req, res);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ tunnels: tunnels.size }));
      return;
    }
    const m = /^\/api\/tunnels\/([^/]+)\/status$/.exec(url.pathname);
    if (m) {
      const agent = tunnels.get(m[1]!);
      res.writeHead(agent ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(agent ? { connected_sockets: agent.connected } : { message: 'not found' }));
      return;
    }
    if (url.pathname === '/' && url.searchParams.has('new')) {
      void newTunnel(req, res);
      return;
    }
    const name = url.pathname.slice(1);
    if (name && !name.includes('/')) {
      if (!NAME_RE.test(name)) {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Invalid subdomain.' }));
        return;
      }
      void newTunnel(req, res, name);
      return;
    }
    res.writeHead(404);
    res.end();
  };

  const server: Server = createServer(handle);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const sub = (req.headers.host ?? '').replace(/:\d+$/, '').split('.')[0] ?? '';
    const agent = tunnels.get(sub);
    if (!agent) return void socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
    socket.on('error', () => socket.destroy());
    agent.takeSocket((err, conn) => {
      if (err || !conn) return void socket.destroy();
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      lines.push('', '');
      conn.pipe(socket);
      socket.pipe(conn);
      conn.write(lines.join('\r\n'));
      if (head.length) conn.write(head);
    });
  });
  server.on('connection', (s) => {
    clientSockets.add(s);
    s.on('close', () => clientSockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    created,
    tunnelSockets: (id) => tunnels.get(id)?.connected ?? 0,
    forget(id) {
      const agent = tunnels.get(id);
      tunnels.delete(id);
      if (agent) forgotten.add(agent);
    },
    streamRaw(id, bytes) {
      return new Promise((resolve, reject) =>
        tunnels.get(id)!.takeSocket((err, conn) => {
          if (err || !conn) return reject(err ?? new Error('no tunnel socket'));
          conn.write(bytes);
          resolve(conn);
        }),
      );
    },
    async stop() {
      for (const agent of [...tunnels.values(), ...forgotten]) agent.destroy();
      tunnels.clear();
      for (const s of clientSockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends a request through the fixture to a tunnel, routed by the `Host` subdomain (node:http keeps Host). */
export function hostFor(id: string, server: LtServer): string {
  return `${id}.localhost:${server.port}`;
}

/** The tunnel id (subdomain) in a public URL the fixture handed out: http://<id>.localhost:<port>. */
export const tunnelId = (publicUrl: string): string => /^https?:\/\/([^.]+)\./.exec(publicUrl)![1]!;
