import { PORT_TRIES } from './defaults.js';

/**
 * Binds on `first`, or when that port is busy and was not asked for explicitly, on the next one up, PORT_TRIES ports
 * in all. Port 0 (any free port) is tried once. The last failure is thrown as it came.
 */
export async function onNextFreePort<T>(
  first: number,
  explicit: boolean,
  bind: (port: number) => Promise<T>,
  isBusy: (err: unknown) => boolean,
): Promise<{ bound: T; tried: number }> {
  for (let i = 0; ; i++) {
    const port = first === 0 ? 0 : first + i;
    try {
      return { bound: await bind(port), tried: i + 1 };
    } catch (err) {
      if (!isBusy(err) || explicit || first === 0 || i >= PORT_TRIES - 1 || port >= 65535) throw err;
    }
  }
}
