import type { Printer } from '../format/printer.js';
import type { StoreHandle } from '../store/index.js';
import { checkPublicUrl } from '../tunnel/check.js';

/** Frees the pending deliveries of listeners that hold leases on them but no longer answer their liveness path. */
export async function expireDeadHolders(store: StoreHandle, targets: string[], own: { path: string }, printer: Printer): Promise<void> {
  let holders: ReturnType<StoreHandle['holders']> = [];
  try {
    holders = store.holders(targets);
  } catch {
    return;
  }
  for (const h of holders) {
    if (!h.probeUrl || !h.answer) continue;
    const path = h.probeUrl.slice(h.probeUrl.indexOf('/', h.probeUrl.indexOf('//') + 2));
    if (path === own.path) continue;
    const failed = await checkPublicUrl(h.probeUrl, '', { path, answer: h.answer, everyMs: 0, timeoutMs: 1000 });
    if (failed) {
      store.expire(h.owner);
      printer.info('an earlier listener on this store stopped without handing back its deliveries: resuming them now');
    }
  }
}

/** Whether something listens on the target's host and port (one TCP connect, at most a second). */
function refusesConnections(host: string, port: number): Promise<boolean> {
  const { connect } = process.getBuiltinModule('node:net');
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    const settle = (refused: boolean): void => {
      socket.destroy();
      resolve(refused);
    };
    socket.once('connect', () => settle(false));
    socket.once('timeout', () => settle(false));
    socket.once('error', (err: NodeJS.ErrnoException) => settle(err.code === 'ECONNREFUSED'));
  });
}

/** One TCP connect to each target at start, so "your app is not running" is the first line, not the first retry. */
export async function probeTargets(targets: string[], printer: Printer): Promise<void> {
  for (const target of targets) {
    let u: URL;
    try {
      u = new URL(target);
    } catch {
      continue;
    }
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    if (await refusesConnections(u.hostname.replace(/^\[|\]$/g, ''), port)) printer.info(`nothing is listening on ${u.host} yet — events will wait for it`);
  }
}
