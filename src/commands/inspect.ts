import { openStore } from '../store/index.js';
import { describeEvent } from '../format/describe.js';
import { createDeliverer } from '../forward/deliver.js';
import { startInspector } from '../inspector/server.js';
import type { Printer } from '../format/printer.js';
import { sendAgain } from '../forward/replay.js';
import { RunError } from '../core/errors.js';

export interface InspectOptions {
  storeDir: string;
  port: number;
  portExplicit: boolean;
  /** Where "replay" sends events that had no targets. */
  to: string[];
  timeoutMs: number;
}

/** `webhook-listen inspect`: the inspector alone over the store, with no listener and no tunnel. */
export async function inspectStore(options: InspectOptions, printer: Printer): Promise<{ url: string; shutdown(): Promise<void> }> {
  let store;
  try {
    store = openStore(options.storeDir, { keep: Number.MAX_SAFE_INTEGER, describe: describeEvent, warn: (m) => printer.warn(m) });
  } catch (err) {
    throw new RunError((err as Error).message, { cause: err });
  }
  const deliverer = createDeliverer({ timeoutMs: options.timeoutMs });
  let inspector;
  try {
    inspector = await startInspector({
      port: options.port,
      portExplicit: options.portExplicit,
      portFlag: '--port',
      store,
      defaultTargets: options.to,
      replay: (event, targets, edited) => sendAgain(event, targets, edited, { deliverer, record: (r) => store.appendDelivery(r), onResult: (r, e) => printer.delivery(r, e), warn: (m) => printer.warn(m) }),
    });
  } catch (err) {
    store.close();
    await deliverer.close();
    throw new RunError((err as Error).message, { cause: err });
  }
  const port = Number(new URL(inspector.url).port);
  const moved = port !== options.port && options.port !== 0 ? ` — port ${options.port} is busy, so ${port}` : '';
  printer.info(`inspector on ${inspector.url}${moved} over ${options.storeDir} (Ctrl-C to stop)`);
  const handle = inspector;
  return {
    url: handle.url,
    async shutdown() {
      await handle.close();
      await deliverer.close();
      store.close();
    },
  };
}
