import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { said } from '../core/text.js';
import { SUBDOMAIN_RE } from '../core/subdomain.js';
import { getJson } from './http-get.js';
import type { CreateAnswer, Tunnel, TunnelInfo } from './types.js';

/** The create request: retried this long after a failure, as the localtunnel client does; each try bounded. */
const CREATE_RETRY_MS = 1000;
const CREATE_REDIRECTS = 5;
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
export class LocalTunnel extends EventEmitter implements Tunnel {
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
        // The server's own name (the IP it gave is not what the user knows it by), and what is most likely: it restarted.
        if (err.code === 'ECONNREFUSED')
          this.emit('error', new Error(`the tunnel server ${info.remote_host} refused the tunnel's connection (port ${port}): it may have restarted or dropped this tunnel`));
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

const PUBLIC_URL_RE = /^https?:\/\/[\x21-\x7e]{1,2000}$/i;

