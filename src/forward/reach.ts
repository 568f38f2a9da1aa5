/** What one TCP connect to a target's host and port found, within a second. */
export type Reach = 'open' | 'refused' | 'no answer';

/** Tries one TCP connection to where `target` points; never throws. */
export function reach(target: string): Promise<Reach> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return Promise.resolve('no answer');
  }
  const { connect } = process.getBuiltinModule('node:net');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port, timeout: 1000 });
    const settle = (found: Reach): void => {
      socket.destroy();
      resolve(found);
    };
    socket.once('connect', () => settle('open'));
    socket.once('timeout', () => settle('no answer'));
    socket.once('error', (err: NodeJS.ErrnoException) => settle(err.code === 'ECONNREFUSED' ? 'refused' : 'no answer'));
  });
}

/** Whether the target takes a connection again: the app is back (or was never gone). */
export const canConnect = async (target: string): Promise<boolean> => (await reach(target)) === 'open';
