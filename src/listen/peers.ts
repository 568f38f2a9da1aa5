import type { Printer } from '../format/printer.js';
import { reach } from '../forward/reach.js';
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

/** One TCP connect to each target at start, so "your app is not running" is the first line, not the first retry. */
export async function probeTargets(targets: string[], printer: Printer): Promise<void> {
  for (const target of targets)
    if ((await reach(target)) === 'refused') printer.info(`nothing is listening on ${new URL(target).host} yet — events will wait for it`);
}
