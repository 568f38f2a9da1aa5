import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeBody } from '../core/body.js';
import { type WebhookEvent, splitTarget } from '../core/event.js';
import { pairHeaders } from '../core/headers.js';
import { isoTime, newEventId } from '../core/ids.js';
import { detectEventName } from '../core/naming.js';
import type { Answer, ListenerOptions } from './types.js';

/** A body through the tunnel must arrive within this long, plus TUNNEL_BODY_BYTES_PER_MS for its declared size. */
export const TUNNEL_BODY_MS = 10_000;
const TUNNEL_BODY_BYTES_PER_MS = 256;

export function send(res: ServerResponse, answer: Answer): void {
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
  for (const [k, v] of headers) {
    try {
      res.appendHeader(k, v);
    } catch {
      // An app's answer relayed (--passthrough): a header node refuses to send is dropped, not the answer.
    }
  }
  res.end(body);
}

/**
 * One accepted request: its body read up to --max-body (past it, only counted), then made an event with its body
 * decoded once, handed to onEvent, and its answer sent. Through the tunnel, a body has a deadline.
 */
export class IncomingWebhook {
  readonly #chunks: Buffer[] = [];
  #received = 0;
  #tooLarge: boolean;
  #finished = false;
  #deadline?: NodeJS.Timeout;
  readonly #declared: number;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly options: ListenerOptions,
  ) {
    this.#declared = Number(req.headers['content-length']);
    this.#tooLarge = Number.isFinite(this.#declared) && this.#declared > options.maxBody;
  }

  read(viaTunnel: boolean): void {
    const req = this.req;
    req.on('data', (chunk: Buffer) => {
      // Counted even once it is too large (the size it reached is recorded), kept only while it is not.
      this.#received += chunk.length;
      if (this.#tooLarge) return;
      if (this.#received > this.options.maxBody) {
        this.#tooLarge = true;
        this.#chunks.length = 0;
      } else this.#chunks.push(chunk);
    });
    req.on('end', () => this.#finish(this.#tooLarge ? 'too-large' : undefined));
    // The sender gave up half-way: keep what arrived (or, past --max-body, the size it reached).
    req.on('aborted', () => this.#finish(this.#tooLarge ? 'too-large' : 'aborted'));
    req.on('error', () => {
      // Reset connections surface as 'aborted' above; nothing else to do.
    });
    if (viaTunnel) this.#startDeadline();
  }

  /** The tunnel has ten sockets: a body that trickles in must not hold one for long. What arrived is recorded. */
  #startDeadline(): void {
    const declared = this.#declared;
    const allowed = TUNNEL_BODY_MS + (Number.isFinite(declared) ? Math.min(declared, this.options.maxBody) / TUNNEL_BODY_BYTES_PER_MS : 0);
    this.#deadline = setTimeout(() => {
      if (this.req.complete) return;
      this.res.shouldKeepAlive = false;
      this.#finish('too-slow');
      this.res.once('finish', () => this.req.socket.destroy());
    }, allowed);
    this.#deadline.unref();
  }

  #finish(rejected?: WebhookEvent['rejected']): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#deadline) clearTimeout(this.#deadline);
    const body = this.#tooLarge ? Buffer.alloc(0) : Buffer.concat(this.#chunks, this.#received);
    const size = Number.isFinite(this.#declared) && this.#declared > this.#received ? this.#declared : this.#received;
    const { event, decoded } = makeEvent(this.req, body, size);
    if (rejected) event.rejected = rejected;
    // No promise hops of our own: onEvent's answer is sent as soon as it settles; nothing here can throw past it.
    try {
      const answer = this.options.onEvent(event, decoded);
      if (answer instanceof Promise) answer.then(this.#reply, this.#failed);
      else this.#reply(answer);
    } catch (err) {
      this.#failed(err as Error);
    }
  }

  readonly #reply = (answer: Answer): void => {
    try {
      send(this.res, answer);
    } catch (err) {
      this.options.onError?.(err as Error);
      this.res.destroy();
    }
  };

  readonly #failed = (err: Error): void => {
    this.options.onError?.(err);
    this.#reply({ status: 500, body: `webhook-listen could not record this request: ${err.message}\n` });
  };
}

function makeEvent(req: IncomingMessage, body: Buffer, size: number): { event: WebhookEvent; decoded: ReturnType<typeof decodeBody> } {
  const url = req.url ?? '/';
  const headers = pairHeaders(req.rawHeaders);
  const { path, query } = splitTarget(url);
  const decoded = decodeBody({ headers, body });
  const event: WebhookEvent = {
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
    name: detectEventName(headers, decoded),
    targets: [],
  };
  return { event, decoded };
}
