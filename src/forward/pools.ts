import type { Dispatcher, Pool } from 'undici';

/**
 * One undici Pool per target origin, kept while the deliverer lives. undici's Agent (7.30.2) drops a pool when its last
 * connection closes, and that pool's late `disconnect` then deletes the newer pool for the same origin (its lookup is
 * by origin, not by pool): after a pause near the app's keep-alive timeout, every delivery built a new pool and a new
 * TCP connection (300 of 300 in the test). Targets are few (the --forward-to list, replay targets), so keeping each
 * pool costs nothing.
 */
export class Pools {
  readonly #pools = new Map<string, Pool>();

  constructor(private readonly make: (origin: string) => Pool) {}

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = String(options.origin);
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = this.make(origin);
      this.#pools.set(origin, pool);
    }
    return pool.dispatch(options, handler);
  }

  /** Ends every connection now (requests in flight fail): what a stop wants, not close()'s wait for them. */
  async destroy(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
}
