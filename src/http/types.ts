import type { Socket } from 'node:net';
import type { DecodedBody } from '../core/body.js';
import type { WebhookEvent } from '../core/event.js';

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
  /** How long the local port waits for a request's headers (node's headersTimeout, 20 s); tests set it shorter. */
  headersTimeoutMs?: number;
  /** Called for every accepted request, including refused ones (`event.rejected`), with its body decoded once; its
   * answer is sent back. */
  onEvent(event: WebhookEvent, decoded: DecodedBody): Promise<Answer> | Answer;
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

export interface IgnoredRequest {
  method: string;
  url: string;
  remoteAddress: string;
  status: number;
  reason: string;
}

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

