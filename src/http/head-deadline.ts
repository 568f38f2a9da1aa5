import type { Socket } from 'node:net';

interface Watched {
  /** bytesRead when the socket last became idle (its last answer finished, or it was handed over). */
  idleAt: number;
  /** When bytes were first seen after that, 0 while none were. */
  since: number;
  /** A request's headers were read and its answer is not finished. */
  busy: boolean;
}

/**
 * A header deadline for tunnel sockets. They wait idle for hours (node's own headersTimeout would answer them 408 and
 * the tunnel server would hand that to the next sender), but a request whose first bytes arrived must have its whole
 * head soon. node's parser reads these sockets natively (no JS `data` event), so the check polls `bytesRead`.
 */
export class HeadDeadline {
  readonly #sockets = new Map<Socket, Watched>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly ms: number,
    private readonly onExpired: (socket: Socket) => void,
  ) {
    this.#timer = setInterval(() => this.#check(Date.now()), Math.min(1_000, Math.max(50, ms / 4)));
    this.#timer.unref();
  }

  watch(socket: Socket): void {
    this.#sockets.set(socket, { idleAt: socket.bytesRead, since: 0, busy: false });
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /** A request's headers are in: no deadline until its answer is finished. */
  busy(socket: Socket): void {
    const w = this.#sockets.get(socket);
    if (w) w.busy = true;
  }

  idle(socket: Socket): void {
    const w = this.#sockets.get(socket);
    if (!w) return;
    w.busy = false;
    w.idleAt = socket.bytesRead;
    w.since = 0;
  }

  #check(now: number): void {
    for (const [socket, w] of this.#sockets) {
      if (w.busy || socket.bytesRead === w.idleAt) continue;
      if (w.since === 0) w.since = now;
      else if (now - w.since >= this.ms) {
        this.#sockets.delete(socket);
        this.onExpired(socket);
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#sockets.clear();
  }
}
