import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';

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
export interface Tunnel extends EventEmitter {
  url: string;
  clientId?: string;
  closed: boolean;
  tunnelCluster: EventEmitter;
  open(cb: (err?: Error) => void): void;
  close(): void;
}

/** What the server's create answer becomes in the client (`Tunnel#_getInfo`). */
export interface TunnelInfo {
  name: string | undefined;
  url: string;
  max_conn: number;
  remote_host: string;
  remote_ip?: string;
  remote_port: number;
}

/** A localtunnel server's answer to the create request (github.com/localtunnel/server, `server.js`). */
export interface CreateAnswer {
  id?: unknown;
  ip?: unknown;
  port?: unknown;
  url?: unknown;
  max_conn_count?: unknown;
  message?: unknown;
}

